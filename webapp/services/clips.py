"""Clips: a quality manager cuts the strongest moments of calls for the customer room.

The edges a person picks are refined by the ``render_clip`` job (cut on word boundaries), which
also writes the audio and the captions. A clip goes draft → approved → retired; approval needs
the call's customer consent to be "yes" (:func:`approval_refusal` says why not, in words).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload

from webapp import jobs, search
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _, _l
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
from webapp.services import audit, listing, reactions

RENDER_KIND = "render_clip"
#: A clip is a moment, not a call: the room plays many voices, each briefly.
MIN_SECONDS = 1.0
MAX_SECONDS = 120.0


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


def _schedule_render(session: Session, clip: Clip, *, why: str = "") -> None:
    session.flush()
    clip.render_status = RenderStatus.PENDING
    jobs.enqueue(session, kind=RENDER_KIND, payload={"clip_id": clip.id},
                 idempotency_key=f"{RENDER_KIND}:{clip.id}:{clip.start_s:.3f}:{clip.end_s:.3f}{why}")


def caption_again(session: Session, clip: Clip, corrected_at: datetime) -> None:
    """Render ``clip`` again because words of its call were corrected (webapp/services/transcripts.py).

    The job rebuilds its captions from the corrected words, masking the personal data it finds in
    them (and silencing it in the audio); meanwhile the clip is "being prepared", so nobody approves
    captions about to change. An approved clip stays approved: the room plays it again once rendered.
    """
    clip.captions_corrected_at = corrected_at
    _schedule_render(session, clip, why=f":corrected:{corrected_at:%Y%m%dT%H%M%S.%f}")


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
class ClipFilters(listing.Filters):
    """The clip list's filters, in the order its form shows them."""

    #: Words of the clip's title, or said anywhere in its call.
    q: str = listing.text(_l("Words"), 100, search=True, placeholder=_l("e.g. remboursement"),
                          hint=_l("In the title, or said in the call."))
    sentiment: str = listing.choice(_l("Sentiment"), ClipSentiment, labels="sentiment")
    status: str = listing.choice(_l("Status"), ClipStatus, labels="clip_status")
    topic: str = listing.tag(_l("Topic"), LabelKind.TOPIC, active_only=True)
    product: str = listing.text(_l("Product"), 120)
    #: When the clip's call was received.
    received: listing.DayRange = listing.dates(_l("Call received from"), _l("to"))

    def conditions(self) -> Iterator[ColumnElement[bool]]:
        if self.status:
            yield Clip.status == self.status
        if self.sentiment:
            yield Clip.sentiment == self.sentiment
        if self.topic:
            yield Clip.topic == self.topic
        if self.product:
            yield Call.product.ilike(listing.contains(self.product), escape="\\")
        yield from self.received.conditions(Call.received_at)
        if self.q:
            said = select(Transcript.call_id).where(search.matches(Transcript.text_folded, self.q))
            yield or_(search.matches(Clip.title_folded, self.q), Clip.call_id.in_(said))


@dataclass(frozen=True)
class ClipPage(listing.Page[Clip, ClipFilters]):
    """One page of clips, with how many reactions each received from the room (issue #16)."""

    #: Reactions per clip id (absent: none).
    reactions: dict[int, int] = field(default_factory=dict)


def list_clips(session: Session, filters: ClipFilters) -> ClipPage:
    """One page of the tenant's clips, newest first, each with its call and its reactions from the room
    (three queries)."""
    clips, total = listing.fetch(session, select(Clip).join(Clip.call), filters, options=(joinedload(Clip.call),),
                                 order_by=(Clip.created_at.desc(), Clip.id.desc()))
    return ClipPage(clips, total, filters, has_pending=any(c.render_status == RenderStatus.PENDING for c in clips),
                    reactions=reactions.counts_by_clip(session, [c.id for c in clips]))


def approved_clips(session: Session) -> list[Clip]:
    """Approved clips, for adding to a playlist (newest first)."""
    return list(session.scalars(select(Clip).options(joinedload(Clip.call)).where(Clip.status == ClipStatus.APPROVED)
                                .order_by(Clip.approved_at.desc(), Clip.id.desc())))
