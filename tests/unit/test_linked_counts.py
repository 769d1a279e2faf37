"""The score releases' protection (analytics.linked_counts) on small hand-made releases:
which groups are hidden and why, against the attacks of issue 11."""

from __future__ import annotations

import os
import random
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.optimize import linprog

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
SEEDS = int(os.environ.get("LINKED_COUNTS_SEEDS", "25"))

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


# --- against an attacker, on random cities ------------------------------------------------------


def _attack(
    releases: Sequence[tuple[Sequence[Answer], dict[str, str]]],
    added: Sequence[Answer] = (),
) -> list[tuple[int, str, int]]:
    """The (release, group, point) an attacker pins from what the releases publish (each
    group's respondents, the published groups' counts per point), knowing which cells hold
    answers and the cell of the one answer ``added[r]`` between release r and r + 1. Pins
    that a published group holding the group whole gives itself (its count at a point is 0
    or all; in this release, or in another one where the group is the same) are not
    counted."""
    cells = sorted({(a[0], a[1]) for answers, _ in releases for a in answers})
    unknown: list[dict[tuple[tuple[str, str], int], int]] = []
    low: list[float] = []
    high: list[float | None] = []

    def variable(top: float | None = None) -> int:
        low.append(0.0)
        high.append(top)
        return len(low) - 1

    for _ in releases:
        unknown.append({(c, p): variable() for c in cells for p in range(POINTS)})
    rows: list[tuple[dict[int, float], float]] = []
    new = [{p: variable(1.0) for p in range(POINTS)} for _ in added]
    for r, answer in enumerate(added):
        rows.append((dict.fromkeys(new[r].values(), 1.0), 1.0))
        for c in cells:
            for p in range(POINTS):
                terms = {unknown[r + 1][c, p]: 1.0, unknown[r][c, p]: -1.0}
                if c == (answer[0], answer[1]):
                    terms[new[r][p]] = -1.0
                rows.append((terms, 0.0))

    def inside(group: str) -> list[tuple[str, str]]:
        if group == CITY:
            return cells
        by, _, key = group.partition(":")
        return [c for c in cells if c[0 if by == "district" else 1] == key]

    def groups(answers: Sequence[Answer]) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {CITY: [0] * POINTS}
        for d, i, _, p in answers:
            for g in (CITY, f"district:{d}", f"industry:{i}"):
                found.setdefault(g, [0] * POINTS)[p] += 1
        return found

    for r, (answers, hidden_groups) in enumerate(releases):
        for g, counts in groups(answers).items():
            rows.append(
                ({unknown[r][c, p]: 1.0 for c in inside(g) for p in range(POINTS)}, sum(counts))
            )
            if g not in hidden_groups:
                for p in range(POINTS):
                    rows.append(({unknown[r][c, p]: 1.0 for c in inside(g)}, counts[p]))
    n = len(low)
    a_eq = np.zeros((len(rows), n))
    for k, (terms, _) in enumerate(rows):
        for j, v in terms.items():
            a_eq[k, j] += v
    b_eq = np.array([value for _, value in rows])
    bounds = list(zip(low, high, strict=True))

    def interval(terms: dict[int, float]) -> float:
        objective = np.zeros(n)
        for j, v in terms.items():
            objective[j] += v
        ends = []
        for sign in (1.0, -1.0):
            result = linprog(sign * objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            assert result.status == 0, result.message
            ends.append(sign * result.fun)
        return float(ends[1] - ends[0])

    def same(group: str, r: int, other: int) -> bool:
        between = added[min(r, other) : max(r, other)]
        return all((a[0], a[1]) not in inside(group) for a in between)

    def implied(r: int, group: str, p: int) -> bool:
        """Does a published group holding ``group`` whole (in this release, or in another
        one when the group is the same there) sit at 0 or full at point p?"""
        for other, (other_answers, other_hidden) in enumerate(releases):
            if not same(group, r, other):
                continue
            for h, counts in groups(other_answers).items():
                if (
                    h not in other_hidden
                    and set(inside(group)) <= set(inside(h))
                    and counts[p] in (0, sum(counts))
                ):
                    return True
        return False

    pinned = []
    for r, (answers, hidden_groups) in enumerate(releases):
        for g, why in hidden_groups.items():
            if why not in (MIN_UNITS, MIN_ENTERPRISES) or g not in groups(answers):
                continue
            if any(g not in other and same(g, r, o) for o, (_, other) in enumerate(releases)):
                continue  # the same group, published in another release
            for p in range(POINTS):
                if implied(r, g, p):
                    continue
                if interval({unknown[r][c, p]: 1.0 for c in inside(g)}) < 1 - 1e-6:
                    pinned.append((r, g, p))
    for r, answer in enumerate(new):
        for p, j in answer.items():
            if interval({j: 1.0}) < 1 - 1e-6:
                pinned.append((r + 1, "the added answer", p))
    return pinned


def _random_city(rng: random.Random) -> list[Answer]:
    answers: list[Answer] = []
    for n in range(rng.randint(4, 12)):
        district = rng.choice("ABCD")
        industry = rng.choice("xyz")
        bias = rng.random()
        for _ in range(rng.randint(1, 7)):
            answers.append((district, industry, n, 0 if rng.random() < bias else rng.randint(1, 2)))
    return answers


@pytest.mark.parametrize("seed", range(SEEDS))
def test_no_random_city_gives_a_hidden_group_back(seed: int) -> None:
    rng = random.Random(seed)
    answers = _random_city(rng)
    shown = hidden(answers)
    assert _attack([(answers, shown)]) == []


@pytest.mark.parametrize("seed", range(SEEDS))
def test_no_two_releases_of_a_random_city_give_the_answer_between_them_back(seed: int) -> None:
    rng = random.Random(1000 + seed)
    first = _random_city(rng)
    before = hidden(first)
    one = rng.choice(first)
    added = (one[0], one[1], one[2], rng.randint(0, POINTS - 1))
    second = [*first, added]
    after = hidden(second, [earlier(first, before)])
    assert _attack([(first, before), (second, after)], [added]) == []


@pytest.mark.parametrize("seed", range(SEEDS))
def test_no_three_releases_of_a_random_city_give_an_answer_between_them_back(seed: int) -> None:
    rng = random.Random(2000 + seed)
    answers = _random_city(rng)
    releases: list[tuple[Sequence[Answer], dict[str, str]]] = []
    added: list[Answer] = []
    for r in range(3):
        if r:
            one = rng.choice(answers)
            added.append((one[0], one[1], one[2], rng.randint(0, POINTS - 1)))
            answers = [*answers, added[-1]]
        shown = hidden(answers, [earlier(a, h) for a, h in releases])
        releases.append((answers, shown))
    assert _attack(releases, added) == []


# --- magnitudes: the self-assessment's points ----------------------------------------------------

ENTERPRISES = Thresholds(min_units=3, min_enterprises=3, units_are_enterprises=True)
WIDTH = 20.0  # of 100 points: 2 p% at p = 10

# (district, enterprise, total points)
Scored = tuple[str, int, float]


def scored_units(results: Sequence[Scored], *, with_enterprises: bool = True) -> Units:
    return Units(
        partitions={"district": [r[0] for r in results]},
        identity=[f"{d}|{n}|{t}" for d, n, t in results],
        values=np.array([[t] for _, _, t in results]),
        caps=np.full((len(results), 1), 100.0),
        enterprise=[r[1] for r in results] if with_enterprises else None,
    )


def _random_scores(rng: random.Random) -> list[Scored]:
    return [
        (rng.choice("ABCDE"), n, rng.choice([100.0, 100.0, round(rng.uniform(40, 100), 2)]))
        for n in range(rng.randint(3, 14))
    ]


def _points_interval(
    releases: Sequence[tuple[Sequence[Scored], dict[str, str]]], target: tuple[int, str] | None
) -> float:
    """How wide the attacker's interval is for a district's points in a release (``target``)
    or, over two releases, for the enterprise added between them (None)."""
    districts = sorted({r[0] for results, _ in releases for r in results})
    bounds: list[tuple[float, float | None]] = []
    unknown = []
    for results, _ in releases:
        sizes = {d: sum(1 for r in results if r[0] == d) for d in districts}
        unknown.append({d: len(bounds) + i for i, d in enumerate(districts)})
        bounds += [(0.0, 100.0 * sizes[d]) for d in districts]
    rows: list[tuple[dict[int, float], float]] = []
    new = None
    if len(releases) == 2:
        new = len(bounds)
        bounds.append((0.0, 100.0))
        added = next(r for r in releases[1][0] if r not in releases[0][0])
        for d in districts:
            terms = {unknown[1][d]: 1.0, unknown[0][d]: -1.0}
            if d == added[0]:
                terms[new] = -1.0
            rows.append((terms, 0.0))
    for r, (results, hidden_groups) in enumerate(releases):
        if CITY not in hidden_groups:
            rows.append((dict.fromkeys(unknown[r].values(), 1.0), sum(t for _, _, t in results)))
        for d in districts:
            if f"district:{d}" not in hidden_groups:
                rows.append(({unknown[r][d]: 1.0}, sum(t for x, _, t in results if x == d)))
    a_eq = np.zeros((len(rows), len(bounds)))
    for k, (terms, _) in enumerate(rows):
        for j, v in terms.items():
            a_eq[k, j] += v
    objective = np.zeros(len(bounds))
    objective[new if target is None else unknown[target[0]][target[1]]] = 1.0
    ends = []
    for sign in (1.0, -1.0):
        result = linprog(
            sign * objective,
            A_eq=a_eq,
            b_eq=[v for _, v in rows],
            bounds=bounds,
            method="highs",
        )
        assert result.status == 0, result.message
        ends.append(sign * result.fun)
    return float(ends[1] - ends[0])


def _held_at_bound(results: Sequence[Scored], hidden_groups: dict[str, str]) -> bool:
    """Every enterprise of the published city at 0 or 100 points: the city says it."""
    return CITY not in hidden_groups and all(t in (0.0, 100.0) for _, _, t in results)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_no_random_city_places_a_hidden_districts_points(seed: int) -> None:
    results = _random_scores(random.Random(3000 + seed))
    shown = protect(scored_units(results), [], ENTERPRISES, [WIDTH])
    if _held_at_bound(results, shown):
        return
    for group, why in shown.items():
        if why in (MIN_UNITS, MIN_ENTERPRISES) and group != CITY:
            district = group.partition(":")[2]
            assert _points_interval([(results, shown)], (0, district)) >= WIDTH - 1e-6


@pytest.mark.parametrize("seed", range(SEEDS))
def test_no_two_releases_of_a_random_city_place_the_enterprise_between_them(seed: int) -> None:
    rng = random.Random(4000 + seed)
    first = _random_scores(rng)
    before = protect(scored_units(first), [], ENTERPRISES, [WIDTH])
    added = (rng.choice("ABCDE"), 99, round(rng.uniform(40, 100), 2))
    second = [*first, added]
    old = Earlier(scored_units(first, with_enterprises=False), before)
    after = protect(scored_units(second), [old], ENTERPRISES, [WIDTH])
    assert _points_interval([(first, before), (second, after)], None) >= WIDTH - 1e-6
