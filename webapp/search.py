"""Searching words the way people type them: without minding accents or case.

"decu", "DÉÇU" and "déçu" find the same calls. Each searchable text has a folded copy in its own
column (``Transcript.text_folded``, ``Complaint.text_folded``, ``Clip.title_folded``), kept in step
by :func:`keep_folded` whenever the ORM sets the text, and filled in by migration 0010 for rows
written before. The words typed are folded the same way, so one plain LIKE compares them, on
SQLite and PostgreSQL alike (PostgreSQL's ``unaccent`` would need a superuser to install).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, event
from sqlalchemy.orm import InstrumentedAttribute

#: Letters that are not a base letter plus accents in Unicode, so NFKD leaves them whole.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i"})


def fold(text: str) -> str:
    """``text`` in lower case, without accents or ligatures: "Cœur DÉÇU" → "coeur decu"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def contains_pattern(words: str) -> str:
    """A LIKE pattern for folded text containing ``words`` (folded here); a typed % or _ is itself."""
    folded = fold(words)
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def matches(folded_column: InstrumentedAttribute[str], words: str) -> ColumnElement[bool]:
    """The condition "this folded column contains ``words``", whatever their accents and case."""
    return folded_column.like(contains_pattern(words), escape="\\")


def keep_folded(text: InstrumentedAttribute[str], folded_name: str) -> None:
    """Whenever ``text`` is set on an object, set its ``folded_name`` attribute to the folded text."""

    def _fold_on_set(target: Any, value: str | None, _old: Any, _initiator: Any) -> None:  # Any: ORM internals
        setattr(target, folded_name, fold(value or ""))

    event.listen(text, "set", _fold_on_set)
