"""A call's tags, as people see them: sentiment first, then topics in taxonomy order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import Call, Tag, TagKind, TagOrigin


@dataclass(frozen=True)
class CallTags:
    sentiment: Tag | None
    topics: list[Tag]

    @property
    def empty(self) -> bool:
        return self.sentiment is None and not self.topics


def _topic_order() -> dict[str, int]:
    from worker.tagging import DEFAULT_TAXONOMY  # the default taxonomy lives with the tagger

    return {topic.id: index for index, topic in enumerate(DEFAULT_TAXONOMY)}


def tags_of(session: Session, call: Call) -> CallTags:
    rows = session.scalars(select(Tag).where(Tag.call_id == call.id)).all()
    sentiments = sorted((t for t in rows if t.kind == TagKind.SENTIMENT), key=lambda t: t.origin != TagOrigin.HUMAN)
    order = _topic_order()
    topics = sorted((t for t in rows if t.kind == TagKind.TOPIC), key=lambda t: (order.get(t.value, 99), t.value))
    return CallTags(sentiment=sentiments[0] if sentiments else None, topics=topics)


def topic_label(topic_id: str, locale: str) -> str:
    """The topic's label in ``locale`` (French or English), or its id when it is not in the taxonomy."""
    from worker.tagging import DEFAULT_TAXONOMY

    for topic in DEFAULT_TAXONOMY:
        if topic.id == topic_id:
            return topic.fr if locale.startswith("fr") else topic.en
    return topic_id
