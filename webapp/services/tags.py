"""Tags of a call or complaint as people see and correct them.

A correction is one click: it replaces whatever the machine said for that kind (sentiment) or
that value (a topic, a reason) with a person's tag, which the machine never overwrites (see
worker/tagging/company.py), and it queues the retraining of the company's own model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from webapp import jobs
from webapp.errors import UserError
from webapp.i18n import _
from webapp.models import Label, LabelKind, Sentiment, Tag, TagKind, TagOrigin, User
from webapp.services import audit

RETRAIN_KIND = "retrain_tagger"


@dataclass(frozen=True)
class Target:
    """What is tagged: a call or a written complaint."""

    call_id: int | None = None
    complaint_id: int | None = None

    @property
    def name(self) -> str:
        return f"call:{self.call_id}" if self.call_id is not None else f"complaint:{self.complaint_id}"

    def owner(self) -> ColumnElement[bool]:
        return Tag.call_id == self.call_id if self.call_id is not None else Tag.complaint_id == self.complaint_id


@dataclass
class TagView:
    sentiment: Tag | None = None
    #: The main topics: what the voice is about.
    topics: list[Tag] = field(default_factory=list)
    #: Topics the machine found named only in passing (``Tag.mention``), shown apart.
    mentions: list[Tag] = field(default_factory=list)
    reasons: list[Tag] = field(default_factory=list)
    #: Personal data found: type -> how many places.
    pii: dict[str, int] = field(default_factory=dict)
    #: The company's active labels, for the one-click corrections.
    topic_labels: list[Label] = field(default_factory=list)
    reason_labels: list[Label] = field(default_factory=list)
    labels_by_key: dict[tuple[str, str], Label] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.sentiment is None and not self.topics and not self.reasons

    def has(self, kind: str, key: str) -> bool:
        return any(t.value == key for t in (self.topics if kind == "topic" else self.reasons))

    def label_of(self, kind: str, key: str, locale: str) -> str:
        label = self.labels_by_key.get((kind, key))
        return label.label(locale) if label is not None else key


def tags_of(session: Session, target: Target) -> TagView:
    rows = session.scalars(select(Tag).where(target.owner()).order_by(Tag.id)).all()
    labels = session.scalars(select(Label).order_by(Label.id)).all()
    view = TagView(labels_by_key={(label.kind.value, label.key): label for label in labels},
                   topic_labels=[lb for lb in labels if lb.kind == LabelKind.TOPIC and lb.retired_at is None],
                   reason_labels=[lb for lb in labels if lb.kind == LabelKind.REASON and lb.retired_at is None])
    order = {label.key: index for index, label in enumerate(labels)}
    for tag in rows:
        if tag.rejected:
            continue
        if tag.kind == TagKind.SENTIMENT and (view.sentiment is None or tag.origin == TagOrigin.HUMAN):
            view.sentiment = tag
        elif tag.kind == TagKind.TOPIC:
            (view.mentions if tag.mention else view.topics).append(tag)
        elif tag.kind == TagKind.REASON:
            view.reasons.append(tag)
        elif tag.kind == TagKind.PII:
            view.pii[tag.value] = len(tag.evidence or [])
    view.topics.sort(key=lambda t: order.get(t.value, 999))
    view.mentions.sort(key=lambda t: order.get(t.value, 999))
    view.reasons.sort(key=lambda t: order.get(t.value, 999))
    return view


def retrain_later(session: Session) -> None:
    """At most one retraining job per minute per company, whatever the number of corrections."""
    minute = datetime.now(UTC).strftime("%Y%m%d%H%M")
    jobs.enqueue(session, kind=RETRAIN_KIND, idempotency_key=f"retrain:{minute}", payload={},
                 priority=jobs.PRIORITY_BULK)


def set_sentiment(session: Session, actor: User, target: Target, value: str) -> None:
    if value not in {s.value for s in Sentiment}:
        raise UserError(_("Choose satisfied, unhappy or neutral."))
    session.execute(delete(Tag).where(target.owner(), Tag.kind == TagKind.SENTIMENT))
    session.add(Tag(call_id=target.call_id, complaint_id=target.complaint_id, kind=TagKind.SENTIMENT, value=value,
                    origin=TagOrigin.HUMAN, created_by_id=actor.id))
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="tag.corrected", target=target.name,
                 sentiment=value)
    retrain_later(session)


def set_label(session: Session, actor: User, target: Target, kind: str, key: str, present: bool) -> None:
    """A person says this topic or reason is (``present``) or is not there."""
    try:
        label_kind = LabelKind(kind)
    except ValueError:
        raise UserError(_("Choose a topic or a complaint reason.")) from None
    if session.scalar(select(Label.id).where(Label.kind == label_kind, Label.key == key)) is None:
        raise UserError(_("This topic or reason is not in your company's list."))
    tag_kind = TagKind.TOPIC if label_kind is LabelKind.TOPIC else TagKind.REASON
    session.execute(delete(Tag).where(target.owner(), Tag.kind == tag_kind, Tag.value == key))
    session.add(Tag(call_id=target.call_id, complaint_id=target.complaint_id, kind=tag_kind, value=key,
                    origin=TagOrigin.HUMAN, rejected=not present, created_by_id=actor.id))
    audit.record(session, tenant_id=actor.tenant_id, actor=actor, action="tag.corrected", target=target.name,
                 **{kind: key, "present": present})
    retrain_later(session)


def counts(session: Session, kind: TagKind) -> Counter[str]:
    """How many calls and complaints carry each value of ``kind`` (for filters)."""
    rows = session.scalars(select(Tag.value).where(Tag.kind == kind, Tag.rejected.is_(False)))
    return Counter(rows)

