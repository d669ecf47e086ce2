"""The default topics every company starts with: ids, French and English labels, revealing phrases.

They are data, in default_taxonomy.toml next to this module (the phrase syntax is explained at
its top), read once at import. A new company's taxonomy is seeded from them
(:func:`webapp.services.taxonomy.seed_defaults`) and the worker's tagger (worker/tagging/rules.py)
reads their phrases. They live on the web app's side so that the web app never imports the worker.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Topic:
    """A topic of the taxonomy: a stable id, its labels, and the phrases that reveal it."""

    id: str
    fr: str
    en: str
    keywords_fr: tuple[str, ...]
    keywords_en: tuple[str, ...]


def _topic(entry: dict[str, Any]) -> Topic:
    topic = Topic(entry["id"], entry["fr"], entry["en"], tuple(entry["keywords_fr"]), tuple(entry["keywords_en"]))
    texts = (topic.id, topic.fr, topic.en, *topic.keywords_fr, *topic.keywords_en)
    if not all(isinstance(text, str) for text in texts):
        raise ValueError(f"default_taxonomy.toml: topic {topic.id!r} holds something other than text")
    return topic


def _load() -> tuple[Topic, ...]:
    text = resources.files("webapp.services").joinpath("default_taxonomy.toml").read_text(encoding="utf-8")
    return tuple(_topic(entry) for entry in tomllib.loads(text)["topics"])


DEFAULT_TAXONOMY: tuple[Topic, ...] = _load()
