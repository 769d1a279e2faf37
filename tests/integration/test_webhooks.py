"""Webhooks on SQLite and PostgreSQL: events written with what they tell of, sent to the
endpoints listening with the Standard Webhooks signature (checked here with hmac, not with
the library that signs), retried while the receiver is down, replayable, never carrying
answers; addresses inside the network refused; and a server killed between the commit of
an event and its delivery delivers it once it runs again."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update

from survey_service.db.models import Report, WebhookDelivery, WebhookEvent, utcnow
from survey_service.reports import jobs as report_jobs
from survey_service.webhooks import delivery
from survey_service.webhooks.delivery import Policy, deliver_due, dispatch
from tests.conftest import BACKENDS, Service
from tests.factories import bearer, invited, submit, upload_salaries
from tests.integration.faults.server import (
    Server,
    empty_database,
    free_port,
    invite,
    open_campaign,
    server_env,
)
from tests.integration.security.world import service_with, wait_for_report
from tests.samples import enterprise, salary_document, uscc

HOOKS = "/api/v1/webhooks"


@dataclass
class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what is POSTed to it and answers
    ``status`` (500 while "down")."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if self.status == 200:
            self.received.append((headers, body))
            self.arrived.set()
        writer.write(f"HTTP/1.1 {self.status} X\r\ncontent-length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@asynccontextmanager
async def receiving(port: int = 0) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver._handle, "127.0.0.1", port)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def listening(service: Service) -> AsyncIterator[tuple[Service, Receiver, httpx.AsyncClient]]:
    """The service letting webhooks reach loopback, a receiver there, and a client for the
    worker's sends."""
    async with (
        service_with(service, webhooks_allow_private=True) as open_,
        receiving() as receiver,
        httpx.AsyncClient() as client,
    ):
        yield open_, receiver, client


def verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The body, once its signature is checked as the specification says: HMAC-SHA256 of
    ``id.timestamp.body`` under the secret's base64-decoded bytes, ``v1,`` + base64."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = [s.partition(",")[2] for s in headers["webhook-signature"].split()]
    assert expected in signatures
    assert abs(time.time() - int(headers["webhook-timestamp"])) < 300
    found: dict[str, Any] = json.loads(body)
    return found


def only_ids_and_links(payload: dict[str, Any]) -> None:
    assert set(payload) == {"type", "timestamp", "data"}
    allowed = {"submission_id", "revision", "state", "links", "report_id", "kind",
               "campaign_id", "release"}  # fmt: skip
    assert set(payload["data"]) <= allowed, payload
    text = json.dumps(payload, ensure_ascii=False)
    for secret in ("employees", "annual_pay", "铜川示例企业"):
        assert secret not in text


async def register(service: Service, url: str, *events: str) -> dict[str, Any]:
    response = await service.client.post(
        HOOKS, json={"url": url, "events": list(events)}, headers=service.admin
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


async def deliveries(service: Service, hook: int) -> list[dict[str, Any]]:
    response = await service.client.get(f"{HOOKS}/{hook}/deliveries", headers=service.admin)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


async def send(service: Service, client: httpx.AsyncClient, base_url: str | None = None) -> int:
    """What a server's worker does each time round: dispatch, then send what is due."""
    await dispatch(service.db)
    policy = Policy(allow_private=True, retry_scale=0.001, base_url=base_url)
    return await deliver_due(service.db, client, policy)


async def test_events_are_signed_deliveries_retried_and_replayed(service: Service) -> None:
    async with listening(service) as (open_, receiver, client):
        hook = await register(open_, receiver.url, "submission.received", "submission.amended",
                              "submission.reviewed")  # fmt: skip
        other = await register(open_, receiver.url + "?reports", "report.done")
        listed = (await open_.client.get(HOOKS, headers=open_.admin)).json()["webhooks"]
        assert {h["id"] for h in listed} == {hook["id"], other["id"]}
        assert all(h["secret"] is None for h in listed)  # shown once only

        campaign_id, token = await invited(open_, 1)
        sid = await submit(open_, campaign_id, token, salary_document(uscc(1)))
        amended = await open_.client.put(
            f"/api/v1/submissions/{sid}",
            json={"data": salary_document(uscc(1)), "status": "submitted"},
            headers=bearer(token),
        )
        assert amended.status_code == 200, amended.text
        reviewed = await open_.client.post(
            f"/api/v1/submissions/{sid}/review", json={"state": "accepted"}, headers=open_.admin
        )
        assert reviewed.status_code == 200, reviewed.text
        assert await send(open_, client) == 3
        payloads = [verified(hook["secret"], h, b) for h, b in receiver.received]
        assert [p["type"] for p in payloads] == [
            "submission.received", "submission.amended", "submission.reviewed",
        ]  # fmt: skip
        for payload in payloads:
            only_ids_and_links(payload)
            assert payload["data"]["submission_id"] == sid
        assert payloads[1]["data"]["revision"] == 2
        assert payloads[2]["data"]["state"] == "accepted"
        assert {h["webhook-id"] for h, _ in receiver.received} == {
            d["id"] for d in await deliveries(open_, hook["id"])
        }
        assert await deliveries(open_, other["id"]) == []  # not its events

        # The receiver is down: the delivery waits and is sent again once it is up.
        receiver.status = 500
        again = await open_.client.put(
            f"/api/v1/submissions/{sid}",
            json={"data": salary_document(uscc(1)), "status": "submitted"},
            headers=bearer(token),
        )
        assert again.status_code == 200, again.text
        for _ in range(3):
            await send(open_, client)
            await asyncio.sleep(0.05)
        waiting = (await deliveries(open_, hook["id"]))[0]
        assert waiting["status"] == "pending"
        assert waiting["attempts"] >= 2
        assert waiting["last_status_code"] == 500
        receiver.status = 200
        await asyncio.sleep(0.2)
        await send(open_, client)
        done = (await deliveries(open_, hook["id"]))[0]
        assert (done["status"], done["id"]) == ("delivered", waiting["id"])
        assert receiver.received[-1][0]["webhook-id"] == waiting["id"]
        assert verified(hook["secret"], *receiver.received[-1])["data"]["revision"] == 3

        # Replayed: the same id and body, sent again.
        first = receiver.received[0]
        replay = await open_.client.post(
            f"{HOOKS}/{hook['id']}/deliveries/{first[0]['webhook-id']}/replay",
            headers=open_.admin,
        )
        assert replay.status_code == 202, replay.text
        await send(open_, client)
        assert receiver.received[-1][0]["webhook-id"] == first[0]["webhook-id"]
        assert receiver.received[-1][1] == first[1]

        # A spreadsheet stored is an upload and the survey received.
        uploads = await register(open_, receiver.url + "?uploads", "upload.stored",
                                 "submission.received")  # fmt: skip
        upload_campaign, upload_token = await invited(open_, 3)
        sheet = "occupation,months_worked,annual_pay,education\n6-01-02-03,12,60000,bachelor\n"
        stored = await upload_salaries(
            open_, upload_campaign, upload_token, sheet.encode(), "payroll.csv"
        )
        assert stored.status_code == 201, stored.text
        count = len(receiver.received)
        await send(open_, client)
        told = [
            verified(uploads["secret"], h, b)
            for h, b in receiver.received[count:]
            if h["webhook-id"] in {d["id"] for d in await deliveries(open_, uploads["id"])}
        ]
        assert sorted(p["type"] for p in told) == ["submission.received", "upload.stored"]
        assert {p["data"]["submission_id"] for p in told} == {stored.json()["submission_id"]}

        # Removed: nothing more is sent to it.
        removed = await open_.client.delete(f"{HOOKS}/{hook['id']}", headers=open_.admin)
        assert removed.status_code == 204
        before = await deliveries(open_, hook["id"])
        await submit(open_, *(await invited(open_, 2)), salary_document(uscc(2)))
        await send(open_, client)
        assert await deliveries(open_, hook["id"]) == before
        refused = await open_.client.post(
            f"{HOOKS}/{hook['id']}/deliveries/{before[0]['id']}/replay", headers=open_.admin
        )
        assert refused.status_code == 409, refused.text  # nothing is sent to a removed one


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "https://169.254.169.254/",
        "https://10.0.0.7/hook",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:192.168.1.1]/hook",
        "https://localhost/hook",
        "https://user:secret@127.0.0.1/hook",
        "ftp://example.org/hook",
    ],
)
async def test_addresses_inside_the_network_are_refused(service: Service, url: str) -> None:
    response = await service.client.post(
        HOOKS, json={"url": url, "events": ["release.made"]}, headers=service.admin
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "/problems/validation-failed"
    assert body["errors"][0]["path"] == "/url"
    assert (await service.client.get(HOOKS, headers=service.admin)).json()["webhooks"] == []


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with empty_database(request.param, tmp_path, "survey_hooks") as url:
        yield url


@pytest.mark.slow
async def test_a_kill_between_commit_and_delivery_and_a_receiver_down_lose_nothing(
    database_url: str, tmp_path: Path
) -> None:
    admin = {"Authorization": "Bearer " + "k" * 43}
    env = server_env(database_url, tmp_path / "var", "k" * 43) | {
        "SURVEY_WEBHOOKS_ALLOW_PRIVATE": "true",
        "SURVEY_WEBHOOK_RETRY_SCALE": "0.02",
    }
    # The first server records events and sends none, as one killed before its worker's
    # turn would; the receiver is down when the second starts.
    first = Server(env | {"SURVEY_WEBHOOKS_DELIVER": "false"}, tmp_path / "first.log")
    second = Server(env, tmp_path / "second.log")
    port = free_port()  # the receiver's, which listens only later
    async with httpx.AsyncClient(timeout=10) as client:
        first.start()
        try:
            await first.wait_healthy(client)
            url = f"http://127.0.0.1:{port}/hook"
            made = await client.post(
                first.base + HOOKS, json={"url": url, "events": ["submission.received"]},
                headers=admin,
            )  # fmt: skip
            assert made.status_code == 201, made.text
            secret, hook = made.json()["secret"], made.json()["id"]
            registered = await client.post(
                first.base + "/api/v1/enterprises", json=[enterprise(1)], headers=admin
            )
            assert registered.status_code in (200, 201), registered.text
            campaign_id = await open_campaign(client, first.base, admin, "salary-survey", 2023)
            tokens = await invite(client, first.base, admin, campaign_id, [uscc(1)])
            stored = await client.post(
                f"{first.base}/api/v1/campaigns/{campaign_id}/submissions",
                json={"data": salary_document(uscc(1)), "status": "submitted"},
                headers=bearer(tokens[uscc(1)]),
            )
            assert stored.status_code == 201, stored.text
        finally:
            first.kill()
        second.start()
        try:
            await second.wait_healthy(client)
            listed = f"{second.base}{HOOKS}/{hook}/deliveries"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                found = (await client.get(listed, headers=admin)).json()["deliveries"]
                if found and found[0]["attempts"] >= 2:
                    break
                await asyncio.sleep(0.2)
            assert found[0]["status"] == "pending", found
            assert found[0]["last_error"]
            async with receiving(port) as receiver:
                await asyncio.wait_for(receiver.arrived.wait(), deadline - time.monotonic())
                await asyncio.sleep(0.5)  # no second copy follows
                assert len(receiver.received) == 1, second.log()
                payload = verified(secret, *receiver.received[0])
            assert payload["type"] == "submission.received"
            assert payload["data"]["submission_id"] == stored.json()["id"]
            only_ids_and_links(payload)
            done = (await client.get(listed, headers=admin)).json()["deliveries"]
            assert done[0]["status"] == "delivered"
        finally:
            second.kill()


async def test_a_release_and_a_finished_report_are_told(service: Service) -> None:
    async with listening(service) as (open_, receiver, client):
        hook = await register(open_, receiver.url, "release.made", "report.done")
        campaign_id, token = await invited(open_, 1)
        await submit(open_, campaign_id, token, salary_document(uscc(1)))
        released = await open_.client.post(
            f"/api/v1/campaigns/{campaign_id}/releases",
            json={"during_collection": True}, headers=open_.admin,
        )  # fmt: skip
        assert released.status_code == 201, released.text
        open_.client.headers.update(open_.admin)
        asked = await open_.client.post("/api/v1/reports", json={"type": "participation",
                                                                  "year": 2023})  # fmt: skip
        assert asked.status_code in (200, 202), asked.text
        report = await wait_for_report(open_.client, asked.json()["id"])
        assert report["status"] == "done"
        await send(open_, client)
        told = {p["type"]: p for p in (verified(hook["secret"], *r) for r in receiver.received)}
        assert set(told) == {"release.made", "report.done"}
        release = told["release.made"]["data"]
        assert (release["campaign_id"], release["release"]) == (campaign_id, 1)
        assert release["links"]["release"] == f"/api/v1/campaigns/{campaign_id}/releases/1"
        done = told["report.done"]["data"]
        assert done["report_id"] == report["id"]
        assert done["kind"] == "participation"
        pdf = await open_.client.get(done["links"]["pdf"])
        assert pdf.content.startswith(b"%PDF")
        for payload in told.values():
            only_ids_and_links(payload)
        # The survey received had no listener: the outbox kept nothing of it.
        async with open_.db.read() as session:
            kept = list(await session.scalars(select(WebhookEvent.type)))
        assert sorted(kept) == ["release.made", "report.done"]


@asynccontextmanager
async def hostile(kind: str) -> AsyncIterator[str]:
    """A receiver on 127.0.0.1 that reads the request, then never answers (``silent``) or
    answers 200 with a body that never ends (``endless``); its URL."""
    stop = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        await reader.readexactly(int(head.split("content-length:", 1)[1].split("\r\n")[0]))
        try:
            if kind == "endless":
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                while not stop.is_set():
                    writer.write(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
                    await writer.drain()
            else:
                await stop.wait()
        except ConnectionError:
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    finally:
        stop.set()
        server.close()


async def test_a_hostile_receiver_holds_no_worker_and_a_replay_is_not_overwritten(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "SEND_SECONDS", 1.0)
    async with (
        service_with(service, webhooks_allow_private=True) as open_,
        hostile("silent") as silent,
        hostile("endless") as endless,
        httpx.AsyncClient() as client,
    ):
        quiet = await register(open_, silent, "submission.received")
        flood = await register(open_, endless, "submission.received")
        campaign_id, token = await invited(open_, 1)
        await submit(open_, campaign_id, token, salary_document(uscc(1)))
        # Neither holds the worker: without the bound on the attempt, or with the endless
        # body read, this would not return.
        assert await asyncio.wait_for(send(open_, client), 30) == 2
        endless_one = (await deliveries(open_, flood["id"]))[0]
        assert (endless_one["status"], endless_one["last_status_code"]) == ("delivered", 200)
        silent_one = (await deliveries(open_, quiet["id"]))[0]
        assert silent_one["status"] == "pending"
        assert silent_one["last_error"] == "no answer within 1 s"

        # Replayed while an attempt is under way: the attempt's outcome does not overwrite
        # the replay (it is sent again, from a fresh count).
        await asyncio.sleep(0.1)  # the retry's pause (5 s x 0.001)
        attempt = asyncio.create_task(send(open_, client))
        await asyncio.sleep(0.3)
        replayed = await open_.client.post(
            f"{HOOKS}/{quiet['id']}/deliveries/{silent_one['id']}/replay", headers=open_.admin
        )
        assert replayed.status_code == 202, replayed.text
        assert await asyncio.wait_for(attempt, 30) == 1
        after = (await deliveries(open_, quiet["id"]))[0]
        assert (after["status"], after["attempts"], after["last_error"]) == ("pending", 0, None)


async def test_old_deliveries_and_their_events_are_swept(service: Service) -> None:
    async with listening(service) as (open_, receiver, client):
        hook = await register(open_, receiver.url, "submission.received")
        for n in (1, 2):
            await submit(open_, *(await invited(open_, n)), salary_document(uscc(n)))
        assert await send(open_, client) == 2
        sent = await deliveries(open_, hook["id"])
        async with open_.db.transaction() as session:  # the first, a month and a day ago
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == sent[-1]["id"])
                .values(created_at=utcnow() - timedelta(days=31))
            )
            await session.execute(
                update(WebhookEvent).values(created_at=utcnow() - timedelta(days=31))
            )
        assert await delivery.sweep(open_.db) == 1
        assert [d["id"] for d in await deliveries(open_, hook["id"])] == [sent[0]["id"]]
        async with open_.db.read() as session:
            events = list(await session.scalars(select(WebhookEvent.id)))
        assert len(events) == 1  # the other's delivery is still kept


async def test_a_report_finished_twice_is_told_once(service: Service) -> None:
    open_ = service
    campaign_id, token = await invited(open_, 1)
    await submit(open_, campaign_id, token, salary_document(uscc(1)))
    open_.client.headers.update(open_.admin)
    asked = await open_.client.post("/api/v1/reports", json={"type": "participation",
                                                              "year": 2023})  # fmt: skip
    report = await wait_for_report(open_.client, asked.json()["id"])
    assert report["status"] == "done"
    # A second renderer (the first thought dead) finishing after it: nothing told again.
    await report_jobs._finish(open_.db, report["id"], status="done", done_kind="participation")
    async with open_.db.read() as session:
        told = list(await session.scalars(select(WebhookEvent.type)))
    assert told.count("report.done") == 1
    # The first renderer failed and the second made the PDF: the PDF stands, told once.
    async with open_.db.transaction() as session:
        await session.execute(update(Report).values(status="failed", pdf=None))
        await session.execute(delete(WebhookEvent))
    await report_jobs._finish(open_.db, report["id"], status="done", pdf=b"%PDF-1.7",
                              done_kind="participation")  # fmt: skip
    async with open_.db.read() as session:
        status = await session.scalar(select(Report.status).where(Report.id == report["id"]))
        told = list(await session.scalars(select(WebhookEvent.type)))
    assert (status, told) == ("done", ["report.done"])


async def test_links_are_absolute_where_the_service_knows_its_address(service: Service) -> None:
    async with listening(service) as (open_, receiver, client):
        hook = await register(open_, receiver.url, "submission.received")
        sid = await submit(open_, *(await invited(open_, 1)), salary_document(uscc(1)))
        assert await send(open_, client, base_url="https://survey.tongchuan.example") == 1
        payload = verified(hook["secret"], *receiver.received[0])
        link = "https://survey.tongchuan.example/api/v1/submissions/" + sid
        assert payload["data"]["links"] == {"submission": link}
        only_ids_and_links(payload)
