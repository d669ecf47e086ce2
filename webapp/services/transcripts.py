"""Correcting what the recogniser heard: a quality manager edits a call's words, their timings stay (issue #16).

A correction addresses the transcript's timed words by position (``"<segment>-<word>"``, see
:attr:`TimedWord.key`) and changes only their text. Words are never added or removed, so every
timing stays the recogniser's and a correction can be corrected again:

- a word corrected to several words ("recommandrai" → "recommanderai", "répond" → "je réponds") keeps
  its one timing: the new words share it, are shown together in the caption line the word was in, and
  read to the tagger as the words they are;
- an emptied word keeps its place and its timing in the transcript (it can be given back), but shows
  nothing in the captions and is left out of the transcript's text.

The correction then flows on, in the same transaction: the transcript's text and its folded copy
(``search.keep_folded``), ``Transcript.corrected_at``; the call's ``process_call`` job is queued again
(its renditions and transcript are there, so it only tags again, from the corrected words); every clip
of the call holding a corrected word is rendered again (``render_clip``: captions rebuilt from the
corrected words, personal data masked in them and silenced in the audio, as for a new clip: masking
looks at the words as corrected) and gets ``Clip.captions_corrected_at``. The journal says who corrected
how many words of which call and clips, never the words.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import jobs
from webapp.db import utcnow
from webapp.errors import NotFound, UserError
from webapp.i18n import _
from webapp.models import Call, Clip, Tag, TagKind, Transcript, User
from webapp.services import audit, clips

#: The job that tags a call (worker/handlers/process_call.py: with its transcript there, it only tags again).
PROCESS_CALL = "process_call"
#: A corrected word (or the words that replace it) is at most this long.
MAX_WORD_CHARACTERS = 100
#: The form's field for a word: ``word-<segment>-<word>``.
FIELD = re.compile(r"^word-(\d{1,6})-(\d{1,6})$")


@dataclass(frozen=True)
class TimedWord:
    """One timed word of a transcript, as a person reads and corrects it."""

    segment: int
    index: int
    start: float
    end: float
    text: str  #: without the recogniser's leading space; "" once a person emptied it

    @property
    def key(self) -> str:
        """Where the word is in the transcript: what a correction names (the form's ``word-<key>``)."""
        return f"{self.segment}-{self.index}"


@dataclass(frozen=True)
class Line:
    """Words of one segment (one speaker's turn), as the editor shows them, from ``start``."""

    start: float
    speaker: str
    words: list[TimedWord]


@dataclass(frozen=True)
class Correction:
    """What a correction changed: how many words, and which clips are being captioned again."""

    words: int
    clip_ids: list[int]


def _segments(transcript: Transcript) -> list[dict[str, Any]]:  # Any: the transcript's stored JSON
    return transcript.segments or []


def _timed(segment: int, index: int, item: Mapping[str, Any]) -> TimedWord | None:
    start, end = item.get("start"), item.get("end")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return None
    return TimedWord(segment, index, float(start), max(float(start), float(end)), str(item.get("word") or "").strip())


def _is_inside(word: TimedWord, start: float, end: float) -> bool:
    """The render job's rule (worker/audio/clips.py ``_is_inside``): the range holds the word's
    midpoint, or more than half of it; those are the words a clip's captions show."""
    middle = (word.start + word.end) / 2
    return start <= middle <= end or min(word.end, end) - max(word.start, start) > (word.end - word.start) / 2


def lines(transcript: Transcript | None, start: float | None = None, end: float | None = None) -> list[Line]:
    """The transcript's timed words, one line per segment, in the transcript's order; with ``start`` and
    ``end`` (seconds of the call), only the words a clip of that range shows, and lines left with none
    are dropped."""
    out: list[Line] = []
    for s, segment in enumerate(_segments(transcript) if transcript is not None else []):
        words = [w for i, item in enumerate(segment.get("words") or []) if (w := _timed(s, i, item)) is not None]
        if start is not None and end is not None:
            words = [w for w in words if _is_inside(w, start, end)]
        if words:
            out.append(Line(words[0].start, str(segment.get("speaker") or ""), words))
    return out


def clip_lines(session: Session, clip: Clip) -> list[Line]:
    """The words of ``clip`` on their timings, for its editor."""
    transcript = session.scalar(select(Transcript).where(Transcript.call_id == clip.call_id))
    return lines(transcript, clip.start_s, clip.end_s)


def get_transcript(session: Session, call: Call) -> Transcript:
    """The call's transcript; NotFound before the worker made it."""
    transcript = session.scalar(select(Transcript).where(Transcript.call_id == call.id))
    if transcript is None:
        raise NotFound()
    return transcript


def parse(form: Mapping[str, str]) -> dict[str, str]:
    """The corrections a form carries: ``{"<segment>-<word>": text}`` for each ``word-…`` field."""
    found: dict[str, str] = {}
    for name, value in form.items():
        match = FIELD.match(name)
        if match:
            found[f"{int(match[1])}-{int(match[2])}"] = value
    return found


def _apply(segments: list[dict[str, Any]], corrections: Mapping[str, str]) -> list[tuple[float, float]]:
    """Write ``corrections`` into ``segments`` (in place); the times of the words that changed."""
    changed: list[tuple[float, float]] = []
    for key, value in corrections.items():
        s, _sep, i = key.partition("-")
        try:
            item = segments[int(s)]["words"][int(i)]
        except (ValueError, IndexError, KeyError, TypeError):
            raise UserError(_("The transcript changed while you were correcting it. Reload the page and "
                              "correct it again."), "transcript_changed") from None
        text = " ".join(value.split())
        if len(text) > MAX_WORD_CHARACTERS:
            raise UserError(_("A corrected word is too long: %(max)d characters at most.",
                              max=MAX_WORD_CHARACTERS), "word_too_long")
        before = str(item.get("word") or "")
        if text == before.strip():
            continue
        # The recogniser's leading space (or its absence before "'hui" or ",") is how words join.
        item["word"] = before[:len(before) - len(before.lstrip())] + text if text else ""
        word = _timed(int(s), int(i), item)
        if word is not None:
            changed.append((word.start, word.end))
    return changed


def _tagged_text(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The words the tagger reads, in its order (as worker/handlers/process_call.py and excerpts.call_text)."""
    if any(s.get("speaker") for s in segments):
        segments = [s for s in segments if s.get("speaker") == "customer"]
    return [w for s in segments for w in s.get("words") or []]


def _offsets(words: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Where each word lies, without its leading space, in the words joined by spaces (the text the
    tagger's offsets point into)."""
    out, at = [], 0
    for word in words:
        text = str(word.get("word") or "")
        out.append((at + len(text) - len(text.lstrip()), at + len(text)))
        at += len(text) + 1
    return out


def _follow_offsets(session: Session, call_id: int, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Move the personal-data tags' character offsets to the corrected text, each span widened to whole
    words: excerpts (webapp/services/excerpts.py) mask by offset, and the tagger runs again only when the
    worker gets to it. Its times (what the clips' audio and captions mask) do not move."""
    old, new = _offsets(before), _offsets(after)
    if len(old) != len(new) or old == new:
        return

    def moved(a: int, b: int) -> tuple[int, int]:
        hit = [n for o, n in zip(old, new, strict=True) if o[0] < b and a < o[1]]
        return (hit[0][0], hit[-1][1]) if hit else (a, b)

    for tag in session.scalars(select(Tag).where(Tag.call_id == call_id, Tag.kind == TagKind.PII)):
        evidence = []
        for item in tag.evidence or []:
            if isinstance(item, list) and len(item) >= 2 and isinstance(item[0], int) and isinstance(item[1], int):
                item = [*moved(item[0], item[1]), *item[2:]]
            evidence.append(item)
        tag.evidence = evidence


def correct(session: Session, actor: User, call: Call, corrections: Mapping[str, str]) -> Correction:
    """Correct words of ``call``'s transcript: their text only, their timings stay (see the module).

    ``corrections`` maps a word's :attr:`TimedWord.key` to its new text (whitespace collapsed; "" empties
    it); words given unchanged are left alone. Raises :class:`UserError` for a word that is not in the
    transcript (it changed meanwhile) or too long, NotFound when the call has no transcript. Side
    effects when a word changed: the transcript's text, ``corrected_at``, the tags' offsets; the call's
    tagging and the touched clips' rendering queued; one journal entry without the words.
    """
    transcript = get_transcript(session, call)
    segments = copy.deepcopy(_segments(transcript))
    changed = _apply(segments, corrections)
    if not changed:
        return Correction(0, [])
    for segment in segments:
        if segment.get("words"):
            segment["text"] = "".join(str(w.get("word") or "") for w in segment["words"]).strip()
    _follow_offsets(session, call.id, _tagged_text(_segments(transcript)), _tagged_text(segments))
    now = utcnow()
    transcript.segments = segments
    transcript.text = " ".join(s["text"] for s in segments if s.get("text"))
    transcript.corrected_at = now
    stamp = now.strftime("%Y%m%dT%H%M%S.%f")
    jobs.enqueue(session, kind=PROCESS_CALL, idempotency_key=f"{PROCESS_CALL}:{call.id}:corrected:{stamp}",
                 payload={"call_id": call.id})
    touched = [clip for clip in clips.clips_of_call(session, call)
               if any(_is_inside(TimedWord(0, 0, a, b, ""), clip.start_s, clip.end_s) for a, b in changed)]
    for clip in touched:
        clips.caption_again(session, clip, now)
    audit.record(session, tenant_id=call.tenant_id, actor=actor, action="transcript.corrected",
                 target=f"call:{call.id}", words=len(changed), clips=[clip.id for clip in touched])
    return Correction(len(changed), [clip.id for clip in touched])
