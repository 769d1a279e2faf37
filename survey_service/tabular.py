"""Tables as files a spreadsheet opens safely: CSV (UTF-8 with BOM, streamed a few hundred
rows at a time) and XLSX (xlsxwriter in constant-memory mode, rows written in order, a notes
sheet). Text that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import xlsxwriter

BOM = "\ufeff"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"  # its media type
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 500

Kind = Literal["text", "count", "money", "percent", "decimal", "share"]
NUMBER_FORMATS: dict[Kind, str] = {
    "count": "#,##0",
    "money": "#,##0.00",
    "percent": "0.00",
    "decimal": "0.000",
    "share": "0.0%",
}


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    kind: Kind = "text"


@dataclass(slots=True)
class Sheet:
    """One table: its columns and its rows (cells in column order; ``None`` is empty)."""

    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]


def safe_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_text(lines: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(
        [safe_text(v) if isinstance(v, str) else "" if v is None else v for v in line]
        for line in lines
    )
    return buffer.getvalue()


def csv_chunks(sheet: Sheet) -> Iterator[bytes]:
    """The sheet as CSV with a BOM, a few hundred rows per chunk."""
    yield (BOM + _csv_text([[c.title for c in sheet.columns]])).encode()
    rows = iter(sheet.rows)
    while batch := list(islice(rows, ROWS_PER_CHUNK)):
        yield _csv_text(batch).encode()


def write_xlsx(path: Path, sheets: Sequence[Sheet], notes: Sequence[tuple[str, str]]) -> None:
    """The sheets, then a 说明 sheet of ``notes``, as an XLSX file at ``path``: headers bold,
    numbers as numbers in their column's format, text as text (never a formula)."""
    workbook = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False}
    )
    try:
        bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        formats = {
            kind: workbook.add_format({"num_format": f}) for kind, f in NUMBER_FORMATS.items()
        }
        for sheet in sheets:
            out = workbook.add_worksheet(sheet.name)
            for col, column in enumerate(sheet.columns):
                out.write_string(0, col, column.title, bold)
            out.set_column(0, max(len(sheet.columns) - 1, 0), 14)
            for r, row in enumerate(sheet.rows, start=1):
                for col, value in enumerate(row):
                    if value is None or value == "":
                        continue
                    if isinstance(value, str):
                        out.write_string(r, col, value)
                    elif isinstance(value, bool):
                        out.write_boolean(r, col, value)
                    else:
                        kind = sheet.columns[col].kind
                        out.write_number(r, col, value, formats.get(kind))
        about = workbook.add_worksheet("说明")
        about.set_column(0, 0, 16)
        about.set_column(1, 1, 90)
        about.write_string(0, 0, "项目", bold)
        about.write_string(0, 1, "说明", bold)
        for r, (name, text) in enumerate(notes, start=1):
            about.write_string(r, 0, name, bold)
            about.write_string(r, 1, text)
    finally:
        workbook.close()
