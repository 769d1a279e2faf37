"""Group commit: many small writes from concurrent requests, one transaction and one
durable commit (one fsync on SQLite) for all of them.

Each request hands its item to the process's ``GroupCommit`` and waits. A writer task
takes what is waiting, lets more arrive for at most ``window`` seconds after the oldest
one (or until ``max_batch`` are waiting), and passes the batch to ``flush``, which writes
it in one transaction and commits. Only when ``flush`` has returned, that is after the
commit returned, does each waiting request get its result; so nothing is acknowledged
before it is durable. While one batch commits the next one gathers, so under load the
batches grow by themselves and the window adds no wait (the oldest item is already
older than the window).

``flush`` returns one outcome per item, in order: a value, or an exception for an item it
left out on purpose (a spent one-time code, say) while the rest still commit. When
``flush`` raises, nothing of the batch is known to be stored: every request of the batch
gets a 503 problem and none is acknowledged.

The writer starts with the first item and ends when nothing is left to write, so an idle
process holds no task. ``close()`` (at application shutdown) refuses new items and waits
until those already handed in are written. Everything runs on one event loop (no lock):
with several server processes each has its own writer, and the database orders them as
it orders any concurrent transactions. The same code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

from survey_service.db.faults import Unavailable, outage_log, unavailable_reason
from survey_service.errors import ServiceError

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 0.002  # seconds an item may wait for others to join its batch
DEFAULT_MAX_BATCH = 256

T = TypeVar("T")
R = TypeVar("R")

# Writes a batch in one transaction and commits it before returning; one outcome per item.
Flush: TypeAlias = Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]]


def unavailable(found: Unavailable | None = None) -> ServiceError:
    """What every request of a batch whose transaction failed (or of a writer shutting
    down) is told: not acknowledged; with the reason when the database was unavailable."""
    extra = {"reason": found.reason} if found is not None else {}
    return ServiceError(
        "not-stored",
        "It could not be stored just now and was not received; send it again.",
        headers={"Retry-After": str(found.retry_after if found is not None else 1)},
        message_zh="暂时未能保存，请稍后重新提交。",
        **extra,
    )


@dataclass(slots=True)
class _Waiting(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    arrived: float  # loop time


class GroupCommit(Generic[T, R]):
    """Batches ``submit``-ted items into transactions written by ``flush``."""

    def __init__(
        self,
        flush: Flush[T, R],
        *,
        window: float = DEFAULT_WINDOW,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if window < 0 or max_batch < 1:
            raise ValueError("window must be >= 0 and max_batch >= 1")
        self._flush = flush
        self._window = window
        self._max_batch = max_batch
        self._waiting: list[_Waiting[T, R]] = []
        self._full: asyncio.Event | None = None  # set when max_batch items wait
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self.batches = 0  # how many transactions were committed (for tests and benches)

    async def submit(self, item: T) -> R:
        """Hand ``item`` in and wait until its batch is committed: its outcome, or the
        exception ``flush`` gave for it, or a 503 problem when the batch failed."""
        if self._closed:
            raise unavailable()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append(_Waiting(item, future, loop.time()))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        elif len(self._waiting) >= self._max_batch and self._full is not None:
            self._full.set()
        # If this request is cancelled while waiting, its future is cancelled too: the
        # writer then leaves the item out if its batch has not started, or writes it
        # without telling anyone (never the other way round: no answer, no promise).
        return await future

    async def close(self) -> None:
        """Refuse new items and wait until the writer has written the ones handed in."""
        self._closed = True
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        """The writer task: batch after batch until nothing waits."""
        batch: list[_Waiting[T, R]] = []
        try:
            while self._waiting:
                await self._gather()
                batch = [w for w in self._waiting[: self._max_batch] if not w.future.done()]
                del self._waiting[: self._max_batch]
                if batch:
                    await self._commit(batch)
                batch = []
        finally:
            # Only reached with items in hand if this task itself was cancelled (the loop
            # shutting down): their fate is unknown, so none of them is acknowledged.
            for waiting in [*batch, *self._waiting]:
                if not waiting.future.done():
                    waiting.future.set_exception(unavailable())
            if batch or self._waiting:
                self._waiting.clear()

    async def _gather(self) -> None:
        """Wait until the oldest item is ``window`` old or ``max_batch`` items wait."""
        if len(self._waiting) >= self._max_batch:
            return
        delay = self._waiting[0].arrived + self._window - asyncio.get_running_loop().time()
        if delay <= 0:
            return
        if self._full is None:
            self._full = asyncio.Event()
        self._full.clear()
        try:
            async with asyncio.timeout(delay):
                await self._full.wait()
        except TimeoutError:
            pass

    async def _commit(self, batch: list[_Waiting[T, R]]) -> None:
        """Write and commit ``batch``, then (and only then) resolve its futures."""
        try:
            outcomes = await self._flush([w.item for w in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"flush gave {len(outcomes)} outcomes for {len(batch)} items")
        except Exception as exc:
            found = unavailable_reason(exc)
            if found is not None:  # logged once per outage, not once per batch
                outage_log.note(found, exc, f"a batch of {len(batch)} writes")
            else:
                # Not the exception's text: a database error quotes the statement's
                # parameters (the answers themselves); the driver's message is logged.
                cause = getattr(exc, "orig", None)
                log.error(
                    "a batch of %d writes failed, none is acknowledged: %s%s",
                    len(batch),
                    type(exc).__name__,
                    f" ({type(cause).__name__}: {cause})" if cause is not None else "",
                )
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.set_exception(unavailable(found))
            return
        self.batches += 1
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.future.done():  # its request was cancelled meanwhile
                continue
            if isinstance(outcome, Exception):
                waiting.future.set_exception(outcome)
            else:
                waiting.future.set_result(outcome)
