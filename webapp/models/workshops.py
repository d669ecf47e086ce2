"""Listening workshops (issue #16, item 5): a quality manager plans one (title, date, playlist,
invitees by person or department); a facilitator screen plays it clip by clip; participants check
in by QR code and react from their phones; decisions become improvement actions
(ImprovementAction.workshop_id); attendance counts towards listening coverage.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class WorkshopStatus(enum.StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"


class Workshop(TenantScoped, Base):
    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column()
    playlist_id: Mapped[int | None] = mapped_column(ForeignKey("playlists.id", ondelete="SET NULL"), default=None)
    #: The pause between two clips on the facilitator screen, in seconds.
    pause_seconds: Mapped[int] = mapped_column(default=15)
    status: Mapped[WorkshopStatus] = mapped_column(
        Enum(WorkshopStatus, native_enum=False, length=20, values_callable=enum_values),
        default=WorkshopStatus.PLANNED)
    #: Random, in the check-in QR code's URL; a logged-in person of the company who opens it checks in.
    checkin_code: Mapped[str] = mapped_column(String(64), unique=True)
    facilitator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The clip the facilitator screen is on (its index in the playlist's play order).
    position: Mapped[int] = mapped_column(default=0)
    #: whether its clips were kept when it started (:class:`WorkshopClip`); False for one not started
    #: yet, and for those started before migration 0020, which read their playlist
    run_kept: Mapped[bool] = mapped_column(default=False)


class WorkshopInvite(TenantScoped, Base):
    """An invitee: one person (``user_id``) or a whole department (``department``)."""

    __tablename__ = "workshop_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), default=None)
    department: Mapped[str] = mapped_column(String(120), default="")


class WorkshopAttendance(TenantScoped, Base):
    __tablename__ = "workshop_attendances"
    __table_args__ = (UniqueConstraint("tenant_id", "workshop_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkshopClip(TenantScoped, Base):
    """A clip of a started workshop, at its place in the run: the playlist's playable clips as they were
    when the workshop started, so that editing the playlist (or its shuffle) later changes neither what
    the facilitator screen plays nor the summary and the time credited. An erased clip leaves the run."""

    __tablename__ = "workshop_clips"
    __table_args__ = (UniqueConstraint("tenant_id", "workshop_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column()
