"""The score releases' protection (analytics.linked_counts) on small hand-made releases:
which groups are hidden and why, against the attacks of issue 11."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from survey_service.analytics.linked_counts import (
    CHANGED,
    CITY,
    COMPLEMENTARY,
    HIDDEN_BEFORE,
    LINKED,
    MIN_ENTERPRISES,
    MIN_UNITS,
    Earlier,
    Thresholds,
    Units,
    protect,
)

POLL = Thresholds(min_units=5, min_enterprises=3, units_are_enterprises=False)
POINTS = 3  # one question on a 3-point scale

# (district, industry, enterprise, answer)
Answer = tuple[str, str, int, int]


def units(answers: Sequence[Answer], *, with_enterprises: bool = True) -> Units:
    values = np.zeros((len(answers), POINTS))
    for u, (_, _, _, point) in enumerate(answers):
        values[u, point] = 1.0
    return Units(
        partitions={
            "district": [a[0] for a in answers],
            "industry": [a[1] for a in answers],
        },
        identity=[f"{d}|{i}|{p}|{n}" for n, (d, i, _, p) in enumerate(answers)],
        values=values,
        caps=np.ones((len(answers), POINTS)),
        enterprise=[a[2] for a in answers] if with_enterprises else None,
    )


def enterprise_answers(
    district: str, industry: str, enterprise: int, points: Sequence[int]
) -> list[Answer]:
    return [(district, industry, enterprise, p) for p in points]


def city(*parts: list[Answer]) -> list[Answer]:
    return [a for part in parts for a in part]


def hidden(answers: Sequence[Answer], earlier: Sequence[Earlier] = ()) -> dict[str, str]:
    return protect(units(answers), earlier, POLL, [0.0] * POINTS)


def earlier(answers: Sequence[Answer], shown: dict[str, str]) -> Earlier:
    return Earlier(units(answers, with_enterprises=False), shown)


# Three districts of three enterprises, two answers at each point each: nothing to hide.
A = city(*(enterprise_answers("A", "x", n, [0, 1, 2, 0, 1, 2]) for n in (1, 2, 3)))
B = city(*(enterprise_answers("B", "x", n, [0, 1, 2, 0, 1, 2]) for n in (4, 5, 6)))
C = city(*(enterprise_answers("C", "x", n, [0, 1, 2, 0, 1, 2]) for n in (7, 8, 9)))


def test_a_release_of_groups_that_meet_the_rules_hides_nothing() -> None:
    assert hidden(city(A, B, C)) == {}


def test_a_district_of_one_enterprise_is_hidden_with_the_smallest_other() -> None:
    alone = enterprise_answers("D", "x", 10, [0, 1, 2, 0, 1, 2, 0])
    small_b = B[:-1]  # 17 answers: the smallest published district
    shown = hidden(city(A, small_b, C, alone))
    assert shown["district:D"] == MIN_ENTERPRISES
    assert shown["district:B"] == COMPLEMENTARY
    assert "district:A" not in shown
    assert "district:C" not in shown


def test_a_district_of_three_answers_is_hidden() -> None:
    few = enterprise_answers("D", "x", 10, [0, 1, 2]) + enterprise_answers("D", "x", 11, [])
    assert hidden(city(A, B, C, few))["district:D"] == MIN_UNITS


def test_two_hidden_districts_with_nobody_at_a_point_are_not_left_pinned() -> None:
    # D and E (one enterprise each) never answered 0, A, B and C did: the city minus A, B, C
    # would say D and E have no 0 each.
    d = enterprise_answers("D", "x", 10, [1, 2, 1, 2, 1])
    e = enterprise_answers("E", "x", 11, [2, 1, 2, 1, 2])
    shown = hidden(city(A, B, C, d, e))
    assert shown["district:D"] == MIN_ENTERPRISES
    assert shown["district:E"] == MIN_ENTERPRISES
    # Something more is hidden: a third district, or the city.
    assert set(shown) - {"district:D", "district:E"}
    assert LINKED in shown.values()


def test_a_hidden_group_given_by_the_linked_partition_is_freed() -> None:
    # Industry y is D's alone: D hidden, y hidden (one enterprise), and hiding D's
    # complement must not leave y = city - x.
    d = enterprise_answers("D", "y", 10, [0, 1, 2, 0, 1])
    shown = hidden(city(A, B, C, d))
    assert shown["district:D"] == MIN_ENTERPRISES
    assert shown["industry:y"] == MIN_ENTERPRISES
    assert "industry:x" in shown or CITY in shown


def test_one_answer_more_hides_its_groups_and_the_city() -> None:
    first = city(A, B, C)
    second = [*first, ("B", "x", 4, 0)]
    shown = hidden(second, [earlier(first, {})])
    assert shown["district:B"] == CHANGED
    assert shown[CITY] == CHANGED
    assert shown["industry:x"] == CHANGED
    assert "district:A" in shown or "district:C" in shown  # B's complement


def test_five_answers_from_one_enterprise_are_a_change_too_small() -> None:
    first = city(A, B, C)
    second = first + enterprise_answers("B", "x", 4, [0, 1, 2, 0, 1])
    assert hidden(second, [earlier(first, {})])["district:B"] == CHANGED


def test_changes_of_enough_answers_and_enterprises_are_published() -> None:
    first = city(A, B, C)
    more = city(*(enterprise_answers("B", "x", n, [0, 1]) for n in (4, 5, 6)))
    assert hidden(first + more, [earlier(first, {})]) == {}


def test_a_hidden_pair_that_changed_by_one_answer_hides_the_city() -> None:
    # D (one enterprise) and B hidden in the first release; one answer more in D: the city
    # minus A and C, before and after, would give it.
    d = enterprise_answers("D", "x", 10, [0, 1, 2, 0, 1])
    first = city(A, B, C, d)
    before = hidden(first)
    assert before["district:D"] == MIN_ENTERPRISES
    second = [*first, ("D", "x", 10, 2)]
    shown = hidden(second, [earlier(first, before)])
    assert shown[CITY] in (CHANGED, COMPLEMENTARY, LINKED)


def test_a_group_hidden_before_and_unchanged_stays_hidden() -> None:
    d = enterprise_answers("D", "x", 10, [0, 1, 2, 0, 1])
    first = city(A, B[:-1], C, d)
    before = hidden(first)
    complement = next(g for g, why in before.items() if why == COMPLEMENTARY)
    more = city(*(enterprise_answers("A", "x", n, [0, 1]) for n in (1, 2, 3)))
    shown = hidden(first + more, [earlier(first, before)])
    assert shown[complement] == HIDDEN_BEFORE
