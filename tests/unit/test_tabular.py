"""The spreadsheet writers' guards: text a spreadsheet would run as a formula, even after
the spaces before it are trimmed, is written as text; a sheet never silently loses the rows
past Excel's limit."""

from __future__ import annotations

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
