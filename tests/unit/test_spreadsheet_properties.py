"""The spreadsheet reader under hypothesis: arbitrary bytes under any name, arbitrary CSV
text in the encodings Excel writes, arbitrary workbooks (values anywhere, formulas,
merged cells) and damaged workbooks never raise anything but SpreadsheetError, and every
row and column that a result or an error names lies inside the sheet that was sent."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.collection.spreadsheets import (
    CellError,
    SheetRows,
    SpreadsheetError,
    column_labels,
    column_letter,
    read_rows,
)
from tests.unit.test_spreadsheets import ROW_SCHEMA, workbook

LABELS = column_labels(ROW_SCHEMA)
REQUIRED = {LABELS[key] for key in ROW_SCHEMA.get("required", [])}
NAMES = ["pay.csv", "pay.xlsx", "pay.xls", "pay.txt", "pay.XLSX", "pay.tsv", "pay", "pay.pdf"]
INVISIBLE = "\u200b\ufeff"
MAGIC = [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf", b"<html>"]

headers = st.sampled_from(
    [*LABELS.values(), *LABELS, "姓名", "备注", " 年度应发工资 ", "ANNUAL_PAY"]
)
# Text as payroll exports hold it (control characters mean binary, which the arbitrary
# bytes test covers), with line breaks, quotes and delimiters inside values.
printable = st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from('\n\t,;"')
texts = st.text(printable, max_size=12) | st.sampled_from(
    ["6-01-02-03", "12", "68,000", "６８０００", "¥5000", "是", "否", "=1+1", "@SUM(A1)", "", " "]
)
numbers = st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False)
cells = st.none() | texts | numbers | st.booleans()


def read(content: bytes, filename: str) -> SheetRows | SpreadsheetError:
    try:
        return read_rows(content, filename, ROW_SCHEMA)
    except SpreadsheetError as exc:
        return exc


def renderings(value: Any) -> set[str]:
    """The texts a cell holding ``value`` may show: as written, trimmed (of invisible
    characters too), a whole float without ``.0``, a boolean in lower case, a date."""
    shown = {str(value)}
    if isinstance(value, bool):
        shown.add(str(value).lower())
    elif isinstance(value, float) and value.is_integer():
        shown.add(str(int(value)))
    elif isinstance(value, date):
        shown |= {value.isoformat(), f"{value.isoformat()}T00:00:00"}
    return {t.strip() for t in shown} | {t.strip().strip(INVISIBLE).strip() for t in shown}


def sheet_texts(grid: Sequence[Sequence[Any]]) -> set[str]:
    return {
        text for row in grid for value in row if value is not None for text in renderings(value)
    }


def assert_inside(
    outcome: SheetRows | SpreadsheetError, n_rows: int, n_columns: int, texts_sent: set[str]
) -> None:
    """Rows 1..n_rows; a column is a letter within the width, a text of the sheet, or the
    label of a required column found missing (reported on the header row)."""
    letters = {column_letter(i) for i in range(n_columns)}

    def check(cell: CellError) -> None:
        assert 1 <= cell["row"] <= n_rows, cell
        column = cell["column"]
        assert column in letters or column in texts_sent or column in REQUIRED, cell

    if isinstance(outcome, SpreadsheetError):
        for cell in outcome.cells:
            check(cell)
        return
    for cell in outcome.errors:
        check(cell)
    numbers = [number for number, _ in outcome.rows]
    assert numbers == sorted(set(numbers)), numbers
    assert all(1 <= n <= n_rows for n in numbers), numbers
    assert all(1 <= w["row"] <= n_rows for w in outcome.warnings), outcome.warnings
    assert set(outcome.columns.values()) <= texts_sent | set(LABELS.values()), outcome.columns


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(MAGIC), st.binary(max_size=2048), st.sampled_from(NAMES))
def test_arbitrary_bytes_are_read_or_refused(magic: bytes, body: bytes, name: str) -> None:
    outcome = read(magic + body, name)
    if isinstance(outcome, SheetRows):  # text that happened to decode: rows within it
        lines = (magic + body).count(b"\n") + (magic + body).count(b"\r") + 1
        assert all(1 <= n <= lines for n, _ in outcome.rows)


grids = st.lists(st.lists(cells, min_size=0, max_size=8), min_size=1, max_size=12).flatmap(
    lambda rows: st.just([[*row] for row in rows])
)


def with_header(draw: st.DrawFn, body: list[list[Any]]) -> list[list[Any]]:
    header = draw(st.lists(headers | texts, min_size=1, max_size=8))
    return [header, *body]


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, int, int, set[str]]:
    grid = with_header(draw, draw(grids))
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    for row in grid:
        writer.writerow(["" if v is None else v for v in row])
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    content = text.encode(encoding, errors="replace")
    # The reader sniffs the delimiter: the sheet is the text split by any of them.
    splits = [
        list(csv.reader(io.StringIO(text, newline=""), delimiter=d)) for d in (",", "\t", ";")
    ]
    n_rows = max(len(records) for records in splits)
    width = max(len(record) for records in splits for record in records)
    return content, n_rows, width, set().union(*(sheet_texts(r) for r in splits))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(csv_files())
def test_any_csv_is_read_or_refused_and_names_only_its_own_cells(
    sent: tuple[bytes, int, int, set[str]],
) -> None:
    content, n_rows, width, sent_texts = sent
    assert_inside(read(content, "pay.csv"), n_rows, width, sent_texts)


@st.composite
def workbooks(draw: st.DrawFn) -> tuple[bytes, int, int, set[str]]:
    grid = with_header(draw, draw(grids))
    cell = cells | st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))
    grid = [[draw(cell) if v is None and draw(st.booleans()) else v for v in row] for row in grid]
    first_row = draw(st.integers(0, 5))
    first_column = draw(st.integers(0, 3))
    merge = draw(st.booleans())
    formula = draw(st.booleans())

    def extra(book: Any, sheet: Any) -> None:
        if merge:
            sheet.merge_range(first_row + 1, first_column, first_row + 1, first_column + 1, "x")
        if formula:
            sheet.write_formula(first_row + 1, first_column + 2, "=1+1")

    content = workbook(grid, first_row=first_row, first_column=first_column, extra=extra)
    n_rows = first_row + max(len(grid), 2)
    width = first_column + max(3, *(len(row) for row in grid))
    return content, n_rows, width, sheet_texts(grid) | {"x"}


@settings(max_examples=100, deadline=None, derandomize=True)
@given(workbooks())
def test_any_workbook_is_read_or_refused_and_names_only_its_own_cells(
    sent: tuple[bytes, int, int, set[str]],
) -> None:
    content, n_rows, width, sent_texts = sent
    assert_inside(read(content, "pay.xlsx"), n_rows, width, sent_texts)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(workbooks(), st.data())
def test_a_damaged_workbook_is_refused_or_read_never_anything_else(
    sent: tuple[bytes, int, int, set[str]], data: st.DataObject
) -> None:
    content = bytearray(sent[0])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(content) - 1))
        content[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(content) // 2, len(content)))
    outcome = read(bytes(content[:cut]), "pay.xlsx")
    assert isinstance(outcome, SheetRows | SpreadsheetError)
