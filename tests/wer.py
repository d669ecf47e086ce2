"""Word error rate, for the transcription tests and benchmarks/transcribe.py.

Words are compared after lower-casing, removing punctuation and folding apostrophes (French
"j'ai" is two words, "j" and "ai", however Whisper spells the apostrophe), so that the rate
counts what was misheard, not how it was punctuated.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"['’ʼ`]")
_NOT_WORD = re.compile(r"[^\w\s]")


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower())
    return _NOT_WORD.sub(" ", _APOSTROPHES.sub(" ", text.replace("-", " "))).split()


def errors(reference: str, hypothesis: str) -> int:
    """Substitutions + deletions + insertions, by edit distance over words."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """errors / reference words (0 for two empty texts)."""
    count = len(words(reference))
    return errors(reference, hypothesis) / count if count else float(bool(words(hypothesis)))
