"""Clips: the short moments of calls that a quality manager chose for the customer room,
and the playlists that order them for the room's screens.

A clip is cut by the ``render_clip`` job (worker/audio/clips.py) on word boundaries, with
fades and the room's loudness; its audio is stored under a key named by its content hash, so
a kiosk can cache it for ever. It goes draft → approved → retired; only an approved clip of a
call whose customer said "yes" to reuse plays in the room.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp import search
from webapp.db import Base, enum_values, utcnow
from webapp.models.media import Call, Complaint, Consent
from webapp.tenancy import TenantScoped


class ClipStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


class RenderStatus(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class ClipSentiment(enum.StrEnum):
    """What the room shows: a clip is a satisfied or an unhappy voice, never "neutral"."""

    SATISFIED = "satisfied"
    UNHAPPY = "unhappy"


class PlaylistMode(enum.StrEnum):
    ALTERNATE = "alternate"  #: satisfied and unhappy voices in turn (the default)
    ORDERED = "ordered"  #: as the quality manager ordered them


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class Clip(TenantScoped, Base):
    __tablename__ = "clips"
    __table_args__ = (Index("ix_clips_tenant_id_status", "tenant_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Erasing the call erases its clips (and the job removes their audio).
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    #: Where the clip lies in the call, in seconds, once snapped to word boundaries.
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(120))
    #: ``title`` in lower case without accents, which searches compare (kept in step: webapp.search).
    title_folded: Mapped[str] = mapped_column(Text, default="")
    sentiment: Mapped[ClipSentiment] = mapped_column(_enum(ClipSentiment))
    #: Topic key of the company's taxonomy shown in the room ("" for none).
    topic: Mapped[str] = mapped_column(String(60), default="")
    #: For the quality team only; never shown in the room.
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ClipStatus] = mapped_column(_enum(ClipStatus), default=ClipStatus.DRAFT)
    render_status: Mapped[RenderStatus] = mapped_column(_enum(RenderStatus), default=RenderStatus.PENDING)
    #: Object key of the rendered audio (Opus/WebM), named by its content hash; "" until rendered.
    audio_key: Mapped[str] = mapped_column(String(300), default="")
    audio_sha256: Mapped[str] = mapped_column(String(64), default="")
    audio_size: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    loudness_lufs: Mapped[float | None] = mapped_column(Float, default=None)
    #: [{start, end, text}] relative to the clip; personal data masked as "•••".
    captions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)
    #: When a quality manager last corrected the caption's words (the timings stay the recogniser's).
    captions_corrected_at: Mapped[datetime | None] = mapped_column(default=None)

    call: Mapped[Call] = relationship()

    @property
    def is_playable(self) -> bool:
        """Whether the room may play it: approved, rendered, and its customer consented."""
        return (self.status == ClipStatus.APPROVED and self.render_status == RenderStatus.READY
                and self.call.consent == Consent.YES)


search.keep_folded(Clip.title, "title_folded")


class Playlist(TenantScoped, Base):
    __tablename__ = "playlists"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    mode: Mapped[PlaylistMode] = mapped_column(_enum(PlaylistMode), default=PlaylistMode.ALTERNATE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[PlaylistItem]] = relationship(order_by="PlaylistItem.position", cascade="all, delete-orphan",
                                                     back_populates="playlist")


class PlaylistItem(TenantScoped, Base):
    """A voice (``clip_id``) or a written complaint's card (``complaint_id`` with ``card_text``)."""

    __tablename__ = "playlist_items"
    __table_args__ = (UniqueConstraint("tenant_id", "playlist_id", "clip_id"),
                      UniqueConstraint("tenant_id", "playlist_id", "complaint_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlists.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True, default=None)
    #: A complaint card: erasing the complaint erases the card.
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True,
                                                     default=None)
    #: The card's excerpt, personal data masked (webapp/services/excerpts.py), as the quality manager chose it.
    card_text: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    playlist: Mapped[Playlist] = relationship(back_populates="items")
    clip: Mapped[Clip | None] = relationship()
    complaint: Mapped[Complaint | None] = relationship()
