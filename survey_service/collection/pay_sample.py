"""The occupational pay medians that the outlier warning compares a salary survey with.

Reading the other enterprises' rows on every submission cost more than storing the
submission (20 ms of a 1,000-row survey once a campaign held 20,000 rows). A bounded sample
of the campaign's rows is read at most once per ``ttl`` seconds per process, outside the
write transaction, and kept as numpy columns; each submission takes the medians over that
sample without its own enterprise's rows. A warning never refuses anything, so a sample a
few seconds old is good enough.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from survey_service.db.engine import Database
from survey_service.db.models import WageRow

# Fewer rows than this for an occupation and no median is given (nothing is flagged).
MIN_SAMPLE = 10
# A bounded sample keeps the cost flat however large the campaign grows.
MAX_ROWS = 20_000


Group = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]  # enterprise ids, monthly pay


@dataclass(frozen=True, slots=True)
class PaySample:
    """Up to ``MAX_ROWS`` wage rows of one campaign, grouped by occupation: a survey asks
    about a few dozen occupations, so the medians cost a few dozen small numpy calls."""

    groups: dict[str, Group]
    size: int
    enterprises: frozenset[int] = frozenset()  # whose rows the sample holds
    # An occupation's median over the whole sample, computed once: the median a new
    # enterprise's survey is compared with (its own rows are not in the sample yet).
    _whole: dict[str, float | None] = field(default_factory=dict, compare=False, repr=False)

    def medians(self, occupations: set[str], *, excluding: int | None) -> dict[str, float]:
        """Median monthly pay per occupation over the other enterprises' rows, where they
        number at least ``MIN_SAMPLE``."""
        whole = excluding is None or excluding not in self.enterprises
        out: dict[str, float] = {}
        for code in occupations:
            if whole and code in self._whole:
                found = self._whole[code]
                if found is not None:
                    out[code] = found
                continue
            group = self.groups.get(code)
            median: float | None = None
            if group is not None and group[0].size >= MIN_SAMPLE:
                enterprises, pay = group
                if not whole:
                    pay = pay[enterprises != excluding]
                if pay.size >= MIN_SAMPLE:
                    median = float(np.median(pay))
            if whole:
                self._whole[code] = median
            if median is not None:
                out[code] = median
        return out

    def replacing(self, enterprise_id: int, employees: list[dict[str, Any]]) -> PaySample:
        """This sample with the enterprise's rows replaced by ``employees`` (bounded)."""
        kept: dict[str, Group] = {}
        size = 0
        if enterprise_id not in self.enterprises:  # a first survey: nothing to take out
            if self.size >= MAX_ROWS:
                return self
            kept, size = dict(self.groups), self.size
        else:
            for code, (enterprises, pay) in self.groups.items():
                keep = enterprises != enterprise_id
                if keep.any():
                    kept[code] = (enterprises[keep], pay[keep])
                    size += int(keep.sum())
        new: dict[str, list[float]] = {}
        for row in employees[: max(MAX_ROWS - size, 0)]:
            new.setdefault(row["occupation"], []).append(
                float(row["annual_pay"]) / int(row["months_worked"])
            )
        for code, values in new.items():
            ids = np.full(len(values), enterprise_id, np.int64)
            monthly = np.array(values, np.float64)
            old = kept.get(code)
            kept[code] = (
                (np.concatenate((old[0], ids)), np.concatenate((old[1], monthly)))
                if old
                else (ids, monthly)
            )
            size += len(values)
        present = self.enterprises - {enterprise_id} | ({enterprise_id} if new else set())
        return PaySample(kept, size, present)


EMPTY = PaySample({}, 0)


def from_rows(rows: list[tuple[str, int, float]]) -> PaySample:
    """A sample from (occupation, enterprise id, monthly pay) rows."""
    grouped: dict[str, tuple[list[int], list[float]]] = {}
    for occupation, enterprise, monthly in rows:
        ids, pay = grouped.setdefault(occupation, ([], []))
        ids.append(enterprise)
        pay.append(monthly)
    return PaySample(
        {
            code: (np.array(ids, np.int64), np.array(pay, np.float64))
            for code, (ids, pay) in grouped.items()
        },
        len(rows),
        frozenset(enterprise for _, enterprise, _ in rows),
    )


async def read_sample(db: Database, campaign_id: int) -> PaySample:
    async with db.read() as session:
        result = await session.execute(
            select(WageRow.occupation, WageRow.enterprise_id, WageRow.monthly_pay)
            .where(WageRow.campaign_id == campaign_id)
            .limit(MAX_ROWS)
        )
        rows = [(occupation, enterprise, monthly) for occupation, enterprise, monthly in result]
    return from_rows(rows)


class PaySampleCache:
    """Per process: each campaign's sample, trusted for ``ttl`` seconds. When one expires,
    the request that notices reads it again while the others keep using the old one."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._samples: dict[int, tuple[float, PaySample]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def get(self, db: Database, campaign_id: int) -> PaySample:
        hit = self._samples.get(campaign_id)
        lock = self._locks.setdefault(campaign_id, asyncio.Lock())
        if hit is not None and (hit[0] > self._clock() or lock.locked()):
            return hit[1]
        async with lock:
            hit = self._samples.get(campaign_id)
            if hit is not None and hit[0] > self._clock():
                return hit[1]
            sample = await read_sample(db, campaign_id)
            self._samples[campaign_id] = (self._clock() + self.ttl, sample)
            return sample

    def replace(
        self, campaign_id: int, enterprise_id: int, employees: list[dict[str, Any]]
    ) -> None:
        """The enterprise's committed rows (a survey or its amendment) replace its rows in
        this process's sample of the campaign, if it holds one."""
        hit = self._samples.get(campaign_id)
        if hit is None:
            return
        expires, sample = hit
        self._samples[campaign_id] = (expires, sample.replacing(enterprise_id, employees))
