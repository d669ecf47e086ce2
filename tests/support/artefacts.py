"""What the real pipeline makes, made once per test process and reused by content.

Many tests need a processed call, a rendered clip or a spoken recording only as a fixture (the isolation
matrix, the room, erasure, lists...). They still go through the real ``process_call`` and ``render_clip``
jobs and the real Kokoro, Whisper and ffmpeg; but a step whose inputs are byte for byte those of a step
already run in this process gets that step's outputs back instead of running again:

- an ffmpeg or ffprobe command, by its arguments with each file it reads (after ``-i``; any for
  ffprobe) replaced by the digest of its bytes, and by its standard input; its output files (absolute
  paths among its arguments), standard output and error are kept. Only commands that succeeded are kept.
- a Whisper transcription or language detection, by the digest of the audio and the arguments;
- a Kokoro synthesis (tests/speech.py), by its text, language and voice.

tests/conftest.py turns this on for every test except those about these steps (``REAL_PIPELINE``): there
they always run for real. Factories' sequence restarts with each test, so a fixture makes the same tones
from one test to the next and the cache finds them.
"""

from __future__ import annotations

import copy
import hashlib
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import speech
from worker.speech import whisper

#: Modules whose tests are about the pipeline's steps: they always run them for real.
REAL_PIPELINE = frozenset({
    "tests.test_transcription", "tests.test_process_call", "tests.test_pipeline", "tests.test_speech",
    "tests.test_render_clip", "tests.test_clip_audio", "tests.test_convert", "tests.test_worker",
    "tests.test_ffmpeg", "tests.test_ingestion", "tests.test_edge_input", "tests.test_demo_room",
    "tests.test_cli", "tests.test_storage", "tests.browser.test_processing", "tests.browser.test_upload_status",
    "tests.browser.test_calls",
})

_PROGRAMS = {"ffmpeg", "ffprobe"}
_lock = threading.Lock()


@dataclass(frozen=True)
class _Run:
    returncode: int
    stdout: Any
    stderr: Any
    outputs: tuple[bytes | None, ...]


_runs: dict[tuple[Any, ...], _Run] = {}
_transcripts: dict[tuple[Any, ...], Any] = {}
_speech: dict[tuple[Any, ...], Any] = {}
#: How often each cache answered, per kind (for the curious: ``artefacts.hits``).
hits: dict[str, int] = {"ffmpeg": 0, "whisper": 0, "kokoro": 0}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _command_key(argv: list[str], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], list[Path]] | None:
    """The cache key of a command and its output paths; None for a command not to cache."""
    key: list[Any] = []
    outputs: list[Path] = []
    probe = Path(argv[0]).name == "ffprobe"  # writes no file: every file it names is read
    after_input = False
    for arg in argv[1:]:
        text = str(arg)
        path = Path(text)
        if after_input or (probe and path.is_absolute()):
            if path.is_absolute() and path.is_file():
                key.append(("input", _digest(path)))
            elif path.is_absolute() or path.exists():
                return None  # not a plain file, or relative to a folder the key does not know
            else:
                key.append(text)  # a generator (lavfi's sine=...), or the standard input
        elif path.is_absolute() and not text.startswith("-"):
            if path.exists() or not path.parent.is_dir():
                return None  # overwrites a file, or writes where it cannot: run it for real
            key.append(("output", path.suffix))
            outputs.append(path)
        else:
            key.append(text)
        after_input = text == "-i"
    stdin = kwargs.get("input")
    options = tuple(sorted((k, repr(v)) for k, v in kwargs.items() if k not in {"input", "timeout", "check"}))
    digest = hashlib.sha256(stdin if isinstance(stdin, bytes) else str(stdin).encode()).hexdigest()
    return (Path(str(argv[0])).name, tuple(key), digest, options), outputs


def _cached_run(real: Callable[..., Any]) -> Callable[..., Any]:
    def run(args: Any, *more: Any, **kwargs: Any) -> Any:
        argv = [str(a) for a in args] if isinstance(args, list | tuple) else None
        if more or not argv or Path(argv[0]).name not in _PROGRAMS or kwargs.get("shell") or "cwd" in kwargs:
            return real(args, *more, **kwargs)
        found = _command_key(argv, kwargs)
        if found is None:
            return real(args, *more, **kwargs)
        key, outputs = found
        with _lock:
            done = _runs.get(key)
        if done is not None:
            for path, content in zip(outputs, done.outputs, strict=True):
                if content is not None:
                    path.write_bytes(content)
            hits["ffmpeg"] += 1
            return subprocess.CompletedProcess(args, done.returncode, done.stdout, done.stderr)
        result = real(args, *more, **kwargs)
        if result.returncode == 0:
            made = tuple(p.read_bytes() if p.is_file() else None for p in outputs)
            with _lock:
                _runs[key] = _Run(result.returncode, result.stdout, result.stderr, made)
        return result

    return run


class _CachedTranscriber:
    """A Whisper transcriber whose answers are kept by the audio's digest and the arguments."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def _cached(self, name: str, audio: Path, *args: Any, **kwargs: Any) -> Any:
        key = (id(self._real), name, _digest(Path(audio)), args, tuple(sorted(kwargs.items())))
        with _lock:
            if key in _transcripts:
                hits["whisper"] += 1
                return copy.deepcopy(_transcripts[key])
        found = getattr(self._real, name)(audio, *args, **kwargs)
        with _lock:
            _transcripts[key] = copy.deepcopy(found)
        return found

    def transcribe(self, audio: Path, *args: Any, **kwargs: Any) -> Any:
        return self._cached("transcribe", audio, *args, **kwargs)

    def detect_language(self, audio: Path, *args: Any, **kwargs: Any) -> Any:
        return self._cached("detect_language", audio, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _cached_transcriber(real: Callable[..., Any]) -> Callable[..., Any]:
    def get_transcriber(*args: Any, **kwargs: Any) -> Any:
        return _CachedTranscriber(real(*args, **kwargs))

    return get_transcriber


def _cached_synthesize(real: Callable[..., Any]) -> Callable[..., Any]:
    def synthesize(text: str, lang: str, voice: Any = None) -> Any:
        key = (text, lang, voice)
        with _lock:
            if key in _speech:
                hits["kokoro"] += 1
                return _speech[key].copy()
        audio = real(text, lang, voice)
        with _lock:
            _speech[key] = audio.copy()
        return audio

    return synthesize


def reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn the caches on for one test (undone by ``monkeypatch`` after it)."""
    monkeypatch.setattr(subprocess, "run", _cached_run(subprocess.run))
    monkeypatch.setattr(whisper, "get_transcriber", _cached_transcriber(whisper.get_transcriber))
    monkeypatch.setattr(speech, "synthesize", _cached_synthesize(speech.synthesize))
