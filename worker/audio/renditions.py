"""Audio renditions of a call, made with ffmpeg: recognition input, playback file, waveform peaks.

Each output has a deterministic storage key (``storage.rendition_keys``), so a job run twice
writes the same objects, and "already done?" is a look at storage.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from webapp import ffmpeg

# Raised by every function here when ffmpeg cannot decode the recording (handlers catch it by this name).
from webapp.ffmpeg import DecodeError as DecodeError

#: Playback loudness for every call and clip, so the room never jumps in volume (EBU R128).
TARGET_LUFS = -16.0
#: Waveform resolution: one peak per 50 ms (20 per second).
PEAK_SAMPLES = 400
PEAK_RATE = 8000


#: Every rendition numbers its samples from 0: a jump in the recording's timestamps (10 hours between two
#: packets) is not turned into hours of silence, and each rendition lasts what the upload check measured.
SAMPLE_CLOCK = "asetpts=N/SR/TB"


def make_asr(source: Path, target: Path, timeout: float) -> None:
    """16 kHz mono 16-bit PCM: what Whisper expects."""
    ffmpeg.run(source, ["-map", "0:a:0", "-af", SAMPLE_CLOCK, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
                        str(target)], timeout=timeout, exit_on_error=True)


def make_asr_channel(source: Path, target: Path, channel: int, timeout: float) -> None:
    """One channel (0 left, 1 right) of a stereo recording, as 16 kHz mono 16-bit PCM."""
    ffmpeg.run(source, ["-map", "0:a:0", "-af", f"{SAMPLE_CLOCK},pan=mono|c0=c{channel}", "-ar", "16000",
                        "-c:a", "pcm_s16le", str(target)], timeout=timeout, exit_on_error=True)


_RMS = re.compile(rb"RMS level dB: (-?[0-9.]+|-inf)")
#: A channel quieter than this (dBFS RMS) carries no voice.
SILENT_DB = -60.0
#: Left minus right at least this far (dB) below left plus right: the same signal on both sides.
DUAL_MONO_DB = -30.0


def has_split_voices(source: Path, timeout: float) -> bool:
    """Whether a stereo recording holds one voice per channel (telephony's agent/customer split).

    False for "dual mono" (the same mix on both channels, as many recorders write) and when a
    channel is silent: those are transcribed as one mix. One ffmpeg pass measures the RMS of
    four channels made by ``pan``: left, right, left minus right, left plus right.
    """
    done = ffmpeg.run(source, ["-map", "0:a:0", "-af", "pan=4c|c0=c0|c1=c1|c2=c0-c1|c3=c0+c1,"
                                                       "astats=measure_overall=none:measure_perchannel=RMS_level",
                               "-f", "null", "-"], timeout=timeout, log_level="info")
    levels = [-math.inf if raw == b"-inf" else float(raw) for raw in _RMS.findall(done.stderr)]
    if len(levels) != 4:
        return False  # not stereo (pan needs two input channels), or ffmpeg said something else
    left, right, difference, total = levels
    if min(left, right) < SILENT_DB:
        return False
    return difference - total > DUAL_MONO_DB


def make_playback(source: Path, target: Path, timeout: float) -> None:
    """Opus in WebM at 48 kHz, loudness-normalised to :data:`TARGET_LUFS`.

    ``loudnorm`` resamples to 192 kHz internally: the output rate is set explicitly.
    """
    ffmpeg.run(source, ["-map", "0:a:0", "-af", f"{SAMPLE_CLOCK},loudnorm=I={TARGET_LUFS}:TP=-1.5:LRA=11",
                        "-ar", "48000", "-c:a", "libopus", "-b:a", "48k", "-f", "webm", str(target)],
               timeout=timeout, exit_on_error=True)


_PEAK = re.compile(rb"lavfi\.astats\.Overall\.Peak_level=(-?[0-9.]+|-inf)")


def peaks(source: Path, timeout: float) -> list[float]:
    """Peak amplitude (0..1) of every 50 ms of the recording, computed by ffmpeg (no decoding in Python)."""
    done = ffmpeg.run(source, ["-map", "0:a:0",
                               "-af", f"{SAMPLE_CLOCK},aformat=channel_layouts=mono,aresample={PEAK_RATE},"
                                      f"asetnsamples=n={PEAK_SAMPLES}:p=0,astats=metadata=1:reset=1,"
                                      "ametadata=print:key=lavfi.astats.Overall.Peak_level:file=-",
                               "-f", "null", "-"], timeout=timeout)
    values = []
    for raw in _PEAK.findall(done.stdout):
        db = -math.inf if raw == b"-inf" else float(raw)
        values.append(round(0.0 if db == -math.inf else min(1.0, 10 ** (db / 20)), 4))
    return values


def peaks_json(values: list[float]) -> bytes:
    """The document the browser's waveform reads: resolution and one peak per slot."""
    return json.dumps({"version": 1, "seconds_per_peak": PEAK_SAMPLES / PEAK_RATE, "peaks": values},
                      separators=(",", ":")).encode()
