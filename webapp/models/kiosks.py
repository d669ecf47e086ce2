"""The customer room's screens: kiosks paired by a short code, each with its own token.

A screen that opens ``/kiosk/`` gets a :class:`KioskPairing` (a code to show, a secret to
keep); a tenant admin types the code, which makes a :class:`Kiosk` of their company. The
screen then collects its device token once: only its hash is stored. The token reads that
kiosk's playlist and those clips' audio, nothing else (webapp/tenancy.py resolves it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import Base, utcnow
from webapp.models.clips import Playlist
from webapp.tenancy import TenantScoped


class KioskPairing(Base):
    """A code shown by a screen that belongs to no company yet: not tenant-owned.

    Only the secret's hash is stored; the code alone does not let anyone collect the token.
    """

    __tablename__ = "kiosk_pairings"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 8 characters of an alphabet without look-alikes, shown as ``ABCD-EFGH``.
    code: Mapped[str] = mapped_column(String(8), unique=True)
    #: SHA-256 of the secret the screen keeps to collect its token.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: Hash of the address that asked for it: one address may hold only so many codes at once.
    requested_by: Mapped[str] = mapped_column(String(64), default="", index=True)
    #: Set when a tenant admin typed the code (the kiosk it made).
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), default=None)
    kiosk_id: Mapped[int | None] = mapped_column(default=None)
    #: When the screen collected its token: a pairing hands a token out once.
    collected_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Kiosk(TenantScoped, Base):
    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The room, as the admin named it, e.g. "Salle client Lyon".
    name: Mapped[str] = mapped_column(String(120))
    playlist_id: Mapped[int | None] = mapped_column(ForeignKey("playlists.id", ondelete="SET NULL"), default=None)
    #: SHA-256 of the device token; "" until the screen collected it.
    token_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    #: What the last heartbeat said.
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    current_clip_id: Mapped[int | None] = mapped_column(default=None)
    playlist_version: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(20), default="")
    #: The clips this screen was served, which it may report plays of (services/kiosks.py):
    #: ``{"<clip id>": {"from": <first served, ISO>, "until": <served a manifest without it, or null>}}``.
    served_clips: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The manifest version ``served_clips`` was last brought up to date with.
    served_version: Mapped[str] = mapped_column(String(40), default="")
    #: Plays reported but not journalled (unknown clip, out of the time window, over the limits), in all.
    plays_dropped: Mapped[int] = mapped_column(default=0)
    #: Start of the current minute of plays, and the plays journalled in it (the per-minute limit).
    plays_minute_at: Mapped[datetime | None] = mapped_column(default=None)
    plays_minute_count: Mapped[int] = mapped_column(default=0)

    #: When the screen plays, in the company's time zone: ``{"mon": [["09:00", "18:00"]], ...}`` (days
    #: mon..sun, each a list of [start, end) times); empty plays all the time. Outside it the
    #: kiosk shows a calm idle screen, offline too (it keeps the schedule with the manifest).
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    playlist: Mapped[Playlist | None] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
