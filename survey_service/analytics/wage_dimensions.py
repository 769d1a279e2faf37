"""The dimensions a wage table can be grouped and filtered by, as SQL expressions over the
wage table (one definition for PostgreSQL and SQLite, so both group alike), with their
Chinese labels and the names of their codes.

``by`` names: ``occupation`` (the code as reported, usually the detailed one),
``occupation_major`` ("6"), ``occupation_middle`` ("6-01"), ``occupation_minor``
("6-01-02"), ``occupation_detailed`` ("6-01-02-03"), ``industry`` (GB/T 4754 section
letter), ``industry_division`` (two digits), ``district``, ``size_class``, ``ownership``,
``education``, ``skill_level``, ``job_level``. A row reported coarser than the level asked
for (or without the attribute) falls in the group ``null`` ("not stated"), so the groups
always add up to the total.

Filters take the same base names and pick the level from the value: ``occupation=2-02`` is
``occupation_middle = "2-02"``, ``industry=C`` the section, ``industry=C30`` or ``30`` the
division.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, case, func

from survey_service.db.models import WageRow
from survey_service.reference.codes import (
    districts,
    industries,
    industry_division,
    industry_section,
    occupation_level,
    occupations,
)

Expression = ColumnElement[Any]
OCCUPATION_LEVELS_ZH = {"major": "大类", "middle": "中类", "minor": "小类", "detailed": "细类"}


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    label_zh: str
    expression: Callable[[], Expression]
    # Where the code's Chinese name comes from: a code list, or the form's enum labels.
    names: str | None = None


def _occupation_cut(length: int) -> Callable[[], Expression]:
    def expression() -> Expression:
        code = WageRow.occupation
        return case((func.length(code) >= length, func.substr(code, 1, length)), else_=None)

    return expression


def _detailed() -> Expression:
    return case((func.length(WageRow.occupation) == 10, WageRow.occupation), else_=None)


def _division() -> Expression:
    code = WageRow.industry
    lettered = func.substr(code, 1, 1) >= "A"
    return case((lettered, func.nullif(func.substr(code, 2, 2), "")), else_=func.substr(code, 1, 2))


@cache
def section_ranges() -> tuple[tuple[str, str, str], ...]:
    """(section, first division, last division): GB/T 4754 sections are runs of divisions."""
    runs: dict[str, list[str]] = {}
    for code, industry in industries().items():
        if industry.level == "division" and industry.parent:
            runs.setdefault(industry.parent, []).append(code)
    return tuple((s, min(codes), max(codes)) for s, codes in sorted(runs.items()))


def _section() -> Expression:
    code = WageRow.industry
    first = func.substr(code, 1, 1)
    division = func.substr(code, 1, 2)
    return case(
        (first >= "A", first),
        *[(division.between(low, high), section) for section, low, high in section_ranges()],
        else_=None,
    )


def _column(name: str) -> Callable[[], Expression]:
    def expression() -> Expression:
        column: Expression = getattr(WageRow, name)
        return column

    return expression


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("occupation", "职业", _column("occupation"), "occupation"),
        Dimension("occupation_major", "职业大类", _occupation_cut(1), "occupation"),
        Dimension("occupation_middle", "职业中类", _occupation_cut(4), "occupation"),
        Dimension("occupation_minor", "职业小类", _occupation_cut(7), "occupation"),
        Dimension("occupation_detailed", "职业细类", _detailed, "occupation"),
        Dimension("industry", "行业门类", _section, "industry"),
        Dimension("industry_division", "行业大类", _division, "industry"),
        Dimension("district", "区县", _column("district"), "district"),
        Dimension("size_class", "企业规模", _column("size_class"), "enum"),
        Dimension("ownership", "登记注册类型", _column("ownership"), "enum"),
        Dimension("education", "学历", _column("education"), "enum"),
        Dimension("skill_level", "技能等级或职称", _column("skill_level"), "enum"),
        Dimension("job_level", "管理岗位等级", _column("job_level"), "enum"),
    )
}
FILTERS = ("occupation", "industry", "district", "size_class", "ownership", "education",
           "skill_level", "job_level")  # fmt: skip


def parse_by(raw: str | None) -> list[str]:
    """``"occupation,district"`` -> the dimension names, in order; ValueError if unknown."""
    names = [part.strip() for part in (raw or "occupation").split(",") if part.strip()]
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; known: {sorted(DIMENSIONS)}")
    return list(dict.fromkeys(names))


def filter_dimension(name: str, value: str) -> str:
    """The dimension a filter ``name=value`` selects on; ValueError for a malformed code."""
    if name == "occupation":
        return f"occupation_{occupation_level(value)}"
    if name == "industry":
        if len(value) == 1:
            industry_section(value)
            return "industry"
        industry_section(value)  # refuses a division under another section's letter
        return "industry_division"
    if name == "district" and value not in districts():
        raise ValueError(f"unknown district {value!r}")
    return name


def filter_value(name: str, value: str) -> str:
    """The value as the dimension's expression yields it (``C30`` -> ``30``)."""
    if name == "industry" and len(value) > 1:
        return industry_division(value)
    return value


def code_name(dimension: str, code: str | None, enum_labels: dict[str, dict[str, str]]) -> str:
    """The Chinese name of a group's code: from the code lists for occupations, industries
    and districts; from the form's enum labels otherwise. An occupation finer than the list
    is its code and the finest listed group it belongs to ("2-02-03-01（属“工程技术人员”
    中类）"), never the group's name alone: two occupations of one group stay apart."""
    if code is None:
        return "未填报或未细分"
    if code == "*":
        return "合计"
    kind = DIMENSIONS[dimension].names
    if kind == "occupation":
        known = occupations()
        if code in known:
            return known[code].name
        parts = code.split("-")
        for depth in range(len(parts) - 1, 0, -1):
            ancestor = "-".join(parts[:depth])
            if ancestor in known:
                level = OCCUPATION_LEVELS_ZH[known[ancestor].level]
                return f"{code}（属“{known[ancestor].name}”{level}）"
        return code
    if kind == "industry":
        return industries()[code].name if code in industries() else code
    if kind == "district":
        return districts()[code].name if code in districts() else code
    return enum_labels.get(dimension, {}).get(code, code)


def enum_labels(schema: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The Chinese labels of the enum dimensions from a salary-survey form's schema."""
    properties = schema.get("properties") or {}
    employee = ((properties.get("employees") or {}).get("items") or {}).get("properties") or {}
    enterprise = (properties.get("enterprise") or {}).get("properties") or {}
    labels: dict[str, dict[str, str]] = {}
    for name in ("size_class", "ownership", "education", "skill_level", "job_level"):
        spec = employee.get(name) or enterprise.get(name) or {}
        raw = spec.get("x-enum-labels") or {}
        labels[name] = {code: str(label.get("zh", code)) for code, label in raw.items()}
    return labels
