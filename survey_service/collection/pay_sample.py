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
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class PaySample:
    """Columns of up to ``MAX_ROWS`` wage rows of one campaign."""

    occupations: npt.NDArray[np.str_]
    enterprises: npt.NDArray[np.int64]
    monthly: npt.NDArray[np.float64]

    def medians(self, occupations: set[str], *, excluding: int | None) -> dict[str, float]:
        """Median monthly pay per occupation over the other enterprises' rows, where they
        number at least ``MIN_SAMPLE``."""
        if not occupations or self.monthly.size == 0:
            return {}
        keep = np.isin(self.occupations, np.array(sorted(occupations)))
        if excluding is not None:
            keep &= self.enterprises != excluding
        if not keep.any():
            return {}
        codes, inverse, counts = np.unique(
            self.occupations[keep], return_inverse=True, return_counts=True
        )
        pay = self.monthly[keep]
        order = np.lexsort((pay, inverse))
        pay, starts = pay[order], np.concatenate(([0], np.cumsum(counts)[:-1]))
        out: dict[str, float] = {}
        for code, start, count in zip(
            codes.tolist(), starts.tolist(), counts.tolist(), strict=True
        ):
            if count >= MIN_SAMPLE:
                out[code] = float(np.median(pay[start : start + count]))
        return out


def _rows(employees: list[dict[str, Any]]) -> tuple[list[str], list[float]]:
    occupations: list[str] = []
    monthly: list[float] = []
    for row in employees:
        occupations.append(row["occupation"])
        monthly.append(float(row["annual_pay"]) / int(row["months_worked"]))
    return occupations, monthly


EMPTY = PaySample(np.array([], dtype=np.str_), np.array([], np.int64), np.array([], np.float64))


async def read_sample(db: Database, campaign_id: int) -> PaySample:
    async with db.read() as session:
        result = await session.execute(
            select(WageRow.occupation, WageRow.enterprise_id, WageRow.monthly_pay)
            .where(WageRow.campaign_id == campaign_id)
            .limit(MAX_ROWS)
        )
        rows = result.all()
    if not rows:
        return EMPTY
    occupations, enterprises, monthly = zip(*rows, strict=True)
    return PaySample(
        np.array(occupations, dtype=np.str_),
        np.array(enterprises, dtype=np.int64),
        np.array(monthly, dtype=np.float64),
    )


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
        keep = sample.enterprises != enterprise_id
        room = max(MAX_ROWS - int(keep.sum()), 0)
        occupations, monthly = _rows(employees[:room])
        self._samples[campaign_id] = (
            expires,
            PaySample(
                np.concatenate((sample.occupations[keep], np.array(occupations, dtype=np.str_))),
                np.concatenate(
                    (sample.enterprises[keep], np.full(len(monthly), enterprise_id, np.int64))
                ),
                np.concatenate((sample.monthly[keep], np.array(monthly, dtype=np.float64))),
            ),
        )
