"""The attacker of ``attacks.py`` on hand-made tables: it must find the recoveries a
careless pattern leaves (a lone hidden cell of a line, the old per-table pattern seen
across tables, the occupation hierarchy, monthly minus annual, two releases) and must not
cry wolf on a safe one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.analytics.attacks import (
    Observations,
    System,
    Truth,
    WorkerRecord,
    allowed_tables,
    audit_release,
    cell_var,
    difference_findings,
    recoveries,
)

Cells = dict[tuple[Any, ...], tuple[int, float] | None]  # key -> (workers, total) or hidden


def rows(dims: list[str], cells: Cells) -> list[dict[str, Any]]:
    out = []
    for key, figures in cells.items():
        row: dict[str, Any] = dict(zip(dims, key, strict=True))
        if figures is None:
            row |= {"suppressed": True, "n_workers": None, "mean": None}
        else:
            workers, total = figures
            row |= {"suppressed": False, "n_workers": workers, "mean": round(total / workers, 2)}
        out.append(row)
    return out


def two_by_two(hidden: set[tuple[Any, ...]]) -> Observations:
    """occupation x district with every margin; a, b in 610202/610204."""
    figures = {
        ("1", "610202"): (10, 1000.0), ("1", "610204"): (20, 2600.0),
        ("2", "610202"): (30, 3300.0), ("2", "610204"): (40, 4000.0),
        ("1", "*"): (30, 3600.0), ("2", "*"): (70, 7300.0),
        ("*", "610202"): (40, 4300.0), ("*", "610204"): (60, 6600.0), ("*", "*"): (100, 10900.0),
    }  # fmt: skip
    cells: Cells = {k: None if k in hidden else v for k, v in figures.items()}
    observations = Observations()
    dims = ["occupation_major", "district"]
    observations.add(1, dims, "annual", rows(dims, cells))
    margins = {k: v for k, v in cells.items() if k[1] == "*"}
    observations.add(1, ["occupation_major"], "annual", rows(dims, margins))
    return observations


def hidden_keys(found: list[tuple[Any, str]]) -> set[tuple[Any, str]]:
    return {(tuple(sorted(v[2][0], key=lambda p: p[0])), m) for v, m in found}


def test_a_lone_hidden_cell_of_a_line_is_recovered() -> None:
    observations = two_by_two({("1", "610202")})
    system = System.build(observations)
    found = recoveries(system, system.cells_of(1))
    assert hidden_keys(found) == {
        ((("district", "610202"), ("occupation_major", "1")), "workers"),
        ((("district", "610202"), ("occupation_major", "1")), "pay"),
    }
    structure = system.structure("pay")
    var = system.cells_of(1)[0]
    low, high = structure.interval({var: 1.0})
    assert low == pytest.approx(1000.0, abs=1)
    assert high == pytest.approx(1000.0, abs=1)


def test_four_hidden_cells_of_a_rectangle_are_not_recovered_but_bounded() -> None:
    observations = two_by_two({("1", "610202"), ("1", "610204"), ("2", "610202"),
                               ("2", "610204")})  # fmt: skip
    system = System.build(observations)
    assert recoveries(system, system.cells_of(1)) == []
    structure = system.structure("workers")
    cell = cell_var(1, (frozenset({("occupation_major", "1"), ("district", "610202")}), "full"))
    low, high = structure.interval({cell: 1.0})
    assert (low, high) == (pytest.approx(0), pytest.approx(30))  # min(row 30, column 40)


def test_the_old_per_table_pattern_is_recovered_across_tables() -> None:
    """Each table protected alone: occupation_major x district hides 1/610202 with its
    rectangle, but the one-way district table of another query publishes... and the
    reported-occupation table adds the cell back through the hierarchy."""
    observations = two_by_two({("1", "610202"), ("1", "610204"), ("2", "610202"),
                               ("2", "610204")})  # fmt: skip
    dims = ["occupation", "district"]
    reported: Cells = {
        ("1-01", "610202"): (10, 1000.0), ("1-01", "610204"): None, ("1-01", "*"): None,
        ("2-01", "610202"): None, ("2-01", "610204"): None, ("2-01", "*"): None,
        ("*", "610202"): (40, 4300.0), ("*", "610204"): (60, 6600.0), ("*", "*"): (100, 10900.0),
    }  # fmt: skip
    observations.add(1, dims, "annual", rows(dims, reported))
    observations.add(1, ["occupation"], "annual",
                     rows(dims, {k: v for k, v in reported.items() if k[1] == "*"}))  # fmt: skip
    system = System.build(observations)
    found = hidden_keys(recoveries(system, system.cells_of(1)))
    # occupation_major 1 in 610202 = reported 1-01 in 610202 (published): recovered, and
    # with it the whole rectangle.
    assert ((("district", "610202"), ("occupation_major", "1")), "pay") in found
    assert ((("district", "610204"), ("occupation_major", "2")), "workers") in found


def test_monthly_minus_annual_recovers_a_part_year_cell() -> None:
    observations = Observations()
    dims = ["district"]
    observations.add(1, dims, "annual", rows(dims, {("610202",): (10, 120_000.0),
                                                    ("*",): (10, 120_000.0)}))  # fmt: skip
    observations.add(1, dims, "monthly", rows(dims, {("610202",): (11, 10_500.0),
                                                     ("*",): (11, 10_500.0)}))  # fmt: skip
    system = System.build(observations)
    part = cell_var(1, (frozenset({("district", "610202")}), "part"))
    assert system.structure("workers").determined({part: 1.0})
    assert system.structure("pay").determined({part: 1.0})
    low, high = system.structure("pay").interval({part: 1.0})
    assert low == pytest.approx(500.0, abs=0.2)
    assert high == pytest.approx(500.0, abs=0.2)


def test_two_releases_difference_into_the_late_enterprise() -> None:
    late = [WorkerRecord("late", {"district": "610202"}, 12, 50_000.0)] * 2
    change = Truth(late)
    observations = Observations()
    dims = ["district"]
    observations.add(1, dims, "annual", rows(dims, {("610202",): (10, 500_000.0),
                                                    ("*",): (10, 500_000.0)}))  # fmt: skip
    observations.add(2, dims, "annual", rows(dims, {("610202",): (12, 600_000.0),
                                                    ("*",): (12, 600_000.0)}))  # fmt: skip
    system = System.build(observations)
    key = (frozenset({("district", "610202")}), "full")
    findings = difference_findings(system, 1, 2, change, keys=[key])
    assert any("follow from the published figures" in str(f) for f in findings)
    assert any("within 1%" in str(f) for f in findings)


def test_the_audit_flags_a_primary_cell_pinned_by_nonnegativity() -> None:
    """A hidden cell whose only complement is tiny: the interval of its total is narrower
    than the p% protection level."""
    records = [WorkerRecord("big", {"district": "610202"}, 12, 100_000.0)] * 10 + [
        WorkerRecord(f"small{i}", {"district": "610204"}, 12, 100.0) for i in range(20)
    ]
    truth = Truth(records)
    observations = Observations()
    dims = ["district"]
    observations.add(1, dims, "annual", rows(dims, {
        ("610202",): None, ("610204",): None, ("*",): (30, 1_002_000.0)}))  # fmt: skip
    system = System.build(observations)
    key = (frozenset({("district", "610202")}), "full")
    findings = audit_release(system, 1, truth, {key: "min_enterprises"}, {"p_percent": 10})
    assert any("narrower than 1000000.00 +- 100000.00" in str(f) for f in findings)


def test_the_allowed_tables_are_the_designs() -> None:
    tables = allowed_tables()
    assert ("district", "occupation_middle") in tables
    assert ("industry", "industry_division") not in tables
    assert ("occupation", "occupation_major") not in tables
    assert ("ownership",) in tables
    assert not any("ownership" in t and len(t) == 2 for t in tables)
    assert len(tables) == 1 + 13 + 25


def industry_tables(unstated: bool) -> Observations:
    """Sections C (20 workers) and F (10); divisions 13 (C, 5), 30 (C, hidden), 52 (F, 10);
    with ``unstated``, 3 of C's workers have no division (the "not stated" division, hidden
    too)."""
    observations = Observations()
    sections: Cells = {("C",): (20, 2000.0), ("F",): (10, 1000.0), ("*",): (30, 3000.0)}
    divisions: Cells = {("13",): (5, 500.0), ("30",): None, ("52",): (10, 1000.0),
                        ("*",): (30, 3000.0)}  # fmt: skip
    if unstated:
        divisions[(None,)] = None
    observations.add(1, ["industry"], "annual", rows(["industry"], sections))
    observations.add(1, ["industry_division"], "annual", rows(["industry_division"], divisions))
    return observations


def test_a_hidden_division_follows_from_its_section_when_every_division_is_stated() -> None:
    system = System.build(industry_tables(unstated=False))
    (division,) = system.cells_of(1)
    assert division[2][0] == frozenset({("industry_division", "30")})
    assert system.structure("workers").determined({division: 1.0})
    assert system.structure("pay").determined({division: 1.0})


def test_workers_without_a_division_keep_a_hidden_division_open() -> None:
    """Not stated divisions may belong to any section: 30 is 15 minus C's unstated ones,
    which the attacker cannot tell (an attacker taking a section for the sum of its
    divisions would read 15)."""
    system = System.build(industry_tables(unstated=True))
    key = (frozenset({("industry_division", "30")}), "full")
    division = cell_var(1, key)
    assert not system.structure("workers").determined({division: 1.0})
    low, high = system.structure("workers").interval({division: 1.0})
    assert (low, high) == (pytest.approx(0), pytest.approx(15))


def test_a_not_stated_occupation_level_sums_the_codes_coarser_than_it() -> None:
    """Minor group 6-15-02 hidden; the middle group 6-15 and the reported codes (one at
    minor level, one at middle level only) are published: the minor group is recovered
    through the reported codes, and the middle-only code falls in "not stated"."""
    observations = Observations()
    reported: Cells = {("6-15-01-01",): (10, 1000.0), ("6-15-02",): (4, 400.0),
                       ("6-15",): (2, 200.0), ("*",): (16, 1600.0)}  # fmt: skip
    minor: Cells = {("6-15-01",): (10, 1000.0), ("6-15-02",): None, (None,): None,
                    ("*",): (16, 1600.0)}  # fmt: skip
    observations.add(1, ["occupation"], "annual", rows(["occupation"], reported))
    observations.add(1, ["occupation_minor"], "annual", rows(["occupation_minor"], minor))
    system = System.build(observations)
    found = {(tuple(v[2][0]), m) for v, m in recoveries(system, system.cells_of(1))}
    assert (((("occupation_minor", "6-15-02"),)), "workers") in found
    assert (((("occupation_minor", None),)), "pay") in found
