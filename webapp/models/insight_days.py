"""The insight dashboard's daily roll-ups (issue #15, item 3), and the one hook that marks their days stale.

:class:`InsightDay` holds, per company, UTC day (and month) and source (calls or complaints), the counts the dashboard
reads (webapp/services/insights.py), in a few groupings (:class:`Grouping`): voices in all, by product, by
channel, by agent and by product and channel; not rejected sentiment, topic and reason tags (main topics
and passing mentions apart), in all and by product. webapp/services/insight_days.py builds them.

:class:`InsightMark` says a day's roll-ups may be stale. Every write that changes what a day counts
marks it, here and nowhere else: :func:`_mark_before_flush` and :func:`_mark_after_flush` (Session
listeners) for calls, complaints and tags added, changed or deleted through the unit of work, and
:func:`_mark_statement` (a ``do_orm_execute`` listener) for ORM bulk INSERT, UPDATE and DELETE
statements on them (the tagger's rewrite, a correction, an erasure, a CSV import). The marks are plain
inserted rows, never a counter updated in place, so that concurrent writers never wait for each other.
A day is read from its roll-ups only when it is over (before today, UTC) and unmarked; else it is
counted live. The build deletes the marks it saw, so a write that lands while it runs leaves its day
marked. Raw SQL on those tables (none in the app) would escape the hook.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Enum, Index, Integer, String, Table, event, insert, select
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.orm.base import PASSIVE_NO_INITIALIZE

from webapp.db import Base, enum_values, utcnow
from webapp.models.media import Call, Complaint
from webapp.models.tags import Tag
from webapp.tenancy import TenantScoped


class VoiceKind(enum.StrEnum):
    CALL = "call"
    COMPLAINT = "complaint"


class Span(enum.StrEnum):
    DAY = "day"  #: one day's counts
    #: a calendar month's (``day``: its first day), the sum of its day rows, rebuilt with them: a dashboard
    #: reads a month that is over, unmarked and on one side of its split in one row per group
    MONTH = "month"


class Grouping(enum.StrEnum):
    """What one roll-up row counts; the columns a grouping does not name are empty."""

    TOTAL = "total"  #: voices
    PRODUCT = "product"  #: voices by product
    CHANNEL = "channel"  #: voices by channel
    AGENT = "agent"  #: voices by agent
    PRODUCT_CHANNEL = "product_channel"  #: voices by product and channel (staff scoped to products)
    TAG = "tag"  #: tags by kind, value and mention
    PRODUCT_TAG = "product_tag"  #: tags by product, kind, value and mention (staff scoped to products)


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=enum_values)


class InsightDay(TenantScoped, Base):
    __tablename__ = "insight_days"
    __table_args__ = (
        Index("ix_insight_days_tenant_id_span_grouping_day", "tenant_id", "span", "grouping", "day", "product"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    #: The UTC day the voices were received on (the month's first day for a month row).
    day: Mapped[date] = mapped_column(Date)
    span: Mapped[Span] = mapped_column(_enum(Span), default=Span.DAY)
    source: Mapped[VoiceKind] = mapped_column(_enum(VoiceKind))
    grouping: Mapped[Grouping] = mapped_column(_enum(Grouping))
    product: Mapped[str] = mapped_column(String(120), default="")
    channel: Mapped[str] = mapped_column(String(20), default="")
    agent: Mapped[str] = mapped_column(String(120), default="")
    #: The tag kind (sentiment, topic or reason) for the tag groupings.
    kind: Mapped[str] = mapped_column(String(20), default="")
    value: Mapped[str] = mapped_column(String(60), default="")
    mention: Mapped[bool] = mapped_column(default=False)
    #: Voices, or not rejected tags, on that day in that group.
    count: Mapped[int] = mapped_column(Integer)


class InsightMark(TenantScoped, Base):
    """A day whose roll-ups may be stale: counted live until the next build (one row per write)."""

    __tablename__ = "insight_marks"
    __table_args__ = (Index("ix_insight_marks_tenant_id_day", "tenant_id", "day"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)


#: The marks' table, written on the Session's connection (Core: no ORM event fires for it).
_MARKS: Table = InsightMark.__table__  # type: ignore[assignment]  # a declarative model's Table

# --- the hook ------------------------------------------------------------------------------------------

#: What a voice's figures depend on (its status, transcript or consent do not count).
_VOICE_FIELDS = ("received_at", "product", "channel", "agent", "tenant_id")
_TAG_FIELDS = ("kind", "value", "mention", "rejected", "call_id", "complaint_id", "tenant_id")
_VOICES = (Call, Complaint)


def day_of(moment: datetime) -> date:
    """The UTC day of a voice received at ``moment`` (the day the dashboard counts it on)."""
    return moment.astimezone(UTC).date()


def _mark(session: Session, marks: Iterable[tuple[int, date]]) -> None:
    """Insert one mark per (company, day), on the Session's own connection and transaction."""
    rows = [{"tenant_id": tenant_id, "day": day} for tenant_id, day in sorted(set(marks))]
    if rows:
        session.connection().execute(insert(_MARKS), rows)


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    return any(get_history(obj, name, passive=PASSIVE_NO_INITIALIZE).has_changes() for name in names)


def _voice_days(session: Session, model: type[Call] | type[Complaint], *criteria: Any) -> set[tuple[int, date]]:
    return {(tenant_id, day_of(received_at))
            for tenant_id, received_at in session.execute(select(model.tenant_id, model.received_at).where(*criteria))}


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    listed = sorted(ids)
    for start in range(0, len(listed), 500):
        yield listed[start:start + 500]


def _tagged_days(session: Session, call_ids: set[int], complaint_ids: set[int]) -> set[tuple[int, date]]:
    """The (company, day) of these calls and complaints, as the database has them now."""
    found: set[tuple[int, date]] = set()
    for model, ids in ((Call, call_ids), (Complaint, complaint_ids)):
        for chunk in _chunks(ids):
            found |= _voice_days(session, model, model.id.in_(chunk))
    return found


def _stored_tag_owners(session: Session, tag_ids: set[int]) -> tuple[set[int], set[int]]:
    """The calls and complaints these tags belong to, as the database has them now."""
    calls: set[int] = set()
    complaints: set[int] = set()
    for chunk in _chunks(tag_ids):
        for call_id, complaint_id in session.execute(select(Tag.call_id, Tag.complaint_id).where(Tag.id.in_(chunk))):
            calls.update([call_id] if call_id else [])
            complaints.update([complaint_id] if complaint_id else [])
    return calls, complaints


def _mark_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: the days voices and tags it changes or deletes are on now (read from the database:
    an expired object's old values are unknown), and the days changed voices move to."""
    stored: dict[Any, set[int]] = {Call: set(), Complaint: set(), Tag: set()}
    marks: set[tuple[int, date]] = set()
    call_ids: set[int] = set()
    complaint_ids: set[int] = set()
    for obj in (*session.dirty, *session.deleted):
        deleted = obj in session.deleted
        if isinstance(obj, _VOICES) and (deleted or _changed(obj, _VOICE_FIELDS)):
            stored[type(obj)].add(obj.id)
            if not deleted:
                marks.add((obj.tenant_id, day_of(obj.received_at)))
        elif isinstance(obj, Tag) and (deleted or _changed(obj, _TAG_FIELDS)):
            stored[Tag].add(obj.id)
            if not deleted:
                call_ids.update([obj.call_id] if obj.call_id else [])
                complaint_ids.update([obj.complaint_id] if obj.complaint_id else [])
    tagged_calls, tagged_complaints = _stored_tag_owners(session, stored[Tag])
    marks |= _tagged_days(session, stored[Call] | call_ids | tagged_calls,
                          stored[Complaint] | complaint_ids | tagged_complaints)
    _mark(session, marks)


def _mark_after_flush(session: Session, _context: Any) -> None:
    """After a flush: the days of the voices and tags it added (their defaults and ids are known now)."""
    marks: set[tuple[int, date]] = set()
    call_ids: set[int] = set()
    complaint_ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, _VOICES):
            marks.add((obj.tenant_id, day_of(obj.received_at)))
        elif isinstance(obj, Tag):
            call_ids.update([obj.call_id] if obj.call_id else [])
            complaint_ids.update([obj.complaint_id] if obj.complaint_id else [])
    marks |= _tagged_days(session, call_ids, complaint_ids)
    _mark(session, marks)


class UnmarkableStatement(RuntimeError):
    """A bulk statement on calls, complaints or tags whose days the hook cannot tell (it would leave
    the dashboard's roll-ups stale): write those rows through the unit of work, or teach the hook."""


def _mark_statement(state: ORMExecuteState) -> Any:
    """Before an ORM bulk INSERT, UPDATE or DELETE on calls, complaints or tags: mark the days of the
    rows it touches (for an UPDATE of voices, their days after it too)."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    statement: Any = state.statement
    table = getattr(statement, "table", None)
    models: dict[Any, type[Any]] = {Call.__table__: Call, Complaint.__table__: Complaint, Tag.__table__: Tag}
    model = models.get(table)
    if model is None:
        return None
    session = state.session
    if state.is_insert:
        params: Any = state.parameters  # Any: one mapping or a list of them, as the caller passed them
        given: list[Any] = params if isinstance(params, list) else [params] if params else []
        if not given or getattr(statement, "select", None) is not None:
            raise UnmarkableStatement(f"an INSERT into {table} without its rows as parameters")
        if model is Tag:
            _mark(session, _tagged_days(session, {r["call_id"] for r in given if r.get("call_id")},
                                        {r["complaint_id"] for r in given if r.get("complaint_id")}))
        else:
            if any(not r.get("tenant_id") for r in given):
                raise UnmarkableStatement(f"an INSERT into {table} without tenant_id")
            # received_at's default is the time of the insert: today
            _mark(session, {(r["tenant_id"], day_of(r.get("received_at") or utcnow())) for r in given})
        return None
    where = statement.whereclause
    criteria = () if where is None else (where,)
    if model is Tag:
        owners = session.execute(select(Tag.call_id, Tag.complaint_id).where(*criteria)).all()
        _mark(session, _tagged_days(session, {c for c, _k in owners if c}, {k for _c, k in owners if k}))
        return None
    voice: type[Call] | type[Complaint] = Call if model is Call else Complaint
    ids = set(session.scalars(select(voice.id).where(*criteria)))
    marks = _tagged_days(session, ids, set()) if voice is Call else _tagged_days(session, set(), ids)
    _mark(session, marks)
    if not state.is_update:
        return None
    result = state.invoke_statement()
    after = _tagged_days(session, ids, set()) if voice is Call else _tagged_days(session, set(), ids)
    _mark(session, after - marks)
    return result


def _install() -> None:
    if not event.contains(Session, "after_flush", _mark_after_flush):
        event.listen(Session, "before_flush", _mark_before_flush)
        event.listen(Session, "after_flush", _mark_after_flush)
        event.listen(Session, "do_orm_execute", _mark_statement)


_install()
