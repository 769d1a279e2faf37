"""The scoring rules read from forms: self-assessment items, grades and veto caps; the poll's
questions, duties, bands and anonymity thresholds; ranks and participation targets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survey_service.analytics.assessments import (
    AssessmentRules,
    ChoiceScore,
    ItemRule,
    PercentScore,
    RulesProblem,
    item_points,
    parse_rules,
    score_document,
)
from survey_service.analytics.districts import competition_ranks
from survey_service.analytics.participation import TargetEntry, TargetsFile, targets_for
from survey_service.analytics.satisfaction import RulesProblem as PollRulesProblem
from survey_service.analytics.satisfaction import poll_shape, value_counts
from tests.paths import PROJECT_ROOT


def _form(key: str) -> dict[str, Any]:
    form: dict[str, Any] = json.loads(Path(PROJECT_ROOT, "form_schemas", f"{key}.json").read_text())
    return form


def _rules(**overrides: Any) -> AssessmentRules:
    rules: dict[str, Any] = {
        "duties": {
            "pay": {
                "weight": 30,
                "items": {
                    "on_time": {"points": 10, "score": "boolean"},
                    "rate": {
                        "points": 10,
                        "score": {"type": "percent", "zero_at": 60, "full_at": 100},
                    },
                },
            }
        },
        "grades": [
            {"grade": "Fail", "min_score": 0},
            {"grade": "Top", "min_score": 25},
            {"grade": "Pass", "min_score": 10},
        ],
        "vetoes": {"arrears": {"cap_grade": "Pass"}, "child_labour": {"cap_grade": "Fail"}},
    }
    return parse_rules(rules | overrides, {})


def test_percent_items_score_on_a_line_from_zero_at_to_full_at() -> None:
    rule = ItemRule(points=12, score=PercentScore(zero_at=60, full_at=100))
    assert [item_points(rule, a) for a in (40, 60, 80, 100)] == [0.0, 0.0, 6.0, 12.0]
    assert item_points(rule, 90.5) == pytest.approx(12 * 30.5 / 40)
    assert item_points(rule, True) == 0.0
    assert item_points(rule, None) == 0.0


def test_boolean_and_choice_items_earn_only_for_the_answers_the_rules_name() -> None:
    boolean = ItemRule(points=4, score="boolean")
    assert (item_points(boolean, True), item_points(boolean, False)) == (4.0, 0.0)
    assert item_points(boolean, "yes") == 0.0
    choice = ItemRule(points=5, score=ChoiceScore(points={"none": 5, "minor": 3, "major": 0}))
    assert [item_points(choice, a) for a in ("none", "minor", "major", "other", 5)] == [
        5.0,
        3.0,
        0.0,
        0.0,
        0.0,
    ]


def test_a_duty_weight_scales_its_points_and_grades_follow_min_score_not_list_order() -> None:
    rules = _rules()
    assert [g.grade for g in rules.grades] == ["Top", "Pass", "Fail"]
    full = score_document(rules, {"pay": {"on_time": {"answer": True}, "rate": {"answer": 100}}})
    assert (full.duties, full.total, full.grade) == ({"pay": 30.0}, 30.0, "Top")
    half = score_document(rules, {"pay": {"on_time": {"answer": False}, "rate": {"answer": 80}}})
    assert (half.total, half.grade) == (7.5, "Fail")


def test_the_worst_veto_caps_the_grade() -> None:
    rules = _rules()
    best = {"pay": {"on_time": {"answer": True}, "rate": {"answer": 100}}}
    one = score_document(rules, best | {"vetoes": {"arrears": True, "child_labour": False}})
    assert (one.score_grade, one.grade, one.vetoes) == ("Top", "Pass", ["arrears"])
    both = score_document(rules, best | {"vetoes": {"arrears": True, "child_labour": True}})
    assert both.grade == "Fail"
    # A veto cannot lift a grade the score did not reach.
    low = {
        "pay": {"on_time": {"answer": False}, "rate": {"answer": 60}},
        "vetoes": {"arrears": True},
    }
    assert score_document(rules, low).grade == "Fail"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vetoes": {"arrears": {"cap_grade": "Z"}}}, "no grade"),
        ({"grades": []}, "no grades"),
        (
            {"duties": {"pay": {"items": {"x": {"points": 1, "score": {"type": "median"}}}}}},
            "median",
        ),
        (
            {
                "duties": {
                    "pay": {
                        "items": {
                            "x": {
                                "points": 1,
                                "score": {"type": "percent", "zero_at": 5, "full_at": 5},
                            }
                        }
                    }
                }
            },
            "the same",
        ),
    ],
)
def test_rules_that_cannot_score_are_refused_with_the_reason(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(RulesProblem, match=message):
        _rules(**overrides)


def test_the_shipped_self_assessment_rules_parse_in_the_forms_order() -> None:
    form = _form("enterprise-self-assessment")
    # As PostgreSQL's JSONB gives them back: in an order of its own.
    duties = dict(reversed(list(form["rules"]["duties"].items())))
    vetoes = dict(sorted(form["rules"]["vetoes"].items()))
    rules = parse_rules(form["rules"] | {"duties": duties, "vetoes": vetoes}, form["ui"])
    assert list(rules.duties) == [
        "contracts", "wages", "social_insurance", "safety", "democracy", "rights",
    ]  # fmt: skip
    assert list(rules.vetoes) == form["schema"]["properties"]["vetoes"]["required"]


def test_competition_ranks_share_ties_and_skip_none() -> None:
    assert competition_ranks([0.5, 0.9, 0.5, None, 0.1]) == [2, 1, 2, None, 4]
    assert competition_ranks([]) == []


def test_the_shipped_poll_is_read_as_six_duties_an_overall_question_and_nps() -> None:
    form = _form("worker-satisfaction")
    shape = poll_shape(form["schema"], form["ui"], form["rules"], {})
    assert [d.key for d in shape.dimensions] == list(form["rules"]["dimensions"])
    assert {d.key: list(d.items) for d in shape.dimensions} == {
        k: v["items"] for k, v in form["rules"]["dimensions"].items()
    }
    assert [q.key for q in shape.questions][-1] == "overall_satisfaction"
    assert shape.questions[-1].dimension is None
    assert shape.recommend is not None
    assert (shape.recommend.key, shape.recommend.low, shape.recommend.high) == ("recommend", 0, 10)
    assert shape.comments == ("comment",)
    assert (shape.favourable, shape.neutral, shape.unfavourable) == ((4, 5), (3, 3), (1, 2))
    assert (shape.promoters, shape.detractors) == ((9, 10), (0, 6))
    assert (shape.min_group, shape.min_group_comments) == (5, 10)


def test_a_poll_without_rules_groups_by_its_screens_and_bands_by_its_scale() -> None:
    likert = {"type": "integer", "minimum": 1, "maximum": 7, "x-likert": {"scale": 7}}
    schema = {
        "type": "object",
        "properties": {"a": likert, "b": likert, "c": likert, "note": {"type": "string"}},
    }
    ui = {
        "order": ["c", "a", "b", "note"],
        "groups": [
            {"key": "first", "title": {"zh": "一"}, "fields": ["/a", "/b"]},
            {"key": "words", "fields": ["/note"]},
            {"key": "second", "fields": ["/c"]},
        ],
    }
    shape = poll_shape(schema, ui, {}, {})
    assert [q.key for q in shape.questions] == ["c", "a", "b"]
    assert [(d.key, d.items) for d in shape.dimensions] == [
        ("first", ("a", "b")),
        ("second", ("c",)),
    ]
    assert (shape.unfavourable, shape.neutral, shape.favourable) == ((1, 3), (4, 4), (5, 7))
    assert shape.recommend is None
    assert shape.comments == ("note",)


def test_campaign_settings_change_the_thresholds_and_nonsense_is_refused() -> None:
    form = _form("worker-satisfaction")
    args = (form["schema"], form["ui"], form["rules"])
    shape = poll_shape(*args, {"anonymity": {"min_group": 3}})
    assert (shape.min_group, shape.min_group_comments) == (3, 10)
    # Comments never show where figures would not.
    raised = poll_shape(*args, {"anonymity": {"min_group": 12}})
    assert (raised.min_group, raised.min_group_comments) == (12, 12)
    for bad in (0, "5", 2.5, True):
        with pytest.raises(PollRulesProblem, match="min_group"):
            poll_shape(*args, {"anonymity": {"min_group": bad}})


def test_value_counts_leave_out_missing_and_off_scale_answers() -> None:
    group = np.array([0, 0, 1, 1, 1, 0], dtype=np.int64)
    values = np.array([1, 5, 3, math.nan, 9, 5], dtype=np.float64)
    counts = value_counts(group, 2, values, 1, 5)
    assert counts.tolist() == [[1, 0, 0, 0, 2], [0, 0, 1, 0, 0]]


def test_the_targets_in_force_are_the_latest_that_started() -> None:
    targets = TargetsFile(
        collective_contract_min_staff=100,
        targets=[TargetEntry(from_year=2023, participation=0.5), TargetEntry(from_year=2025)],
    )
    assert targets_for(targets, 2022) is None
    assert targets_for(targets, 2024) == targets.targets[0]
    assert targets_for(targets, 2030) == targets.targets[1]
