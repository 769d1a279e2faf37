"""Request rates per key (a poll link, an access token, a client address): ``Rates`` keeps
them in this process on SQLite and in the database on PostgreSQL; and the 429 problem that
tells a client when to come back.

On SQLite, the embedded default that one server process serves, the buckets live in the
process (``TokenBuckets``) and a check costs no query. On PostgreSQL, where several
processes (on several hosts) may serve, they live in the ``rate_limits`` table that every
process sees (``survey_service.shared_rates``), so a limit holds for the whole service as
with one process. The in-process buckets are used from the event loop only (nothing awaits
inside), so they need no lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from survey_service.db.engine import Database
from survey_service.errors import ServiceError
from survey_service.problems import ProblemKind
from survey_service.shared_rates import SharedRates


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    per_minute: int


class TokenBuckets:
    """A token bucket per key: up to ``per_minute`` requests at once, refilled at
    ``per_minute`` a minute. A key's table entry is dropped once its bucket is full again
    and the table needs room (forgetting a full bucket changes nothing)."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[object, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: object, per_minute: int) -> float:
        """Take one token: 0.0 when admitted, else the seconds until one is free."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(per_minute), now, per_minute)
        else:
            refilled = bucket.tokens + (now - bucket.updated) * per_minute / 60.0
            bucket.tokens = min(float(per_minute), refilled)
            bucket.updated, bucket.per_minute = now, per_minute
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) * 60.0 / per_minute

    def wait(self, key: object, per_minute: int) -> float:
        """The seconds until ``key`` has a token, taking none (0.0: it has one now)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = bucket.tokens + (self._clock() - bucket.updated) * per_minute / 60.0
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * 60.0 / per_minute

    def _forget_full(self, now: float) -> None:
        for key, b in list(self._buckets.items()):
            if b.tokens + (now - b.updated) * b.per_minute / 60.0 >= b.per_minute:
                del self._buckets[key]


class Rates:
    """The rates of one kind of key (``scope``: ``token``, ``link``): in this process until
    ``attach`` opens them on a PostgreSQL database, then in its shared table."""

    def __init__(
        self, scope: str, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000
    ) -> None:
        self.scope = scope
        self.local = TokenBuckets(clock=clock, max_keys=max_keys)
        self.shared: SharedRates | None = None

    def __len__(self) -> int:
        return len(self.local)

    def attach(self, db: Database) -> None:
        self.shared = None if db.is_sqlite else SharedRates(db)

    async def acquire(self, key: object, per_minute: int) -> float:
        """Take one request: 0.0 when admitted, else the seconds until one would be."""
        if self.shared is None:
            return self.local.acquire(key, per_minute)
        return await self.shared.acquire(f"{self.scope}:{key}", per_minute)


def retry_after(wait_seconds: float) -> int:
    """Whole seconds for ``Retry-After``: never 0, which would invite an immediate retry."""
    return max(1, math.ceil(wait_seconds))


def too_many_requests(
    detail: str,
    wait_seconds: float,
    *,
    kind: ProblemKind = "too-many-requests",
    **extra: Any,
) -> ServiceError:
    seconds = retry_after(wait_seconds)
    return ServiceError(
        kind,
        f"{detail} Try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
        **extra,
    )
