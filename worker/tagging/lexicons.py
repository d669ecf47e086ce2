"""The word lists of tagging, read once from the TOML files in worker/tagging/data/.

Each file holds named lists (arrays of phrases) and tables (phrase -> number); :func:`load`
parses a file on first use and checks the shapes, and the typed accessors below hand out
copies the callers can keep as module constants.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``data/<name>.toml`` of this package."""
    text = resources.files("worker.tagging").joinpath("data", f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def words(name: str, key: str) -> tuple[str, ...]:
    """The list ``key`` of ``data/<name>.toml``, in file order."""
    value = load(name)[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"data/{name}.toml: {key} is not a list of strings")
    return tuple(value)


def weights(name: str, key: str) -> dict[str, float]:
    """The table ``key`` of ``data/<name>.toml`` (phrase -> number), in file order."""
    value = load(name)[key]
    if not isinstance(value, dict) or not all(isinstance(v, int | float) for v in value.values()):
        raise ValueError(f"data/{name}.toml: {key} is not a table of numbers")
    return {phrase: float(weight) for phrase, weight in value.items()}


def reaches(name: str, key: str) -> dict[str, int]:
    """The table ``key`` of ``data/<name>.toml`` (word -> whole number), in file order."""
    value = load(name)[key]
    if not isinstance(value, dict) or not all(isinstance(v, int) for v in value.values()):
        raise ValueError(f"data/{name}.toml: {key} is not a table of whole numbers")
    return dict(value)


def splits(name: str, key: str) -> dict[str, tuple[str, ...]]:
    """The table ``key`` of ``data/<name>.toml`` (word -> the words it stands for), in file order."""
    value = load(name)[key]
    if not isinstance(value, dict) or not all(
            isinstance(v, list) and all(isinstance(w, str) for w in v) for v in value.values()):
        raise ValueError(f"data/{name}.toml: {key} is not a table of word lists")
    return {word: tuple(parts) for word, parts in value.items()}
