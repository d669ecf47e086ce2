"""Clips of a call for the customer room: a moment cut on word boundaries, captioned, rendered with ffmpeg.

A quality manager picks a time range (a waveform region, or some words of the transcript). :func:`snap`
moves its edges to the nearest word boundaries, :func:`captions` makes the lines the kiosk shows, and
:func:`render` cuts the original upload into a short Opus file at the same loudness as every call page
(:data:`worker.audio.renditions.TARGET_LUFS`), with the personal data that the tags point at silenced.

Times are seconds of the call everywhere, except in what :func:`captions` returns (seconds of the clip).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webapp import ffmpeg
from worker.audio.renditions import TARGET_LUFS, DecodeError

#: A clip shorter than this says nothing; one longer than this is not a "moment" and would lose the room.
MIN_SECONDS = 1.0
MAX_SECONDS = 120.0
#: Room left before the first word and after the last: speech starts softly and rings on a little.
PAD_BEFORE_SECONDS = 0.12
PAD_AFTER_SECONDS = 0.20
#: Fade in and out, so that a clip cut mid-breath never starts or stops with a click.
FADE_SECONDS = 0.15
#: True-peak ceiling (dBTP), as for the call pages.
TRUE_PEAK_DB = -1.5
#: Opus's decoded peaks overshoot its input's by a few tenths of a dB: gains are chosen this much under the ceiling.
CODEC_MARGIN_DB = 0.5
#: loudnorm's loudness-range target only decides whether it may apply one linear gain (the clip's range must
#: not exceed it); a clip keeps its own dynamics, so the bar is set at loudnorm's maximum.
LOUDNESS_RANGE_LU = 50.0
#: How far under the true-peak ceiling the limiter holds speech peaks, and how many tries it gets to leave
#: loudnorm a static gain (see :func:`_normalised`).
LIMIT_HEADROOM_DB = 2.0
LIMIT_ATTEMPTS = 3
#: What the room's players decode natively; 64 kb/s is transparent for a mono voice.
OUTPUT_RATE = 48000
OPUS_BITRATE = "64k"
OPUS_FRAME_SECONDS = 0.02
#: Rumble and DC offset go before the mute spans are zeroed: the Opus encoder high-passes at 3 Hz, and
#: low-frequency content (or an offset) stopped dead leaves that filter ringing on for some 300 ms, at -35 dB
#: at first, into the silence. No voice goes this low.
HIGHPASS_HZ = 50
#: Below this integrated loudness ffmpeg's meters call it silence (the absolute gate of EBU R128).
SILENCE_LUFS = -70.0

#: Caption lines: at most about this many characters, a new line after a pause this long (seconds).
#: How far past LINE_CHARACTERS a line may run to end its sentence.
LINE_OVERRUN = 14
LINE_CHARACTERS = 42
LINE_GAP_SECONDS = 0.8
#: What a word touching a personal-data span shows instead of itself.
MASK = "•••"

_SENTENCE_END = re.compile(r"[.!?…][\"”»)'’]*$")
#: Whisper splits "aujourd'hui" into "aujourd" + "'hui", and writes "," or ")" as words of their own at times.
_NO_SPACE_BEFORE = tuple(",.;:!?…)]}'’")
_NO_SPACE_AFTER = tuple("'’([{")


@dataclass(frozen=True)
class Word:
    """One timed word of a transcript, its text without Whisper's leading space."""

    start: float
    end: float
    text: str
    speaker: str  #: "customer", "agent", or "" when the transcript does not tell speakers apart


@dataclass(frozen=True)
class RenderedClip:
    """What :func:`render` measured on the file it wrote (not what it asked ffmpeg for)."""

    duration: float  #: seconds, as ffprobe reads the file
    loudness_lufs: float  #: integrated loudness (EBU R128); :data:`SILENCE_LUFS` for a silent clip
    sha256: str
    size: int


# --- words --------------------------------------------------------------------------------


def words_of(segments: list[dict[str, Any]]) -> list[Word]:  # Any: the transcript is stored JSON
    """Every timed word of a transcript, sorted by start (stable: equal starts keep the transcript's order).

    Two speakers' segments interleave in time, so words are sorted after they are gathered. A segment
    without word timings (a transcript made before they were asked for) counts as one long word, so that
    its text still reaches the captions. Words with no text or no timing are left out.
    """
    words: list[Word] = []
    for segment in segments:
        speaker = str(segment.get("speaker") or "")
        timed = segment.get("words")
        items = timed if timed is not None else [{"start": segment.get("start"), "end": segment.get("end"),
                                                    "word": segment.get("text", "")}]
        for item in items:
            start, end, text = item.get("start"), item.get("end"), str(item.get("word") or "").strip()
            if not text or not isinstance(start, int | float) or not isinstance(end, int | float):
                continue
            words.append(Word(float(start), max(float(start), float(end)), text, speaker))
    return sorted(words, key=lambda word: word.start)


def _is_inside(word: Word, start: float, end: float) -> bool:
    """Whether the range holds a meaningful part of the word: its midpoint, or more than half of it.

    A range that merely grazes a word (the manager's drag overshot by a syllable) does not take it in.
    """
    middle = (word.start + word.end) / 2
    overlap = min(word.end, end) - max(word.start, start)
    return start <= middle <= end or overlap > (word.end - word.start) / 2


def _check_range(start: float, end: float) -> None:
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"a clip needs finite times, not {start} to {end}")
    if end <= start:
        raise ValueError(f"a clip ends after it starts: {start:.2f} s to {end:.2f} s is backwards or empty")


def snap(words: list[Word], start: float, end: float, *, duration: float) -> tuple[float, float]:
    """The range ``[start, end]`` moved to word boundaries, with a little room, within ``[0, duration]``.

    The clip starts up to :data:`PAD_BEFORE_SECONDS` before the first word inside the range and ends up to
    :data:`PAD_AFTER_SECONDS` after the last one (see :func:`_is_inside`), never more than half-way to a
    word left out, so the room never hears half a syllable of it. With no word inside (silence, music,
    no transcript) the range is only clamped to the recording.

    Raises:
        ValueError: the range is backwards or empty, or the clip would be shorter than
            :data:`MIN_SECONDS` or longer than :data:`MAX_SECONDS`.
    """
    _check_range(start, end)
    inside = [_is_inside(word, start, end) for word in words]
    chosen = [word for word, is_in in zip(words, inside, strict=True) if is_in]
    if chosen:
        first = min(chosen, key=lambda word: word.start)
        last = max(chosen, key=lambda word: word.end)
        others = [word for word, is_in in zip(words, inside, strict=True) if not is_in]
        before = max((word.end for word in others if word.start < first.start), default=-math.inf)
        after = min((word.start for word in others if word.end > last.end), default=math.inf)
        # A neighbour that overlaps the first or last word (the other speaker) leaves no room at all.
        start = first.start - max(0.0, min(PAD_BEFORE_SECONDS, (first.start - before) / 2))
        end = last.end + max(0.0, min(PAD_AFTER_SECONDS, (after - last.end) / 2))
    start, end = round(max(0.0, start), 3), round(min(duration, end), 3)
    length = end - start
    if length < MIN_SECONDS:
        raise ValueError(f"this clip would last {max(0.0, length):.2f} s; a clip lasts at least {MIN_SECONDS:g} s")
    if length > MAX_SECONDS:
        raise ValueError(f"this clip would last {length:.0f} s; a clip lasts at most {MAX_SECONDS:g} s")
    return start, end


# --- captions -----------------------------------------------------------------------------


def _touches(word: Word, spans: Sequence[tuple[float, float]]) -> bool:
    return any(word.start < span_end and word.end > span_start for span_start, span_end in spans)


def _masked(words: list[Word], spans: Sequence[tuple[float, float]]) -> list[Word]:
    """The words with those touching a personal-data span replaced by :data:`MASK`, one per run.

    One mask per run rather than per word, so that the room cannot count the digits of a phone number
    or the parts of a name. A run stops where the speaker changes, because lines do too.
    """
    out: list[Word] = []
    for word in words:
        if not _touches(word, spans):
            out.append(word)
        elif out and out[-1].text == MASK and out[-1].speaker == word.speaker:
            out[-1] = Word(out[-1].start, max(out[-1].end, word.end), MASK, word.speaker)
        else:
            out.append(Word(word.start, word.end, MASK, word.speaker))
    return out


def _join(texts: list[str]) -> str:
    line = ""
    for text in texts:
        glued = not line or text.startswith(_NO_SPACE_BEFORE) or line.endswith(_NO_SPACE_AFTER)
        line += text if glued else f" {text}"
    return line


def _too_long(line: list[Word], word: Word) -> bool:
    """Whether ``word`` would make ``line`` too long; a sentence's last word may overrun a little
    rather than sit alone on the next line ("ma" / "commande.")."""
    length = len(_join([w.text for w in line] + [word.text]))
    if _SENTENCE_END.search(word.text):
        return length > LINE_CHARACTERS + LINE_OVERRUN
    return length > LINE_CHARACTERS


def captions(words: list[Word], start: float, end: float, *,
             masked: Sequence[tuple[float, float]] = ()) -> list[dict[str, Any]]:  # Any: JSON for the kiosk
    """Caption lines of the clip ``[start, end]``: ``{"start", "end", "text"}``, in seconds of the clip.

    Words are those :func:`snap` would keep. A line ends at a sentence end, before it would pass
    :data:`LINE_CHARACTERS`, at a pause longer than :data:`LINE_GAP_SECONDS` and where the speaker
    changes; it lasts until its last word ends, or until the next line starts if that comes first (when
    the speakers talk over each other), so that lines never overlap. Words touching a ``masked`` span
    (personal data, in seconds of the call) are shown as :data:`MASK`.
    """
    _check_range(start, end)
    kept = _masked([word for word in words if _is_inside(word, start, end)], masked)
    groups: list[list[Word]] = []
    for word in kept:
        line = groups[-1] if groups else None
        if (line is None or word.speaker != line[-1].speaker or word.start - line[-1].end > LINE_GAP_SECONDS
                or _SENTENCE_END.search(line[-1].text) or _too_long(line, word)):
            groups.append([word])
        else:
            line.append(word)
    length = end - start
    lines: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        line_start = min(max(0.0, group[0].start - start), length)
        line_end = min(max(word.end for word in group) - start, length)
        if index + 1 < len(groups):
            line_end = min(line_end, groups[index + 1][0].start - start)
        lines.append({"start": round(line_start, 2), "end": round(max(line_start, line_end), 2),
                      "text": _join([word.text for word in group])})
    return lines


# --- audio --------------------------------------------------------------------------------


def _ffmpeg(source: Path, output: list[str], deadline: float, *, verbose: bool = False,
            input_options: Sequence[str] = (), exit_on_error: bool = False) -> ffmpeg.Output:
    """ffmpeg on ``source`` within what is left of the render's time, quiet but for errors, or at ``info``
    level when its filters report on stderr (loudnorm, ebur128)."""
    return ffmpeg.run(source, output, timeout=deadline - time.monotonic(), log_level="info" if verbose else "error",
                      input_options=input_options, exit_on_error=exit_on_error)


def _seconds(path: Path, deadline: float) -> float:
    """A file's duration as ffprobe reads it from the container (what a player shows)."""
    report = ffmpeg.probe(path, ["-show_entries", "format=duration"], timeout=deadline - time.monotonic())
    try:
        return float(report["format"]["duration"])
    except (ValueError, KeyError, TypeError) as err:  # "N/A", or no format section
        raise DecodeError(f"ffprobe read no duration in {path.name}") from err


def _mute_expression(mute: Sequence[tuple[float, float]], start: float, length: float) -> str | None:
    """An ``aeval`` expression that zeroes the mute spans, converted to clip time; None when none falls in.

    ``aeval`` decides sample by sample; ``volume``'s ``enable`` would act per frame (up to ~0.1 s late
    at 8 kHz) and let the first digits of a phone number through.
    """
    spans = []
    for span_start, span_end in mute:
        a, b = max(0.0, span_start - start), min(length, span_end - start)
        if b > a:
            spans.append(f"between(t,{a:.6f},{b:.6f})")
    return f"val(0)*not({'+'.join(spans)})" if spans else None


@dataclass(frozen=True)
class _Loudness:
    """What loudnorm's first pass reports (LUFS, dBTP, LU)."""

    integrated: float
    true_peak: float
    loudness_range: float
    threshold: float
    offset: float

    def fits(self) -> bool:
        """Whether one static gain reaches the target without pushing the peaks over the ceiling.

        loudnorm's own condition for ``linear=true`` (``af_loudnorm.c``, ``init``), with the codec's margin
        on top; when loudnorm's does not hold, it quietly falls back to its dynamic mode, which on speech
        lands about 1 LU short.
        """
        return self.true_peak + TARGET_LUFS - self.integrated <= TRUE_PEAK_DB - CODEC_MARGIN_DB

    def loudnorm(self) -> str:
        """The second pass: the measured values back into loudnorm, for one linear gain."""
        # loudnorm takes measured_LRA=0 for "not measured" and then refuses linear mode, but 0 is also what
        # it measures on a clip of steady level or a few seconds long (its short-term window is 3 s).
        return (f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK_DB}:LRA={LOUDNESS_RANGE_LU}"
                f":measured_I={self.integrated:.2f}:measured_TP={self.true_peak:.2f}"
                f":measured_LRA={max(self.loudness_range, 0.01):.2f}:measured_thresh={self.threshold:.2f}"
                f":offset={self.offset:.2f}:linear=true")


def _measure(path: Path, deadline: float) -> _Loudness:
    """First loudnorm pass over a file; its JSON report is the last thing ffmpeg writes on stderr."""
    done = _ffmpeg(path, ["-af", f"loudnorm=I={TARGET_LUFS}:TP={TRUE_PEAK_DB}:LRA={LOUDNESS_RANGE_LU}"
                          ":print_format=json", "-f", "null", "-"], deadline, verbose=True)
    text = done.stderr.decode(errors="replace")
    try:
        report = json.loads(text[text.rfind("{"): text.rfind("}") + 1])
        return _Loudness(float(report["input_i"]), float(report["input_tp"]), float(report["input_lra"]),
                         float(report["input_thresh"]), float(report["target_offset"]))
    except (ValueError, KeyError) as err:
        raise DecodeError(f"loudnorm printed no measurement: {text[-300:]}") from err


def _limit(source: Path, target: Path, gain_db: float, deadline: float) -> None:
    """``source`` raised by ``gain_db`` with its peaks held under the ceiling, as float WAV at 48 kHz.

    Speech through a phone line peaks some 20 dB above its loudness, more than the 14.5 dB that
    -16 LUFS under -1.5 dBTP leaves, so a static gain alone cannot reach the target. The limiter runs
    at 192 kHz (4x oversampling, so it holds true peaks rather than samples) with its delay compensated
    (the mute spans stay where they are), and :data:`LIMIT_HEADROOM_DB` under the ceiling, so that the
    static gain still to come cannot push the peaks over it.
    """
    ceiling = 10 ** ((TRUE_PEAK_DB - LIMIT_HEADROOM_DB) / 20)
    _ffmpeg(source, ["-af", f"volume={gain_db:.2f}dB,aresample=192000,"
                     f"alimiter=limit={ceiling:.4f}:level=disabled:latency=true,aresample={OUTPUT_RATE}",
                     "-c:a", "pcm_f32le", str(target)], deadline)


def _loudness(path: Path, deadline: float) -> float:
    """Integrated loudness (LUFS) of a file, read from ffmpeg's ebur128 summary."""
    done = _ffmpeg(path, ["-af", "ebur128", "-f", "null", "-"], deadline, verbose=True)
    found = re.findall(rb"I:\s+(-?[0-9.]+|-inf) LUFS", done.stderr)
    if not found:
        raise DecodeError("ebur128 printed no loudness")
    return max(float(found[-1]), SILENCE_LUFS)


def _normalised(cut: Path, folder: Path, deadline: float) -> tuple[Path, list[str]]:
    """The file to encode and the filters that bring it to :data:`TARGET_LUFS` (none for a silent clip).

    A clip whose peaks allow it gets loudnorm's two passes as they are. Otherwise :func:`_limit` first
    brings it up to the target plus the headroom, peaks held, then loudnorm measures and applies the
    static gain that is left (usually down by a fraction of a dB). If the limiter cost more loudness than
    that headroom covers, the shortfall is added and the limiter runs again.
    """
    measured = _measure(cut, deadline)
    if measured.integrated <= SILENCE_LUFS:  # "-inf" parses too: nothing to scale, and no gain to compute
        return cut, []
    current, gain = cut, TARGET_LUFS - measured.integrated + LIMIT_HEADROOM_DB
    for attempt in range(LIMIT_ATTEMPTS):
        if measured.fits():
            break
        current = folder / f"limited{attempt}.wav"
        _limit(cut, current, gain, deadline)
        measured = _measure(current, deadline)
        gain += TARGET_LUFS - measured.integrated
    return current, [measured.loudnorm()]


def render(source: Path, target: Path, start: float, end: float, *,
           mute: Sequence[tuple[float, float]] = (), timeout: float) -> RenderedClip:
    """Cut ``[start, end]`` of a recording into a room clip: mono Opus in WebM, 48 kHz, at :data:`TARGET_LUFS`.

    1. Cut (input seeking, accurate to the sample), down-mix to mono, remove rumble (:data:`HIGHPASS_HZ`)
       and zero the ``mute`` spans (seconds of the call) into a float WAV, so that every later pass reads
       the very same samples, and personal data weighs nothing in the loudness (a shouted name would
       otherwise make the whole clip quieter).
    2. Two-pass loudnorm, with a peak limiter first when speech peaks forbid a static gain
       (:func:`_normalised`). Gains and limiting keep zeros at zero: the mute spans stay silent. A silent
       clip is encoded as it is.
    3. Resample to 48 kHz (loudnorm works at 192 kHz), fade in and out, encode Opus.

    The file is written beside ``target`` then renamed, so a reader never sees half a clip and a second
    render replaces the first whole. ffmpeg's bit-exact flags leave out the random ids and version strings
    of the WebM header: the same cut of the same source gives the same bytes, hence the same sha256.

    Args:
        timeout: wall-clock seconds for the whole render (every ffmpeg and ffprobe run).

    Raises:
        ValueError: the range is backwards or empty.
        DecodeError: ffmpeg could not read the source, or it holds no audio in the range.
        TimeoutError: the render took longer than ``timeout``.
    """
    _check_range(start, end)
    deadline = time.monotonic() + timeout
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with tempfile.TemporaryDirectory(prefix="ecoute-clip-") as name:
            folder = Path(name)
            cut = folder / "cut.wav"
            chain = ["aformat=channel_layouts=mono", "asetpts=PTS-STARTPTS", f"highpass=f={HIGHPASS_HZ}"]
            muting = _mute_expression(mute, start, end - start)
            if muting:
                chain.append(f"aeval='{muting}':c=same")
            _ffmpeg(source, ["-map", "0:a:0", "-map_metadata", "-1", "-af", ",".join(chain), "-c:a", "pcm_f32le",
                             str(cut)], deadline, input_options=["-ss", f"{start:.6f}", "-t", f"{end - start:.6f}"],
                    exit_on_error=True)
            length = _seconds(cut, deadline)
            if length < OPUS_FRAME_SECONDS:  # the range starts past the end of the recording
                raise DecodeError(f"the recording holds no audio from {start:.2f} s to {end:.2f} s")
            loud, chain = _normalised(cut, folder, deadline)
            fade = min(FADE_SECONDS, length / 2)
            chain += [f"aresample={OUTPUT_RATE}", f"afade=t=in:d={fade:.3f}",
                      f"afade=t=out:st={length - fade:.6f}:d={fade:.3f}"]
            _ffmpeg(loud, ["-af", ",".join(chain), "-ar", str(OUTPUT_RATE), "-ac", "1", "-c:a", "libopus",
                           "-b:a", OPUS_BITRATE, "-fflags", "+bitexact", "-flags:a", "+bitexact", "-f", "webm",
                           str(partial)], deadline)
        duration = _seconds(partial, deadline)
        loudness = _loudness(partial, deadline)
        data = partial.read_bytes()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return RenderedClip(duration=round(duration, 3), loudness_lufs=loudness,
                        sha256=hashlib.sha256(data).hexdigest(), size=len(data))
