"""Reading calls and complaints: the lists quality managers filter, one item, its audio."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from webapp import jobs, search, storage
from webapp.config import Settings
from webapp.errors import NotFound, UserError
from webapp.i18n import _, _l
from webapp.models import (
    Call,
    CallStatus,
    Channel,
    Complaint,
    Consent,
    LabelKind,
    Sentiment,
    Tag,
    TagKind,
    Transcript,
    User,
)
from webapp.services import audit, listing
from webapp.services.ingestion import PROCESS_CALL

#: Statuses that will still change without anyone acting: the list keeps polling while one is shown.
PENDING = (CallStatus.UPLOADED, CallStatus.QUEUED, CallStatus.PROCESSING)


@dataclass(frozen=True)
class CallFilters(listing.Filters):
    """The call list's filters, in the order its form shows them."""

    #: Words said in the call (searched in the transcript, whatever their accents and case).
    q: str = listing.text(_l("Words said"), 100, search=True, placeholder=_l("e.g. remboursement"))
    status: str = listing.choice(_l("Status"), CallStatus, labels="status")
    channel: str = listing.choice(_l("Channel"), Channel, labels="channel")
    product: str = listing.text(_l("Product"), 120)
    received: listing.DayRange = listing.dates(_l("Received from"), _l("to"))
    #: Tags: the customer's sentiment, a topic key, a complaint reason key.
    sentiment: str = listing.choice(_l("Sentiment"), Sentiment, labels="sentiment")
    topic: str = listing.tag(_l("Topic"), LabelKind.TOPIC)
    reason: str = listing.tag(_l("Complaint reason"), LabelKind.REASON, hide_if_empty=True)
    #: Set by the insight dashboard's drill-down only: one agent (exactly), and whether the topic is the
    #: voice's main topic or a passing mention ("main", "mention"; either when empty).
    agent: str = listing.hidden(_l("Agent"), 120)
    passing: str = listing.hidden(_l("Topic"), 10, values=("main", "mention"))

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.status:
            yield Call.status == self.status
        yield from self.voice_conditions(Call, Tag.call_id)
        if self.q:
            said = select(Transcript.call_id).where(search.matches(Transcript.text_folded, self.q))
            yield Call.id.in_(said)


    def voice_conditions(self, model: type[Call] | type[Complaint], owner: Any) -> Iterator[ColumnElement[bool]]:
        """The conditions calls and written complaints share (``owner``: the tag's column naming them)."""
        if self.channel:
            yield model.channel == self.channel
        if self.product:
            yield model.product.ilike(f"%{self.product}%")
        if self.agent:
            yield model.agent == self.agent
        yield from self.received.conditions(model.received_at)
        for kind, value in ((TagKind.SENTIMENT, self.sentiment), (TagKind.TOPIC, self.topic),
                            (TagKind.REASON, self.reason)):
            if value:
                # A person's sentiment replaces the machine's, and "not this topic" is a rejected row.
                tagged = select(owner).where(Tag.kind == kind, Tag.value == value, Tag.rejected.is_(False))
                if kind is TagKind.TOPIC and self.passing:
                    tagged = tagged.where(Tag.mention.is_(self.passing == "mention"))
                yield model.id.in_(tagged)


CallPage = listing.Page[Call, CallFilters]


def list_calls(session: Session, filters: CallFilters) -> CallPage:
    """One page of the tenant's calls, newest received first (two queries, whatever the page size)."""
    calls, total = listing.fetch(session, select(Call), filters, order_by=(Call.received_at.desc(), Call.id.desc()))
    return CallPage(calls, total, filters, has_pending=any(c.status in PENDING for c in calls))


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
    f = filters or CallFilters()
    base = select(Complaint).where(*f.voice_conditions(Complaint, Tag.complaint_id))
    if f.q:
        base = base.where(search.matches(Complaint.text_folded, f.q))
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    items = list(session.scalars(base.order_by(Complaint.received_at.desc(), Complaint.id.desc())
                                 .limit(listing.PAGE_SIZE).offset((max(1, page) - 1) * listing.PAGE_SIZE)))
    return items, total


def get_complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound()
    return complaint
