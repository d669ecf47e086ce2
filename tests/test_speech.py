"""The Kokoro speech fixtures: telephone WAVs that ffprobe accepts, as long as the text, one party per channel.

No Whisper here (the transcription tests and the benchmark listen); Kokoro takes a few seconds per sentence
on two cores, so each file is made once per module.
"""

from __future__ import annotations

import json
import subprocess
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests import speech
from tests.speech_corpus import CORPUS, DIALOGUES, ENGLISH, FRENCH, Utterance

#: A short call (the corpus's dialogues are longer, for the benchmark): agent, customer, agent.
TURNS = [("agent", "Service client, bonjour."), ("customer", "Bonjour, ma commande n'est toujours pas arrivée."),
         ("agent", "Je regarde cela tout de suite.")]
#: 20 ms frames: short enough to see the 0.4 s gap between turns, long enough for a stable RMS.
FRAME = speech.LINE_RATE // 50
#: RMS (16-bit) above which a frame holds speech; µ-law turns digital silence into exact zeros.
SPEAKING = 300.0


def probe(path: Path) -> dict[str, str]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_name,sample_rate,channels:format=duration", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    found = json.loads(out)
    (stream,) = found["streams"]
    return {**{key: str(value) for key, value in stream.items()}, "duration": found["format"]["duration"]}


def samples(path: Path) -> npt.NDArray[np.float64]:
    """The file's 16-bit samples, one column per channel."""
    with wave.open(str(path)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return frames.reshape(-1, wav.getnchannels()).astype(np.float64)


def frame_rms(audio: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """RMS per 20 ms frame and channel."""
    usable = audio[: len(audio) // FRAME * FRAME]
    rms: npt.NDArray[np.float64] = np.sqrt((usable.reshape(-1, FRAME, audio.shape[1]) ** 2).mean(axis=1))
    return rms


def plausible_seconds(text: str) -> tuple[float, float]:
    """Between 5 and 1.7 words a second, plus the silence at both ends: a slow caller, a fast one."""
    words = len(text.split())
    edges = 2 * speech.EDGE_SECONDS
    return edges + words / 5, edges + words / 1.7


@pytest.fixture(scope="module", params=[FRENCH[0], ENGLISH[0]], ids=lambda u: u.lang)
def spoken(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Utterance, Path]:
    utterance: Utterance = request.param
    path = tmp_path_factory.mktemp("speech") / f"{utterance.key}.wav"
    assert speech.speak(path, utterance.text, utterance.lang) == path
    return utterance, path


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dialogue") / "call.wav"
    assert speech.dialogue(path, TURNS, "fr") == path
    return path


def test_corpus_sentences_are_call_sized_in_both_languages() -> None:
    assert {u.lang for u in FRENCH} == {"fr"} and {u.lang for u in ENGLISH} == {"en"}
    assert len(FRENCH) >= 4 and len(ENGLISH) >= 4
    assert len({u.key for u in CORPUS}) == len(CORPUS)
    for utterance in CORPUS:
        assert 10 <= len(utterance.text.split()) <= 25, utterance.key


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_phoneme_of_the_corpus_is_in_kokoros_vocabulary(lang: speech.Lang) -> None:
    vocab = speech._kokoro().vocab
    texts = [u.text for u in CORPUS if u.lang == lang] + [text for _, text in DIALOGUES[lang]]
    for text in texts:
        for sentence in speech.phonemes(text, lang):
            assert set(sentence) <= vocab.keys(), (text, set(sentence) - vocab.keys())


def test_foreign_words_lose_espeaks_language_flags() -> None:
    (sentence,) = speech.phonemes("Le technicien a réparé la box.", "fr")
    assert "(" not in sentence and "bˈɒks" in sentence  # espeak wrote "(en)bˈɒks(fr)"


def test_speak_writes_a_mono_telephone_wav_as_long_as_the_text(spoken: tuple[Utterance, Path]) -> None:
    utterance, path = spoken
    found = probe(path)
    assert (found["codec_name"], found["sample_rate"], found["channels"]) == ("pcm_s16le", "8000", "1")
    shortest, longest = plausible_seconds(utterance.text)
    assert shortest < float(found["duration"]) < longest, found["duration"]
    rms = frame_rms(samples(path))[:, 0]
    assert (rms > SPEAKING).mean() > 0.5  # mostly speech, not a hum or a click
    assert rms[0] < SPEAKING and rms[-1] < SPEAKING  # starts and ends on silence


def test_dialogue_is_a_stereo_telephone_wav(call: Path) -> None:
    found = probe(call)
    assert (found["codec_name"], found["sample_rate"], found["channels"]) == ("pcm_s16le", "8000", "2")
    shortest = sum(plausible_seconds(text)[0] for _, text in TURNS)
    longest = sum(plausible_seconds(text)[1] for _, text in TURNS)
    assert shortest < float(found["duration"]) < longest, found["duration"]


def test_dialogue_puts_each_turn_on_its_speakers_channel_only(call: Path) -> None:
    rms = frame_rms(samples(call))
    active = rms > SPEAKING
    assert not (active[:, 0] & active[:, 1]).any(), "both channels speak at once"
    # Turns are the runs of frames where one channel speaks, pauses inside a turn ignored.
    turns: list[tuple[int, int, int]] = []  # (channel, first frame, last frame)
    for index in np.flatnonzero(active.any(axis=1)):
        side = int(active[index, 1])
        if turns and turns[-1][0] == side:
            turns[-1] = (side, turns[-1][1], int(index))
        else:
            turns.append((side, int(index), int(index)))
    expected = [speech.PARTIES[speaker][0] for speaker, _ in TURNS]
    assert [side for side, _, _ in turns] == expected == [0, 1, 0]  # agent left, customer right, agent left
    for before, after in zip(turns, turns[1:], strict=False):
        gap_seconds = (after[1] - before[2] - 1) * FRAME / speech.LINE_RATE
        assert gap_seconds >= 0.3, f"turns {gap_seconds:.2f} s apart"
    for side, first, last in turns:
        turn = rms[first: last + 1]
        speaking = np.sqrt((turn[:, side] ** 2).mean())
        other = np.sqrt((turn[:, 1 - side] ** 2).mean())
        assert speaking > 1000 and other < 10, (side, speaking, other)


def test_dialogue_refuses_unknown_speakers_and_empty_calls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="operator"):
        speech.dialogue(tmp_path / "x.wav", [("agent", "Bonjour."), ("operator", "Allô ?")], "fr")
    with pytest.raises(ValueError, match="at least one turn"):
        speech.dialogue(tmp_path / "x.wav", [], "fr")
    assert not (tmp_path / "x.wav").exists()
