"""The salary-survey checks that warn without refusing, against the shipped rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from survey_service.analytics.pay_reference import PayReference
from survey_service.collection.wages import pay_warnings

RULES: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "form_schemas" / "salary-survey.json").read_text()
)["rules"]


def _codes(rows: list[dict[str, Any]], year: int = 2023, **kwargs: Any) -> list[tuple[str, str]]:
    return [
        (w["path"], w["code"])
        for w in pay_warnings(rows, RULES, year=year, district="610202", **kwargs)
    ]


def test_full_year_at_the_2023_class_3_minimum_is_not_flagged() -> None:
    # docs/domain.md: a full 2023 year at class 3 is 4 x 1750 + 8 x 1950 = 22,600 yuan.
    row = {"occupation": "6-01", "months_worked": 12, "annual_pay": 22600, "base_pay": 22600}
    assert _codes([row]) == []


def test_pay_one_yuan_under_the_minimum_is_flagged() -> None:
    row = {"occupation": "6-01", "months_worked": 12, "annual_pay": 22599, "base_pay": 22599}
    assert _codes([row]) == [("/employees/0/annual_pay", "minimum_wage")]


def test_minimum_wage_scales_with_months_worked() -> None:
    row = {"occupation": "6-01", "months_worked": 6, "annual_pay": 11400, "base_pay": 11400}
    assert _codes([row]) == []
    assert _codes([row | {"months_worked": 7}]) == [("/employees/0/annual_pay", "minimum_wage")]


def test_bonus_does_not_count_towards_the_minimum_wage() -> None:
    row = {
        "occupation": "6-01",
        "months_worked": 12,
        "annual_pay": 40000,
        "base_pay": 15000,
        "allowances": 2000,
        "bonus": 23000,
    }
    assert _codes([row]) == [("/employees/0/annual_pay", "minimum_wage")]


def test_parts_that_do_not_add_up_are_flagged() -> None:
    row = {
        "occupation": "6-01",
        "months_worked": 12,
        "annual_pay": 60000,
        "base_pay": 40000,
        "bonus": 10000,
    }
    assert _codes([row]) == [("/employees/0/annual_pay", "parts_sum")]


def test_pay_far_from_the_published_median_is_an_outlier_naming_the_release() -> None:
    row = {"occupation": "6-01", "months_worked": 12, "annual_pay": 600000}
    reference = PayReference(campaign_id=1, year=2025, number=1, medians={"6-01": 5000.25})
    assert _codes([row], reference=reference) == [("/employees/0/annual_pay", "outlier")]
    (warning,) = pay_warnings([row], RULES, year=2025, district="610202", reference=reference)
    assert "2025年第1次发布的该职业中位数 5000.25" in warning["message_zh"]
    assert "5000.25 published in release 1 of 2025" in warning["message"]
    assert _codes([row | {"annual_pay": 120000}], reference=reference) == []


def test_without_a_published_median_there_is_no_outlier_check() -> None:
    row = {"occupation": "6-01", "months_worked": 12, "annual_pay": 600000}
    assert _codes([row]) == []
    nothing_published = PayReference(campaign_id=1, year=2025, number=1, medians={})
    assert _codes([row], reference=nothing_published) == []


def test_a_year_the_rules_do_not_cover_raises_no_minimum_wage_flag() -> None:
    row = {"occupation": "6-01", "months_worked": 12, "annual_pay": 100, "base_pay": 100}
    assert _codes([row], year=2020) == []
