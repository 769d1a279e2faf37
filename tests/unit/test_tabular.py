"""The spreadsheet writers' guards: text a spreadsheet would run as a formula, even after
the spaces before it are trimmed, is written as text; a sheet never silently loses the rows
past Excel's limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from survey_service import tabular
from survey_service.tabular import Column, TooManyRows, XlsxWriter, safe_text


@pytest.mark.parametrize(
    "value", ["=1+1", " =1+1", "\u3000=SUM(1)", "\n@A1", "  +cmd", "\t=1", "\r=1", "-1"]
)
def test_a_formula_is_text(value: str) -> None:
    assert safe_text(value) == "'" + value


@pytest.mark.parametrize("value", ["王建国", "a=b", "1-2", "", "  plain"])
def test_plain_text_is_left_alone(value: str) -> None:
    assert safe_text(value) == value


def test_rows_past_excels_limit_refuse_instead_of_vanishing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 4)  # a header and three rows
    writer = XlsxWriter(tmp_path / "t.xlsx", [("表", [Column("数", "integer")])])
    writer.add(0, [[1], [2], [3]])
    with pytest.raises(TooManyRows, match="Excel"):
        writer.add(0, [[4]])


async def test_a_temporary_download_leaves_no_file_read_or_not(tmp_path: Path) -> None:
    import gc

    from survey_service.downloads import file_stream

    read, dropped = tmp_path / "read.zip", tmp_path / "dropped.zip"
    for path in (read, dropped):
        path.write_bytes(b"x" * 200_000)
    response = file_stream(read, "a.zip", "application/zip")
    assert not read.exists()  # its name is gone at once; the open file is streamed
    body = b"".join([chunk async for chunk in response.iterator])  # type: ignore[union-attr]
    assert body == b"x" * 200_000
    unread = file_stream(dropped, "b.zip", "application/zip")
    assert not dropped.exists()
    del unread  # a client gone before the body: the open file goes with the stream
    gc.collect()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_an_export_given_up_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import tempfile

    from survey_service.collection.microdata import TableWriter, layout, rows_of

    scratch = tmp_path / "tmp"  # where xlsxwriter keeps a sheet's rows meanwhile
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    schema = {"type": "object", "properties": {"staff": {"type": "array", "items": {
        "type": "object", "properties": {"pay": {"type": "number"}}}}}}  # fmt: skip
    tables = layout(schema)
    out = tmp_path / "out" / "export.part"
    out.parent.mkdir()
    writer = TableWriter(out, fmt, tables)  # type: ignore[arg-type]
    for table, cells in rows_of(tables, {"id": "s"}, {"staff": [{"pay": 1.0}] * 600}):
        writer.add(table, [cells])
    writer.discard()
    out.unlink(missing_ok=True)  # the caller's own file
    assert os.listdir(out.parent) == []
    assert os.listdir(scratch) == []
