"""The official edit checks of the national salary-survey layout, run over one enterprise's
document before anything is exported.

The pay thresholds are the campaign's form version's ``rules["edit_checks"]`` (the data the
bureau edits; the form's schema bounds ``annual_pay`` with the same maximum):
``min_core_pay`` (basic + performance pay + allowances, a year) and ``max_annual_pay``. The
plausibility bounds (ages, part-time hours, the parts' rounding tolerance) are the
layout's (``reference.salary_layout``), which the same ``edit_checks`` may override key by
key. Each failure names the enterprise (``uscc``), the employee's ``row`` (1-based, as a
person counts; ``path`` is the JSON Pointer, 0-based), the ``field``, the ``rule`` and the
``value`` found.

Rules: ``required``, ``type``, ``uscc``, ``code`` (against the code lists of
``reference``), ``range`` (the layout's bounds: months 1-12, counts and pay not negative),
``min_core_pay``, ``max_annual_pay``, ``parts_sum`` (the four parts, when any is given, add
up to annual pay within the tolerance), ``birth_year`` (age at the survey year),
``work_start_year`` (not after the survey year, not before the minimum age),
``months_operating`` (no one works more months than the enterprise operated),
``part_time_hours`` (part-time work is at most 24 hours a week, Labour Contract Law art. 68)
and ``survey_year`` (the document speaks of the campaign's year).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from survey_service.errors import ServiceError
from survey_service.forms.formats import (
    is_division_code,
    is_industry_code,
    is_occupation_code,
    is_uscc,
)
from survey_service.reference.salary_layout import LayoutField, salary_layout

Failure = dict[str, Any]
PARTS = ("base_pay", "bonus", "allowances", "overtime_pay")
CORE_PARTS = ("base_pay", "bonus", "allowances")
_CODE_CHECKS = {
    "uscc": is_uscc,
    "division": is_division_code,
    "industry": is_industry_code,
    "occupation": is_occupation_code,
}


@dataclass(frozen=True, slots=True)
class EditChecks:
    """The thresholds of one campaign's edit checks."""

    year: int  # the year the data speak of
    min_core_pay: float
    max_annual_pay: float
    min_age: int
    max_age: int
    min_start_age: int
    part_time_max_weekly_hours: float
    parts_tolerance: float

    @classmethod
    def of_campaign(cls, year: int, rules: Mapping[str, Any]) -> EditChecks:
        """From the form version's ``rules``; a form without the pay thresholds cannot be
        checked, so nothing of it is exported."""
        given = rules.get("edit_checks") or {}
        bounds = {**salary_layout().plausibility, **given}
        try:
            return cls(
                year=year,
                min_core_pay=float(given["min_core_pay"]),
                max_annual_pay=float(given["max_annual_pay"]),
                min_age=int(bounds["min_age"]),
                max_age=int(bounds["max_age"]),
                min_start_age=int(bounds["min_start_age"]),
                part_time_max_weekly_hours=float(bounds["part_time_max_weekly_hours"]),
                parts_tolerance=float(bounds["parts_tolerance"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ServiceError(
                "unprocessable",
                f"The campaign's form has no usable edit checks ({exc}): its rules need "
                "edit_checks.min_core_pay and edit_checks.max_annual_pay.",
            ) from None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _failure(
    uscc: str, row: int | None, spec: LayoutField, rule: str, value: Any, message: str,
    message_zh: str,
) -> Failure:  # fmt: skip
    path = spec.source if row is None else spec.source.replace("*", str(row - 1))
    return {
        "uscc": uscc,
        "row": row,
        "path": path,
        "field": spec.key,
        "field_zh": spec.name_zh,
        "rule": rule,
        "keyword": rule,
        "value": value,
        "message": message,
        "message_zh": message_zh,
    }


def _field_failures(uscc: str, row: int | None, spec: LayoutField, value: Any) -> list[Failure]:
    """What is wrong with one value by itself: present, of its type, in its list, in range."""
    if value is None or value == "":
        if spec.required:
            return [_failure(uscc, row, spec, "required", value, "missing", "必填项缺失")]
        return []
    checker = _CODE_CHECKS.get(spec.kind)
    if checker is not None and not checker(value):
        return [_failure(uscc, row, spec, "uscc" if spec.kind == "uscc" else "code", value,
                         f"not a valid {spec.kind} code", "代码无效")]  # fmt: skip
    if spec.codes is not None:
        key = str(value).lower() if isinstance(value, bool) else value
        if not isinstance(key, str) or key not in salary_layout().codes[spec.codes]:
            return [_failure(uscc, row, spec, "code", value,
                             f"not in the code list {spec.codes}", "不在代码表中")]  # fmt: skip
    if spec.kind == "text" and not isinstance(value, str):
        return [_failure(uscc, row, spec, "type", value, "not a text", "应为文字")]
    if spec.kind in ("integer", "hours", "money"):
        whole = spec.kind == "integer"
        if not _number(value) or (whole and not float(value).is_integer()):
            return [_failure(uscc, row, spec, "type", value,
                             "not a whole number" if whole else "not a number",
                             "应为整数" if whole else "应为数字")]  # fmt: skip
        if (spec.min is not None and value < spec.min) or (
            spec.max is not None and value > spec.max
        ):
            low = "" if spec.min is None else f"{spec.min:g}"
            high = "" if spec.max is None else f"{spec.max:g}"
            return [_failure(uscc, row, spec, "range", value, f"outside {low}..{high}",
                             f"超出范围 {low}~{high}")]  # fmt: skip
    return []


def enterprise_failures(
    enterprise: Mapping[str, Any], employees: Sequence[Mapping[str, Any]], checks: EditChecks
) -> list[Failure]:
    """Every failure of one enterprise's document: its own record's, then its employees'
    in row order."""
    layout = salary_layout()
    by_key = {spec.key: spec for spec in (*layout.enterprise, *layout.employee)}
    uscc = str(enterprise.get("uscc") or "")
    failures: list[Failure] = []
    for spec in layout.enterprise:
        failures += _field_failures(uscc, None, spec, enterprise.get(spec.key))
    stated_year = enterprise.get("survey_year")
    if stated_year is not None and stated_year != checks.year:
        failures.append({
            "uscc": uscc, "row": None, "path": "/enterprise/survey_year",
            "field": "survey_year", "field_zh": "调查年度", "rule": "survey_year",
            "keyword": "survey_year", "value": stated_year,
            "message": f"the campaign speaks of {checks.year}",
            "message_zh": f"本次调查年度为 {checks.year} 年",
        })  # fmt: skip
    operating = enterprise.get("months_operating")
    for index, employee in enumerate(employees):
        row = index + 1
        found: list[Failure] = []
        for spec in layout.employee:
            if not spec.of_enterprise:
                found += _field_failures(uscc, row, spec, employee.get(spec.key))
        bad = {f["field"] for f in found}
        found += _employee_rule_failures(uscc, row, employee, bad, operating, checks, by_key)
        failures += found
    return failures


def _employee_rule_failures(
    uscc: str,
    row: int,
    employee: Mapping[str, Any],
    bad: set[str],
    operating: Any,
    checks: EditChecks,
    spec: Mapping[str, LayoutField],
) -> list[Failure]:
    """The rules across an employee's fields (a field failing by itself already is not
    judged again)."""
    out: list[Failure] = []

    def fail(key: str, rule: str, message: str, message_zh: str) -> None:
        out.append(_failure(uscc, row, spec[key], rule, employee.get(key), message, message_zh))

    def usable(key: str) -> bool:
        return key not in bad and _number(employee.get(key))

    if usable("annual_pay"):
        pay = employee["annual_pay"]
        given = {k: employee[k] for k in PARTS if usable(k)}
        core = sum(given.get(k, 0) for k in CORE_PARTS) if given else pay
        total = sum(given.values())
        low, high = checks.min_core_pay, checks.max_annual_pay
        if core < low:
            fail("annual_pay", "min_core_pay",
                 f"basic pay, performance pay and allowances {core:g} are under {low:g} yuan",
                 f"基本工资、绩效工资与津贴补贴合计 {core:g} 元，低于 {low:g} 元")  # fmt: skip
        if pay > high:
            fail("annual_pay", "max_annual_pay", f"above {high:g} yuan", f"高于 {high:g} 元")
        if given and abs(total - pay) > checks.parts_tolerance:
            fail("annual_pay", "parts_sum", f"the four parts add up to {total:g}, not {pay:g}",
                 f"四项组成合计 {total:g}，与年度应发工资 {pay:g} 不一致")  # fmt: skip
    born: Any = employee.get("birth_year")
    if usable("birth_year"):
        age = checks.year - born
        youngest, oldest = checks.min_age, checks.max_age
        if not youngest <= age <= oldest:
            fail("birth_year", "birth_year",
                 f"aged {age:g} in {checks.year}, not {youngest}-{oldest}",
                 f"{checks.year} 年时 {age:g} 岁，不在 {youngest}~{oldest} 岁之间")  # fmt: skip
    if usable("work_start_year"):
        started = employee["work_start_year"]
        too_young = usable("birth_year") and started - born < checks.min_start_age
        if started > checks.year or too_young:
            fail("work_start_year", "work_start_year",
                 f"after {checks.year} or before the age of {checks.min_start_age}",
                 f"晚于调查年度或早于 {checks.min_start_age} 周岁")  # fmt: skip
    if usable("months_worked") and _number(operating) and employee["months_worked"] > operating:
        fail("months_worked", "months_operating",
             f"more than the enterprise's {operating:g} months operating",
             f"多于企业全年经营月数 {operating:g}")  # fmt: skip
    limit = checks.part_time_max_weekly_hours
    part_time = employee.get("employment_form") == "part_time"
    if part_time and usable("weekly_hours") and employee["weekly_hours"] > limit:
        fail("weekly_hours", "part_time_hours", f"part-time work above {limit:g} hours a week",
             f"非全日制用工每周超过 {limit:g} 小时")  # fmt: skip
    return out
