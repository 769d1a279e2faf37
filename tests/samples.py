"""Sample data shared by the integration tests: enterprises, a salary survey and its
spreadsheet, a worker's poll answer. Pure data; setting the world up through the API is in
tests/factories.py."""

from __future__ import annotations

import copy
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter

from survey_service.forms.formats import uscc_check_character
from tests.unit.test_shipped_forms import salary_document as _salary_document


def uscc(n: int) -> str:
    """The n-th synthetic unified social credit code of a Tongchuan enterprise."""
    first17 = f"91610200MA{n:06d}X"
    return first17 + uscc_check_character(first17)


def enterprise(n: int, district: str = "610202", **extra: Any) -> dict[str, Any]:
    return {
        "uscc": uscc(n),
        "name": f"铜川示例企业{n}有限公司",
        "district": district,
        "industry": "C30",
        "size_class": "medium",
        "staff_count": 150,
        "has_union": True,
        "above_designated_size": True,
        **extra,
    }


def salary_document(uscc_code: str) -> dict[str, Any]:
    document = copy.deepcopy(_salary_document())
    document["enterprise"]["uscc"] = uscc_code
    return document


# A worker's answer to the shipped worker-satisfaction poll.
POLL_ANSWER: dict[str, Any] = {
    "contract_1": 5,
    "contract_2": 4,
    "wage_1": 4,
    "wage_2": 3,
    "insurance_1": 5,
    "insurance_2": 4,
    "safety_1": 4,
    "safety_2": 4,
    "democracy_1": 3,
    "democracy_2": 2,
    "rights_1": 4,
    "rights_2": 5,
    "overall_satisfaction": 4,
    "recommend": 9,
}


def form_fields(answer: dict[str, Any]) -> dict[str, str]:
    """An answer as a page's form posts it: every value a string."""
    return {k: str(v) for k, v in answer.items()}


SALARY_HEADER = ["职业代码", "工作月数", "年度应发工资", "学历"]


def salary_rows(n: int) -> list[list[Any]]:
    """``n`` valid rows of the salary spreadsheet (one worker each)."""
    return [["6-01-02-03", 12, 60000 + i, "本科"] for i in range(n)]


def salary_workbook(rows: list[list[Any]], header: list[str] = SALARY_HEADER) -> bytes:
    """An XLSX workbook with one sheet, 工资: the header, then the rows."""
    return sheet([header, *rows], "工资")


def local_day(instant: str, zone: ZoneInfo) -> str:
    """The day (YYYY-MM-DD) an RFC 3339 instant the API gave falls on in ``zone``: what the
    pages and file names show (the service's time zone, not UTC)."""
    return datetime.fromisoformat(instant).astimezone(zone).date().isoformat()


def sheet(rows: list[list[Any]], name: str = "Sheet1") -> bytes:
    """An .xlsx workbook of one sheet holding ``rows`` (the header first), as Excel writes it."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    worksheet = book.add_worksheet(name)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            worksheet.write(r, c, value)
    book.close()
    return out.getvalue()
