"""New submissions arriving together share one transaction (``submission_writer``): a
refused one leaves the others stored, and no request is answered before the commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, func, select

from survey_service.db.models import Submission, WageRow
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises
from tests.samples import salary_document, uscc


def _batch_of(service: Service, size: int) -> None:
    """The next ``size`` submissions wait for each other and are written as one batch."""
    writer = service.app.state.process.submission_writer
    writer.window, writer.max_batch = 30.0, size  # the batch is full long before 30 s
    writer.attach(service.db)


def _batches(service: Service) -> int:
    group = service.app.state.process.submission_writer.writer
    assert group is not None
    return int(group.batches)


async def _post_all(
    service: Service, url: str, bodies: list[tuple[str, dict[str, Any]]]
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(service.client.post(url, json=body, headers=bearer(t)) for t, body in bodies)
        )
    )


async def _stored(service: Service) -> tuple[set[str], int]:
    async with service.db.read() as session:
        ids = set(await session.scalars(select(Submission.id)))
        rows = await session.scalar(select(func.count()).select_from(WageRow))
    return ids, int(rows or 0)


@contextmanager
def _commits_fail(service: Service) -> Iterator[None]:
    """Every commit on the database fails (as when the disk is full at that moment)."""

    def fail(_conn: object) -> None:
        raise OSError("the disk is full")

    engine = service.db.engine.sync_engine
    event.listen(engine, "commit", fail)
    try:
        yield
    finally:
        event.remove(engine, "commit", fail)


async def test_a_refused_submission_leaves_the_others_of_its_batch_stored(
    service: Service,
) -> None:
    await register_enterprises(service, 1, 2, 3)
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2, 3)
    invalid = salary_document(uscc(3))
    invalid["employees"][0]["months_worked"] = 13
    bodies = [
        (tokens[1], {"id": str(uuid.uuid4()), "data": salary_document(uscc(1))}),
        (tokens[2], {"id": str(uuid.uuid4()), "data": salary_document(uscc(2))}),
        (tokens[3], {"id": str(uuid.uuid4()), "data": invalid}),
        # The same enterprise again under another id, in the same transaction.
        (tokens[1], {"id": str(uuid.uuid4()), "data": salary_document(uscc(1))}),
    ]
    before = _batches(service)
    _batch_of(service, len(bodies))
    responses = await _post_all(service, f"/api/v1/campaigns/{campaign_id}/submissions", bodies)
    codes = [r.status_code for r in responses]
    assert codes[1:3] == [201, 422]
    # Of the enterprise's two, whichever came first is stored and the other is told so.
    first, second = (0, 3) if codes[0] == 201 else (3, 0)
    assert (codes[first], codes[second]) == (201, 409)
    assert responses[second].json()["submission_id"] == bodies[first][1]["id"]
    assert _batches(service) == before + 1  # one transaction for all four
    ids, rows = await _stored(service)
    assert ids == {bodies[first][1]["id"], bodies[1][1]["id"]}
    assert rows == 2 * len(bodies[0][1]["data"]["employees"])


async def test_no_submission_is_acknowledged_when_its_batch_does_not_commit(
    service: Service,
) -> None:
    await register_enterprises(service, 1, 2)
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2)
    bodies = [(tokens[n], {"data": salary_document(uscc(n))}) for n in (1, 2)]
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    _batch_of(service, len(bodies))
    with _commits_fail(service):
        responses = await _post_all(service, url, bodies)
    assert [r.status_code for r in responses] == [503, 503]
    assert all(r.headers["retry-after"] for r in responses)
    assert await _stored(service) == (set(), 0)
    # Sent again once the database commits: stored and acknowledged.
    responses = await _post_all(service, url, bodies)
    assert [r.status_code for r in responses] == [201, 201]
    assert len((await _stored(service))[0]) == 2
