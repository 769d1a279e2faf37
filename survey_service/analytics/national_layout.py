"""The enterprise and employee records of the national salary-survey layout
(``reference.salary_layout``: field order, official names, units, code lists), and the two
files they are handed over in: a zip of ``enterprise.csv`` and ``employee.csv`` (UTF-8 with
BOM, formula-safe) or one XLSX with a sheet each (xlsxwriter in constant-memory mode).

Cells: a code as the layout's code (text), counts, months and years as whole numbers,
pay in yuan rounded to the fen, hours as given; nothing as an empty cell. The writers take
one enterprise at a time, so an export holds one document in memory, never the campaign.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from survey_service.reference.salary_layout import LayoutField, salary_layout
from survey_service.tabular import Column, CsvZipWriter, Kind, XlsxWriter

LayoutFormat = Literal["csv", "xlsx"]
Cell = str | int | float | None
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


def _columns(fields: Sequence[LayoutField]) -> list[Column]:
    kinds: dict[str, Kind] = {"money": "money", "integer": "integer", "hours": "number"}
    return [
        Column(title, kinds.get(f.kind, "text"))
        for f, title in zip(fields, headers(fields), strict=True)
    ]


class LayoutWriter:
    """The two records' tables, one enterprise at a time: a zip of ``enterprise.csv`` and
    ``employee.csv`` or one workbook with a sheet each (survey_service/tabular.py)."""

    def __init__(self, path: Path, fmt: LayoutFormat) -> None:
        layout = salary_layout()
        enterprise, employee = _columns(layout.enterprise), _columns(layout.employee)
        self.out: CsvZipWriter | XlsxWriter
        if fmt == "csv":
            self.out = CsvZipWriter(path, [("enterprise", enterprise), ("employee", employee)])
        else:
            self.out = XlsxWriter(
                path, [(ENTERPRISE_SHEET, enterprise), (EMPLOYEE_SHEET, employee)]
            )

    def add(self, enterprise: list[Cell], employees: Iterator[list[Cell]]) -> None:
        self.out.add(0, [enterprise])
        self.out.add(1, employees)

    def close(self) -> None:
        self.out.close()


def layout_writer(path: Path, fmt: LayoutFormat) -> LayoutWriter:
    return LayoutWriter(path, fmt)
