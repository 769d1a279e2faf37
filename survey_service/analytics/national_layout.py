"""The enterprise and employee records of the national salary-survey layout
(``reference.salary_layout``: field order, official names, units, code lists), and the two
files they are handed over in: a zip of ``enterprise.csv`` and ``employee.csv`` (UTF-8 with
BOM, formula-safe) or one XLSX with a sheet each (xlsxwriter in constant-memory mode).

Cells: a code as the layout's code (text), counts, months and years as whole numbers,
pay in yuan rounded to the fen, hours as given; nothing as an empty cell. The writers take
one enterprise at a time, so an export holds one document in memory, never the campaign.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import xlsxwriter

from survey_service.analytics.exports import BOM, safe_text
from survey_service.reference.salary_layout import LayoutField, salary_layout

LayoutFormat = Literal["csv", "xlsx"]
Cell = str | int | float | None
ENTERPRISE_FILE = "enterprise.csv"
EMPLOYEE_FILE = "employee.csv"
ENTERPRISE_SHEET = "企业基本情况"
EMPLOYEE_SHEET = "职工工资情况"


def headers(fields: Sequence[LayoutField]) -> list[str]:
    """The official names, with the unit where the layout has one: ``年度应发工资（元）``."""
    return [f"{f.name_zh}（{f.unit}）" if f.unit else f.name_zh for f in fields]


def cell(spec: LayoutField, value: Any) -> Cell:
    """One value of the document as the layout writes it (checked already)."""
    if value is None or value == "":
        return None
    if spec.codes is not None:
        key = str(value).lower() if isinstance(value, bool) else str(value)
        return salary_layout().codes[spec.codes][key]
    if spec.kind == "integer":
        return int(value)
    if spec.kind == "money":
        return round(float(value), 2)
    if spec.kind == "hours":
        return value if isinstance(value, int) else float(value)
    return str(value)


def enterprise_record(enterprise: Mapping[str, Any]) -> list[Cell]:
    return [cell(spec, enterprise.get(spec.key)) for spec in salary_layout().enterprise]


def employee_records(
    enterprise: Mapping[str, Any], employees: Sequence[Mapping[str, Any]]
) -> Iterator[list[Cell]]:
    fields = salary_layout().employee
    for employee in employees:
        yield [
            cell(spec, (enterprise if spec.of_enterprise else employee).get(spec.key))
            for spec in fields
        ]


class LayoutWriter(Protocol):
    def add(self, enterprise: list[Cell], employees: Iterator[list[Cell]]) -> None: ...

    def close(self) -> None: ...


def _csv_line(fields: Sequence[LayoutField], cells: Sequence[Cell]) -> list[Cell]:
    """Text formula-safe, pay with its two decimals (yuan and fen), nothing as empty."""
    out: list[Cell] = []
    for spec, value in zip(fields, cells, strict=True):
        if isinstance(value, str):
            out.append(safe_text(value))
        elif value is None:
            out.append("")
        else:
            out.append(f"{value:.2f}" if spec.kind == "money" else value)
    return out


class CsvZipWriter:
    """Two CSV files in a work folder, zipped into ``path`` when closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts = (path.with_suffix(".enterprise.csv"), path.with_suffix(".employee.csv"))
        self.files = [p.open("w", encoding="utf-8", newline="") for p in self.parts]
        self.writers = [csv.writer(f, lineterminator="\r\n") for f in self.files]
        layout = salary_layout()
        for handle, writer, fields in zip(
            self.files, self.writers, (layout.enterprise, layout.employee), strict=True
        ):
            handle.write(BOM)
            writer.writerow(headers(fields))

    def add(self, enterprise: list[Cell], employees: Iterator[list[Cell]]) -> None:
        layout = salary_layout()
        self.writers[0].writerow(_csv_line(layout.enterprise, enterprise))
        self.writers[1].writerows(_csv_line(layout.employee, row) for row in employees)

    def close(self) -> None:
        try:
            for handle in self.files:
                handle.close()
            with zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED) as archive:
                for part, name in zip(self.parts, (ENTERPRISE_FILE, EMPLOYEE_FILE), strict=True):
                    archive.write(part, name)
        finally:
            for part in self.parts:
                part.unlink(missing_ok=True)


class XlsxLayoutWriter:
    """One workbook, a sheet per record, rows written in order (constant memory)."""

    def __init__(self, path: Path) -> None:
        self.workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        bold = self.workbook.add_format({"bold": True})
        self.money = self.workbook.add_format({"num_format": "0.00"})
        layout = salary_layout()
        self.fields = (layout.enterprise, layout.employee)
        self.sheets = [
            self.workbook.add_worksheet(ENTERPRISE_SHEET),
            self.workbook.add_worksheet(EMPLOYEE_SHEET),
        ]
        for sheet, fields in zip(self.sheets, self.fields, strict=True):
            sheet.set_column(0, len(fields) - 1, 14)
            for col, name in enumerate(headers(fields)):
                sheet.write_string(0, col, name, bold)
        self.next_row = [1, 1]

    def _write(self, which: int, cells: Sequence[Cell]) -> None:
        sheet, row = self.sheets[which], self.next_row[which]
        for col, (spec, value) in enumerate(zip(self.fields[which], cells, strict=True)):
            if isinstance(value, str):
                sheet.write_string(row, col, value)
            elif value is not None:
                sheet.write_number(row, col, value, self.money if spec.kind == "money" else None)
        self.next_row[which] = row + 1

    def add(self, enterprise: list[Cell], employees: Iterator[list[Cell]]) -> None:
        self._write(0, enterprise)
        for record in employees:
            self._write(1, record)

    def close(self) -> None:
        self.workbook.close()


def layout_writer(path: Path, fmt: LayoutFormat) -> LayoutWriter:
    return CsvZipWriter(path) if fmt == "csv" else XlsxLayoutWriter(path)
