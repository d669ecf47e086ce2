"""``retrain_tagger``: fit a company's own tagging model from its people's corrections.

Queued (at most once a minute) by each correction (webapp/services/tags.py). The examples are
the company's calls and complaints a person corrected: their text, the sentiment a person set,
and, when a person touched their topics, the full set of topics as corrected (the machine's
topics a person did not reject, plus those a person added). Everything is read through the
company's Session: one company's corrections never reach another's model.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from webapp import tenancy
from webapp.db import utcnow
from webapp.models import Complaint, Tag, TaggerModel, TagKind, TagOrigin, Transcript
from webapp.services.tags import RETRAIN_KIND
from worker.handlers.context import JobContext
from worker.tagging import tenant_model

KIND = RETRAIN_KIND
log = logging.getLogger(__name__)


def customer_text(transcript: Transcript) -> str:
    """What the customer said (all of it for a call without speakers), as the tagger read it."""
    segments = transcript.segments or []
    if any(s.get("speaker") for s in segments):
        segments = [s for s in segments if s.get("speaker") == "customer"]
    words = [w for s in segments for w in s.get("words") or []]
    if words:
        return " ".join(str(w["word"]) for w in words)
    return " ".join(str(s["text"]) for s in segments if s.get("text"))


class Handler:
    def run(self, ctx: JobContext) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            tags = session.scalars(select(Tag).where(Tag.kind.in_([TagKind.SENTIMENT, TagKind.TOPIC]))).all()
            by_owner: dict[tuple[str, int], list[Tag]] = {}
            for tag in tags:
                owner = ("call", tag.call_id) if tag.call_id is not None else ("complaint", tag.complaint_id or 0)
                by_owner.setdefault(owner, []).append(tag)
            examples = []
            for (kind, owner_id), owned in by_owner.items():
                human = [t for t in owned if t.origin == TagOrigin.HUMAN]
                if not human:
                    continue
                if kind == "call":
                    transcript = session.scalar(select(Transcript).where(Transcript.call_id == owner_id))
                    text = customer_text(transcript) if transcript is not None else ""
                else:
                    complaint = session.get(Complaint, owner_id)
                    text = complaint.text if complaint is not None else ""
                if not text.strip():
                    continue
                sentiment = next((t.value for t in human if t.kind == TagKind.SENTIMENT), None)
                topics = None
                if any(t.kind == TagKind.TOPIC for t in human):
                    # what the text is about: the machine's passing mentions are not taught as topics
                    topics = frozenset(t.value for t in owned
                                       if t.kind == TagKind.TOPIC and not t.rejected and not t.mention)
                examples.append(tenant_model.Example(text=text, sentiment=sentiment, topics=topics))
            payload = tenant_model.train(examples)
            row = session.scalar(select(TaggerModel))
            if payload is None:
                if row is not None:
                    session.delete(row)  # corrections were withdrawn: back to the lexicon alone
                log.info("too few corrections to train on (%d texts)", len(examples))
                return
            if row is None:
                row = TaggerModel(tenant_id=ctx.tenant_id, payload=payload)
                session.add(row)
            row.payload, row.examples = payload, len(examples)
            row.trained_at = utcnow()
            log.info("trained on %d corrected texts", len(examples))

    def failed(self, ctx: JobContext, reason: str) -> None:
        log.warning("retraining failed for good: %s", reason)
