"""Files and folders Écoute keeps on its own disk are private: folders 0700, files 0600.

The data folder holds customers' recordings, the database, the secret key and mails with live
links; nobody but Écoute's own user has any business reading them, whatever the umask of the
shell that started it. New folders and files are created private, and :func:`make_private`
tightens what an earlier version left open, at start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webapp.config import Settings

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents as private folders (those that exist are left as they are)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made by another process meanwhile
            continue
        folder.chmod(DIR_MODE)  # mkdir's mode goes through the umask, which may take bits away but not add them
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a new or existing file that only Écoute's user may read (0600 from its creation)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(FILE_MODE)


def tighten(path: Path, mode: int) -> None:
    """Take away the group's and others' access to ``path`` if it exists (and is ours to change)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~mode:
            path.chmod(current & mode)
    except FileNotFoundError:
        return
    except PermissionError:
        log.warning("cannot make %s private: it belongs to another user", path)


def make_private(settings: Settings) -> None:
    """Tighten the data folder, the mail folder and the local media folder as an earlier version left them."""
    folders = [settings.data_dir, Path(settings.mail_dir)]
    if settings.storage_url.startswith("file://"):
        folders.append(Path(settings.storage_url.removeprefix("file://")))
    for folder in folders:
        tighten(folder, DIR_MODE)
    for name in ("secret_key",):
        tighten(settings.data_dir / name, FILE_MODE)
    mail = Path(settings.mail_dir)
    if mail.is_dir():
        for sent in mail.glob("*.eml"):
            tighten(sent, FILE_MODE)
