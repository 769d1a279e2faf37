"""Tables cut from a wage release's columns (analytics.wage_release), without a database:
the cells and margins, the figures against numpy, the measures' populations, and the
pattern's hidden cells (weighted ones in weighted tables only)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from survey_service.analytics.wage_columns import ATTRIBUTES, WageColumns
from survey_service.analytics.wage_release import WageRelease, analyst_rows
from survey_service.analytics.wage_release import release_rows as rows_of
from survey_service.analytics.wage_structure import CONFIDENTIAL, Pattern, cell_key
from survey_service.analytics.wages import WageQuery

RULES = {"min_enterprises": 3, "min_workers": 10, "p_percent": 10.0, "dominance": None,
         "annual_min_months": 12, "weighted": True, "enterprises_without_weight": 0}  # fmt: skip
N = 400


def _columns() -> WageColumns:
    rng = np.random.default_rng(7)
    vocab = {name: np.array([""]) for name in ATTRIBUTES}
    codes = {name: np.zeros(N, dtype=np.int32) for name in ATTRIBUTES}
    vocab["occupation"] = np.array(["2-02-01-01", "6-15-01-01", "6-15-02-03"])
    codes["occupation"] = rng.integers(0, 3, N).astype(np.int32)
    vocab["district"] = np.array(["", "610202", "610204"])  # "" = not stated
    codes["district"] = rng.integers(0, 3, N).astype(np.int32)
    enterprise = rng.integers(1, 9, N).astype(np.int64)
    months = np.where(rng.random(N) < 0.8, 12, rng.integers(1, 12, N)).astype(np.int8)
    annual = rng.integers(2_000, 20_000, N).astype(np.float64) * 10
    return WageColumns(
        vocab=vocab,
        codes=codes,
        enterprise=enterprise,
        contributor=(enterprise % 7).astype(np.int32),  # enterprises 1 and 8: one group
        months=months,
        annual=annual,
        monthly=annual / months,
        weight=(enterprise % 3 + 1).astype(np.float64),
    )


def _release(pattern: Pattern) -> WageRelease:
    return WageRelease(1, 1, datetime.now(UTC), "0" * 64, False, RULES, {}, _columns(), pattern)


def test_cells_and_margins_match_numpy_for_both_measures() -> None:
    release = _release(Pattern({}, {}, {}))
    columns = release.columns
    occupation = columns.vocab["occupation"][columns.codes["occupation"]]
    district = columns.vocab["district"][columns.codes["district"]]
    for measure in ("annual", "monthly"):
        query = WageQuery(["occupation_middle", "district"], measure=measure, weighted=False)
        rows = rows_of(release, query).rows
        keep = columns.months >= 12 if measure == "annual" else np.ones(N, dtype=bool)
        values = (columns.annual if measure == "annual" else columns.monthly)[keep]
        middle = np.array([o[:4] for o in occupation])[keep]
        where = np.array([d or None for d in district], dtype=object)[keep]
        assert (
            len(rows)
            == len({(m, d) for m, d in zip(middle, where, strict=True)})
            + len(set(middle))
            + len(set(where))
            + 1
        )
        for row in rows:
            mask = np.ones(len(values), dtype=bool)
            if row["occupation_middle"] != "*":
                mask &= middle == row["occupation_middle"]
            if row["district"] != "*":
                mask &= np.array([d == row["district"] for d in where])
            assert row["n_workers"] == int(mask.sum())
            assert row["n_enterprises"] == len(set(columns.contributor[keep][mask]))
            assert row["p50"] == round(float(np.quantile(values[mask], 0.5,
                                                         method="inverted_cdf")), 2)  # fmt: skip
            assert row["mean"] == round(float(values[mask].mean()), 2)


def test_hidden_cells_carry_no_figures_and_weighted_ones_only_in_weighted_tables() -> None:
    dims = ["occupation_middle"]
    hidden = {cell_key(dims, ("2-02",), "annual"): "min_enterprises"}
    weighted_hidden = {cell_key(dims, ("6-15",), "annual"): "p_percent"}
    release = _release(Pattern(hidden, weighted_hidden, {}))
    plain = {
        r["occupation_middle"]: r for r in rows_of(release, WageQuery(dims, weighted=False)).rows
    }
    weighted = {r["occupation_middle"]: r for r in rows_of(release, WageQuery(dims)).rows}
    assert plain["2-02"]["suppressed"]
    assert plain["2-02"]["p50"] is None
    assert plain["2-02"]["suppression_reason"] == "min_enterprises"
    assert not plain["6-15"]["suppressed"]
    assert weighted["6-15"]["suppressed"]
    assert weighted["6-15"]["n_workers"] is None
    assert not weighted["*"]["suppressed"]
    shown = analyst_rows(list(weighted.values()))
    assert {r["suppression_reason"] for r in shown if r["suppressed"]} == {CONFIDENTIAL}
    assert weighted["6-15"]["suppression_reason"] == "p_percent"  # the rows stay detailed


def test_a_filter_returns_its_slice_of_the_table() -> None:
    release = _release(Pattern({}, {}, {}))
    whole = rows_of(release, WageQuery(["occupation"], weighted=False)).rows
    sliced = rows_of(
        release, WageQuery(["occupation"], {"district": "610204"}, weighted=False)
    ).rows
    assert {r["district"] for r in sliced} == {"610204"}
    assert sliced[-1]["occupation"] == "*"
    assert sum(r["n_workers"] for r in sliced[:-1]) == sliced[-1]["n_workers"]
    assert sum(r["n_workers"] for r in whole[:-1]) == whole[-1]["n_workers"]
