"""The enterprise registry as a workbook: the import's columns under the same Chinese
headers, so that an exported sheet, corrected, imports back as it is (a district by its
name, a size by its label, yes/no as 是/否). Every text is written as a string cell: a name
that starts with ``=`` is shown as typed and never run as a formula."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter

from survey_service.collection.enterprises import IMPORT_COLUMNS, SIZE_LABELS
from survey_service.db.models import Enterprise
from survey_service.reference.codes import districts

SHEET = "企业名录"


def district_label(code: str) -> str:
    found = districts().get(code)
    return found.name if found is not None else code


def registry_cells(row: Enterprise) -> list[str | int | None]:
    """One enterprise's cells, in ``IMPORT_COLUMNS`` order."""
    out: list[str | int | None] = []
    for key, _, kind in IMPORT_COLUMNS:
        value: Any = getattr(row, key)
        if key == "district":
            value = district_label(value)
        elif key == "size_class" and value is not None:
            value = SIZE_LABELS.get(value, {}).get("zh", value)
        elif kind == "boolean":
            value = "是" if value else "否"
        out.append(value)
    return out


def registry_workbook(rows: Sequence[Enterprise]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet(SHEET)
    for col, (_, label, _) in enumerate(IMPORT_COLUMNS):
        sheet.write_string(0, col, label, bold)
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, len(IMPORT_COLUMNS) - 1, 14)
    sheet.freeze_panes(1, 0)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(registry_cells(row)):
            if isinstance(value, str):
                sheet.write_string(r, col, value)
            elif isinstance(value, int):
                sheet.write_number(r, col, value)
    workbook.close()
    return buffer.getvalue()
