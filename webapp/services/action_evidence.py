"""The evidence a quality manager reads before confirming an improvement action verified (issue #16, item 4).

For each subject the action names (its topic, its reason, its product), two equal windows around the
day it was marked done (``done_at``): the :data:`WINDOW_DAYS` after it, clipped to what has elapsed so
far, and as many days before it. For each window, the customer voices (calls and written complaints)
on that subject, and how many of them were unhappy. Two tests, the dashboard's own
(webapp/services/significance.py): the exact test of two Poisson rates for the volume, the
two-proportion test for the unhappy share. A topic counts the voices whose main topic it is (not
passing mentions, as on the dashboard); a reason the voices tagged with it; a product the voices
about it. The unhappy share is the unhappy voices among all the voices of the window on that subject.

Then the new customer voices on the subject since it was done: the approved clips of calls received
after ``done_at`` (what the room may play), and masked excerpts of written complaints received after
it (webapp/services/excerpts.py: never a customer's personal data).

Nothing here decides: the page shows it, and a quality manager or an admin confirms the action verified
or reopens it (webapp/services/actions.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from webapp.db import utcnow
from webapp.models import (
    Call,
    Clip,
    ClipStatus,
    Complaint,
    ImprovementAction,
    Sentiment,
    Tag,
    TagKind,
)
from webapp.services import excerpts, significance

#: The length of each window, in days, once that much time has passed since the action was done.
WINDOW_DAYS = 28
#: The evidence waits until this many days have passed since done: windows of hours say nothing.
MIN_DAYS = 1
#: New voices shown, of each kind.
VOICES_SHOWN = 5

Voice = type[Call] | type[Complaint]


@dataclass(frozen=True)
class Side:
    """One window's voices on the subject, and how many were unhappy."""

    voices: int
    unhappy: int

    @property
    def share(self) -> float | None:
        return self.unhappy / self.voices if self.voices else None


@dataclass(frozen=True)
class Comparison:
    """One subject's voices before and after the action was done, with the dashboard's tests."""

    #: "topic", "reason" or "product"
    subject: str
    key: str
    before: Side
    after: Side
    volume: significance.Result
    unhappy: significance.Result


@dataclass(frozen=True)
class Evidence:
    """What the verification panel shows."""

    done_at: datetime
    #: Each window's length in days (the time elapsed since done, at most :data:`WINDOW_DAYS`).
    days: float
    before_start: datetime
    after_end: datetime
    comparisons: list[Comparison]
    clips: list[Clip]
    #: Masked excerpts of written complaints received since done, newest first.
    complaints: list[str]


def _owner(model: Voice) -> Any:  # Any: Tag.call_id or Tag.complaint_id
    return Tag.call_id if model is Call else Tag.complaint_id


def _about(model: Voice, subject: str, key: str) -> ColumnElement[bool]:
    """The voices of ``model`` on the subject."""
    if subject == "product":
        return model.product == key
    kind = TagKind.TOPIC if subject == "topic" else TagKind.REASON
    tagged = select(_owner(model)).where(Tag.kind == kind, Tag.value == key, Tag.rejected.is_(False))
    if kind is TagKind.TOPIC:
        tagged = tagged.where(Tag.mention.is_(False))
    return model.id.in_(tagged)


def _unhappy(model: Voice) -> ColumnElement[bool]:
    return model.id.in_(select(_owner(model)).where(Tag.kind == TagKind.SENTIMENT, Tag.value == Sentiment.UNHAPPY,
                                                    Tag.rejected.is_(False)))


def _side(session: Session, subject: str, key: str, start: datetime, end: datetime) -> Side:
    voices = unhappy = 0
    models: tuple[Voice, Voice] = (Call, Complaint)
    for model in models:
        stmt = select(func.count(), func.count().filter(_unhappy(model))).where(
            _about(model, subject, key), model.received_at >= start, model.received_at < end)
        n, u = session.execute(stmt).one()
        voices, unhappy = voices + int(n), unhappy + int(u)
    return Side(voices, unhappy)


def subjects(action: ImprovementAction) -> list[tuple[str, str]]:
    """What the action names that verification can measure: (subject, key) pairs."""
    named = (("topic", action.topic), ("reason", action.reason), ("product", action.product))
    return [(subject, key) for subject, key in named if key]


def compare(session: Session, subject: str, key: str, done_at: datetime, days: float) -> Comparison:
    """The subject's voices in the ``days`` before and after ``done_at``, tested as the dashboard does."""
    span = timedelta(days=days)
    before = _side(session, subject, key, done_at - span, done_at)
    after = _side(session, subject, key, done_at, done_at + span)
    volume = significance.rate_change(after.voices, before.voices, current_days=days, baseline_days=days)
    unhappy = significance.share_change(after.unhappy, after.voices, before.unhappy, before.voices)
    return Comparison(subject, key, before, after, volume, unhappy)


def evidence(session: Session, action: ImprovementAction, now: datetime | None = None) -> Evidence | None:
    """The evidence for a done (or verified) action; None when it was never done or less than
    :data:`MIN_DAYS` have passed since."""
    if action.done_at is None:
        return None
    now = now or utcnow()
    elapsed = (now - action.done_at).total_seconds() / 86400
    days = min(float(WINDOW_DAYS), elapsed)
    if days < MIN_DAYS:
        return None
    named = subjects(action)
    comparisons = [compare(session, subject, key, action.done_at, days) for subject, key in named]
    clips, complaints = _new_voices(session, named, action.done_at)
    return Evidence(action.done_at, days, action.done_at - timedelta(days=days), action.done_at + timedelta(days=days),
                    comparisons, clips, complaints)


def _new_voices(session: Session, named: list[tuple[str, str]], since: datetime) -> tuple[list[Clip], list[str]]:
    """Approved clips of calls and masked excerpts of complaints on any of the subjects, received since."""
    if not named:
        return [], []
    call_about = [_about(Call, subject, key) for subject, key in named]
    complaint_about = [_about(Complaint, subject, key) for subject, key in named]
    clips = list(session.scalars(
        select(Clip).join(Call, Clip.call_id == Call.id)
        .where(Clip.status == ClipStatus.APPROVED, Call.received_at >= since, or_(*call_about))
        .order_by(Call.received_at.desc(), Clip.id.desc()).limit(VOICES_SHOWN)))
    found = list(session.scalars(select(Complaint).where(Complaint.received_at >= since, or_(*complaint_about))
                                 .order_by(Complaint.received_at.desc(), Complaint.id.desc()).limit(VOICES_SHOWN)))
    pii: dict[int, list[Tag]] = defaultdict(list)
    if found:
        for tag in session.scalars(select(Tag).where(Tag.kind == TagKind.PII,
                                                     Tag.complaint_id.in_([c.id for c in found]))):
            pii[tag.complaint_id or 0].append(tag)
    texts = [excerpts.masked_excerpt(c.text, [list(span) for span in excerpts.pii_spans(pii[c.id])])
             for c in found]
    return clips, [text for text in texts if text]
