"""Audio fixtures made by the test set-up with ffmpeg (never committed binaries)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


def tone(path: Path, seconds: float = 3.0, frequency: int = 440, rate: int = 16000) -> Path:
    """A sine tone in the format the suffix names (.wav, .mp3, .m4a, .ogg, .flac, .webm)."""
    codec = {".ogg": ["-c:a", "libopus"], ".webm": ["-c:a", "libopus"], ".m4a": ["-c:a", "aac"]}.get(path.suffix, [])
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}", "-ar", str(rate), *codec,
            str(path))
    return path


def make_set(folder: Path) -> dict[str, Path]:
    """Valid files in several formats, and every kind of bad file an upload must refuse."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: tone(folder / name, frequency=300 + 50 * i)
             for i, name in enumerate(["call.wav", "call.mp3", "call.m4a", "call.ogg", "call.flac", "other.wav"])}
    long_mp3 = tone(folder / "long.mp3", seconds=20)
    data = long_mp3.read_bytes()
    files["truncated.mp3"] = folder / "truncated.mp3"
    files["truncated.mp3"].write_bytes(data[: len(data) // 3])
    wav = files["call.wav"].read_bytes()
    files["truncated.wav"] = folder / "truncated.wav"
    files["truncated.wav"].write_bytes(wav[:200])
    files["empty.wav"] = folder / "empty.wav"
    files["empty.wav"].write_bytes(b"")
    files["text.mp3"] = folder / "text.mp3"
    files["text.mp3"].write_text("Bonjour, ceci n'est pas un enregistrement.\n" * 50)
    files["image.wav"] = folder / "image.wav"
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=16x16", "-frames:v", "1", "-f", "image2", str(files["image.wav"]))
    files["garbage.m4a"] = folder / "garbage.m4a"
    files["garbage.m4a"].write_bytes(bytes(range(256)) * 64)
    return files


def speech(path: Path, text: str, voice: str = "en-us") -> Path:
    """``text`` spoken by espeak-ng, then passed through a telephone line: 8 kHz mono µ-law, back to WAV."""
    raw = path.with_suffix(".espeak.wav")
    line = path.with_suffix(".mulaw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True, timeout=60)
    _ffmpeg("-i", str(raw), "-ar", "8000", "-ac", "1", "-c:a", "pcm_mulaw", str(line))
    _ffmpeg("-i", str(line), "-c:a", "pcm_s16le", str(path))
    return path
