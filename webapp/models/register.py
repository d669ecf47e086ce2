"""The complaint register: one entry per complaint the company must handle, written or oral,
following ISO 10002's life cycle (issue #15).

An entry is made for every written complaint, and for every call a quality manager confirms as an
oral complaint. It has a per-company reference (``REC-2026-000123``), its regulatory clocks
(``acknowledge_by``, ``answer_by``: webapp/services/complaint_clocks.py, from the date sent when known,
else the date received), an owner, a status, an answer with its outcome, a timeline of who did what
and when, and the calls and written complaints it is about.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import Base, enum_values, utcnow
from webapp.models.media import Channel
from webapp.tenancy import TenantScoped


class EntryStatus(enum.StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"


class Outcome(enum.StrEnum):
    """How the answer settles the complaint; a (partly) rejected one must name the mediator."""

    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    REJECTED = "rejected"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class RegisterEntry(TenantScoped, Base):
    __tablename__ = "register_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reference"),
        UniqueConstraint("tenant_id", "year", "number"),
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_register_entries_tenant_id_status", "tenant_id", "status"),
        Index("ix_register_entries_tenant_id_acknowledge_by", "tenant_id", "acknowledge_by"),
        Index("ix_register_entries_tenant_id_answer_by", "tenant_id", "answer_by"),
        Index("ix_register_entries_tenant_id_owner_id", "tenant_id", "owner_id"),
        Index("ix_register_entries_tenant_id_received_on", "tenant_id", "received_on"),
        # The register list's product filter and the names it offers (migration 0017; benchmarks/register.py).
        Index("ix_register_entries_tenant_id_product", "tenant_id", "product"),
        # The register list's deadline filters (overdue, due soon) and reminders look at running clocks only
        # (migration 0013; benchmarks/register.py).
        Index("ix_register_entries_tenant_id_acknowledge_by_running", "tenant_id", "acknowledge_by",
              postgresql_where=text("acknowledged_at IS NULL AND answered_at IS NULL"),
              sqlite_where=text("acknowledged_at IS NULL AND answered_at IS NULL")),
        Index("ix_register_entries_tenant_id_answer_by_running", "tenant_id", "answer_by",
              postgresql_where=text("answered_at IS NULL"), sqlite_where=text("answered_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The year and the number within it that make the reference: ``REC-<year>-<number:06d>``.
    year: Mapped[int]
    number: Mapped[int]
    reference: Mapped[str] = mapped_column(String(20))
    #: A short line saying what the complaint is about (shown in the register's list).
    subject: Mapped[str] = mapped_column(String(200), default="")
    #: When the company received it, and when the customer sent it where known (postmark, e-mail date).
    received_on: Mapped[date] = mapped_column(Date)
    sent_on: Mapped[date | None] = mapped_column(Date, default=None)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.PHONE)
    product: Mapped[str] = mapped_column(String(120), default="")
    #: Complaint reason keys of the company's taxonomy.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: What the customer asks for (a refund, an exchange, an apology...).
    remedy: Mapped[str] = mapped_column(Text, default="")
    #: The company's own reference for the customer (CRM id).
    customer_ref: Mapped[str] = mapped_column(String(120), default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    status: Mapped[EntryStatus] = mapped_column(_enum(EntryStatus), default=EntryStatus.RECEIVED)
    #: The regulatory clocks, computed from the company's rule set when the dates are set.
    acknowledge_by: Mapped[date] = mapped_column(Date)
    answer_by: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    answer_text: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[Outcome | None] = mapped_column(_enum(Outcome), default=None)
    #: The CRM's own id for this complaint: its retries never create a second entry.
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    #: Goes up on every change: an API client's ``If-Match`` and idempotent updates compare it.
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegisterLink(TenantScoped, Base):
    """A call or a written complaint an entry is about; each belongs to one entry at most."""

    __tablename__ = "register_links"
    __table_args__ = (
        UniqueConstraint("tenant_id", "call_id"),
        UniqueConstraint("tenant_id", "complaint_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entries.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), default=None)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"),
                                                     default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegisterEvent(TenantScoped, Base):
    """One line of an entry's timeline: who did what, and when."""

    __tablename__ = "register_events"
    __table_args__ = (Index("ix_register_events_tenant_id_entry_id_at", "tenant_id", "entry_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entries.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The person, or (``actor_id`` empty) what acted, e.g. "API: CRM" or "Écoute".
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    actor_label: Mapped[str] = mapped_column(String(120), default="")
    #: What happened: created, status, owner, answer, linked, unlinked, edited, reminded...
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20), default=None)
    to_status: Mapped[str | None] = mapped_column(String(20), default=None)
    #: What changed (field names and values, never the customer's words).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
