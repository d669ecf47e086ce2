"""Reading calls and complaints: the lists quality managers filter, one item, its audio."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from webapp import search, storage
from webapp.config import Settings
from webapp.errors import BadRequest, NotFound, UserError
from webapp.i18n import _
from webapp.models import Call, CallStatus, Channel, Complaint, Consent, Tag, TagKind, Transcript, User
from webapp.services import audit

PAGE_SIZE = 25
#: Lists go no further (an OFFSET of a quarter of a million rows is already slow).
MAX_PAGE = 10_000
#: Dates a filter may name: a day after the last one would not fit in Python's calendar.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
#: Statuses that will still change without anyone acting: the list keeps polling while one is shown.
PENDING = (CallStatus.UPLOADED, CallStatus.QUEUED, CallStatus.PROCESSING)


@dataclass(frozen=True)
class CallFilters:
    status: str = ""
    channel: str = ""
    product: str = ""
    date_from: date | None = None
    date_to: date | None = None
    #: Tags: the customer's sentiment, a topic key, a complaint reason key.
    sentiment: str = ""
    topic: str = ""
    reason: str = ""
    #: Words said in the call (searched in the transcript, whatever their accents and case).
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CallFilters:
        """Read filters from a query string; values that make no sense are ignored, except a date out
        of the calendar's range or a page number that is not one: :class:`BadRequest` says why."""

        def day(key: str) -> date | None:
            try:
                value = date.fromisoformat(args.get(key, "").strip())
            except ValueError:
                return None
            if not FIRST_DAY <= value <= LAST_DAY:
                raise BadRequest(_("The date “%(value)s” is out of range. Choose a date between %(first)s and "
                                   "%(last)s.", value=value.isoformat(), first=FIRST_DAY.isoformat(),
                                   last=LAST_DAY.isoformat()), "date_out_of_range")
            return value

        status = args.get("status", "")
        channel = args.get("channel", "")
        sentiment = args.get("sentiment", "")
        return cls(status=status if status in set(CallStatus) else "",
                   channel=channel if channel in set(Channel) else "",
                   product=_words(args, "product", 120), date_from=day("date_from"),
                   date_to=day("date_to"),
                   sentiment=sentiment if sentiment in {"satisfied", "unhappy", "neutral"} else "",
                   topic=_key_arg(args, "topic"), reason=_key_arg(args, "reason"),
                   q=_words(args, "q", 100), page=page_arg(args))

    @property
    def is_filtering(self) -> bool:
        return bool(self.status or self.channel or self.product or self.date_from or self.date_to
                    or self.sentiment or self.topic or self.reason or self.q)

    def query_args(self, **changes: object) -> dict[str, str]:
        """These filters as query arguments (for pagination links), with some values changed."""
        values = {"status": self.status, "channel": self.channel, "product": self.product,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else "", "sentiment": self.sentiment,
                  "topic": self.topic, "reason": self.reason, "q": self.q, "page": str(self.page)}
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


@dataclass(frozen=True)
class CallPage:
    calls: list[Call]
    total: int
    filters: CallFilters

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def has_pending(self) -> bool:
        return any(c.status in PENDING for c in self.calls)


def _filtered(stmt: Select[Any], f: CallFilters) -> Select[Any]:
    if f.status:
        stmt = stmt.where(Call.status == f.status)
    if f.channel:
        stmt = stmt.where(Call.channel == f.channel)
    if f.product:
        stmt = stmt.where(Call.product.ilike(f"%{f.product}%"))
    if f.date_from:
        stmt = stmt.where(Call.received_at >= datetime.combine(f.date_from, time.min, tzinfo=UTC))
    if f.date_to:
        stmt = stmt.where(Call.received_at < datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=UTC))
    for kind, value in ((TagKind.SENTIMENT, f.sentiment), (TagKind.TOPIC, f.topic), (TagKind.REASON, f.reason)):
        if value:
            # A person's sentiment replaces the machine's, and "not this topic" is a rejected row.
            tagged = select(Tag.call_id).where(Tag.kind == kind, Tag.value == value, Tag.rejected.is_(False))
            stmt = stmt.where(Call.id.in_(tagged))
    if f.q:
        said = select(Transcript.call_id).where(search.matches(Transcript.text_folded, f.q))
        stmt = stmt.where(Call.id.in_(said))
    return stmt


def _words(args: Mapping[str, str], name: str, max_length: int) -> str:
    """Words typed in a search field, spaces collapsed, without the NUL character PostgreSQL refuses in text."""
    return " ".join(args.get(name, "").replace("\x00", "").split())[:max_length]


def page_arg(args: Mapping[str, str]) -> int:
    """The ``page`` argument of a list's address: 1 when absent, :class:`BadRequest` when it is not a page number."""
    raw = args.get("page", "").strip()
    if not raw:
        return 1
    if len(raw) > 6 or not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(_("The page number “%(value)s” is not valid. Choose a page between 1 and %(max)d.",
                           value=raw[:20], max=MAX_PAGE), "page_invalid")
    return int(raw)


def _contains(words: str) -> str:
    """A LIKE pattern for text containing ``words``, where a typed % or _ is itself, not a wildcard."""
    return "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _key_arg(args: Mapping[str, str], name: str) -> str:
    value = args.get(name, "").strip()
    return value if re.fullmatch(r"[a-z0-9_]{1,60}", value) else ""


def list_calls(session: Session, filters: CallFilters) -> CallPage:
    """One page of the tenant's calls, newest received first (two queries, whatever the page size)."""
    base = _filtered(select(Call), filters)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    calls = list(session.scalars(base.order_by(Call.received_at.desc(), Call.id.desc())
                                 .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)))
    return CallPage(calls, total, filters)


def get_call(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound()
    return call


def transcript_of(session: Session, call: Call) -> Transcript | None:
    """The call's transcript, once the worker made it."""
    return session.scalar(select(Transcript).where(Transcript.call_id == call.id))


def playback_of(settings: Settings, call: Call) -> tuple[str, str, int] | None:
    """(key, content type, size) of the call's loudness-normalised rendition, once the worker made it."""
    if call.status != CallStatus.READY:
        return None
    key = storage.rendition_keys(call.tenant_id, call.id, call.sha256).playback
    try:
        return key, "audio/webm", storage.get_storage(settings).size(key)
    except storage.ObjectMissing:
        return None


def peaks_of(settings: Settings, call: Call) -> bytes | None:
    """The waveform peaks the worker computed for ``call`` (JSON, see ``worker.audio.renditions.peaks_json``);
    None until the call is processed. The browser draws the waveform from them without decoding the audio."""
    if call.status != CallStatus.READY:
        return None
    key = storage.rendition_keys(call.tenant_id, call.id, call.sha256).peaks
    try:
        return b"".join(storage.get_storage(settings).read_range(key))
    except storage.ObjectMissing:
        return None


def set_consent(session: Session, actor: User, call: Call, value: str) -> None:
    """Record what the customer said about reusing ``call`` (yes, no, unknown), as a quality manager learnt it.

    Only a "yes" lets the call's approved clips play in the customer room: changing it to anything
    else takes them out of every room at the kiosks' next sync (``Clip.is_playable``).
    """
    try:
        consent = Consent(value)
    except ValueError:
        raise UserError(_("Customer consent must be yes, no or unknown."), "consent_invalid") from None
    if consent == call.consent:
        return
    before, call.consent = call.consent, consent
    audit.record(session, tenant_id=call.tenant_id, actor=actor, action="call.consent_changed",
                 target=f"call:{call.id}", before=str(before), after=str(consent))


def retry_processing(session: Session, call: Call) -> bool:
    """Queue a failed call's processing again (the "retry" button); False when it is not failed."""
    from webapp import jobs
    from webapp.services.ingestion import PROCESS_CALL

    if call.status != CallStatus.FAILED:
        return False
    job = session.scalar(select(jobs.Job).where(jobs.Job.kind == PROCESS_CALL,
                                                jobs.Job.idempotency_key == f"{PROCESS_CALL}:{call.id}:{call.sha256}"))
    if job is None or not jobs.retry(session, job):
        return False
    call.status = CallStatus.QUEUED
    call.failure_reason = ""
    return True


def list_complaints(session: Session, page: int = 1, filters: CallFilters | None = None,
                    ) -> tuple[list[Complaint], int]:
    """One page of complaints, newest first, filtered by tags and words like the call list."""
    base = select(Complaint)
    f = filters or CallFilters()
    for kind, value in ((TagKind.SENTIMENT, f.sentiment), (TagKind.TOPIC, f.topic), (TagKind.REASON, f.reason)):
        if value:
            tagged = select(Tag.complaint_id).where(Tag.kind == kind, Tag.value == value, Tag.rejected.is_(False))
            base = base.where(Complaint.id.in_(tagged))
    if f.q:
        base = base.where(search.matches(Complaint.text_folded, f.q))
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    items = list(session.scalars(base.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                 .limit(PAGE_SIZE).offset((max(1, page) - 1) * PAGE_SIZE)))
    return items, total


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound()
    return complaint
