"""Clips: a quality manager cuts the strongest moments of calls for the customer room.

The edges a person picks are refined by the ``render_clip`` job (cut on word boundaries), which
also writes the audio and the captions. A clip goes draft → approved → retired; approval needs
the call's customer consent to be "yes" (:func:`approval_refusal` says why not, in words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload

from webapp import jobs, search
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import (
    Call,
    CallStatus,
    Clip,
    ClipSentiment,
    ClipStatus,
    Consent,
    Label,
    LabelKind,
    RenderStatus,
    Transcript,
    User,
)
from webapp.services import audit
from webapp.services.calls import _contains

RENDER_KIND = "render_clip"
#: A clip is a moment, not a call: the room plays many voices, each briefly.
MIN_SECONDS = 1.0
MAX_SECONDS = 120.0
PAGE_SIZE = 25


@dataclass(frozen=True)
class ClipDraft:
    """What a person gives when making or editing a clip (already parsed, not yet checked)."""

    start: float
    end: float
    title: str
    sentiment: str
    topic: str = ""
    note: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> ClipDraft:
        """Read a submitted form; unreadable numbers become a clear :class:`UserError`."""
        try:
            start, end = float(form.get("start", "")), float(form.get("end", ""))
        except ValueError:
            raise UserError(_("Choose the start and end of the clip on the waveform or in the transcript."),
                            "clip_range") from None
        return cls(start=start, end=end, title=" ".join(form.get("title", "").split()),
                   sentiment=form.get("sentiment", ""), topic=form.get("topic", "").strip(),
                   note=form.get("note", "").strip())


def _check(session: Session, call: Call, draft: ClipDraft) -> None:
    if call.status != CallStatus.READY:
        raise UserError(_("This call is not transcribed yet: clips can be made once it is ready."), "call_not_ready")
    if not (draft.start == draft.start and draft.end == draft.end):  # NaN
        raise UserError(_("Choose the start and end of the clip on the waveform or in the transcript."), "clip_range")
    start, end = max(0.0, draft.start), min(call.duration_seconds, draft.end)
    if end - start < MIN_SECONDS or end - start > MAX_SECONDS:
        raise UserError(_("A clip lasts between %(min)d second and %(max)d seconds. Adjust its start or end.",
                          min=int(MIN_SECONDS), max=int(MAX_SECONDS)), "clip_length")
    if not draft.title:
        raise UserError(_("Give the clip a title: it is shown in the customer room."), "clip_title")
    if len(draft.title) > 120:
        raise UserError(_("The title is too long: 120 characters at most."), "clip_title")
    if draft.sentiment not in set(ClipSentiment):
        raise UserError(_("Say whether this customer is satisfied or unhappy."), "clip_sentiment")
    if draft.topic and draft.topic not in {label.key for label in _topics(session)}:
        raise UserError(_("This topic is not in your company's list any more. Choose another."), "clip_topic")


def _topics(session: Session) -> list[Label]:
    return list(session.scalars(select(Label).where(Label.kind == LabelKind.TOPIC)))


def _schedule_render(session: Session, clip: Clip) -> None:
    session.flush()
    clip.render_status = RenderStatus.PENDING
    jobs.enqueue(session, kind=RENDER_KIND, payload={"clip_id": clip.id},
                 idempotency_key=f"{RENDER_KIND}:{clip.id}:{clip.start_s:.3f}:{clip.end_s:.3f}")


def create_clip(session: Session, actor: User, call: Call, draft: ClipDraft) -> Clip:
    """Make a draft clip of ``call`` and queue its rendering (a :class:`UserError` for bad input)."""
    _check(session, call, draft)
    clip = Clip(call_id=call.id, start_s=round(max(0.0, draft.start), 3),
                end_s=round(min(call.duration_seconds, draft.end), 3), title=draft.title,
                sentiment=ClipSentiment(draft.sentiment), topic=draft.topic, note=draft.note,
                created_by_id=actor.id)
    clip.call = call
    session.add(clip)
    _schedule_render(session, clip)
    audit.record(session, tenant_id=call.tenant_id, actor=actor, action="clip.created", target=f"clip:{clip.id}",
                 call=call.id)
    return clip


def update_clip(session: Session, actor: User, clip: Clip, draft: ClipDraft) -> Clip:
    """Change a clip's words or edges. New edges mean new audio: it is rendered again and, if it
    was approved, goes back to draft (a person approves what the room will hear)."""
    _check(session, clip.call, draft)
    start, end = round(max(0.0, draft.start), 3), round(min(clip.call.duration_seconds, draft.end), 3)
    moved = abs(start - clip.start_s) > 0.001 or abs(end - clip.end_s) > 0.001
    clip.title, clip.sentiment, clip.topic, clip.note = (draft.title, ClipSentiment(draft.sentiment),
                                                         draft.topic, draft.note)
    if moved:
        clip.start_s, clip.end_s = start, end
        if clip.status == ClipStatus.APPROVED:
            clip.status, clip.approved_at, clip.approved_by_id = ClipStatus.DRAFT, None, None
        _schedule_render(session, clip)
    audit.record(session, tenant_id=clip.tenant_id, actor=actor, action="clip.edited", target=f"clip:{clip.id}",
                 moved=moved)
    return clip


def consent_refusal(call: Call) -> str | None:
    """Why no clip of ``call`` can be approved, as far as its customer's consent goes; None if it can."""
    if call.consent == Consent.NO:
        return str(_("The customer refused that this call be reused: its clips cannot be played in the room."))
    if call.consent != Consent.YES:
        return str(_("The customer's consent to reuse this call is not recorded. Set consent to \"yes\" on the call "
                 "once the customer has agreed, then approve the clip."))
    return None


def approval_refusal(clip: Clip) -> str | None:
    """Why ``clip`` cannot be approved for the room now, in the reader's words; None if it can."""
    refusal = consent_refusal(clip.call)
    if refusal is not None:
        return refusal
    if clip.render_status == RenderStatus.PENDING:
        return str(_("The clip is still being prepared. Try again in a few seconds."))
    if clip.render_status == RenderStatus.FAILED:
        return str(_("The clip's audio could not be prepared. Change its edges to try again."))
    if clip.status == ClipStatus.APPROVED:
        return str(_("This clip is already approved."))
    return None


def approve(session: Session, actor: User, clip: Clip) -> None:
    """Approve ``clip`` for the room (or bring a retired clip back); UserError saying why not."""
    refusal = approval_refusal(clip)
    if refusal is not None:
        raise UserError(refusal, "clip_not_approvable")
    clip.status, clip.approved_at, clip.approved_by_id, clip.retired_at = ClipStatus.APPROVED, utcnow(), actor.id, None
    audit.record(session, tenant_id=clip.tenant_id, actor=actor, action="clip.approved", target=f"clip:{clip.id}")


def retire(session: Session, actor: User, clip: Clip) -> None:
    """Take ``clip`` out of the room: kiosks drop it (and its cached audio) at their next sync."""
    if clip.status == ClipStatus.RETIRED:
        return
    clip.status, clip.retired_at = ClipStatus.RETIRED, utcnow()
    audit.record(session, tenant_id=clip.tenant_id, actor=actor, action="clip.retired", target=f"clip:{clip.id}")


def get_clip(session: Session, clip_id: int) -> Clip:
    clip = session.scalar(select(Clip).options(joinedload(Clip.call)).where(Clip.id == clip_id))
    if clip is None:
        raise NotFound()
    return clip


def clips_of_call(session: Session, call: Call) -> list[Clip]:
    """The clips made from ``call``, in the order they appear in it."""
    return list(session.scalars(select(Clip).where(Clip.call_id == call.id).order_by(Clip.start_s, Clip.id)))


@dataclass(frozen=True)
class ClipFilters:
    status: str = ""
    sentiment: str = ""
    topic: str = ""
    product: str = ""
    date_from: date | None = None
    date_to: date | None = None
    #: Words of the clip's title or captions, or said anywhere in its call.
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ClipFilters:
        """Read filters from a query string; values that make no sense are ignored."""
        from webapp.services.calls import CallFilters

        calls = CallFilters.from_args(args)  # one reading of dates, product, words and page
        status, sentiment = args.get("status", ""), args.get("sentiment", "")
        return cls(status=status if status in set(ClipStatus) else "",
                   sentiment=sentiment if sentiment in set(ClipSentiment) else "", topic=calls.topic,
                   product=calls.product, date_from=calls.date_from, date_to=calls.date_to, q=calls.q,
                   page=calls.page)

    @property
    def is_filtering(self) -> bool:
        return bool(self.status or self.sentiment or self.topic or self.product or self.date_from
                    or self.date_to or self.q)

    def query_args(self, **changes: object) -> dict[str, str]:
        values = {"status": self.status, "sentiment": self.sentiment, "topic": self.topic, "product": self.product,
                  "date_from": self.date_from.isoformat() if self.date_from else "",
                  "date_to": self.date_to.isoformat() if self.date_to else "", "q": self.q, "page": str(self.page)}
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


@dataclass(frozen=True)
class ClipPage:
    clips: list[Clip]
    total: int
    filters: ClipFilters = field(default_factory=ClipFilters)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def has_pending(self) -> bool:
        return any(c.render_status == RenderStatus.PENDING for c in self.clips)


def _filtered(stmt: Select[Any], f: ClipFilters) -> Select[Any]:
    if f.status:
        stmt = stmt.where(Clip.status == f.status)
    if f.sentiment:
        stmt = stmt.where(Clip.sentiment == f.sentiment)
    if f.topic:
        stmt = stmt.where(Clip.topic == f.topic)
    if f.product:
        stmt = stmt.where(Call.product.ilike(_contains(f.product), escape="\\"))
    if f.date_from:
        stmt = stmt.where(Call.received_at >= datetime.combine(f.date_from, time.min, tzinfo=UTC))
    if f.date_to:
        stmt = stmt.where(Call.received_at < datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=UTC))
    if f.q:
        said = select(Transcript.call_id).where(search.matches(Transcript.text_folded, f.q))
        stmt = stmt.where(or_(search.matches(Clip.title_folded, f.q), Clip.call_id.in_(said)))
    return stmt


def list_clips(session: Session, filters: ClipFilters) -> ClipPage:
    """One page of the tenant's clips, newest first, each with its call (two queries)."""
    base = _filtered(select(Clip).join(Clip.call), filters)
    total = int(session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    clips = list(session.scalars(base.options(joinedload(Clip.call))
                                 .order_by(Clip.created_at.desc(), Clip.id.desc())
                                 .limit(PAGE_SIZE).offset((filters.page - 1) * PAGE_SIZE)))
    return ClipPage(clips, total, filters)


def approved_clips(session: Session) -> list[Clip]:
    """Approved clips, for adding to a playlist (newest first)."""
    return list(session.scalars(select(Clip).options(joinedload(Clip.call)).where(Clip.status == ClipStatus.APPROVED)
                                .order_by(Clip.approved_at.desc(), Clip.id.desc())))
