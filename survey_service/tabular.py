"""Tables as files a spreadsheet opens safely: CSV (UTF-8 with BOM, streamed a few hundred
rows at a time, or several tables as a zip of CSV files) and XLSX (xlsxwriter in
constant-memory mode, one sheet per table, rows written in order, a notes sheet). Text that
a spreadsheet would run as a formula is written as text; money has its two decimals.

Two ways in: ``csv_chunks``/``write_xlsx`` pull the rows of whole sheets, and the writers
(``CsvZipWriter``, ``XlsxWriter``) take rows as they come, table by table, so that an
export reads its source once and holds one batch at a time."""

from __future__ import annotations

import csv
import io
import zipfile
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
XLSX_MAX_ROWS = 1_048_576  # an Excel sheet's rows, its header among them

Kind = Literal["text", "count", "integer", "number", "money", "percent", "decimal", "share"]
NUMBER_FORMATS: dict[Kind, str] = {
    "count": "#,##0",
    "integer": "0",
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
    """A text cell that a spreadsheet will not run as a formula (nor after the spaces or
    line breaks before it are trimmed)."""
    return "'" + value if value.lstrip(" \u3000\n").startswith(FORMULA_STARTS) else value


def _csv_cell(value: Any, kind: Kind) -> Any:
    if isinstance(value, str):
        return safe_text(value)
    if value is None:
        return ""
    return f"{value:.2f}" if kind == "money" and isinstance(value, float) else value


def _csv_text(columns: Sequence[Column], lines: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    kinds = [c.kind for c in columns]
    writer.writerows([_csv_cell(v, k) for v, k in zip(line, kinds, strict=True)] for line in lines)
    return buffer.getvalue()


def csv_chunks(sheet: Sheet) -> Iterator[bytes]:
    """The sheet as CSV with a BOM, a few hundred rows per chunk."""
    titles = [Column(c.title) for c in sheet.columns]
    yield (BOM + _csv_text(titles, [[c.title for c in sheet.columns]])).encode()
    rows = iter(sheet.rows)
    while batch := list(islice(rows, ROWS_PER_CHUNK)):
        yield _csv_text(sheet.columns, batch).encode()


class CsvZipWriter:
    """One CSV file per table (``{name}.csv``) in a work folder beside ``path``, zipped
    into ``path`` when closed."""

    def __init__(self, path: Path, tables: Sequence[tuple[str, Sequence[Column]]]) -> None:
        self.path = path
        self.names = [f"{name}.csv" for name, _ in tables]
        self.columns = [columns for _, columns in tables]
        self.parts = [path.with_suffix(f".{i}.csv") for i in range(len(tables))]
        self.files = [part.open("w", encoding="utf-8", newline="") for part in self.parts]
        for handle, columns in zip(self.files, self.columns, strict=True):
            handle.write(
                BOM + _csv_text([Column(c.title) for c in columns], [[c.title for c in columns]])
            )

    def add(self, table: int, rows: Iterable[Sequence[Any]]) -> None:
        self.files[table].write(_csv_text(self.columns[table], rows))

    def close(self) -> None:
        try:
            for handle in self.files:
                handle.close()
            with zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED) as archive:
                for part, name in zip(self.parts, self.names, strict=True):
                    archive.write(part, name)
        finally:
            for part in self.parts:
                part.unlink(missing_ok=True)

    def abort(self) -> None:
        """Give up: the part files closed and deleted (``path`` is the caller's)."""
        for handle in self.files:
            handle.close()
        for part in self.parts:
            part.unlink(missing_ok=True)


class TooManyRows(ValueError):
    """More rows than an XLSX sheet holds (Excel would drop the rest)."""


class XlsxWriter:
    """One sheet per table (named as given), headers bold, numbers as numbers in their
    column's format, text as text (never a formula); ``close`` adds a 说明 sheet of
    ``notes`` when there are any."""

    def __init__(
        self,
        path: Path,
        tables: Sequence[tuple[str, Sequence[Column]]],
        notes: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.workbook = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_formulas": False}
        )
        self.bold = self.workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        numbers = {
            k: self.workbook.add_format({"num_format": f}) for k, f in NUMBER_FORMATS.items()
        }
        self.notes = notes
        self.sheets = []
        self.formats = []
        for name, columns in tables:
            sheet = self.workbook.add_worksheet(name)
            for col, column in enumerate(columns):
                sheet.write_string(0, col, column.title, self.bold)
            sheet.set_column(0, max(len(columns) - 1, 0), 14)
            self.sheets.append(sheet)
            self.formats.append([numbers.get(c.kind) for c in columns])
        self.next_row = [1] * len(tables)

    def add(self, table: int, rows: Iterable[Sequence[Any]]) -> None:
        sheet, formats, r = self.sheets[table], self.formats[table], self.next_row[table]
        for row in rows:
            if r >= XLSX_MAX_ROWS:
                raise TooManyRows(
                    f"the sheet {sheet.name!r} would have more than {XLSX_MAX_ROWS - 1:,} rows, "
                    "more than Excel holds; export CSV, SPSS or Stata instead"
                )
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, col, value)
                elif isinstance(value, bool):
                    sheet.write_boolean(r, col, value)
                else:
                    sheet.write_number(r, col, value, formats[col])
            r += 1
        self.next_row[table] = r

    def close(self) -> None:
        try:
            if self.notes:
                about = self.workbook.add_worksheet("说明")
                about.set_column(0, 0, 16)
                about.set_column(1, 1, 90)
                about.write_string(0, 0, "项目", self.bold)
                about.write_string(0, 1, "说明", self.bold)
                for r, (name, text) in enumerate(self.notes, start=1):
                    about.write_string(r, 0, name, self.bold)
                    about.write_string(r, 1, text)
        finally:
            self.workbook.close()

    def abort(self) -> None:
        """Give up: the workbook closed into ``path`` (the caller deletes it), which removes
        the temporary files xlsxwriter keeps each sheet's rows in."""
        self.workbook.close()


def write_xlsx(path: Path, sheets: Sequence[Sheet], notes: Sequence[tuple[str, str]]) -> None:
    """The sheets, then a 说明 sheet of ``notes``, as an XLSX file at ``path``."""
    writer = XlsxWriter(path, [(s.name, s.columns) for s in sheets], notes)
    try:
        for table, sheet in enumerate(sheets):
            rows = iter(sheet.rows)
            while batch := list(islice(rows, ROWS_PER_CHUNK)):
                writer.add(table, batch)
    finally:
        writer.close()
