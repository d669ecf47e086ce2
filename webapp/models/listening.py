"""Who listens to customers, and what comes back from the room (issue #16).

- :class:`Listen`: time a person spent hearing customer voices, counted from real playback on their
  own device, from a workshop they attended, or from a check-in in the customer room. Listening
  coverage (webapp/services/coverage.py) adds these up per person and quarter.
- :class:`Reaction`: what a person in the room felt about a clip (*Je comprends*, *Ça me touche*,
  *Il faut agir*), with an optional comment; once per person, clip, kind and company day, in the room
  and in each workshop (two unique indexes, migration 0019).
- :class:`PlayTally`: proof of play, plays per clip, per screen and per day. It holds ids and
  counts only, no personal data, and no foreign key: it outlives the clip's retirement and erasure.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

from sqlalchemy import Date, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class ListenSource(enum.StrEnum):
    OWN = "own"  #: the person's own listening page, on their device
    WORKSHOP = "workshop"  #: a listening workshop they attended
    ROOM = "room"  #: a check-in in the customer room, by the kiosk's QR code


class ReactionKind(enum.StrEnum):
    UNDERSTAND = "understand"  #: « Je comprends »
    TOUCHED = "touched"  #: « Ça me touche »
    ACT = "act"  #: « Il faut agir »: proposes an improvement action


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class Listen(TenantScoped, Base):
    __tablename__ = "listens"
    __table_args__ = (Index("ix_listens_tenant_id_at_user_id", "tenant_id", "at", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[ListenSource] = mapped_column(_enum(ListenSource))
    #: The clip heard, if one (no foreign key: a person's listening time outlives the clip).
    clip_id: Mapped[int | None] = mapped_column(default=None)
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id", ondelete="SET NULL"), default=None)
    kiosk_id: Mapped[int | None] = mapped_column(default=None)
    #: When the listening happened (its start).
    at: Mapped[datetime] = mapped_column(default=utcnow)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


def _day_of_creation(context: ExecutionContext) -> date:
    """A reaction's ``day`` when none is given: the UTC day of its ``created_at`` (rows seeded directly;
    webapp/services/reactions.py always gives the company's day)."""
    at = context.get_current_parameters().get("created_at")  # type: ignore[attr-defined]
    return (at if isinstance(at, datetime) else utcnow()).astimezone(UTC).date()


#: Where a reaction was given, for its unique indexes: in the room (no workshop), or in a workshop.
IN_THE_ROOM, IN_A_WORKSHOP = text("workshop_id IS NULL"), text("workshop_id IS NOT NULL")


class Reaction(TenantScoped, Base):
    """One per person, clip, kind and company day in the room, and the same in each workshop: a repeat
    updates the comment (webapp/services/reactions.py). The database enforces it, so that two requests
    at the same moment cannot both insert one (migration 0019). A reaction whose person was erased
    (``user_id`` NULL) is never a duplicate of another."""

    __tablename__ = "reactions"
    __table_args__ = (
        Index("uq_reactions_room_day", "tenant_id", "user_id", "clip_id", "kind", "day", unique=True,
              postgresql_where=IN_THE_ROOM, sqlite_where=IN_THE_ROOM),
        Index("uq_reactions_workshop_day", "tenant_id", "user_id", "clip_id", "kind", "day", "workshop_id",
              unique=True, postgresql_where=IN_A_WORKSHOP, sqlite_where=IN_A_WORKSHOP),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True)
    kind: Mapped[ReactionKind] = mapped_column(_enum(ReactionKind))
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Where it was given: beside a screen, or in a workshop.
    kiosk_id: Mapped[int | None] = mapped_column(default=None)
    workshop_id: Mapped[int | None] = mapped_column(ForeignKey("workshops.id", ondelete="SET NULL"), default=None,
                                                    index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The day it was given, in the company's time zone (the day a repeat counts once in).
    day: Mapped[date] = mapped_column(Date, default=_day_of_creation)


class PlayTally(TenantScoped, Base):
    __tablename__ = "play_tallies"
    __table_args__ = (UniqueConstraint("tenant_id", "kiosk_id", "clip_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[int] = mapped_column()
    clip_id: Mapped[int] = mapped_column()
    #: The day in the company's time zone.
    day: Mapped[date] = mapped_column(Date)
    plays: Mapped[int] = mapped_column(default=0)
    #: A label for the report that is not personal data: the screen's name when the tally began.
    kiosk_name: Mapped[str] = mapped_column(String(120), default="")
