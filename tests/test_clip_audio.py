"""Room clips: word-boundary cuts, caption lines, and the audio render on real ffmpeg (loudness, fades, muting)."""

from __future__ import annotations

import array
import hashlib
import json
import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.speech import speak
from worker.audio import clips as clip_audio
from worker.audio import renditions
from worker.audio.clips import MASK, Word

RATE = 48000


def w(text: str, start: float, end: float, speaker: str = "customer") -> Word:
    return Word(start, end, text, speaker)


# --- words --------------------------------------------------------------------------------


def test_words_are_gathered_from_every_segment_stripped_and_sorted_by_start() -> None:
    segments: list[dict[str, Any]] = [
        {"start": 0.0, "end": 2.0, "text": " Bonjour, oui.", "speaker": "agent",
         "words": [{"start": 0.0, "end": 0.5, "word": " Bonjour,", "probability": 0.9},
                   {"start": 1.6, "end": 2.0, "word": " oui.", "probability": 0.8}]},
        {"start": 1.0, "end": 1.5, "text": " Allô", "speaker": "customer",
         "words": [{"start": 1.0, "end": 1.5, "word": " Allô", "probability": 0.9},
                   {"start": 1.5, "end": 1.5, "word": " ", "probability": 0.1}]},
        {"start": 3.0, "end": 4.0, "text": " sans minutage"},
    ]
    assert clip_audio.words_of(segments) == [
        Word(0.0, 0.5, "Bonjour,", "agent"), Word(1.0, 1.5, "Allô", "customer"),
        Word(1.6, 2.0, "oui.", "agent"), Word(3.0, 4.0, "sans minutage", ""),
    ]


# --- snap ---------------------------------------------------------------------------------

WORDS = [
    w("Bonjour,", 0.50, 0.90), w("je", 1.00, 1.10), w("vous", 1.15, 1.40), w("appelle", 1.45, 1.90),
    w("pour", 2.60, 2.80), w("ma", 2.85, 2.95), w("machine.", 3.00, 3.60),
    w("D'accord.", 5.00, 5.50, "agent"),
]


def test_a_clip_starts_and_ends_on_word_edges_with_room_but_never_in_a_neighbour() -> None:
    # "Bonjour," is grazed (0.05 s of its 0.4 s), "pour" not reached: "je vous appelle" is the clip.
    start, end = clip_audio.snap(WORDS, 0.85, 2.0, duration=10.0)
    assert start == pytest.approx(1.00 - 0.05)  # half the 0.10 s gap after "Bonjour,", less than 0.12 s
    assert end == pytest.approx(1.90 + 0.20)  # the gap to "pour" is wide: the full padding
    assert start > 0.90 and end < 2.60


def test_a_clip_gets_full_padding_in_silence_and_is_clamped_to_the_recording() -> None:
    assert clip_audio.snap(WORDS, 2.5, 3.7, duration=10.0) == pytest.approx((2.60 - 0.12, 3.60 + 0.20))
    words = [w("Allô", 0.05, 0.60), w("oui", 0.70, 1.45)]
    assert clip_audio.snap(words, 0.0, 1.5, duration=1.5) == (0.0, 1.5)


def test_a_neighbour_talking_over_the_first_word_leaves_no_room_before_it() -> None:
    words = [w("attendez", 3.70, 4.10, "agent"), w("oui", 4.00, 4.30), w("c'est", 4.40, 4.70), w("ça", 4.75, 5.10)]
    start, end = clip_audio.snap(words, 3.95, 5.2, duration=10.0)  # "attendez": midpoint 3.9, left out
    assert (start, end) == pytest.approx((4.00, 5.30))


def test_a_range_without_words_is_only_clamped() -> None:
    assert clip_audio.snap(WORDS, 6.0, 8.5, duration=10.0) == (6.0, 8.5)
    assert clip_audio.snap(WORDS, 8.0, 12.0, duration=10.0) == (8.0, 10.0)
    assert clip_audio.snap([], 0.0, 3.0, duration=10.0) == (0.0, 3.0)


@pytest.mark.parametrize(("start", "end", "message"), [
    (2.0, 1.0, "backwards"),
    (2.0, 2.0, "backwards or empty"),
    (2.84, 2.96, "at least 1 s"),  # just "ma": 0.15 s with its padding
    (9.5, 12.0, "at least 1 s"),  # half a second left of the recording
    (11.0, 12.0, "at least 1 s"),  # past its end
    (6.0, 131.0, "at most 120 s"),
])
def test_a_backwards_short_or_long_range_is_refused(start: float, end: float, message: str) -> None:
    duration = 200.0 if end > 100 else 10.0
    with pytest.raises(ValueError, match=message):
        clip_audio.snap(WORDS, start, end, duration=duration)


# --- captions -----------------------------------------------------------------------------

CALL = [
    w("Bonjour,", 0.50, 0.90), w("je", 1.00, 1.10), w("vous", 1.15, 1.40), w("appelle", 1.45, 1.90),
    w("pour", 2.60, 2.80), w("ma", 2.85, 2.95), w("machine.", 3.00, 3.60),
    w("D'accord,", 4.00, 4.40, "agent"), w("pouvez-vous", 4.45, 4.90, "agent"), w("me", 4.95, 5.05, "agent"),
    w("donner", 5.10, 5.35, "agent"), w("votre", 5.40, 5.60, "agent"), w("numéro", 5.65, 5.95, "agent"),
    w("de", 6.00, 6.10, "agent"), w("téléphone", 6.15, 6.60, "agent"),
    w("C'est", 6.90, 7.10), w("le", 7.15, 7.25), w("06", 7.30, 7.60), w("12", 7.65, 7.90), w("34", 7.95, 8.20),
    w("56", 8.25, 8.50), w("78.", 8.55, 8.90),
    w("Merci", 9.80, 10.20), w("beaucoup", 10.25, 10.70),
]
PHONE_NUMBER = [(7.28, 8.95)]


def test_captions_are_lines_in_clip_time_broken_at_sentences_length_pauses_and_speakers() -> None:
    lines = clip_audio.captions(CALL, 0.95, 10.4, masked=PHONE_NUMBER)
    assert lines == [
        {"start": 0.05, "end": 2.65, "text": "je vous appelle pour ma machine."},  # "Bonjour," grazed only
        {"start": 3.05, "end": 4.65, "text": "D'accord, pouvez-vous me donner votre"},  # 42 characters at most
        {"start": 4.70, "end": 5.65, "text": "numéro de téléphone"},  # the speaker changes
        {"start": 5.95, "end": 7.95, "text": "C'est le •••"},  # a 0.9 s pause follows
        {"start": 8.85, "end": 9.25, "text": "Merci"},  # "beaucoup" is mostly past the clip's end
    ]


def test_a_sentences_last_word_stays_on_its_line_rather_than_alone() -> None:
    said = ("Cela fait trois semaines que j'attends ma commande. "
            "J'ai appelé quatre fois et personne de votre service ne rappelle.")
    words = [w(text, 0.3 * i, 0.3 * i + 0.25) for i, text in enumerate(said.split())]
    lines = [line["text"] for line in clip_audio.captions(words, 0.0, 0.3 * len(words))]
    assert lines == ["Cela fait trois semaines que j'attends ma commande.",  # 51 characters: "commande." not alone
                     "J'ai appelé quatre fois et personne de", "votre service ne rappelle."]  # past 56: broken


def test_a_run_of_masked_words_shows_one_mask_and_nothing_of_them() -> None:
    lines = clip_audio.captions(CALL, 6.8, 9.0, masked=PHONE_NUMBER)
    text = " ".join(line["text"] for line in lines)
    assert text == "C'est le •••"
    assert text.count(MASK) == 1
    assert not re.search(r"\d", text)
    # A span that only touches the end of a word hides that word too.
    touched = clip_audio.captions(CALL, 6.8, 9.0, masked=[(7.20, 7.22)])
    assert touched[0]["text"] == "C'est ••• 06 12 34 56 78."
    assert clip_audio.captions(CALL, 6.8, 9.0)[0]["text"] == "C'est le 06 12 34 56 78."


def test_words_join_without_a_space_before_punctuation_and_after_an_apostrophe() -> None:
    pieces = ["Plus", "aujourd", "'hui", ",", "c", "’", "est", "(", "très", ")", "fini", "."]
    words = [w(text, 0.2 * i, 0.2 * i + 0.15) for i, text in enumerate(pieces)]
    assert [line["text"] for line in clip_audio.captions(words, 0.0, 3.0)] == ["Plus aujourd'hui, c’est (très) fini."]


def test_caption_lines_never_overlap_when_speakers_talk_over_each_other() -> None:
    words = [w("je", 1.00, 1.50), w("oui", 1.20, 1.40, "agent"), w("vois", 1.45, 1.80), w("bien", 1.85, 2.333)]
    lines = clip_audio.captions(words, 0.5, 3.0)
    assert [line["text"] for line in lines] == ["je", "oui", "vois bien"]
    assert lines[0] == {"start": 0.5, "end": 0.7, "text": "je"}  # cut where the agent comes in
    assert lines[-1]["end"] == 1.83  # rounded to the hundredth
    for line, following in zip(lines, lines[1:], strict=False):
        assert line["start"] <= line["end"] <= following["start"]


# --- render -------------------------------------------------------------------------------


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def _loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP), measured by ffmpeg's ebur128."""
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                           "-f", "null", "-"], capture_output=True, text=True, check=True, timeout=60)
    loudness = float(re.findall(r"I:\s+(-?[0-9.]+) LUFS", done.stderr)[-1])
    peak = float(re.findall(r"Peak:\s+(-?[0-9.]+|-inf) dBFS", done.stderr)[-1])
    return loudness, peak


def _samples(path: Path) -> array.array[float]:
    """The file decoded by ffmpeg as mono float samples at 48 kHz."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                         capture_output=True, check=True, timeout=60).stdout
    samples = array.array("f")
    samples.frombytes(raw)
    return samples


def _rms_db(samples: array.array[float], start: float, end: float) -> float:
    piece = samples[int(start * RATE): int(end * RATE)]
    assert len(piece) > 0.9 * (end - start) * RATE
    power = sum(x * x for x in piece) / len(piece)
    return 10 * math.log10(power) if power else -math.inf


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real speech, quiet on a stereo 44.1 kHz FLAC and loud on a mono 8 kHz WAV; pink noise; silence."""
    folder = tmp_path_factory.mktemp("clip-sources")
    said = speak(folder / "said.wav", "Bonjour, ma machine à laver est tombée en panne après deux semaines.", "fr")
    quiet, loud = folder / "quiet.flac", folder / "loud.wav"
    _ffmpeg("-i", str(said), "-af", "volume=-13dB", "-ac", "2", "-ar", "44100", str(quiet))
    _ffmpeg("-i", str(said), "-af", "volume=12dB", "-c:a", "pcm_f32le", str(loud))  # float: no clipping
    noise, silence = folder / "noise.wav", folder / "silence.wav"
    _ffmpeg("-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.3:duration=8:seed=7:sample_rate=44100",
            "-ac", "2", str(noise))
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=channel_layout=mono:sample_rate=16000", "-t", "5", str(silence))
    return {"quiet": quiet, "loud": loud, "noise": noise, "silence": silence}


def test_quiet_and_loud_speech_come_out_at_the_target_loudness_as_opus(sources: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    assert _loudness(sources["quiet"])[0] < -32 and _loudness(sources["loud"])[0] > -13  # 20 LU apart
    levels = []
    for name in ("quiet", "loud"):
        target = tmp_path / f"{name}.webm"
        clip = clip_audio.render(sources[name], target, 0.5, 4.0, timeout=60)
        loudness, peak = _loudness(target)
        assert abs(loudness - renditions.TARGET_LUFS) <= 1.0, (name, loudness)
        assert peak <= clip_audio.TRUE_PEAK_DB, (name, peak)
        assert clip.loudness_lufs == loudness
        assert abs(clip.duration - 3.5) <= 0.06
        data = target.read_bytes()
        assert (clip.size, clip.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        assert data[:4] == b"\x1aE\xdf\xa3" and b"webm" in data[:64]  # EBML magic, DocType webm
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                                "stream=codec_name,sample_rate,channels:format=format_name", "-of", "json",
                                str(target)], capture_output=True, text=True, check=True, timeout=60)
        found = json.loads(probe.stdout)
        assert found["streams"][0] == {"codec_name": "opus", "sample_rate": "48000", "channels": 1}
        assert "webm" in found["format"]["format_name"]
        levels.append(loudness)
    assert abs(levels[0] - levels[1]) < 1.0, levels


def test_a_clip_fades_in_and_out(sources: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "noise.webm"
    clip_audio.render(sources["noise"], target, 1.0, 5.0, timeout=60)
    samples = _samples(target)
    decoded = len(samples) / RATE  # what a player plays, Opus's padding left out
    assert abs(decoded - 4.0) < 0.005
    middle = _rms_db(samples, 1.5, 2.5)
    assert _rms_db(samples, 0.0, 0.02) < middle - 15
    assert _rms_db(samples, decoded - 0.02, decoded) < middle - 15
    # The fades last 150 ms: just after and just before, the noise is back at full level.
    assert _rms_db(samples, 0.2, 0.4) > middle - 2
    assert _rms_db(samples, decoded - 0.4, decoded - 0.2) > middle - 2


def test_personal_data_is_silent_after_normalisation_and_what_surrounds_it_is_not(sources: dict[str, Path],
                                                                                   tmp_path: Path) -> None:
    target = tmp_path / "muted.webm"
    # Spans in the call's time: the clip starts at 1.0 s, so they fall at 2-3 s and 3.5-4 s (past its end).
    clip = clip_audio.render(sources["noise"], target, 1.0, 5.0, mute=[(3.0, 4.0), (4.5, 9.0), (0.0, 0.2)],
                             timeout=60)
    samples = _samples(target)
    assert _rms_db(samples, 2.03, 2.97) < -60
    assert _rms_db(samples, 3.53, len(samples) / RATE) < -60
    assert _rms_db(samples, 1.80, 1.98) > -40
    assert _rms_db(samples, 3.03, 3.47) > -40
    assert _rms_db(samples, 0.2, 1.0) > -40  # the span before the clip changes nothing in it
    assert abs(clip.loudness_lufs - renditions.TARGET_LUFS) <= 1.0  # the silence is not counted
    # The same cut without muting: these seconds are loud in the source.
    clip_audio.render(sources["noise"], tmp_path / "plain.webm", 1.0, 5.0, timeout=60)
    assert _rms_db(_samples(tmp_path / "plain.webm"), 2.03, 2.97) > -40


def test_rendering_twice_replaces_the_file_with_the_same_bytes(sources: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "clips" / "clip.webm"
    first = clip_audio.render(sources["loud"], target, 1.0, 3.0, mute=[(2.0, 2.5)], timeout=60)
    first_bytes = target.read_bytes()
    second = clip_audio.render(sources["loud"], target, 1.0, 3.0, mute=[(2.0, 2.5)], timeout=60)
    assert second == first  # libopus and the bit-exact WebM muxer are deterministic
    assert abs(first.loudness_lufs - renditions.TARGET_LUFS) <= 1.0  # a 2 s clip too
    assert target.read_bytes() == first_bytes
    assert [p.name for p in target.parent.iterdir()] == ["clip.webm"]  # no temporary file left behind


def test_a_silent_range_is_rendered_without_normalisation(sources: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "silence.webm"
    clip = clip_audio.render(sources["silence"], target, 1.0, 3.0, timeout=60)
    assert clip.loudness_lufs == clip_audio.SILENCE_LUFS
    assert abs(clip.duration - 2.0) <= 0.06
    assert max(abs(x) for x in _samples(target)) < 1e-4


def test_a_source_ffmpeg_cannot_read_raises_decode_error(sources: dict[str, Path], tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage" + bytes(range(256)) * 40)
    target = tmp_path / "out" / "clip.webm"
    with pytest.raises(renditions.DecodeError) as failure:
        clip_audio.render(corrupt, target, 1.0, 3.0, timeout=60)
    assert str(failure.value).strip()
    assert list(target.parent.iterdir()) == []  # neither the clip nor its temporary file
    clip_audio.render(sources["noise"], target, 1.0, 3.0, timeout=60)  # the same call on a readable source
    assert target.stat().st_size > 0


def test_a_backwards_range_is_refused_before_ffmpeg_runs(sources: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backwards"):
        clip_audio.render(sources["noise"], tmp_path / "clip.webm", 3.0, 1.0, timeout=60)
    assert not (tmp_path / "clip.webm").exists()


def test_a_range_past_the_end_of_the_recording_raises_decode_error(sources: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(renditions.DecodeError, match="no audio from 20.00 s to 23.00 s"):
        clip_audio.render(sources["noise"], tmp_path / "clip.webm", 20.0, 23.0, timeout=60)
    assert list(tmp_path.iterdir()) == []
