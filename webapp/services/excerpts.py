"""Excerpts of customers' words with their personal data masked: what a review pack's verbatims and an
alert digest's voices quote (issue #15). Nothing else quotes a customer's text outside the pages that
show it in full to people allowed to read it.

Personal data is found by the tagger (worker/tagging/pii.py) and stored as the evidence of ``pii`` tags:
``[[start, end, ...], ...]`` character offsets into the text the call or complaint was tagged from. Each
span becomes :data:`MASK`, as in the clips' captions (worker/audio/clips.py); spans that touch, or are
separated only by spaces and punctuation, become one mask, so that a reader cannot count the parts of a
name or a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from webapp.models import Tag, Transcript

#: What replaces personal data in an excerpt, as in the clips' captions.
MASK = "•••"
#: About how many characters of a voice an excerpt shows.
EXCERPT = 280


def _merged(spans: Iterable[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """Spans sorted, overlapping ones and those separated only by spaces or punctuation merged (one
    mask per run, as in the captions: a reader cannot count the parts of a name or a number)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((max(0, a), min(len(text), b)) for a, b in spans):
        if end <= start:
            continue
        if out and not text[out[-1][1]:start].strip(" ,.-"):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def mask(text: str, spans: Iterable[tuple[int, int]]) -> tuple[str, list[int]]:
    """``text`` with each personal-data span (character offsets) replaced by :data:`MASK`, and where
    each original offset lands in the masked text (so that an excerpt can be centred on a phrase)."""
    out: list[str] = []
    where: list[int] = []
    at = 0
    length = 0
    for start, end in _merged(spans, text):
        kept = text[at:start]
        where.extend(range(length, length + len(kept)))
        out.append(kept)
        length += len(kept)
        where.extend([length] * (end - start))
        out.append(MASK)
        length += len(MASK)
        at = end
    kept = text[at:]
    where.extend(range(length, length + len(kept)))
    where.append(length + len(kept))
    out.append(kept)
    return "".join(out), where


def excerpt(text: str, focus: int, size: int = EXCERPT) -> str:
    """About ``size`` characters of ``text`` around ``focus``, cut between words, with ellipses."""
    text = " ".join(text.split())
    if len(text) <= size:
        return text
    start = max(0, min(focus - size // 3, len(text) - size))
    end = start + size
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < focus else start
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")


def pii_spans(tags: Iterable[Tag]) -> list[tuple[int, int]]:
    """Character spans of personal data from a voice's ``pii`` tags (``[[start, end, ...], ...]``)."""
    spans: list[tuple[int, int]] = []
    for tag in tags:
        for item in tag.evidence or []:
            if isinstance(item, list | tuple) and len(item) >= 2:
                try:
                    spans.append((int(item[0]), int(item[1])))
                except (TypeError, ValueError):
                    continue
    return spans


def call_text(transcript: Transcript) -> str:
    """The text a call was tagged from, to which its personal-data offsets point: the customer's words
    joined by spaces when the speakers are known, else every word (as worker/handlers/process_call.py)."""
    segments: list[dict[str, Any]] = transcript.segments or []  # Any: the transcript's JSON
    if any(s.get("speaker") for s in segments):
        segments = [s for s in segments if s.get("speaker") == "customer"]
    words = [w for s in segments for w in s.get("words") or []]
    if words:
        return " ".join(str(w["word"]) for w in words)
    return " ".join(str(s["text"]) for s in segments if s.get("text"))


def masked_excerpt(text: str, pii: Iterable[Sequence[Any]], phrases: Sequence[object] = (), size: int = EXCERPT) -> str:
    """An excerpt of ``text`` with its personal data masked, centred on the first of ``phrases`` found
    (the words that made the tag)."""
    focus = 0
    lowered = text.casefold()
    for phrase in phrases:
        if isinstance(phrase, str) and phrase.strip():
            found = lowered.find(phrase.casefold())
            if found >= 0:
                focus = found
                break
    masked, where = mask(text, [(int(span[0]), int(span[1])) for span in pii if len(span) >= 2])
    return excerpt(masked, where[focus] if focus < len(where) else 0, size)
