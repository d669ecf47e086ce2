"""``render_clip``: cut a quality manager's clip out of its call, ready for the customer room.

The edges the person chose are moved to word boundaries; the audio is cut from the original
recording (the best copy we have), faded in and out, brought to the room's loudness and
encoded for browsers (worker/audio/clips.py). Personal data is silenced in the audio and masked
in the captions: the spans the tagger found in the call, plus what a fresh look at the clip's
own words finds (the agent may read a number back; the call's tags look at the customer only).

The audio is stored under its content hash, so a kiosk may cache it for ever; a clip that moved
gets a new hash, and the old audio is removed when no clip uses it any more. Run twice, the job
leaves the same row and the same object.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from webapp import storage, tenancy
from webapp.errors import PermanentError, RetryableError
from webapp.models import Call, Clip, RenderStatus, Tag, TagKind, Transcript
from worker.audio import clips, renditions
from worker.handlers.context import JobContext
from worker.tagging import pii

KIND = "render_clip"
log = logging.getLogger(__name__)

#: Failure reasons are codes, shown translated (webapp.i18n FAILURE_LABELS).
UNDECODABLE = "undecodable"
MISSING = "missing_original"


class Handler:
    def run(self, ctx: JobContext) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            clip = session.get(Clip, int(ctx.payload["clip_id"]))
            if clip is None:
                return  # deleted (or its call erased) since: nothing to do
            call = session.get(Call, clip.call_id)
            transcript = session.scalar(select(Transcript).where(Transcript.call_id == clip.call_id))
            if call is None or transcript is None:
                return
            pii_tags = list(session.scalars(select(Tag).where(Tag.call_id == call.id, Tag.kind == TagKind.PII)))
            spans = [(float(e[2]), float(e[3])) for tag in pii_tags for e in tag.evidence if len(e) >= 4]
            start, end = clip.start_s, clip.end_s
            storage_key, duration, language = call.storage_key, call.duration_seconds, transcript.language
            segments: list[dict[str, Any]] = transcript.segments or []
        words = clips.words_of(segments)
        try:
            start, end = clips.snap(words, start, end, duration=duration)
        except ValueError as err:
            raise PermanentError(str(err)) from None
        masked = sorted(spans + _spoken_pii(words, start, end, language))
        lines = clips.captions(words, start, end, masked=masked)
        store = storage.get_storage(ctx.settings)
        try:
            with store.local_copy(storage_key) as original, tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "clip.webm"
                done = clips.render(original, out, start, end, mute=masked, timeout=60 + (end - start) * 4)
                key = storage.clip_key(ctx.tenant_id, done.sha256)
                with out.open("rb") as stream:
                    store.write(key, stream, content_type="audio/webm")
        except storage.ObjectMissing:
            raise PermanentError(MISSING) from None
        except renditions.DecodeError:
            raise PermanentError(UNDECODABLE) from None
        except (TimeoutError, storage.StorageError) as err:
            raise RetryableError(str(err)) from err
        with tenancy.tenant_session(ctx.tenant_id) as session:
            clip = session.get(Clip, int(ctx.payload["clip_id"]))
            if clip is None:
                store.delete(key)
                return
            old = clip.audio_key
            clip.start_s, clip.end_s = round(start, 3), round(end, 3)
            clip.audio_key, clip.audio_sha256, clip.audio_size = key, done.sha256, done.size
            clip.duration_s, clip.loudness_lufs, clip.captions = done.duration, done.loudness_lufs, lines
            clip.render_status = RenderStatus.READY
            session.flush()
            still_used = old and session.scalar(select(Clip.id).where(Clip.audio_key == old).limit(1))
        if old and old != key and not still_used:
            store.delete(old)
        log.info("clip %s rendered: %.2f s, %.1f LUFS", ctx.payload["clip_id"], done.duration, done.loudness_lufs)

    def failed(self, ctx: JobContext, reason: str) -> None:
        with tenancy.tenant_session(ctx.tenant_id) as session:
            clip = session.get(Clip, int(ctx.payload["clip_id"]))
            if clip is not None:
                clip.render_status = RenderStatus.FAILED


#: Digits said in a row that make a number to hide in the room, whatever its shape: Whisper writes
#: a spoken phone number in many ways ("06 12 34 56 78", "0,6,1,2...") that no format recognises.
MIN_DIGITS = 5


def _digit_runs(words: list[clips.Word]) -> list[tuple[float, float]]:
    """Times of runs of consecutive words carrying digits, with at least :data:`MIN_DIGITS` of them."""
    runs: list[list[clips.Word]] = [[]]
    for word in words:
        if any(ch.isdigit() for ch in word.text):
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    return [(run[0].start, run[-1].end) for run in runs
            if sum(ch.isdigit() for w in run for ch in w.text) >= MIN_DIGITS]


def _spoken_pii(words: list[clips.Word], start: float, end: float, language: str) -> list[tuple[float, float]]:
    """Times of the personal data said in [start, end], by whichever speaker, and of long numbers.

    In the room, hiding an order number too is a small loss; hearing a customer's phone number is not.
    """
    inside = [w for w in words if start <= (w.start + w.end) / 2 <= end]
    offsets, at = [], 0
    for word in inside:
        offsets.append((at, at + len(word.text)))
        at += len(word.text) + 1
    text = " ".join(w.text for w in inside)
    found = _digit_runs(inside)
    for span in pii.find_pii(text, language):
        hit = [w for w, (a, b) in zip(inside, offsets, strict=True) if a < span.end and span.start < b]
        if hit:
            found.append((min(w.start for w in hit), max(w.end for w in hit)))
    return found
