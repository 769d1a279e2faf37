"""Grouped percentiles, means and totals over columns (numpy, no loop over rows).

The definition, applied everywhere (SQL and numpy, weighted or not), is the inverted CDF:
the P-th percentile of a group is the smallest value whose cumulative share of the group
reaches P/100.

- Unweighted, over n values sorted ascending, it is the value at 1-based rank
  ``max(ceil(q * n), 1)`` with ``q * n`` computed in float64: PostgreSQL's
  ``percentile_disc``, numpy's ``method="inverted_cdf"`` and DuckDB's ``quantile_disc``.
- Weighted (enterprise sampling weights carried by each of its workers), it is the first
  value in ascending order whose cumulative weight divided by the group's total weight is
  ``>= q`` (numpy's ``quantile(..., weights=w, method="inverted_cdf")``). Cumulative
  weights are float64 sums, so with weights that are not exact binary fractions a value
  sitting exactly on a boundary may round to its neighbour.

The mean is the (weighted) arithmetic mean; ``total`` is the unweighted sum of values, the
figure the disclosure rules look at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)
QUANTILE_NAMES: tuple[str, ...] = ("p10", "p25", "p50", "p75", "p90")

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GroupedStats:
    """One entry per non-empty group, in ascending order of group code."""

    codes: Ints
    n: Ints
    quantiles: Floats  # shape (groups, len(QUANTILES))
    mean: Floats
    total: Floats


def discrete_rank(q: float | Floats, n: Ints | int) -> Ints:
    """The 1-based rank of the inverted-CDF quantile ``q`` among ``n`` sorted values."""
    rank = np.maximum(np.ceil(np.asarray(q, dtype=np.float64) * np.asarray(n)), 1)
    out: Ints = rank.astype(np.int64)
    return out


def small_ints(codes: Ints) -> NDArray[np.integer[Any]]:
    """Codes as uint16 when they fit: numpy sorts those stably by radix, in linear time."""
    if len(codes) and codes.min() >= 0 and codes.max() < 2**16:
        return codes.astype(np.uint16)
    return codes


def grouped_stats(
    codes: Ints,
    values: Floats,
    weights: Floats | None = None,
    *,
    quantiles: tuple[float, ...] = QUANTILES,
    value_order: Ints | None = None,
) -> GroupedStats:
    """Per group code: count, inverted-CDF quantiles, (weighted) mean and unweighted total.

    ``value_order`` (a stable argsort of ``values``) may be passed in when several
    groupings of the same rows are computed: each grouping then costs one stable sort of
    integer codes instead of a sort by (code, value).
    """
    q = np.asarray(quantiles, dtype=np.float64)
    if len(values) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return GroupedStats(empty, empty, np.zeros((0, len(q))), np.zeros(0), np.zeros(0))
    if value_order is None:
        value_order = np.argsort(values, kind="stable")
    index = value_order[np.argsort(small_ints(codes[value_order]), kind="stable")]
    sorted_codes = codes[index]
    sorted_values = values[index]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], len(values)]
    n = (ends - starts).astype(np.int64)
    total = np.add.reduceat(sorted_values, starts)
    if weights is None:
        positions = starts[:, None] + discrete_rank(q[None, :], n[:, None]) - 1
        mean = total / n
    else:
        w = weights[index]
        cumulative = np.cumsum(w)
        before = np.r_[0.0, cumulative][starts]
        group_weight = cumulative[ends - 1] - before
        share = (cumulative - np.repeat(before, n)) / np.repeat(group_weight, n)
        rows = np.arange(len(values), dtype=np.int64)
        positions = np.empty((len(starts), len(q)), dtype=np.int64)
        for j, qj in enumerate(q):  # one pass per quantile, not per row
            first = np.minimum.reduceat(np.where(share >= qj, rows, len(values)), starts)
            positions[:, j] = np.minimum(first, ends - 1)
        mean = np.add.reduceat(w * sorted_values, starts) / group_weight
    return GroupedStats(
        codes=sorted_codes[starts],
        n=n,
        quantiles=sorted_values[positions],
        mean=mean,
        total=total,
    )
