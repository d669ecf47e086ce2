"""What ffprobe says about a file: is it audio we accept, how long, in what format.

An upload is hostile until proven otherwise: ffprobe and ffmpeg read it through :mod:`webapp.ffmpeg`,
behind its allow-lists of demuxers (no playlist or manifest format) and protocols. Its length is
what actually decodes, counted in samples (a timestamp jump or a lying header changes nothing),
and the decoding stops one second past the longest recording accepted, so checking a "24-hour"
file of a few kilobytes costs no more than checking a recording at the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from webapp import ffmpeg

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
#: Demuxers of formats that name other files or URLs (playlists, manifests, file lists): refused with their own reason.
PLAYLISTS = {"hls", "dash", "concat", "imf", "webm_dash_manifest", "hds", "smoothstreaming", "sdp", "rtsp", "mpl2"}
#: Wall-clock limits of the upload check: ffprobe's look at the header, then each pass over the sound.
PROBE_TIMEOUT_S = 60
DECODE_TIMEOUT_S = PROBE_TIMEOUT_S * 5


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


def probe(path: Path, max_seconds: float | None = None) -> AudioInfo:
    """Run ffprobe on ``path``, then decode it to count its length; raise :class:`NotAudio`.

    Codes: empty, playlist (a manifest or list naming other files), unreadable, no_audio,
    unsupported, too_long (more than ``max_seconds`` decode; the decoding stops just past it),
    truncated (less decodes than the header says, and the packets stop short too), no_duration.
    """
    if path.stat().st_size == 0:
        raise NotAudio("empty")
    try:
        info = ffmpeg.probe(path, ["-show_format", "-show_streams"], timeout=PROBE_TIMEOUT_S)
    except TimeoutError:
        raise NotAudio("unreadable", "ffprobe timed out") from None
    except ffmpeg.DecodeError as err:
        raise _refusal(err.stderr) from None
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
        claimed = float(stream.get("duration") or fmt.get("duration") or 0)
    except ValueError:
        claimed = 0.0
    decoded = _decoded_seconds(path, None if max_seconds is None else max_seconds + 1)
    if decoded is not None and max_seconds is not None and decoded > max_seconds:
        raise NotAudio("too_long", f"more than {max_seconds:.0f} s decode")
    demuxed = _demuxed_seconds(path)
    # Less than the header says, both in sound and in packets: the end is missing. (Sound alone
    # may fall short when the timestamps jump: the packets are all there, spread over hours.)
    if decoded is None or demuxed is None or (claimed > 0 and max(decoded, demuxed) < claimed * 0.9 - 0.5):
        raise NotAudio("truncated", f"header says {claimed:.1f} s, data holds {demuxed or 0:.1f} s")
    if decoded <= 0:
        raise NotAudio("no_duration")
    return AudioInfo(format_name=format_name, codec=codec, duration_seconds=decoded,
                     channels=int(stream.get("channels") or 1), sample_rate=int(stream.get("sample_rate") or 0),
                     content_type=ACCEPTED_FORMATS[format_name])


def _refusal(stderr: bytes) -> NotAudio:
    """Why ffprobe could not open a file: a demuxer we do not allow (which one says why), or damage."""
    names = ffmpeg.refused_demuxers(stderr)
    detail = stderr.decode(errors="replace")[:300]
    if not names:
        return NotAudio("unreadable", detail)
    if names & PLAYLISTS:
        return NotAudio("playlist", detail)
    if any(name.endswith("_pipe") or name.startswith("image") for name in names):
        return NotAudio("no_audio", detail)  # a picture
    return NotAudio("unsupported", detail)


def _progress_seconds(stdout: bytes) -> float | None:
    """The last ``out_time_us`` of ffmpeg's ``-progress`` report, in seconds."""
    times = [line.split("=", 1)[1] for line in stdout.decode(errors="replace").splitlines()
             if line.startswith("out_time_us=")]
    if not times or not times[-1].lstrip("-").isdigit():
        return None
    return max(0.0, int(times[-1]) / 1_000_000)


def _decoded_seconds(path: Path, limit: float | None) -> float | None:
    """Seconds of sound the first audio stream decodes to, counted in samples, at most ``limit``.

    ``asetpts=N/SR/TB`` numbers the samples from 0, so gaps in the timestamps count for nothing and
    ``-t`` stops the decoding after ``limit`` seconds of real sound. None if ffmpeg fails.
    """
    bound = ["-t", f"{limit:.3f}"] if limit is not None else []
    try:
        done = ffmpeg.run(path, ["-map", "0:a:0", "-af", "asetpts=N/SR/TB", *bound, "-f", "null", "-",
                                 "-progress", "pipe:1"], timeout=DECODE_TIMEOUT_S)
    except (ffmpeg.DecodeError, TimeoutError):
        return None
    return _progress_seconds(done.stdout)


def _demuxed_seconds(path: Path) -> float | None:
    """Where the first audio stream's packets end, by their timestamps (no decoding: fast); None if reading fails."""
    try:
        done = ffmpeg.run(path, ["-map", "0:a:0", "-c", "copy", "-f", "null", "-", "-progress", "pipe:1"],
                          timeout=DECODE_TIMEOUT_S, exit_on_error=True)
    except (ffmpeg.DecodeError, TimeoutError):
        return None
    return _progress_seconds(done.stdout)
