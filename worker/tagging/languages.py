"""The language of a written text, French or English, with lingua (offline, models in the package).

Written complaints carry no audio for Whisper to judge; lingua's n-gram models, restricted to
our two languages, tell them apart even on a line or two. ``None`` when it cannot decide.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _detector() -> Any:
    # lingua's models take a while to load: only written complaints need them
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(Language.FRENCH, Language.ENGLISH).build()


def detect(text: str) -> str | None:
    if not text.strip():
        return None
    found = _detector().detect_language_of(text)
    if found is None:
        return None
    return "fr" if found.name == "FRENCH" else "en"
