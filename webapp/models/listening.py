"""Who listens to customers, and what comes back from the room (issue #16).

- :class:`Listen`: time a person spent hearing customer voices, counted from real playback on their
  own device, from a workshop they attended, or from a check-in in the customer room. Listening
  coverage (webapp/services/coverage.py) adds these up per person and quarter.
- :class:`Reaction`: what a person in the room felt about a clip (*Je comprends*, *Ça me touche*,
  *Il faut agir*), with an optional comment.
- :class:`PlayTally`: proof of play, plays per clip, per screen and per day. It holds ids and
  counts only, no personal data, and no foreign key: it outlives the clip's retirement and erasure.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
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


class Reaction(TenantScoped, Base):
    __tablename__ = "reactions"

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
