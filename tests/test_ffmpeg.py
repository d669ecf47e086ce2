"""webapp/ffmpeg.py is the one runner of ffmpeg and ffprobe, and every input it opens is behind the allow-lists."""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.audio import tone
from webapp import audio, ffmpeg
from worker.audio import clips, renditions

ROOT = Path(__file__).resolve().parent.parent


def _opens_behind_the_allow_lists(argv: Sequence[str]) -> bool:
    """Every input of ``argv`` (each ``-i``, or ffprobe's last argument) has the allow-lists among its options."""
    flags = list(ffmpeg.INPUT_FLAGS)
    if argv[0] == ffmpeg.FFPROBE:
        inputs = [len(argv) - 1]
    else:
        inputs = [i + 1 for i, arg in enumerate(argv) if arg == "-i"]
    previous = 0
    for index in inputs:
        options = list(argv[previous:index])
        if not any(options[i:i + len(flags)] == flags for i in range(len(options))):
            return False
        previous = index + 1
    return bool(inputs)


def test_the_commands_put_the_allow_lists_before_the_input() -> None:
    command = ffmpeg.ffmpeg_command(Path("up.wav"), ["-f", "null", "-"], input_options=["-ss", "1", "-t", "2"])
    assert command[0] == "ffmpeg" and _opens_behind_the_allow_lists(command)
    assert command.index("-protocol_whitelist") < command.index("-ss") < command.index("-i")
    assert command[command.index("-protocol_whitelist") + 1] == "file,pipe"
    assert command[command.index("-format_whitelist") + 1].split(",") == list(ffmpeg.DEMUXERS)
    probe = ffmpeg.probe_command(Path("up.wav"), ["-show_format"])
    assert probe[0] == "ffprobe" and probe[-1] == "up.wav" and _opens_behind_the_allow_lists(probe)


def test_the_allowed_demuxers_read_every_format_an_upload_may_be_in() -> None:
    for name in audio.ACCEPTED_FORMATS:
        assert set(name.split(",")) <= set(ffmpeg.DEMUXERS), name
    assert not set(ffmpeg.DEMUXERS) & audio.PLAYLISTS


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every command webapp/ffmpeg.py starts, run for real."""
    seen: list[list[str]] = []
    real = subprocess.run

    def recording(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        seen.append(list(command))
        return real(command, **kwargs)

    monkeypatch.setattr(ffmpeg, "subprocess", SimpleNamespace(run=recording, TimeoutExpired=subprocess.TimeoutExpired))
    yield seen


def test_the_upload_check_the_renditions_and_a_clip_open_every_input_behind_the_allow_lists(
        tmp_path: Path, runs: list[list[str]]) -> None:
    source = tone(tmp_path / "call.wav", seconds=2.0)
    assert audio.probe(source, max_seconds=60).duration_seconds == pytest.approx(2.0, abs=0.05)
    renditions.make_asr(source, tmp_path / "asr.wav", 30)
    assert not renditions.has_split_voices(source, 30)
    assert renditions.peaks(source, 30)
    clips.render(source, tmp_path / "clip.webm", 0.5, 1.5, timeout=60)
    assert {argv[0] for argv in runs} == {"ffmpeg", "ffprobe"}
    assert [argv for argv in runs if not _opens_behind_the_allow_lists(argv)] == []


def test_failures_and_time_limits_become_decode_errors_and_timeouts(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not audio\n")
    with pytest.raises(ffmpeg.DecodeError) as failure:
        ffmpeg.run(text, ["-f", "null", "-"], timeout=30)
    assert failure.value.stderr and str(failure.value)
    with pytest.raises(TimeoutError, match="no time left"):
        ffmpeg.probe(text, ["-show_format"], timeout=0)


def test_no_other_module_names_ffmpeg_or_ffprobe_as_a_program() -> None:
    """The programs' names are constants of webapp/ffmpeg.py: any other module that starts them bypasses it."""
    found = []
    for path in sorted([*(ROOT / "webapp").rglob("*.py"), *(ROOT / "worker").rglob("*.py")]):
        if path == ROOT / "webapp" / "ffmpeg.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in ("ffmpeg", "ffprobe"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
