"""Grouped inverted-CDF percentiles against numpy's own quantile, unweighted and weighted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.analytics.percentiles import QUANTILES, discrete_rank, grouped_stats

# Binary fractions: their sums are exact, so the weighted boundary cases compare exactly.
WEIGHTS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.75, 8.0)

rows = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(1_000, 400_000).map(float),
        st.sampled_from(WEIGHTS),
    ),
    min_size=1,
    max_size=200,
)


def _by_group(data: list[tuple[int, float, float]]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    groups: dict[int, tuple[list[float], list[float]]] = {}
    for group, value, weight in data:
        values, weights = groups.setdefault(group, ([], []))
        values.append(value)
        weights.append(weight)
    return {g: (np.array(v), np.array(w)) for g, (v, w) in groups.items()}


def _columns(data: list[tuple[int, float, float]]) -> tuple[np.ndarray, ...]:
    codes = np.array([g for g, _, _ in data], dtype=np.int64)
    values = np.array([v for _, v, _ in data])
    weights = np.array([w for _, _, w in data])
    return codes, values, weights


@settings(max_examples=150, deadline=None)
@given(rows)
def test_unweighted_percentiles_are_numpys_inverted_cdf(
    data: list[tuple[int, float, float]],
) -> None:
    codes, values, _ = _columns(data)
    stats = grouped_stats(codes, values)
    expected = _by_group(data)
    assert list(stats.codes) == sorted(expected)
    for i, group in enumerate(stats.codes):
        group_values, _ = expected[int(group)]
        assert stats.n[i] == len(group_values)
        assert list(stats.quantiles[i]) == list(
            np.quantile(group_values, QUANTILES, method="inverted_cdf")
        )
        assert stats.mean[i] == pytest.approx(group_values.mean(), rel=1e-12)
        assert stats.total[i] == pytest.approx(group_values.sum(), rel=1e-12)


@settings(max_examples=150, deadline=None)
@given(rows)
def test_weighted_percentiles_are_numpys_weighted_inverted_cdf(
    data: list[tuple[int, float, float]],
) -> None:
    codes, values, weights = _columns(data)
    stats = grouped_stats(codes, values, weights)
    for i, group in enumerate(stats.codes):
        group_values, group_weights = _by_group(data)[int(group)]
        for j, q in enumerate(QUANTILES):
            expected = np.quantile(group_values, q, weights=group_weights, method="inverted_cdf")
            assert stats.quantiles[i, j] == expected
        assert stats.mean[i] == pytest.approx(np.average(group_values, weights=group_weights))
        assert stats.total[i] == pytest.approx(group_values.sum())


def test_unit_weights_give_the_unweighted_figures() -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 30, 5000)
    values = rng.integers(2000, 300_000, 5000).astype(float)
    plain = grouped_stats(codes, values)
    weighted = grouped_stats(codes, values, np.ones(5000))
    assert np.array_equal(plain.quantiles, weighted.quantiles)


def test_a_shared_value_order_gives_the_same_figures() -> None:
    rng = np.random.default_rng(6)
    values = rng.normal(60_000, 15_000, 3000)
    order = np.argsort(values, kind="stable")
    for codes in (rng.integers(0, 7, 3000), rng.integers(0, 400, 3000)):
        alone, shared = (
            grouped_stats(codes, values),
            grouped_stats(codes, values, value_order=order),
        )
        assert np.array_equal(alone.quantiles, shared.quantiles)
        assert np.array_equal(alone.n, shared.n)


def test_rank_is_postgresqls_percentile_disc_rank() -> None:
    """percentile_disc takes the row at ceil(q * n) (float8 arithmetic), the first for q*n <= 1."""
    for n in range(1, 3001):
        for q in QUANTILES:
            assert discrete_rank(q, n) == max(math.ceil(q * n), 1)
    assert list(discrete_rank(0.5, np.array([1, 2, 3, 4]))) == [1, 1, 2, 2]


def test_no_rows_give_no_groups() -> None:
    stats = grouped_stats(np.zeros(0, dtype=np.int64), np.zeros(0))
    assert len(stats.codes) == 0
    assert stats.quantiles.shape == (0, len(QUANTILES))
