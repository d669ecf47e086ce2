"""Speech to text: an audio file in, a timed transcript out. The model is loaded once per process.

:func:`get_transcriber` returns the process's :class:`Transcriber` for the settings, loading
the model on first use. Two engines run the same Whisper model (``ECOUTE_WHISPER_ENGINE``):

- ``faster-whisper`` (CTranslate2), the default: it reads the directory built by
  ``ecoute models install`` (worker/speech/install.py) as it is;
- ``openai-whisper`` (PyTorch): it reads an openai-whisper checkpoint converted from that same
  directory (worker/speech/convert.py; ``ECOUTE_WHISPER_CHECKPOINT``, written on first use if missing).

Neither engine is ever given a model name, so neither looks at a hub (openai-whisper's tokenizer
vocabularies ship inside its package, under ``whisper/assets``).

Both engines see exactly the same audio: the file is decoded once (PyAV, 16 kHz mono), then
:func:`speech_only` keeps the speech found by faster-whisper's Silero VAD (its own default
options), and each engine transcribes that with its voice-activity filter off; the timestamps
are mapped back to the call's time line by :func:`restore_timestamps`, as faster-whisper does
internally. We run the VAD ourselves rather than through faster-whisper's ``vad_filter``
because openai-whisper has none, and one front end in our code (a) feeds both engines the same
samples, so the engines can be compared word for word (tests/test_transcription.py) and
(b) runs the VAD once per call, where ``detect_language(vad_filter=True)`` then
``transcribe(vad_filter=True)`` ran it twice.

Speed on the 2-core CPU of a developer machine, a 7 s telephone clip, beam 5, word timestamps:
``int8`` runs at about 0.23 x real time, ``float32`` at about 0.32 x (and loads in 1.4 s instead
of 0.4 s) for the same words, hence ``int8`` by default (``ECOUTE_WHISPER_COMPUTE_TYPE``).
openai-whisper, always float32 on a CPU, is about 3 times slower than ``float32`` (figures in
:class:`OpenAIWhisperTranscriber`).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from webapp.config import Settings
from worker.speech import convert
from worker.speech.install import is_installed

log = logging.getLogger(__name__)

#: Languages Écoute transcribes; detection is restricted to them.
LANGUAGES = ("fr", "en")
SAMPLE_RATE = 16000
#: Seconds of a call decoded, filtered and recognised at a time: memory stays bounded whatever its length
#: (about 8 MB of samples, and the engine's features for two minutes).
WINDOW_S = 120.0
#: A second counts as voiced above this level (dBFS) when its 20 ms levels spread by more than VOICED_SPREAD_DB.
VOICED_LEVEL_DB = -45.0
VOICED_SPREAD_DB = 4.0
#: A window with at least this many voiced seconds, of which the VAD keeps less than KEEP_RATIO, is
#: recognised without the VAD.
MIN_VOICED_S = 1.0
KEEP_RATIO = 0.2

Audio = npt.NDArray[np.float32]


class TranscriptionError(Exception):
    """Transcription cannot be done; the message says why in words for an operator."""


class ModelNotInstalled(TranscriptionError):
    pass


class EngineNotInstalled(TranscriptionError):
    pass


class UnreadableAudio(TranscriptionError):
    pass


class TooSlow(TranscriptionError):
    """A transcription ran past its wall-clock limit (:class:`TimeLimit`), and was stopped."""


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass(frozen=True)
class Transcript:
    language: str
    #: How sure detection was of ``language`` (1.0 when the language was given).
    language_probability: float
    text: str
    #: Length of the audio, in seconds.
    duration: float
    segments: list[Segment] = field(default_factory=list)
    #: Seconds whose level says someone may be speaking (:func:`voiced_seconds`): with no words, a warning.
    voiced_s: float = 0.0
    #: Whether some of the audio was recognised without the VAD, because it kept almost nothing of a voice.
    vad_bypassed: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain values only (for ``json.dumps`` or a JSON column)."""
        return asdict(self)


@dataclass(frozen=True)
class LanguageGuess:
    language: str
    #: The language's share of the two (0.5 to 1; 0 without speech).
    probability: float
    #: Seconds of speech it was judged on.
    speech_s: float


def combine(guesses: Sequence[LanguageGuess]) -> tuple[str, float]:
    """One language for several recordings of a call (e.g. each side of a stereo call).

    Each guess votes in proportion to its speech: a side that said "Bonjour, je vous écoute"
    weighs less than one that spoke for a minute, and is the one Whisper most often gets wrong.
    """
    total = sum(g.speech_s for g in guesses)
    if total <= 0:
        return LANGUAGES[0], 0.0
    first = LANGUAGES[0]
    share = sum(g.speech_s * (g.probability if g.language == first else 1 - g.probability) for g in guesses) / total
    return (first, share) if share >= 0.5 else (LANGUAGES[1], 1 - share)


class Transcriber(Protocol):
    def transcribe(self, path: Path, language: str | None = None, fallback: str | None = None) -> Transcript:
        """Transcribe ``path``; ``language`` is ``fr``, ``en`` or ``None`` to detect it among those, with
        ``fallback`` (the company's language) chosen when detection has next to no evidence for either."""

    def detect_language(self, path: Path) -> LanguageGuess:
        """The language of the speech in ``path``, between French and English."""


# --- the front end both engines share ------------------------------------------------------


def windows(path: Path, seconds: float = WINDOW_S) -> Iterator[Audio]:
    """The file as 16 kHz mono float32 samples, ``seconds`` at a time (the last block shorter).

    Decoded by PyAV as it is read, so memory holds about one block whatever the length of the call.
    Timestamps are ignored (samples are counted, as the upload check and the renditions do), and
    frames that fail to decode are skipped, as faster-whisper's ``decode_audio`` does.
    """
    # PyAV (FFmpeg's libraries): loaded only to decode audio
    import av

    if not path.is_file():
        raise UnreadableAudio(f"{path}: no such file")
    size = int(seconds * SAMPLE_RATE)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except Exception as err:  # PyAV raises its own error classes for every kind of bad input
        raise UnreadableAudio(f"{path}: not a readable audio file ({err})") from None
    with container:
        if not container.streams.audio:
            raise UnreadableAudio(f"{path}: no audio stream")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        parts: list[npt.NDArray[np.int16]] = []
        held = 0
        for frame in _decoded_frames(container, path):
            for out in resampler.resample(frame):
                samples: npt.NDArray[np.int16] = np.asarray(out.to_ndarray(), dtype=np.int16).reshape(-1)
                parts.append(samples)
                held += len(samples)
                while held >= size:
                    joined = np.concatenate(parts)
                    parts, held = [joined[size:]], len(joined) - size
                    yield joined[:size].astype(np.float32) / 32768.0
        if held:
            yield np.concatenate(parts).astype(np.float32) / 32768.0
        del resampler
    gc.collect()  # PyAV's resampler keeps buffers until collected (faster-whisper issue 390)


def _decoded_frames(container: Any, path: Path) -> Iterator[Any]:
    """The audio frames of the first stream, then ``None`` to flush the resampler; bad frames skipped."""
    # PyAV (FFmpeg's libraries): loaded only to decode audio
    import av

    frames = container.decode(audio=0)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            continue
        except Exception as err:
            raise UnreadableAudio(f"{path}: not a readable audio file ({err})") from None
        frame.pts = None  # samples are counted, timestamps ignored
        yield frame
    yield None


def decode(path: Path) -> Audio:
    """The whole file as 16 kHz mono float32 samples (for short files: tests, the command line)."""
    blocks = list(windows(path))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def speech_chunks(audio: Audio) -> list[dict[str, int]]:
    """The ``{"start", "end"}`` sample spans of speech in ``audio``, by faster-whisper's Silero VAD with its
    default options (what its ``vad_filter=True`` applies)."""
    # faster-whisper (CTranslate2): loaded only by the engine that uses it
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(audio) == 0:
        return []
    chunks: list[dict[str, int]] = get_speech_timestamps(audio, VadOptions(), sampling_rate=SAMPLE_RATE)
    return chunks


def speech_only(audio: Audio, chunks: list[dict[str, int]] | None = None) -> tuple[Audio, list[dict[str, int]]]:
    """The speech of ``audio`` joined end to end, and the sample spans it came from."""
    # faster-whisper (CTranslate2): loaded only by the engine that uses it
    from faster_whisper.vad import collect_chunks

    chunks = speech_chunks(audio) if chunks is None else chunks
    if not chunks:
        return np.zeros(0, dtype=np.float32), []
    pieces, _metadata = collect_chunks(audio, chunks, sampling_rate=SAMPLE_RATE)
    return np.concatenate(pieces).astype(np.float32, copy=False), chunks


def voiced_seconds(audio: Audio) -> float:
    """Seconds of ``audio`` whose level says someone may be speaking, whatever the VAD thinks.

    Per second: loud enough (above :data:`VOICED_LEVEL_DB` dBFS) and modulated like speech, its
    20 ms levels spread by more than :data:`VOICED_SPREAD_DB` dB (syllables and pauses). A tone,
    a hum or steady noise is loud but flat, silence is neither: they count for nothing.
    """
    frame = SAMPLE_RATE // 50
    count = len(audio) // frame
    if count == 0:
        return 0.0
    power = np.mean(np.square(audio[: count * frame].reshape(count, frame), dtype=np.float64), axis=1)
    levels = 10 * np.log10(np.maximum(power, 1e-9))
    voiced = 0.0
    for start in range(0, count, 50):
        second = levels[start:start + 50]
        if len(second) < 10:
            continue
        level = 10 * np.log10(np.mean(np.power(10.0, second / 10)))
        if level > VOICED_LEVEL_DB and float(np.std(second)) > VOICED_SPREAD_DB:
            voiced += len(second) / 50
    return voiced


def restore_timestamps(segments: Iterable[Segment], chunks: list[dict[str, int]]) -> list[Segment]:
    """Move times measured on the speech-only audio back onto the original one.

    As faster-whisper's ``restore_speech_timestamps``: a word's start and end are placed in the
    speech chunk that holds its middle (so a word never straddles a removed silence), and a
    segment with words spans its first word's start to its last word's end.
    """
    # faster-whisper (CTranslate2): loaded only by the engine that uses it
    from faster_whisper.vad import SpeechTimestampsMap

    segments = list(segments)
    if not chunks:
        return segments
    timeline: Any = SpeechTimestampsMap(chunks, SAMPLE_RATE)  # untyped library: Any at the edge
    restored: list[Segment] = []
    for segment in segments:
        if segment.words:
            words = []
            for word in segment.words:
                chunk = timeline.get_chunk_index((word.start + word.end) / 2)
                words.append(Word(start=float(timeline.get_original_time(word.start, chunk)),
                                  end=float(timeline.get_original_time(word.end, chunk)),
                                  word=word.word, probability=word.probability))
            restored.append(Segment(start=words[0].start, end=words[-1].end, text=segment.text, words=words))
        else:
            restored.append(Segment(start=float(timeline.get_original_time(segment.start)),
                                    end=float(timeline.get_original_time(segment.end, is_end=True)),
                                    text=segment.text))
    return restored


@dataclass(frozen=True)
class TimeLimit:
    """How long one transcription may take: ``factor`` seconds per second of audio, at least ``minimum_s``."""

    factor: float = 4.0
    minimum_s: float = 120.0

    def start(self) -> Deadline:
        """A deadline that grows as the audio is read (its length is known only once decoded)."""
        return Deadline(time.monotonic(), self)


class Deadline:
    """Checked between decoding windows (30 s of speech at most), so a transcription stops at most a window late."""

    def __init__(self, started: float, limit: TimeLimit) -> None:
        self.started = started
        self.limit = limit
        #: Seconds of audio read so far.
        self.duration = 0.0

    def extend(self, seconds: float) -> None:
        self.duration += seconds

    def check(self) -> None:
        elapsed = time.monotonic() - self.started
        limit_s = max(self.limit.minimum_s, self.limit.factor * self.duration)
        if elapsed > limit_s:
            raise TooSlow(f"transcription stopped after {elapsed:.0f} s, over its limit of {limit_s:.0f} s "
                          f"for {self.duration:.0f} s of audio")


def _check_language(language: str | None) -> None:
    if language is not None and language not in LANGUAGES:
        raise TranscriptionError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")


#: Below this share of Whisper's belief going to French and English together, its choice between the two
#: is noise (e.g. two voices mixed on one channel: fr 0.004 against en 0.0095), and the company's own
#: language is the better guess.
MIN_LANGUAGE_EVIDENCE = 0.05


def choose_language(probabilities: Mapping[str, float], fallback: str | None = None) -> tuple[str, float]:
    """The more probable of French and English, and its share of the two.

    Whisper's own detection picks among its 99 languages, and on a poor telephone line it
    sometimes names a neighbour (Italian, Dutch...) for French or English speech. Our calls
    are in French or English only, so each engine gives the probabilities of every language on
    the speech (first 30 s) and we keep the better of ``fr`` and ``en``; the probability
    reported is that language's share of the two, which says how sure the choice between them was.
    When Whisper gives French and English together less than :data:`MIN_LANGUAGE_EVIDENCE`,
    ``fallback`` (the company's language), when given, is chosen instead, with a share of 0.5.
    """
    probs = {code: float(p) for code, p in probabilities.items() if code in LANGUAGES}
    best = max(LANGUAGES, key=lambda code: probs.get(code, 0.0))
    total = sum(probs.values())
    if fallback in LANGUAGES and total < MIN_LANGUAGE_EVIDENCE:
        return str(fallback), 0.5
    return best, (probs.get(best, 0.0) / total if total > 0 else 0.0)


class _Engine(Protocol):
    def _probabilities(self, speech: Audio) -> dict[str, float]:
        """Every language's probability on the first 30 s of ``speech``."""

    def _recognise(self, audio: Audio, language: str, deadline: Deadline, *, steady: bool = False) -> list[Segment]:
        """Timed segments of ``audio`` (times from its start), checking ``deadline`` between windows.

        ``steady``: greedy at temperature 0 only, no conditioning on the previous text (audio the VAD
        did not vouch for: no retries at higher temperatures, which are slow and invent sentences).
        """


def believable(text: str, avg_logprob: float, compression_ratio: float, no_speech_prob: float) -> bool:
    """Whether a segment heard without the VAD is words rather than what Whisper makes of noise.

    Whisper's own thresholds (faster-whisper's defaults), applied as a filter since a steady pass has
    no retry: a repeated phrase ("I'm sorry, I'm sorry...") compresses more than 2.4 times, an unsure
    one averages under -1 per token, a segment it thinks silent is over 0.6; punctuation alone is no word.
    """
    return (any(c.isalnum() for c in text) and compression_ratio <= 2.4 and avg_logprob >= -1.0
            and no_speech_prob <= 0.6)


def _with_last(blocks: Iterator[Audio]) -> Iterator[tuple[Audio, bool]]:
    """Each block and whether it is the last (one block read ahead)."""
    current = next(blocks, None)
    while current is not None:
        following = next(blocks, None)
        yield current, following is None
        current = following


def _cut(pending: Audio, chunks: list[dict[str, int]], last: bool) -> tuple[int, list[dict[str, int]]]:
    """Where to end this piece of the call, and its speech chunks: in a pause when speech runs to the edge.

    Speech that reaches the end of the window is left for the next one (which decodes it whole),
    unless it started in the first half: then the window is cut where it ends, as faster-whisper
    cuts a long speech chunk.
    """
    length = len(pending)
    if last or not chunks or chunks[-1]["end"] < length - SAMPLE_RATE // 2:
        return length, chunks
    if chunks[-1]["start"] > length // 2:
        return chunks[-1]["start"], chunks[:-1]
    return length, chunks


def _shift(segment: Segment, seconds: float) -> Segment:
    return Segment(start=segment.start + seconds, end=segment.end + seconds, text=segment.text,
                   words=[Word(start=w.start + seconds, end=w.end + seconds, word=w.word, probability=w.probability)
                          for w in segment.words])


def transcribe_in_windows(engine: _Engine, path: Path, language: str | None, time_limit: TimeLimit,
                          window_s: float = WINDOW_S, fallback: str | None = None) -> Transcript:
    """Decode, filter and recognise ``path`` a window at a time, in memory bounded by the window.

    Each window of :data:`WINDOW_S` seconds (plus the end of the previous one, when speech ran
    over its edge) goes through the VAD, then its speech through the engine; times are moved
    back onto the call's time line. The language, unless given, is chosen on the first window
    with speech. When the VAD keeps almost nothing of a window whose level says someone speaks
    (:func:`voiced_seconds`), the whole window is recognised without it: a synthetic or muffled
    voice the VAD drops is still heard.
    """
    deadline = time_limit.start()
    probability = 1.0
    found: list[Segment] = []
    pending = np.zeros(0, dtype=np.float32)
    offset = total = 0
    voiced_total = 0.0
    bypassed = False
    for block, last in _with_last(windows(path, window_s)):
        total += len(block)
        deadline.extend(len(block) / SAMPLE_RATE)
        pending = np.concatenate([pending, block]) if len(pending) else block
        cut, chunks = _cut(pending, speech_chunks(pending), last)
        piece = pending[:cut]
        voiced = voiced_seconds(piece)
        kept = sum(c["end"] - c["start"] for c in chunks) / SAMPLE_RATE
        audio: Audio | None = None
        if voiced >= MIN_VOICED_S and kept < KEEP_RATIO * voiced:
            audio, chunks, bypassed = piece, [], True
        elif chunks:
            audio, chunks = speech_only(piece, chunks)
        if audio is not None and len(audio):
            if language is None:
                language, probability = choose_language(engine._probabilities(audio), fallback)
            segments = engine._recognise(audio, language, deadline, steady=not chunks)
            found += [_shift(s, offset / SAMPLE_RATE) for s in restore_timestamps(segments, chunks)]
        voiced_total += voiced
        offset += cut
        pending = pending[cut:]
    if language is None:  # no speech: nothing to tell the languages apart nor to transcribe
        language, probability = LANGUAGES[0], 0.0
    return Transcript(language=language, language_probability=probability,
                      text=" ".join(s.text for s in found if s.text), duration=total / SAMPLE_RATE,
                      segments=found, voiced_s=round(voiced_total, 2), vad_bypassed=bypassed)


def detect_in_windows(engine: _Engine, path: Path, window_s: float = WINDOW_S) -> LanguageGuess:
    """The language of the first 30 s of speech in ``path``, read a window at a time."""
    speech: list[Audio] = []
    heard = 0
    for block in windows(path, window_s):
        chunks = speech_chunks(block)
        kept = sum(c["end"] - c["start"] for c in chunks) / SAMPLE_RATE
        voiced = voiced_seconds(block)
        if voiced >= MIN_VOICED_S and kept < KEEP_RATIO * voiced:
            found = block
        else:
            found = speech_only(block, chunks)[0]
        speech.append(found)
        heard += len(found)
        if heard >= 30 * SAMPLE_RATE:
            break
    if not heard:
        return LanguageGuess(LANGUAGES[0], 0.0, 0.0)
    joined = np.concatenate(speech)[: 30 * SAMPLE_RATE]
    return LanguageGuess(*choose_language(engine._probabilities(joined)), len(joined) / SAMPLE_RATE)


# --- the engines --------------------------------------------------------------------------


class FasterWhisperTranscriber:
    """Whisper on CTranslate2 (faster-whisper)."""

    def __init__(self, model_dir: Path, *, compute_type: str = "int8", threads: int = 2, beam_size: int = 5,
                 device: str = "cpu", time_limit: TimeLimit | None = None) -> None:
        if not is_installed(model_dir):
            raise ModelNotInstalled(f"no Whisper model in {model_dir}: run `ecoute models install`")
        # faster-whisper (CTranslate2): loaded only by the engine that uses it
        from faster_whisper import WhisperModel

        # faster_whisper has no type hints: its objects stay Any inside this class.
        self._model: Any = WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                                        cpu_threads=threads)
        self._beam_size = beam_size
        self._time_limit = time_limit or TimeLimit()

    def transcribe(self, path: Path, language: str | None = None, fallback: str | None = None) -> Transcript:
        _check_language(language)
        return transcribe_in_windows(self, path, language, self._time_limit, fallback=fallback)

    def detect_language(self, path: Path) -> LanguageGuess:
        return detect_in_windows(self, path)

    def _probabilities(self, speech: Audio) -> dict[str, float]:
        _lang, _prob, all_probs = self._model.detect_language(audio=speech, vad_filter=False)
        return dict(all_probs or [])

    def _recognise(self, audio: Audio, language: str, deadline: Deadline, *, steady: bool = False) -> list[Segment]:
        options: dict[str, Any] = {"temperature": 0.0, "condition_on_previous_text": False} if steady else {}
        segments, _info = self._model.transcribe(audio, language=language, beam_size=self._beam_size,
                                                 vad_filter=False, word_timestamps=True, **options)
        found: list[Segment] = []
        for s in segments:  # a generator: decoding happens here, a window at a time
            deadline.check()
            if steady and not believable(s.text, s.avg_logprob, s.compression_ratio, s.no_speech_prob):
                continue
            found.append(Segment(start=float(s.start), end=float(s.end), text=s.text.strip(),
                                 words=[Word(start=float(w.start), end=float(w.end), word=w.word.strip(),
                                             probability=float(w.probability)) for w in s.words or []]))
        return found


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda`` for PyTorch: ``auto`` is ``cuda`` only when PyTorch sees a CUDA device."""
    # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
    import torch

    has_cuda = bool(torch.cuda.is_available())
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device == "cuda" and not has_cuda:
        raise EngineNotInstalled("ECOUTE_WHISPER_DEVICE=cuda: PyTorch sees no CUDA device (the CPU build is "
                                 "installed, or no GPU); use auto or cpu")
    return device


class OpenAIWhisperTranscriber:
    """Whisper on PyTorch (openai-whisper), with the same decoding options as faster-whisper.

    ``checkpoint`` is an openai-whisper checkpoint file, or a CTranslate2 model directory that is
    converted in memory at load. A missing checkpoint file is converted from ``model_dir`` (the
    CTranslate2 model) and saved there atomically for the next process; when it cannot be saved
    (a read-only volume) the in-memory conversion is used and a warning logged.

    On the CPU it computes in float32 (``fp16=False``); on CUDA in float16. Beam search with
    ``beam_size`` (and ``best_of`` 5 when sampling at a fallback temperature), temperatures,
    thresholds and conditioning on previous text are faster-whisper's defaults, which are
    openai-whisper's own. ``threads`` sets PyTorch's intra-op threads, for the whole process.

    One transcription at a time per process: openai-whisper's decoder caches keys and values
    through hooks installed on the shared model, which two threads decoding at once would mix.

    Speed, measured side by side on a 2-core CPU (2 threads each; the machine shared with other
    work, load about 3.7), a 13.7 s English telephone clip (Kokoro voice), beam 5, word timestamps,
    language given, median of 3: faster-whisper ``int8`` 2.3 s, ``float32`` 3.7 s, openai-whisper
    (float32) 11.3 s; with language detection 3.6, 5.6 and 12.8 s. So about 3 times slower than
    faster-whisper at float32, for the same words: this engine is for a CUDA host or for comparison.
    """

    def __init__(self, checkpoint: Path, model_dir: Path, *, device: str = "auto", threads: int = 2,
                 beam_size: int = 5, time_limit: TimeLimit | None = None) -> None:
        try:
            # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
            import torch
            from whisper.model import ModelDimensions, Whisper
        except ImportError as err:
            raise EngineNotInstalled(f"openai-whisper is not installed ({err}); run bin/setup") from None

        self._device = resolve_device(device)
        self._fp16 = self._device == "cuda"
        self._beam_size = beam_size
        self._time_limit = time_limit or TimeLimit()
        self._deadline: Deadline | None = None
        self._lock = threading.Lock()
        torch.set_num_threads(threads)
        loaded = _openai_checkpoint(checkpoint, model_dir)
        try:
            # openai-whisper has no type hints: the model stays Any inside this class.
            model: Any = Whisper(ModelDimensions(**loaded["dims"]))
            model.load_state_dict(loaded["model_state_dict"], strict=True)
        except (TypeError, RuntimeError) as err:
            raise TranscriptionError(f"{checkpoint} does not fit openai-whisper's model ({err})") from None
        heads = loaded.get("alignment_heads")
        if isinstance(heads, bytes):  # the heads CTranslate2 times words with; else openai-whisper's default
            model.set_alignment_heads(heads)
        self._model: Any = model.to(self._device).eval()
        _load_tokenizer(model)
        # whisper.transcribe has no hook between windows, but calls model.decode once per window (and
        # per fallback temperature): checking the deadline there stops it at most a window late.
        decode_window = model.decode

        def decode_within_deadline(*args: Any, **kwargs: Any) -> Any:
            if self._deadline is not None:
                self._deadline.check()
            return decode_window(*args, **kwargs)

        self._model.decode = decode_within_deadline

    def transcribe(self, path: Path, language: str | None = None, fallback: str | None = None) -> Transcript:
        _check_language(language)
        # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
        import torch

        with self._lock, torch.no_grad():  # the deadline starts once the lock is ours: waiting is not working
            return transcribe_in_windows(self, path, language, self._time_limit, fallback=fallback)

    def detect_language(self, path: Path) -> LanguageGuess:
        # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
        import torch

        with self._lock, torch.no_grad():
            return detect_in_windows(self, path)

    def _probabilities(self, speech: Audio) -> dict[str, float]:
        return self._language_probabilities(speech)

    def _recognise(self, audio: Audio, language: str, deadline: Deadline, *, steady: bool = False) -> list[Segment]:
        # openai-whisper (PyTorch): loaded only by the engine that uses it
        import whisper

        options: dict[str, Any] = {"temperature": 0.0, "condition_on_previous_text": False} if steady else {}
        self._deadline = deadline
        try:
            result = whisper.transcribe(self._model, audio, language=language, task="transcribe",
                                        beam_size=self._beam_size, best_of=5, fp16=self._fp16,
                                        word_timestamps=True, verbose=None, **options)
        finally:
            self._deadline = None
        return [
            Segment(start=float(s["start"]), end=float(s["end"]), text=str(s["text"]).strip(),
                    words=[Word(start=float(w["start"]), end=float(w["end"]), word=str(w["word"]).strip(),
                                probability=float(w["probability"])) for w in s.get("words") or []])
            for s in result["segments"]
            if not steady or believable(str(s["text"]), s["avg_logprob"], s["compression_ratio"], s["no_speech_prob"])
        ]

    def _language_probabilities(self, speech: Audio) -> dict[str, float]:
        """Every language's probability on the first 30 s, mel computed as ``whisper.transcribe`` does."""
        # openai-whisper (PyTorch): loaded only by the engine that uses it
        from whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim

        mel = log_mel_spectrogram(speech[:N_SAMPLES], self._model.dims.n_mels, padding=N_SAMPLES)
        first = pad_or_trim(mel, N_FRAMES).to(self._device)
        _tokens, probs = self._model.detect_language(first.half() if self._fp16 else first)
        return {str(code): float(p) for code, p in probs.items()}


def _load_tokenizer(model: Any) -> None:
    """Read openai-whisper's tokenizer now, from the vocabulary inside its package (whisper/assets).

    openai-whisper opens that file without closing it (whisper/tokenizer.py ``get_encoding``), a
    ResourceWarning that our tests turn into an error; the encoding is cached for the process
    (``lru_cache``), so it is read once, here, with that warning silenced.
    """
    # openai-whisper (PyTorch): loaded only by the engine that uses it
    from whisper.tokenizer import get_tokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        get_tokenizer(model.is_multilingual, num_languages=model.num_languages)


def _openai_checkpoint(checkpoint: Path, model_dir: Path) -> dict[str, Any]:
    try:
        if checkpoint.is_dir():
            if not (checkpoint / "model.bin").is_file():
                raise ModelNotInstalled(f"no model.bin in {checkpoint} (ECOUTE_WHISPER_CHECKPOINT)")
            return convert.to_checkpoint(checkpoint)
        if checkpoint.is_file():
            return convert.load_checkpoint(checkpoint)
        if not is_installed(model_dir):
            raise ModelNotInstalled(f"no Whisper model in {model_dir}: run `ecoute models install`")
        made = convert.to_checkpoint(model_dir)
    except convert.ConversionError as err:
        raise TranscriptionError(str(err)) from None
    try:
        convert.save_checkpoint(made, checkpoint)
    except OSError as err:
        log.warning("cannot save the openai-whisper checkpoint to %s (%s): converted in memory for this process",
                    checkpoint, err.strerror or err)
    return made


# --- one transcriber per process ----------------------------------------------------------


def engine_label(settings: Settings) -> str:
    """What transcribes with these settings, e.g. ``faster-whisper/base/int8``, ``openai-whisper/base/float32``.

    For the transcript's ``engine`` column; it names the precision actually used (openai-whisper
    ignores ``ECOUTE_WHISPER_COMPUTE_TYPE``).
    """
    model = settings.whisper_model_dir.name.removeprefix("whisper-")
    if settings.whisper_engine == "openai-whisper":
        return f"openai-whisper/{model}/{'float16' if resolve_device(settings.whisper_device) == 'cuda' else 'float32'}"
    return f"{settings.whisper_engine}/{model}/{settings.whisper_compute_type}"


def _ct2_device(device: str) -> str:
    if device != "auto":
        return device
    # CTranslate2: loaded only by the engine that uses it
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


_lock = threading.Lock()
_loaded: dict[tuple[object, ...], Transcriber] = {}


def get_transcriber(settings: Settings) -> Transcriber:
    """The process's transcriber for these settings, loading the model the first time only."""
    key = (settings.whisper_engine, settings.whisper_model_dir, settings.whisper_compute_type,
           settings.whisper_device, settings.whisper_checkpoint, settings.whisper_threads,
           settings.whisper_beam_size, settings.whisper_time_limit_factor, settings.whisper_time_limit_min_s)
    with _lock:
        if key not in _loaded:
            transcriber: Transcriber
            limit = TimeLimit(settings.whisper_time_limit_factor, settings.whisper_time_limit_min_s)
            if settings.whisper_engine == "openai-whisper":
                transcriber = OpenAIWhisperTranscriber(settings.whisper_checkpoint, settings.whisper_model_dir,
                                                       device=settings.whisper_device,
                                                       threads=settings.whisper_threads,
                                                       beam_size=settings.whisper_beam_size, time_limit=limit)
            elif settings.whisper_engine == "faster-whisper":
                transcriber = FasterWhisperTranscriber(settings.whisper_model_dir,
                                                       compute_type=settings.whisper_compute_type,
                                                       threads=settings.whisper_threads,
                                                       beam_size=settings.whisper_beam_size,
                                                       device=_ct2_device(settings.whisper_device),
                                                       time_limit=limit)
            else:
                raise EngineNotInstalled(f"ECOUTE_WHISPER_ENGINE={settings.whisper_engine}: unknown engine")
            _loaded[key] = transcriber
        return _loaded[key]
