"""Group commit (``survey_service.collection.group_commit``): concurrent items share a
transaction, nothing is acknowledged before its commit has returned, and a batch whose
transaction fails fails every one of its requests with 503 (problem+json)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from sqlalchemy import Column, Integer, MetaData, Table, insert

from survey_service.collection.group_commit import GroupCommit
from survey_service.db.engine import open_database
from survey_service.errors import ServiceError, problem_details_plugin


class Refused(Exception):
    """An item its flush leaves out on purpose (as a spent one-time code is)."""


class Recorder:
    """A flush that takes a while (as a commit does) and records its batches."""

    def __init__(self, *, seconds: float = 0.005, fail: bool = False) -> None:
        self.seconds = seconds
        self.fail = fail
        self.batches: list[list[int]] = []

    async def __call__(self, items: Sequence[int]) -> list[int | Exception]:
        self.batches.append(list(items))
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("the database is gone")
        return [Refused(str(i)) if i < 0 else i * 10 for i in items]


async def test_concurrent_items_share_a_few_batches_and_get_their_own_outcome() -> None:
    flush = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(flush)
    results = await asyncio.gather(*(writer.submit(i) for i in range(100)))
    assert results == [i * 10 for i in range(100)]
    assert sorted(i for batch in flush.batches for i in batch) == list(range(100))
    assert len(flush.batches) <= 3  # all arrive together: one batch, or a few
    assert writer.batches == len(flush.batches)


async def test_items_arriving_within_the_window_join_one_batch() -> None:
    flush = Recorder(seconds=0)
    writer: GroupCommit[int, int] = GroupCommit(flush, window=0.05)

    async def later(i: int) -> int:
        await asyncio.sleep(0.01 * i)  # 0 to 40 ms after the first
        return await writer.submit(i)

    assert await asyncio.gather(*(later(i) for i in range(5))) == [0, 10, 20, 30, 40]
    assert flush.batches == [[0, 1, 2, 3, 4]]


async def test_a_batch_is_at_most_max_batch_items() -> None:
    flush = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(flush, max_batch=8)
    await asyncio.gather(*(writer.submit(i) for i in range(20)))
    assert [len(b) for b in flush.batches] == [8, 8, 4]


async def test_an_item_left_out_is_told_and_the_others_commit() -> None:
    writer: GroupCommit[int, int] = GroupCommit(Recorder())
    outcomes = await asyncio.gather(*(writer.submit(i) for i in (1, -2, 3)), return_exceptions=True)
    assert outcomes[0] == 10
    assert outcomes[2] == 30
    assert isinstance(outcomes[1], Refused)


async def test_a_failing_batch_fails_every_waiter_with_503_and_the_writer_goes_on() -> None:
    flush = Recorder(fail=True)
    writer: GroupCommit[int, int] = GroupCommit(flush)
    outcomes = await asyncio.gather(*(writer.submit(i) for i in range(10)), return_exceptions=True)
    assert len(flush.batches) == 1
    for outcome in outcomes:
        assert isinstance(outcome, ServiceError)
        assert outcome.status_code == 503
        assert outcome.headers == {"Retry-After": "1"}
    flush.fail = False
    assert await writer.submit(7) == 70


async def test_a_flush_giving_the_wrong_number_of_outcomes_fails_the_batch() -> None:
    async def short(items: Sequence[int]) -> list[int | Exception]:
        return [1]

    writer: GroupCommit[int, int] = GroupCommit(short)
    outcomes = await asyncio.gather(writer.submit(1), writer.submit(2), return_exceptions=True)
    assert all(isinstance(o, ServiceError) and o.status_code == 503 for o in outcomes)


async def test_no_future_resolves_before_the_commit_has_returned(tmp_path: Path) -> None:
    """With the service's SQLite engine: while a batch's transaction is open none of its
    requests has its outcome, and when one does, its row is visible to another
    connection (the COMMIT has returned)."""
    path = tmp_path / "gc.db"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    table = Table("items", MetaData(), Column("n", Integer, primary_key=True))
    async with db.engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)

    def stored() -> set[int]:
        with sqlite3.connect(path) as conn:
            return {n for (n,) in conn.execute("SELECT n FROM items")}

    resolved: dict[int, bool] = {}  # item -> was its row visible when it resolved
    early: list[int] = []

    async def flush(items: Sequence[int]) -> list[int | Exception]:
        async with db.transaction() as session:
            await session.execute(insert(table), [{"n": n} for n in items])
            await asyncio.sleep(0.01)  # a slow transaction: a resolve now would show
            early.extend(n for n in items if n in resolved)
        return list(items)

    writer: GroupCommit[int, int] = GroupCommit(flush)
    tasks = []
    for i in range(40):
        task = asyncio.ensure_future(writer.submit(i))
        task.add_done_callback(lambda _, i=i: resolved.__setitem__(i, i in stored()))
        tasks.append(task)
        if i % 10 == 9:
            await asyncio.sleep(0.003)  # some arrive while a batch commits
    assert await asyncio.gather(*tasks) == list(range(40))
    await db.dispose()
    assert writer.batches >= 2
    assert early == []
    assert resolved == dict.fromkeys(range(40), True)


async def test_a_cancelled_request_is_left_out_of_a_batch_not_yet_started() -> None:
    flush = Recorder()
    writer: GroupCommit[int, int] = GroupCommit(flush, window=0.02)
    first = asyncio.ensure_future(writer.submit(1))
    second = asyncio.ensure_future(writer.submit(2))
    await asyncio.sleep(0)
    second.cancel()
    assert await first == 10
    assert flush.batches == [[1]]


async def test_close_writes_what_was_handed_in_then_refuses_with_503() -> None:
    flush = Recorder(seconds=0.01)
    writer: GroupCommit[int, int] = GroupCommit(flush)
    pending = [asyncio.ensure_future(writer.submit(i)) for i in range(5)]
    await asyncio.sleep(0)
    await writer.close()
    assert all(task.done() for task in pending)
    assert [task.result() for task in pending] == [0, 10, 20, 30, 40]
    with pytest.raises(ServiceError) as refused:
        await writer.submit(5)
    assert refused.value.status_code == 503


async def test_an_idle_writer_holds_no_task() -> None:
    writer: GroupCommit[int, int] = GroupCommit(Recorder(seconds=0))
    assert await writer.submit(1) == 10
    await asyncio.sleep(0)
    assert writer._writer is None or writer._writer.done()


async def test_a_failed_batch_is_a_503_problem_over_http() -> None:
    writer: GroupCommit[int, int] = GroupCommit(Recorder(fail=True))

    @post("/items", status_code=201)
    async def add(data: JSONBody[dict[str, int]]) -> dict[str, int]:
        return {"stored": await writer.submit(data["n"])}

    app = Litestar([add], plugins=[problem_details_plugin()])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        responses = await asyncio.gather(*(client.post("/items", json={"n": n}) for n in range(3)))
    for response in responses:
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"] == "1"
        assert response.json()["title"] == "Not stored"
