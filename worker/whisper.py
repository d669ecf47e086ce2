"""Speech to text: an audio file in, a timed transcript out. The model is loaded once per process.

:func:`get_transcriber` returns the process's :class:`Transcriber` for the settings, loading
the model on first use. The model is the directory built by ``ecoute models install``
(worker/models.py); the engine is never given a model name, so it never looks at a hub.

Speed on the 2-core CPU of a developer machine, a 7 s telephone clip, beam 5, word timestamps:
``int8`` runs at about 0.23 x real time, ``float32`` at about 0.32 x (and loads in 1.4 s instead
of 0.4 s) for the same words, hence ``int8`` by default (``ECOUTE_WHISPER_COMPUTE_TYPE``).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from webapp.config import Settings
from worker.models import is_installed

#: Languages Écoute transcribes; detection is restricted to them.
LANGUAGES = ("fr", "en")


class TranscriptionError(Exception):
    """Transcription cannot be done; the message says why in words for an operator."""


class ModelNotInstalled(TranscriptionError):
    pass


class EngineNotInstalled(TranscriptionError):
    pass


class UnreadableAudio(TranscriptionError):
    pass


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

    def to_json(self) -> dict[str, Any]:
        """Plain values only (for ``json.dumps`` or a JSON column)."""
        return asdict(self)


class Transcriber(Protocol):
    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        """Transcribe ``path``; ``language`` is ``fr``, ``en`` or ``None`` to detect it among those."""


class FasterWhisperTranscriber:
    """Whisper on CTranslate2 (faster-whisper), on the CPU."""

    def __init__(self, model_dir: Path, *, compute_type: str = "int8", threads: int = 2, beam_size: int = 5) -> None:
        if not is_installed(model_dir):
            raise ModelNotInstalled(f"no Whisper model in {model_dir}: run `ecoute models install`")
        from faster_whisper import WhisperModel

        # faster_whisper has no type hints: its objects stay Any inside this class.
        self._model: Any = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                        cpu_threads=threads)
        self._beam_size = beam_size

    def transcribe(self, path: Path, language: str | None = None) -> Transcript:
        if language is not None and language not in LANGUAGES:
            raise TranscriptionError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
        audio = self._decode(path)
        probability = 1.0
        if language is None:
            language, probability = self._detect(audio)
        segments, info = self._model.transcribe(audio, language=language, beam_size=self._beam_size,
                                                vad_filter=True, word_timestamps=True)
        found = [
            Segment(start=float(s.start), end=float(s.end), text=s.text.strip(),
                    words=[Word(start=float(w.start), end=float(w.end), word=w.word.strip(),
                                probability=float(w.probability)) for w in s.words or []])
            for s in segments  # a generator: decoding happens here
        ]
        return Transcript(language=language, language_probability=probability,
                          text=" ".join(s.text for s in found if s.text), duration=float(info.duration),
                          segments=found)

    @staticmethod
    def _decode(path: Path) -> Any:
        from faster_whisper import decode_audio

        if not path.is_file():
            raise UnreadableAudio(f"{path}: no such file")
        try:
            return decode_audio(str(path))  # 16 kHz mono float32, through PyAV (no ffmpeg process)
        except Exception as err:  # PyAV raises its own error classes for every kind of bad input
            raise UnreadableAudio(f"{path}: not a readable audio file ({err})") from None

    def _detect(self, audio: Any) -> tuple[str, float]:
        """The more probable of French and English.

        Whisper's own detection picks among its 99 languages, and on a poor telephone line it
        sometimes names a neighbour (Italian, Dutch...) for French or English speech. Our calls
        are in French or English only, so we ask for the probabilities of every language on the
        speech (VAD applied, first 30 s) and keep the better of ``fr`` and ``en``; the probability
        reported is that language's share of the two, which says how sure the choice between them was.
        """
        if len(audio) == 0:
            return LANGUAGES[0], 0.0
        try:
            _lang, _prob, all_probs = self._model.detect_language(audio=audio, vad_filter=True)
        except ValueError:  # no speech left after VAD: nothing to tell the languages apart
            return LANGUAGES[0], 0.0
        probs = {code: float(p) for code, p in all_probs or [] if code in LANGUAGES}
        best = max(LANGUAGES, key=lambda code: probs.get(code, 0.0))
        total = sum(probs.values())
        return best, (probs.get(best, 0.0) / total if total > 0 else 0.0)


_lock = threading.Lock()
_loaded: dict[tuple[str, Path, str, int, int], Transcriber] = {}


def get_transcriber(settings: Settings) -> Transcriber:
    """The process's transcriber for these settings, loading the model the first time only."""
    key = (settings.whisper_engine, settings.whisper_model_dir, settings.whisper_compute_type,
           settings.whisper_threads, settings.whisper_beam_size)
    with _lock:
        if key not in _loaded:
            if settings.whisper_engine != "faster-whisper":
                raise EngineNotInstalled(f"ECOUTE_WHISPER_ENGINE={settings.whisper_engine}: not installed yet; "
                                         "use faster-whisper")
            _loaded[key] = FasterWhisperTranscriber(settings.whisper_model_dir,
                                                    compute_type=settings.whisper_compute_type,
                                                    threads=settings.whisper_threads,
                                                    beam_size=settings.whisper_beam_size)
        return _loaded[key]
