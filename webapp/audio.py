"""What ffprobe says about a file: is it audio we accept, how long, in what format."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Containers ffprobe may report, and the audio codecs we accept in them.
ACCEPTED_CODECS = {
    "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8", "pcm_mulaw", "pcm_alaw", "pcm_s16be",
    "mp3", "aac", "opus", "vorbis", "flac", "amr_nb", "amr_wb", "alac", "gsm", "gsm_ms", "adpcm_ima_wav",
    "adpcm_ms", "g722", "g726", "speex", "wmav2",
}
#: ffprobe's format names (comma lists) we accept; each maps to a browser-friendly MIME type.
ACCEPTED_FORMATS = {
    "wav": "audio/wav", "mp3": "audio/mpeg", "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4", "ogg": "audio/ogg",
    "flac": "audio/flac", "matroska,webm": "audio/webm", "amr": "audio/amr", "aiff": "audio/aiff",
    "asf": "audio/x-ms-wma", "caf": "audio/x-caf",
}
PROBE_TIMEOUT_S = 60


class NotAudio(Exception):
    """The file cannot be accepted as audio; ``code`` says why (for a translated message)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class AudioInfo:
    format_name: str
    codec: str
    duration_seconds: float
    channels: int
    sample_rate: int
    content_type: str

    @property
    def label(self) -> str:
        return f"{self.format_name.split(',')[0]}/{self.codec}"


def probe(path: Path) -> AudioInfo:
    """Run ffprobe on ``path``; raise :class:`NotAudio` (empty, unreadable, no audio, unsupported)."""
    if path.stat().st_size == 0:
        raise NotAudio("empty")
    try:
        done = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True, timeout=PROBE_TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        raise NotAudio("unreadable", "ffprobe timed out") from None
    if done.returncode != 0:
        raise NotAudio("unreadable", done.stderr.decode(errors="replace")[:300])
    info = json.loads(done.stdout or b"{}")
    fmt = info.get("format", {})
    audio = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not audio:
        raise NotAudio("no_audio")
    stream = audio[0]
    format_name = str(fmt.get("format_name", ""))
    codec = str(stream.get("codec_name", ""))
    if format_name not in ACCEPTED_FORMATS or codec not in ACCEPTED_CODECS:
        raise NotAudio("unsupported", f"{format_name}/{codec}")
    try:
        duration = float(stream.get("duration") or fmt.get("duration") or 0)
    except ValueError:
        duration = 0.0
    if duration <= 0:
        raise NotAudio("no_duration")
    readable = _demuxed_seconds(path)
    # Headers can claim a length the data does not have (a cut-off upload): trust the data.
    if readable is None or readable < duration * 0.9 - 0.5:
        raise NotAudio("truncated", f"header says {duration:.1f} s, data holds {readable or 0:.1f} s")
    return AudioInfo(format_name=format_name, codec=codec, duration_seconds=min(duration, readable),
                     channels=int(stream.get("channels") or 1), sample_rate=int(stream.get("sample_rate") or 0),
                     content_type=ACCEPTED_FORMATS[format_name])


def _demuxed_seconds(path: Path) -> float | None:
    """Read every packet of the first audio stream (no decoding: fast); None if reading fails."""
    try:
        done = subprocess.run(
            ["ffmpeg", "-hide_banner", "-nostats", "-v", "error", "-xerror", "-i", str(path), "-map", "0:a:0",
             "-c", "copy", "-f", "null", "-", "-progress", "pipe:1"],
            capture_output=True, timeout=PROBE_TIMEOUT_S * 5, check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    times = [line.split("=", 1)[1] for line in done.stdout.decode(errors="replace").splitlines()
             if line.startswith("out_time_us=")]
    if done.returncode != 0 or not times or not times[-1].lstrip("-").isdigit():
        return None
    return max(0.0, int(times[-1]) / 1_000_000)
