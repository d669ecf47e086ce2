"""What a call is about and how the customer felt: its tags.

A tag is made by the machine (the ``process_call`` job, worker/tagging/rules.py) or by a person.
The machine rewrites its own tags on every run and never touches a kind a person has set:
a correction stays.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.tenancy import TenantScoped


class TagKind(enum.StrEnum):
    SENTIMENT = "sentiment"  #: value: satisfied, unhappy or neutral
    TOPIC = "topic"  #: value: a topic key of the company's taxonomy (e.g. ``delivery``)
    REASON = "reason"  #: value: a complaint reason key of the company's taxonomy
    PII = "pii"  #: value: a kind of personal data (phone, email...); evidence: where, never what
    #: value: a complaint expression said, normalised ("c est inadmissible"); evidence: where, one
    #: ``{"said", "start", "end"[, "start_s", "end_s"]}`` per time (the words as said, offsets, seconds).
    #: For proposing an oral complaint (webapp/services/register.py); never shown as a tag.
    EXPRESSION = "expression"


class TagOrigin(enum.StrEnum):
    MACHINE = "machine"
    HUMAN = "human"


class Sentiment(enum.StrEnum):
    SATISFIED = "satisfied"
    UNHAPPY = "unhappy"
    NEUTRAL = "neutral"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class Tag(TenantScoped, Base):
    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint("tenant_id", "call_id", "kind", "value"),
        UniqueConstraint("tenant_id", "complaint_id", "kind", "value"),
        Index("ix_tags_tenant_id_kind_value", "tenant_id", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The call or the written complaint it tags (exactly one of the two).
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True,
                                                default=None)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True,
                                                     default=None)
    kind: Mapped[TagKind] = mapped_column(_enum(TagKind))
    value: Mapped[str] = mapped_column(String(60))
    #: 0..1 for the machine's tags; 1.0 for a person's.
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    origin: Mapped[TagOrigin] = mapped_column(_enum(TagOrigin), default=TagOrigin.MACHINE)
    #: A person said "not this one": the machine will not give it again.
    rejected: Mapped[bool] = mapped_column(default=False)
    #: A topic the voice mentions in passing, not what it is about: dashboards count main topics and
    #: show mentions apart.
    mention: Mapped[bool] = mapped_column(default=False)
    #: The words that made the machine choose it (e.g. ["pas satisfait"]), shown beside the tag; for
    #: personal data, where it is: [[start, end, start_s, end_s], ...] (offsets, seconds), never the value.
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
