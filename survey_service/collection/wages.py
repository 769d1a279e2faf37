"""Salary-survey rows: the normalised wage table and the checks that warn without refusing
(pay under the minimum wage, parts that do not add up, outliers).

The thresholds are the form version's ``rules`` (data the bureau edits), never constants.
An outlier is judged against a figure already published, never against the other
enterprises' rows: the occupation's city-wide monthly median in the latest wage release of
the campaign, else of the same form's campaign of the year before
(``analytics.pay_reference``), and the warning names that release. Where no release
publishes the occupation's median (no release yet, or the cell is hidden) there is no
outlier check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from survey_service.analytics.pay_reference import PayReference
from survey_service.db.models import Enterprise

Warning_ = dict[str, Any]

PARTS = ("base_pay", "bonus", "allowances", "overtime_pay")


def _monthly_minimum(rules: dict[str, Any], year: int, district: str) -> tuple[float, float] | None:
    """The average monthly and hourly minimum wage over ``year`` for the district's class,
    month by month across the periods in force (None when the rules do not cover it)."""
    table = rules.get("minimum_wage") or {}
    klass = (table.get("district_class") or {}).get(district)
    periods = table.get("periods") or []
    if klass is None or not periods:
        return None
    monthly: list[float] = []
    hourly: list[float] = []
    for month in range(1, 13):
        day = date(year, month, 1)
        for period in periods:
            start = date.fromisoformat(period["from"])
            end = date.fromisoformat(period["to"]) if period.get("to") else date.max
            if start <= day <= end:
                monthly.append(float(period["monthly"][klass]))
                hourly.append(float(period["hourly"][klass]))
                break
    if len(monthly) < 12:
        return None
    return sum(monthly) / 12, sum(hourly) / 12


def pay_warnings(
    employees: Sequence[Mapping[str, Any]],
    rules: dict[str, Any],
    *,
    year: int,
    district: str,
    reference: PayReference | None = None,
) -> list[Warning_]:
    # One pass with the invariants hoisted and no list per row: on a 1,000-row survey this
    # loop is the request's largest cost in Python. The sums add the parts in ``PARTS``
    # order from 0, as ``sum`` of them would.
    minimum = _monthly_minimum(rules, year, district)
    monthly_floor, hourly_floor = minimum if minimum is not None else (0.0, 0.0)
    factor = float((rules.get("outlier") or {}).get("factor", 4))
    medians = reference.medians if reference is not None and reference.medians else None
    log_factor = math.log(factor) if medians is not None else 0.0
    number = (int, float)
    warnings: list[Warning_] = []
    for i, row in enumerate(employees):
        get = row.get
        pay = get("annual_pay")
        months = get("months_worked")
        if not isinstance(pay, number) or not isinstance(months, int) or months <= 0:
            continue
        base: Any = get("base_pay")
        bonus: Any = get("bonus")
        allowances: Any = get("allowances")
        overtime: Any = get("overtime_pay")
        base_n = isinstance(base, number)
        allowances_n = isinstance(allowances, number)
        bonus_n = isinstance(bonus, number)
        overtime_n = isinstance(overtime, number)
        if base_n or bonus_n or allowances_n or overtime_n:
            total: int | float = 0
            if base_n:
                total += base
            if bonus_n:
                total += bonus
            if allowances_n:
                total += allowances
            if overtime_n:
                total += overtime
            if abs(total - pay) > 1:
                warnings.append(
                    _warning(
                        i,
                        "annual_pay",
                        "parts_sum",
                        f"the parts add up to {total:g}, not {pay:g}",
                        f"各组成部分合计 {total:g}，与年度应发工资 {pay:g} 不一致",
                    )
                )
        if minimum is not None:
            core = 0.0
            if base_n:
                core += float(base)
            if allowances_n:
                core += float(allowances)
            if not core:
                core = float(pay)
            hours = get("weekly_hours")
            if get("employment_form") == "part_time" and isinstance(hours, number):
                floor = hourly_floor * float(hours) * 52 / 12 * months
            else:
                floor = monthly_floor * months
            if core < floor:
                warnings.append(
                    _warning(
                        i,
                        "annual_pay",
                        "minimum_wage",
                        f"basic pay and allowances {core:g} are under the minimum wage "
                        f"{floor:.0f} for {months} months",
                        f"基本工资与津贴 {core:g} 低于 {months} 个月的最低工资标准 {floor:.0f}",
                    )
                )
        if medians is None or pay <= 0:
            continue
        median = medians.get(str(get("occupation", "")))
        if median:
            assert reference is not None
            monthly = pay / months
            if abs(math.log(monthly / median)) > log_factor:
                warnings.append(
                    _warning(
                        i,
                        "annual_pay",
                        "outlier",
                        f"monthly pay {monthly:.0f} is far from the occupation's median "
                        f"{median:.2f} published in release {reference.number} of "
                        f"{reference.year}",
                        f"月均工资 {monthly:.0f} 与{reference.year}年第{reference.number}次"
                        f"发布的该职业中位数 {median:.2f} 相差悬殊",
                    )
                )
    return warnings


def _warning(index: int, field: str, code: str, message: str, message_zh: str) -> Warning_:
    return {
        "path": f"/employees/{index}/{field}",
        "code": code,
        "message": message,
        "message_zh": message_zh,
    }


# The wage table's columns as ``wage_rows`` gives them (``id`` is the database's).
WAGE_COLUMNS = (
    "submission_id", "campaign_id", "enterprise_id", "row_index", "occupation", "industry",
    "district", "size_class", "ownership", "education", "skill_level", "job_level",
    "months_worked", "annual_pay", "monthly_pay", "base_pay", "bonus", "allowances",
    "overtime_pay", "weekly_hours",
)  # fmt: skip

WageTuple = tuple[Any, ...]


def wage_rows(
    employees: Sequence[Mapping[str, Any]],
    enterprise: Enterprise,
    *,
    submission_id: str,
    campaign_id: int,
    first_index: int = 0,
) -> list[WageTuple]:
    """The worker rows as wage-table records (tuples in ``WAGE_COLUMNS`` order: a 1,000-row
    survey is stored with one executemany, and dicts cost twice the time to build); the
    enterprise's attributes come from the registry (the invitation's enterprise), not from
    what the document says of itself."""
    eid = enterprise.id
    industry, district = enterprise.industry, enterprise.district
    size_class, ownership = enterprise.size_class, enterprise.ownership
    rows: list[WageTuple] = []
    append = rows.append
    for i, row in enumerate(employees, start=first_index):
        get = row.get
        months = int(row["months_worked"])
        pay = float(row["annual_pay"])
        append(
            (
                submission_id,
                campaign_id,
                eid,
                i,
                row["occupation"],
                industry,
                district,
                size_class,
                ownership,
                get("education"),
                get("skill_level"),
                get("job_level"),
                months,
                pay,
                pay / months,
                get("base_pay"),
                get("bonus"),
                get("allowances"),
                get("overtime_pay"),
                get("weekly_hours"),
            )
        )
    return rows
