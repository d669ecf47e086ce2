"""Exports of the voices: the call list and the complaint list as CSV or XLSX, with the list's filters
applied (issue #15, item 7).

The rows are the list's own query (``calls.CallFilters``: the same filters, the same order), without
its pages; the columns are named in the reader's language. An export never holds audio, nor a
call's transcript (personal data is masked on screen, not in it); a written complaint's text is in
it, as the list shows it. Cells are written by webapp/exports.py, which neutralises formulas. Every
export is journalled (who, which list, which filters, how many rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from webapp import exports, search
from webapp.db import utcnow
from webapp.i18n import _, label
from webapp.models import Call, Complaint, Label, Tag, TagKind, User
from webapp.services import audit
from webapp.services.calls import CallFilters

#: Rows read and tagged at a time (bounded memory, a handful of queries per batch).
BATCH = 1000


def _tags(session: Session, owner: str, ids: Sequence[int], names: dict[str, str]) -> dict[int, dict[str, list[str]]]:
    """Each voice's sentiment, main topics, passing mentions and reasons (labels in the reader's language)."""
    column = Tag.call_id if owner == "call" else Tag.complaint_id
    found: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = session.execute(select(column, Tag.kind, Tag.value, Tag.mention).where(
        column.in_(ids), Tag.rejected.is_(False), Tag.kind.in_((TagKind.SENTIMENT, TagKind.TOPIC, TagKind.REASON)))
        .order_by(column, Tag.kind, Tag.value))
    for voice_id, kind, value, mention in rows:
        if voice_id is None:
            continue
        if kind == TagKind.SENTIMENT:
            found[voice_id]["sentiment"].append(label("sentiment", value))
        else:
            slot = "mention" if kind == TagKind.TOPIC and mention else str(kind)
            found[voice_id][slot].append(names.get(f"{kind}:{value}", value))
    return found


def _batches(session: Session, stmt: Select[Call] | Select[Complaint]) -> Iterator[list[object]]:
    batch: list[object] = []
    for item in session.scalars(stmt.execution_options(yield_per=BATCH)):
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _label_names(session: Session, locale: str) -> dict[str, str]:
    return {f"{lb.kind}:{lb.key}": lb.label(locale) for lb in session.scalars(select(Label))}


def call_header() -> list[str]:
    return [_("Id"), _("Received"), _("Channel"), _("Product"), _("Agent"), _("Length (seconds)"), _("Status"),
            _("Sentiment"), _("Topics"), _("Mentioned in passing"), _("Complaint reasons"), _("Customer consent"),
            _("Customer reference"), _("File name")]


def call_rows(session: Session, filters: CallFilters, locale: str) -> Iterator[list[object]]:
    """The call list's rows for ``filters`` (every page), newest received first, as the list orders them."""
    names = _label_names(session, locale)
    stmt = filters.apply(select(Call)).order_by(Call.received_at.desc(), Call.id.desc())
    for batch in _batches(session, stmt):
        calls: list[Call] = batch  # type: ignore[assignment]  # rows of select(Call)
        tags = _tags(session, "call", [c.id for c in calls], names)
        for c in calls:
            t = tags.get(c.id, {})
            yield [c.id, c.received_at, label("channel", c.channel), c.product, c.agent,
                   round(c.duration_seconds, 1), label("status", c.status), ", ".join(t.get("sentiment", [])),
                   ", ".join(t.get("topic", [])), ", ".join(t.get("mention", [])), ", ".join(t.get("reason", [])),
                   label("consent", c.consent), c.customer_ref, c.original_filename]


def complaint_header() -> list[str]:
    return [_("Id"), _("Received"), _("Channel"), _("Product"), _("Agent"), _("Sentiment"), _("Topics"),
            _("Mentioned in passing"), _("Complaint reasons"), _("Customer reference"), _("Text")]


def complaint_select(filters: CallFilters) -> Select[Complaint]:
    """The complaint list's query for ``filters`` (as ``calls.list_complaints`` reads it), every page."""
    stmt = select(Complaint).where(*filters.voice_conditions(Complaint, Tag.complaint_id))
    if filters.q:
        stmt = stmt.where(search.matches(Complaint.text_folded, filters.q))
    return stmt.order_by(Complaint.received_at.desc(), Complaint.id.desc())


def complaint_rows(session: Session, filters: CallFilters, locale: str) -> Iterator[list[object]]:
    """The complaint list's rows for ``filters`` (every page), newest first."""
    names = _label_names(session, locale)
    for batch in _batches(session, complaint_select(filters)):
        complaints: list[Complaint] = batch  # type: ignore[assignment]  # rows of select(Complaint)
        tags = _tags(session, "complaint", [c.id for c in complaints], names)
        for c in complaints:
            t = tags.get(c.id, {})
            yield [c.id, c.received_at, label("channel", c.channel), c.product, c.agent,
                   ", ".join(t.get("sentiment", [])), ", ".join(t.get("topic", [])),
                   ", ".join(t.get("mention", [])), ", ".join(t.get("reason", [])), c.customer_ref, c.text]


def export_voices(session: Session, actor: User, *, what: str, fmt: str, filters: CallFilters, locale: str,
                  now: datetime | None = None) -> exports.Download:
    """The call list (``what`` "calls") or the complaint list ("complaints") filtered by ``filters``, as
    ``fmt`` ("csv" or "xlsx"), column names in ``locale``; journalled as ``voices.exported``."""
    header, rows = ((call_header(), call_rows(session, filters, locale)) if what == "calls"
                    else (complaint_header(), complaint_rows(session, filters, locale)))
    day = (now or utcnow()).date().isoformat()
    done = exports.download(fmt, header, rows, sheet=_("Calls") if what == "calls" else _("Complaints"),
                            filename=f"{what}-{day}")
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="voices.exported", target="",
                 list=what, format=fmt, rows=done.rows, filters=filters.query_args(page=1))
    return done
