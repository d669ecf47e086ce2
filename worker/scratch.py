"""Each worker process's own temporary folder, and the clean-up of those that dead workers left.

A job's temporary files (a call's downloaded copy, its recognition WAV, a clip being cut: about
115 MB for an hour-long call) are removed when the job ends, but not when the process is
killed (kill -9, out of memory, a power cut). So each worker process puts them in a folder of
its own, ``<tmp>/ecoute-worker-<pid>-<random>``, made the process's ``tempfile`` directory
(every ``tempfile`` call of the worker lands there, in our code and in libraries), and holds
an exclusive lock on the folder's ``lock`` file while it lives. A worker that starts removes
every such folder whose lock it can take: its owner is dead, since the kernel releases a
lock when its process ends, however it ends. A live worker's folder is never touched.

``<tmp>`` is the system's temporary folder (``TMPDIR``, else ``/tmp``). Several workers on one
machine share it; each removes only what the dead left.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("worker")

PREFIX = "ecoute-worker-"
#: A folder being set up: renamed to ``PREFIX...`` once locked, so no one sees it unlocked.
_NEW_PREFIX = ".ecoute-worker-new-"
LOCK = "lock"
#: A folder still named ``_NEW_PREFIX`` after this long was left by a worker that died while creating it.
_NEW_STALE_S = 3600.0


def _take_lock(path: Path) -> int | None:
    """An open descriptor holding the exclusive lock on ``path``, or None if someone holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_abandoned(root: Path) -> list[Path]:
    """Remove the folders under ``root`` that dead workers left; return them."""
    removed: list[Path] = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for folder in entries:
        if folder.name.startswith(_NEW_PREFIX):
            with contextlib.suppress(OSError):
                if time.time() - folder.stat().st_mtime > _NEW_STALE_S:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
            continue
        if not folder.name.startswith(PREFIX) or folder.is_symlink() or not folder.is_dir():
            continue
        fd = _take_lock(folder / LOCK)
        if fd is None:
            continue  # its worker is alive
        try:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def worker_folder(root: Path | None = None) -> Iterator[Path]:
    """This process's temporary folder, for the ``with`` block: created, locked and made ``tempfile``'s
    directory; what dead workers left under the same root is removed first. Removed on the way out."""
    root = Path(root or tempfile.gettempdir())
    for folder in remove_abandoned(root):
        log.info("removed %s, left by a worker that stopped without cleaning up", folder)
    staging = Path(tempfile.mkdtemp(prefix=_NEW_PREFIX, dir=root))
    fd = _take_lock(staging / LOCK)
    if fd is None:  # nobody else can know this fresh folder
        shutil.rmtree(staging, ignore_errors=True)
        raise OSError(f"cannot lock {staging / LOCK}")
    os.write(fd, f"{os.getpid()}\n".encode())
    folder = root / f"{PREFIX}{os.getpid()}-{staging.name.removeprefix(_NEW_PREFIX)}"
    previous = tempfile.tempdir
    try:
        os.rename(staging, folder)  # the lock stays held: it belongs to the open file, not to its name
        tempfile.tempdir = str(folder)
        yield folder
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(staging if staging.exists() else folder, ignore_errors=True)
        os.close(fd)
