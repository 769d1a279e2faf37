"""Rate limits that every server process sees: the ``rate_limits`` table on PostgreSQL, one
row per key, read and changed by one atomic statement per check.

Why the database, and why this algorithm:

- The limits (each token's request rate, each poll link's answer rate, the failed sign-ins
  of an address) must hold with N processes on several hosts as with one. They all share
  the database already; Redis would be one more service for the operator to run, secure,
  monitor and restart, for a saving of a fraction of a millisecond per request that the
  measurement below does not call for. So the state lives in PostgreSQL.
- GCRA (the generic cell rate algorithm) keeps one timestamp per key, the theoretical
  arrival time ``tat``: a key admitting ``per_minute`` requests a minute, ``per_minute`` of
  them at once, admits a request when ``max(tat, now) + T - now <= 60 s`` (``T = 60 s /
  per_minute``) and then moves ``tat`` to ``max(tat, now) + T``. That is a token bucket
  without its two columns and without a read-modify-write: one ``INSERT ... ON CONFLICT
  (key) DO UPDATE ... WHERE <admitted> RETURNING`` does the check and the update under the
  row's lock, so two processes asking at once are served one after the other and a key
  with rate 4 admits exactly 4. A refused request updates nothing; only then does a second
  query read how long to wait (``Retry-After``).
- The clock is the database's (``clock_timestamp()``), so processes on hosts whose clocks
  disagree still agree on every key's state.
- The table is UNLOGGED: a check writes no WAL and waits for no flush (a durable commit per
  request would cost more than the rest of the request). After a crash of PostgreSQL the
  table is empty and every limit starts afresh, which is harmless.
- A row whose ``tat`` has passed says nothing (a full bucket, a lapsed mark), so such rows
  are deleted now and then (``PRUNE_SECONDS``); ``tat`` carries no index, so updates stay
  HOT (no index write).
- A check is one round trip: the statements run on a small pool of autocommit connections
  of their own beside the database's engine (no BEGIN and COMMIT), which hands a connection
  out without pinging it (the engine's pool pings each one, with BEGIN and ROLLBACK: three
  round trips, which tripled a check's cost). A connection found dead is dropped and the
  check tried once more on a new one.

``T`` is rounded down to the microsecond (the column's resolution), so a burst of
``per_minute`` is never refused; above about 7,700 a minute the rounding may admit one
request more a minute than asked.

On the embedded SQLite database (one server process) this module is not used: the limits
stay in the process (``survey_service.ratelimit.TokenBuckets``) and cost no query at all.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Interval, bindparam, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from survey_service.db.engine import Database

WINDOW = timedelta(minutes=1)  # a rate is so many a minute, that many at once
PRUNE_SECONDS = 300.0  # how often a process deletes the rows that say nothing any more

_ADMIT = text(
    """
    INSERT INTO rate_limits AS r (key, tat) VALUES (:key, clock_timestamp() + :interval)
    ON CONFLICT (key) DO UPDATE
    SET tat = GREATEST(r.tat, excluded.tat - :interval) + :interval
    WHERE r.tat <= excluded.tat - :interval + :tolerance
    RETURNING 1
    """
).bindparams(bindparam("interval", type_=Interval()), bindparam("tolerance", type_=Interval()))

_AHEAD = text(
    "SELECT key, EXTRACT(EPOCH FROM tat - clock_timestamp()) FROM rate_limits WHERE key IN :keys"
).bindparams(bindparam("keys", expanding=True))

_MARK = text(
    """
    INSERT INTO rate_limits AS r (key, tat) VALUES (:key, clock_timestamp() + :lasts)
    ON CONFLICT (key) DO UPDATE SET tat = excluded.tat
    """
).bindparams(bindparam("lasts", type_=Interval()))

_PRUNE = text("DELETE FROM rate_limits WHERE tat < clock_timestamp()")


T = TypeVar("T")

# The limits' own pool beside each database's engine, shared by the limiters of a process.
_engines: WeakKeyDictionary[AsyncEngine, AsyncEngine] = WeakKeyDictionary()


def _limits_engine(db: Database) -> AsyncEngine:
    engine = _engines.get(db.engine)
    if engine is None:
        engine = _engines[db.engine] = create_async_engine(
            db.engine.url,
            isolation_level="AUTOCOMMIT",
            # No overflow: a connection opened above the pool is closed on return, and
            # under load that churn (a PostgreSQL process forked per check) cost more than
            # the checks; a check holds its connection for one statement, so waiting for
            # one of eight is short.
            pool_size=8,
            max_overflow=0,
            pool_pre_ping=False,
        )
    return engine


async def close_shared_rates(db: Database) -> None:
    """Close the limits' connections to ``db`` (before its engine is disposed)."""
    engine = _engines.pop(db.engine, None)
    if engine is not None:
        await engine.dispose()


def emission_interval(per_minute: int) -> timedelta:
    """``T``: the time one request takes from a key's allowance, down to the microsecond."""
    return timedelta(microseconds=WINDOW // timedelta(microseconds=1) // per_minute)


class SharedRates:
    """The ``rate_limits`` table of one PostgreSQL database, for one process."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = _limits_engine(db)
        self._clock = clock
        self._next_prune = clock() + PRUNE_SECONDS

    async def acquire(self, key: str, per_minute: int) -> float:
        """Take one request from ``key``'s allowance of ``per_minute`` a minute: 0.0 when
        admitted, else the seconds until the next request would be."""
        interval = emission_interval(per_minute)
        tolerance = WINDOW - interval
        params = {"key": key, "interval": interval, "tolerance": tolerance}

        async def check(conn: AsyncConnection) -> float | None:
            if (await conn.execute(_ADMIT, params)).first() is not None:
                if self._clock() >= self._next_prune:
                    self._next_prune = self._clock() + PRUNE_SECONDS
                    await conn.execute(_PRUNE)
                return None
            return _wait((await _ahead(conn, [key])).get(key), tolerance)

        wait = await self._run(check)
        return 0.0 if wait is None else wait

    async def wait(self, key: str, per_minute: int) -> float:
        """The seconds until ``key`` admits a request, taking nothing (0.0: it would now)."""
        return _wait((await self.ahead(key)).get(key), WINDOW - emission_interval(per_minute))

    async def ahead(self, *keys: str) -> dict[str, float]:
        """For each key with a row, the seconds its time lies ahead of the database's clock
        (negative: passed)."""
        return await self._run(lambda conn: _ahead(conn, list(keys)))

    async def mark(self, key: str, seconds: float) -> None:
        """A mark under ``key`` that lasts ``seconds`` from now (``ahead`` tells it)."""
        params = {"key": key, "lasts": timedelta(seconds=seconds)}

        async def write(conn: AsyncConnection) -> None:
            await conn.execute(_MARK, params)

        await self._run(write)

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` on a pooled connection; once more on a new one if that one was dead
        (the database restarted since it was last used)."""
        try:
            async with self._engine.connect() as conn:
                return await work(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        async with self._engine.connect() as conn:
            return await work(conn)


async def _ahead(conn: AsyncConnection, keys: list[str]) -> dict[str, float]:
    rows = await conn.execute(_AHEAD, {"keys": keys})
    return {str(row[0]): float(row[1]) for row in rows}


def _wait(ahead: float | None, tolerance: timedelta) -> float:
    if ahead is None:
        return 0.0
    return max(0.0, ahead - tolerance.total_seconds())
