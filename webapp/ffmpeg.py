"""The one module that runs ffmpeg and ffprobe: for the upload check here, and the worker's renditions and clips.

Every file either program reads, an upload or one of our own intermediates, is opened behind
:data:`INPUT_FLAGS`: only the demuxers of the formats we accept (no playlist or manifest format,
whose demuxers open the files they name: another company's media next to it, say), and only the
``file`` and ``pipe`` protocols. :func:`run` and :func:`probe` put them in front of the one input
themselves, so no caller can forget them. Both take a wall-clock limit and turn what goes wrong
into two exceptions: :class:`DecodeError` (the program failed; its stderr is kept) and
:class:`TimeoutError` (it ran out of time). Nothing else in Écoute starts either program.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Found on ``PATH`` on purpose (Debian's packages); arguments are lists, never a shell.
FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

#: ffmpeg's demuxers for the formats an upload may be in (``webapp.audio.ACCEPTED_FORMATS``), which
#: also read every intermediate we write (WAV, WebM): no other demuxer is allowed to open anything.
DEMUXERS = ("wav", "mp3", "mov", "mp4", "m4a", "3gp", "3g2", "mj2", "ogg", "flac", "matroska", "webm", "amr",
            "aiff", "asf", "caf")
#: Protocols an input may use: a file, or a pipe (never http, tcp, concat, subfile...).
PROTOCOLS = ("file", "pipe")
#: Input options in front of every input (before ``-i``, or before the path for ffprobe).
INPUT_FLAGS = ("-protocol_whitelist", ",".join(PROTOCOLS), "-format_whitelist", ",".join(DEMUXERS))
#: How much of stderr a :class:`DecodeError` says (its end: where ffmpeg tells why it stopped).
_STDERR_TAIL = 500
#: A demuxer ffmpeg reported refusing, in its log prefix: ``[dash @ 0x55…] Format not on whitelist``.
_REFUSED_DEMUXER = re.compile(rb"\[([A-Za-z0-9_,]+) @ 0x[0-9a-f]+\] Format not on whitelist")


class DecodeError(Exception):
    """ffmpeg or ffprobe could not read the input (or we found no audio where there should be some).

    The message is the end of the program's stderr, or ours; ``stderr`` is the program's whole stderr.
    """

    def __init__(self, message: str, stderr: bytes = b"") -> None:
        super().__init__(message)
        self.stderr = stderr


@dataclass(frozen=True)
class Output:
    """What a run printed: data on stdout (``-progress pipe:1``, ``file=-``), filters' reports on stderr."""

    stdout: bytes
    stderr: bytes


def refused_demuxers(stderr: bytes) -> set[str]:
    """The demuxers the allow-list refused to open the input with, as ffmpeg logged them (empty if none)."""
    found = _REFUSED_DEMUXER.search(stderr)
    return set(found.group(1).decode().split(",")) if found else set()


def ffmpeg_command(source: Path, output: Sequence[str], *, input_options: Sequence[str] = (),
                   log_level: str = "error", exit_on_error: bool = False) -> list[str]:
    """ffmpeg's arguments: quiet, never waiting on a terminal, overwriting its output; the allow-lists and
    ``input_options`` (``-ss``, ``-t``) in front of ``-i source``, then ``output`` (maps, filters, target)."""
    return [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-v", log_level, *(["-xerror"] if exit_on_error else []),
            "-y", *INPUT_FLAGS, *input_options, "-i", str(source), *output]


def probe_command(path: Path, show: Sequence[str]) -> list[str]:
    """ffprobe's arguments: errors only, JSON out, the allow-lists in front of ``path``."""
    return [FFPROBE, "-hide_banner", "-v", "error", *INPUT_FLAGS, "-print_format", "json", *show, str(path)]


def run(source: Path, output: Sequence[str], *, timeout: float, input_options: Sequence[str] = (),
        log_level: str = "error", exit_on_error: bool = False) -> Output:
    """Run ffmpeg on ``source`` (see :func:`ffmpeg_command`) for at most ``timeout`` seconds.

    ``log_level="info"`` when a filter reports on stderr (loudnorm, ebur128, astats); ``exit_on_error``
    (``-xerror``) stops at the first damaged packet instead of skipping it.

    Raises:
        DecodeError: ffmpeg exited with an error.
        TimeoutError: it ran longer than ``timeout`` (or ``timeout`` was already spent).
    """
    return _execute(ffmpeg_command(source, output, input_options=input_options, log_level=log_level,
                                   exit_on_error=exit_on_error), timeout)


def probe(path: Path, show: Sequence[str], *, timeout: float) -> dict[str, Any]:
    """ffprobe's JSON report on ``path``: ``show`` says what (``-show_format``, ``-show_entries format=duration``).

    Raises:
        DecodeError: ffprobe exited with an error or printed no JSON object.
        TimeoutError: it ran longer than ``timeout``.
    """
    done = _execute(probe_command(path, show), timeout)
    try:
        report = json.loads(done.stdout or b"{}")
    except ValueError:
        report = None
    if not isinstance(report, dict):
        raise DecodeError(f"ffprobe printed no report on {path.name}", done.stderr)
    return report


def _execute(command: list[str], timeout: float) -> Output:
    program = command[0]
    if timeout <= 0:
        raise TimeoutError(f"{program} had no time left to run")
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as err:
        raise TimeoutError(f"{program} took more than {timeout:.0f} s") from err
    if done.returncode != 0:
        raise DecodeError(done.stderr.decode(errors="replace")[-_STDERR_TAIL:], done.stderr)
    return Output(done.stdout, done.stderr)
