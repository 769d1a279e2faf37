"""The pay sample behind the outlier warning: medians without the submitting enterprise,
the minimum sample, committed rows joining the sample, and the cache's expiry."""

from __future__ import annotations

import random
import statistics
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.collection.pay_sample import (
    EMPTY,
    MAX_ROWS,
    MIN_SAMPLE,
    PaySample,
    PaySampleCache,
    from_rows,
)


def test_medians_leave_out_the_enterprise_and_thin_occupations() -> None:
    rng = random.Random(7)
    rows = [
        (rng.choice(["2-02", "6-16", "4-03"]), rng.randint(1, 6), rng.uniform(2000, 20000))
        for _ in range(500)
    ] + [("1-06", 1, 9000.0)] * (MIN_SAMPLE - 1)
    got = from_rows(rows).medians({"2-02", "6-16", "1-06", "9-99"}, excluding=3)
    for code in ("2-02", "6-16"):
        expected = statistics.median(m for o, e, m in rows if o == code and e != 3)
        assert got[code] == expected
    assert "4-03" not in got  # not asked for
    assert "1-06" not in got  # too few rows
    assert "9-99" not in got


def test_nothing_to_compare_with_gives_no_medians() -> None:
    assert EMPTY.medians({"2-02"}, excluding=None) == {}
    only_own = from_rows([("2-02", 5, 3000.0)] * 20)
    assert only_own.medians({"2-02"}, excluding=5) == {}
    assert only_own.medians({"2-02"}, excluding=None) == {"2-02": 3000.0}


class FakeDB:
    """Stands in for the database: counts the reads and returns a given sample."""

    def __init__(self, result: PaySample) -> None:
        self.result = result
        self.reads = 0


async def test_cache_reads_once_per_ttl_and_takes_committed_rows(monkeypatch: Any) -> None:
    import survey_service.collection.pay_sample as module

    db = FakeDB(from_rows([("2-02", 1, 1000.0)] * 12))

    async def read(database: FakeDB, campaign_id: int) -> PaySample:
        database.reads += 1
        return database.result

    monkeypatch.setattr(module, "read_sample", read)
    now = [0.0]
    cache = PaySampleCache(30, clock=lambda: now[0])
    first = await cache.get(db, 1)  # type: ignore[arg-type]
    assert db.reads == 1
    assert first.medians({"2-02"}, excluding=None) == {"2-02": 1000.0}

    employees = [{"occupation": "2-02", "annual_pay": 60000, "months_worked": 12}] * 13
    cache.replace(1, 2, employees)
    again = await cache.get(db, 1)  # type: ignore[arg-type]
    assert db.reads == 1
    assert again.medians({"2-02"}, excluding=None) == {"2-02": 5000.0}
    assert again.medians({"2-02"}, excluding=2) == {"2-02": 1000.0}

    # An amendment replaces the enterprise's rows rather than adding to them.
    cache.replace(1, 2, employees[:1])
    ids, _ = (await cache.get(db, 1)).groups["2-02"]  # type: ignore[arg-type]
    assert int((ids == 2).sum()) == 1

    now[0] = 31.0
    await cache.get(db, 1)  # type: ignore[arg-type]
    assert db.reads == 2


def test_replace_keeps_the_sample_bounded() -> None:
    cache = PaySampleCache(30)
    full = from_rows([("2-02", 1, 1000.0)] * MAX_ROWS)
    cache._samples[1] = (float("inf"), full)
    cache.replace(1, 2, [{"occupation": "2-02", "annual_pay": 1, "months_worked": 1}] * 50)
    assert cache._samples[1][1].size == MAX_ROWS
    assert cache._samples[1][1].groups["2-02"][1].size == MAX_ROWS
    cache.replace(9, 2, [{"occupation": "2-02", "annual_pay": 1, "months_worked": 1}])
    assert 9 not in cache._samples  # nothing cached for that campaign: nothing to amend


def _naive_medians(rows: list[tuple[str, int, float]], excluding: int | None) -> dict[str, float]:
    by_code: dict[str, list[float]] = {}
    for code, enterprise, monthly in rows:
        if enterprise != excluding:
            by_code.setdefault(code, []).append(monthly)
    return {c: statistics.median(v) for c, v in by_code.items() if len(v) >= MIN_SAMPLE}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(st.sampled_from(["2-02", "6-16", "4-03"]), st.integers(1, 5),
                  st.floats(1000, 30000)),
        max_size=80,
    ),
    st.lists(st.tuples(st.integers(1, 6), st.sampled_from(["2-02", "6-16"]),
                       st.integers(1, 40)), max_size=6),
)  # fmt: skip
def test_surveys_joining_the_sample_give_the_medians_of_the_rows_it_holds(
    rows: list[tuple[str, int, float]], surveys: list[tuple[int, str, int]]
) -> None:
    """Whether an enterprise is new to the sample (its rows added, medians over the whole
    sample reused) or amends (its rows replaced), the medians are those of the rows."""
    sample = from_rows(rows)
    held = list(rows)
    for enterprise, code, count in surveys:
        for asked in (None, enterprise, 99):
            assert sample.medians({"2-02", "6-16", "4-03"}, excluding=asked) == _naive_medians(
                held, asked
            )
        employees = [{"occupation": code, "annual_pay": 12_000 * (i + 1), "months_worked": 12}
                     for i in range(count)]  # fmt: skip
        sample = sample.replacing(enterprise, employees)
        held = [r for r in held if r[1] != enterprise]
        held += [(code, enterprise, float(e["annual_pay"]) / 12) for e in employees]
        assert sample.size == len(held)
        assert sample.enterprises == {e for _, e, _ in held}
