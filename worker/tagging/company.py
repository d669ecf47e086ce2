"""Tag a text the way one company wants it, and store the tags without undoing a person's work.

A company's tagger (:func:`for_company`) is the tagger (worker/tagging/tagger.py) run with the
company's own taxonomy (its labels, renamed or added, with their example phrases), blended with
the company's own model when its people's corrections trained one (worker/tagging/tenant_model.py),
plus personal data (worker/tagging/pii.py). It reads only the company's rows: the Session it is given is
bound to that company (tenancy), so what one company taught never reaches another.

:func:`write_tags` replaces the machine's tags of a call or a complaint in one transaction and
leaves alone every kind or value a person has set, including their "not this one".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from webapp import search
from webapp.models import Label, LabelKind, Tag, TaggerModel, TagKind, TagOrigin
from webapp.services.default_taxonomy import DEFAULT_TAXONOMY, Topic
from worker.tagging import pii, tenant_model
from worker.tagging.tagger import tag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Found:
    sentiment: str
    confidence: float
    #: The main topics: what the text is about.
    topics: tuple[str, ...]
    reasons: tuple[str, ...]
    #: Words behind each sentiment, topic or reason key: (start, end) offsets in the text.
    evidence: dict[str, list[tuple[int, int]]]
    #: Personal data: (type, start, end) offsets in the text.
    pii: list[tuple[str, int, int]] = field(default_factory=list)
    #: Topics named only in passing (written as topic tags with ``mention`` set); never also in ``topics``.
    mentions: tuple[str, ...] = ()
    #: The complaint expressions said ("je veux faire une réclamation"), for proposing an oral complaint.
    complaint_expressions: tuple[str, ...] = ()


def _as_topic(label: Label, defaults: dict[str, Topic]) -> Topic:
    examples = tuple(label.example_list())
    base = defaults.get(label.key)
    if base is None:
        return Topic(label.key, label.label_fr, label.label_en, examples, examples)
    return Topic(label.key, label.label_fr, label.label_en, base.keywords_fr + examples,
                         base.keywords_en + examples)


class CompanyTagger:
    def __init__(self, topics: Sequence[Topic], reasons: Sequence[Topic], model: Any | None,
                 *, find_pii: bool = True) -> None:
        self.topics = tuple(topics)
        self.reasons = tuple(reasons)
        self.model = model
        self.find_pii = find_pii

    def tag(self, text: str, lang: str | None = None) -> Found:
        found = tag(text, lang, self.topics)
        sentiment, confidence, topics = found.sentiment, found.sentiment_confidence, found.topics
        if self.model is not None:
            sentiment, confidence, topics = tenant_model.blend(found, self.model.predict(text),
                                                               topics_known=[t.id for t in self.topics])
        evidence = dict(found.evidence)
        reasons: tuple[str, ...] = ()
        if self.reasons:
            by_reason = tag(text, lang, self.reasons)
            reasons = by_reason.topics
            evidence.update({key: spans for key, spans in by_reason.evidence.items() if key in reasons})
        personal: list[tuple[str, int, int]] = []
        if self.find_pii:
            personal = [(span.type, span.start, span.end) for span in pii.find_pii(text, lang)]
        # the company's model may make a mention a main topic; one it removed is not mentioned either
        mentions = tuple(t for t in found.mentions if t not in topics)
        return Found(sentiment, confidence, topics, reasons, evidence, personal, mentions, found.complaint_expressions)


def default_tagger(*, find_pii: bool = True) -> CompanyTagger:
    """The tagger of a company that changed nothing (``ecoute tag``, evaluation)."""
    return CompanyTagger(DEFAULT_TAXONOMY, (), None, find_pii=find_pii)


def for_company(session: Session) -> CompanyTagger:
    """The tagger of the company ``session`` is bound to: its active labels and its own model."""
    defaults = {topic.id: topic for topic in DEFAULT_TAXONOMY}
    active = session.scalars(select(Label).where(Label.retired_at.is_(None)).order_by(Label.id)).all()
    topics = [_as_topic(label, defaults) for label in active if label.kind == LabelKind.TOPIC]
    reasons = [_as_topic(label, defaults) for label in active if label.kind == LabelKind.REASON]
    row = session.scalar(select(TaggerModel))
    model = None
    if row is not None:
        try:
            model = tenant_model.TenantModel.load(row.payload)
        except ValueError:  # made by another version: the lexicon alone until the next retraining
            log.warning("the company's tagging model cannot be read (%d examples): lexicon only", row.examples)
    return CompanyTagger(topics, reasons, model)


def write_tags(session: Session, found: Found, text: str, *, call_id: int | None = None,
               complaint_id: int | None = None, words: list[dict[str, Any]] | None = None) -> None:
    """Replace the machine's tags of one call or complaint with ``found``; a person's tags stay.

    ``words`` (a call's transcript words, whose texts joined by spaces make ``text``) adds the
    time of each piece of personal data, so that a clip can bleep it, and of each complaint expression.
    """
    owner = Tag.call_id == call_id if call_id is not None else Tag.complaint_id == complaint_id
    human = session.scalars(select(Tag).where(owner, Tag.origin == TagOrigin.HUMAN)).all()
    human_kinds = {t.kind for t in human}
    human_values = {(t.kind, t.value) for t in human}
    session.execute(delete(Tag).where(owner, Tag.origin == TagOrigin.MACHINE))

    def add(kind: TagKind, value: str, confidence: float, evidence: list[Any], *, mention: bool = False) -> None:
        session.add(Tag(call_id=call_id, complaint_id=complaint_id, kind=kind, value=value,
                        confidence=round(confidence, 3), evidence=evidence, mention=mention))

    def snippets(key: str) -> list[Any]:
        return [text[a:b] for a, b in found.evidence.get(key, [])][:5]

    if TagKind.SENTIMENT not in human_kinds:
        add(TagKind.SENTIMENT, found.sentiment, found.confidence, snippets(found.sentiment))
    for kind, values in ((TagKind.TOPIC, found.topics), (TagKind.REASON, found.reasons)):
        for value in values:
            if (kind, value) not in human_values:
                add(kind, value, 1.0, snippets(value))
    for value in found.mentions:  # a topic named in passing: a topic tag marked as a mention
        if (TagKind.TOPIC, value) not in human_values:
            add(TagKind.TOPIC, value, 1.0, snippets(value), mention=True)
    by_type: dict[str, list[Any]] = {}
    times = _times(found.pii, words) if words is not None else {}
    for index, (pii_type, start, end) in enumerate(found.pii):
        by_type.setdefault(pii_type, []).append([start, end, *times.get(index, ())])
    for pii_type, spans in sorted(by_type.items()):
        add(TagKind.PII, pii_type, 1.0, spans)
    for value, where in _expressions(found.complaint_expressions, text, words).items():
        if value:
            add(TagKind.EXPRESSION, value, 1.0, where)


def expression_key(said: str) -> str:
    """A complaint expression as a tag's value: folded, one space between words ("C'est  INADMISSIBLE" ->
    "c est inadmissible")."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", search.fold(said)).split())[:60]


def _expressions(said: Sequence[str], text: str, words: list[dict[str, Any]] | None) -> dict[str, list[Any]]:
    """Where each complaint expression was said, by :func:`expression_key`: its words as said, their
    offsets in ``text`` and, with a call's ``words``, their time (s)."""
    spans: list[tuple[str, int, int]] = []
    for expression in said:
        at = text.find(expression)
        while at >= 0:
            spans.append((expression, at, at + len(expression)))
            at = text.find(expression, at + len(expression))
    spans.sort(key=lambda span: span[1])
    times = _times(spans, words) if words is not None else {}
    found: dict[str, list[Any]] = {}
    for index, (expression, start, end) in enumerate(spans):
        where: dict[str, Any] = {"said": " ".join(expression.split()), "start": start, "end": end}
        if index in times:
            where["start_s"], where["end_s"] = times[index]
        found.setdefault(expression_key(expression), []).append(where)
    return found


def _times(pii: list[tuple[str, int, int]], words: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    """Start and end time (s) of the words each personal-data span overlaps."""
    spans, at = [], 0
    for word in words:
        token = str(word.get("word", ""))
        spans.append((at, at + len(token), float(word["start"]), float(word["end"])))
        at += len(token) + 1
    result: dict[int, tuple[float, float]] = {}
    for index, (_type, start, end) in enumerate(pii):
        hit = [(s, e) for a, b, s, e in spans if a < end and start < b]
        if hit:
            result[index] = (min(s for s, _e in hit), max(e for _s, e in hit))
    return result
