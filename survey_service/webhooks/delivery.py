"""Sending the outbox: each event becomes one delivery per endpoint listening, each delivery
is POSTed with the Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the
endpoint's secret) until the endpoint answers 2xx, with growing pauses between attempts,
and is ``failed`` after the last.

Every server process runs the worker (``run_worker``); several never send one delivery
twice at once: a worker claims a due delivery by moving its ``next_attempt_at`` past a
lease with a conditional update, and only the worker whose update matched sends it. A
process killed between the commit of an event and its delivery leaves the event (or the
claimed delivery, once its lease ends) for the next worker: delivery is at least once, and
the ``webhook-id`` lets a receiver drop a repeat. A worker records an attempt's outcome
only while its claim holds (the same lease and count of attempts): a replay meanwhile, or
another worker after the lease, is not overwritten.

A receiver is given ``SEND_SECONDS`` for the lookup, the connection and its answer's
status line, far less than the lease; its answer's body is never read (a hostile receiver
could send gigabytes). Delivered and failed deliveries, and their events, are deleted
after ``KEEP_DAYS``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import delete, select, update
from standardwebhooks.webhooks import Webhook

from survey_service.db.engine import Database
from survey_service.db.faults import unavailable_reason
from survey_service.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, utcnow
from survey_service.settings import Settings
from survey_service.webhooks.targets import TargetRefused, pinned

log = logging.getLogger(__name__)

# Pauses before the 2nd, 3rd, ... attempt (seconds, times SURVEY_WEBHOOK_RETRY_SCALE);
# after the last attempt the delivery is failed (about 11 hours of trying in all).
PAUSES = (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 3600.0 * 3, 3600.0 * 6)
LEASE_SECONDS = 60.0  # a claimed delivery is due again after this, should its worker die
SEND_SECONDS = 15.0  # one attempt, lookup to status line: well inside the lease
BATCH = 20
EVENTS_AT_ONCE = 100
IDLE_SECONDS = 2.0  # between looks at the outbox
KEEP_DAYS = 30  # delivered and failed deliveries (and their events) are kept this long
SWEEP_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Policy:
    allow_private: bool
    retry_scale: float = 1.0
    # SURVEY_PUBLIC_BASE_URL: the payloads' links are made absolute with it (else they
    # stay paths, for a receiver that knows where the service is).
    base_url: str | None = None


def policy_of(settings: Settings) -> Policy:
    return Policy(
        settings.webhooks_allow_private, settings.webhook_retry_scale, settings.public_base_url
    )


def _absolute(payload: dict[str, Any], base_url: str | None) -> dict[str, Any]:
    links = payload.get("data", {}).get("links")
    if base_url is None or not isinstance(links, dict):
        return payload
    data = payload["data"] | {"links": {k: base_url + v for k, v in links.items()}}
    return payload | {"data": data}


def new_secret() -> str:
    """A signing secret as the specification writes one: ``whsec_`` and base64 bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _delivery_id() -> str:
    return "msg_" + secrets.token_hex(12)


async def dispatch(db: Database) -> int:
    """Turn the events not yet dispatched into deliveries to the endpoints listening to
    them, ``EVENTS_AT_ONCE`` in a transaction; how many deliveries were made."""
    made = 0
    while True:
        some, events = await _dispatch_some(db)
        made += some
        if events < EVENTS_AT_ONCE:
            return made


async def _dispatch_some(db: Database) -> tuple[int, int]:
    made = 0
    async with db.transaction() as session:
        query = select(WebhookEvent).where(WebhookEvent.dispatched.is_(False)).limit(EVENTS_AT_ONCE)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        events = list(await session.scalars(query.order_by(WebhookEvent.id)))
        if not events:
            return 0, 0
        endpoints = list(
            await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
        )
        now = utcnow()
        for event in events:
            listening = [e for e in endpoints if event.type in e.events]
            for endpoint in listening:
                session.add(
                    WebhookDelivery(
                        id=_delivery_id(), endpoint_id=endpoint.id, event_id=event.id,
                        status="pending", attempts=0, next_attempt_at=now, created_at=now,
                    )
                )  # fmt: skip
            made += len(listening)
            if listening:
                event.dispatched = True
            else:  # nobody listens: the outbox keeps nothing of it
                await session.delete(event)
    return made, len(events)


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's hold on one delivery: the lease it set and the attempt it makes."""

    delivery_id: str
    lease: datetime
    attempt: int


async def _claim(db: Database, delivery_id: str, seen: datetime, attempts: int) -> Claim | None:
    lease = utcnow() + timedelta(seconds=LEASE_SECONDS)
    async with db.transaction() as session:
        claimed = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at == seen,
                WebhookDelivery.attempts == attempts,
            )
            .values(next_attempt_at=lease, attempts=attempts + 1)
        )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return Claim(delivery_id, lease, attempts + 1)


def signed_headers(secret: str, delivery_id: str, at: datetime, body: bytes) -> dict[str, str]:
    signature = Webhook(secret).sign(delivery_id, at, body)
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "user-agent": "survey_service-webhooks",
    }


async def _send(
    client: httpx.AsyncClient,
    policy: Policy,
    endpoint: WebhookEndpoint,
    delivery_id: str,
    body: bytes,
) -> tuple[int | None, str | None]:
    """POST one delivery: (status code, error) — an error None means delivered. Whatever
    goes wrong is the attempt's error, never the worker's."""
    try:
        async with asyncio.timeout(SEND_SECONDS):
            target = await pinned(endpoint.url, allow_private=policy.allow_private)
            at = utcnow().replace(microsecond=0)
            headers = signed_headers(endpoint.secret, delivery_id, at, body) | target.headers
            request = client.build_request(
                "POST", target.url, content=body, headers=headers, extensions=target.extensions
            )
            answer = await client.send(request, stream=True)
            await answer.aclose()  # the status is the answer; its body is never read
    except TargetRefused as exc:
        return None, f"refused: {exc}"
    except TimeoutError:
        return None, f"no answer within {SEND_SECONDS:.0f} s"
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return answer.status_code, None
    return answer.status_code, f"answered {answer.status_code}"


async def deliver_due(db: Database, client: httpx.AsyncClient, policy: Policy) -> int:
    """Send the deliveries that are due (claimed first); how many were tried."""
    now = utcnow()
    async with db.read() as session:
        due = (
            await session.execute(
                select(
                    WebhookDelivery.id, WebhookDelivery.next_attempt_at, WebhookDelivery.attempts
                )
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(BATCH)
            )
        ).all()
    tried = 0
    for delivery_id, seen, attempts in due:
        claim = await _claim(db, delivery_id, seen, attempts)
        if claim is None:
            continue  # another worker has it
        tried += 1
        if claim.attempt > len(PAUSES) + 1:  # attempts whose outcome was never recorded
            await _record(db, claim, status="failed", error="gave up: too many attempts")
            continue
        async with db.read() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
            event = await session.get(WebhookEvent, delivery.event_id)
        if endpoint is None or event is None or not endpoint.active:
            await _record(db, claim, status="failed", error="the endpoint was removed")
            continue
        body = msgspec.json.encode(_absolute(event.payload, policy.base_url))
        code, error = await _send(client, policy, endpoint, delivery_id, body)
        if error is None:
            await _record(db, claim, status="delivered", code=code)
        elif claim.attempt > len(PAUSES):
            await _record(db, claim, status="failed", code=code, error=error)
        else:
            pause = PAUSES[claim.attempt - 1] * policy.retry_scale
            await _record(db, claim, status="pending", code=code, error=error, pause=pause)
    return tried


async def _record(
    db: Database,
    claim: Claim,
    *,
    status: str,
    code: int | None = None,
    error: str | None = None,
    pause: float = 0.0,
) -> None:
    """The attempt's outcome, if the claim still holds (not replayed, not taken over)."""
    now = utcnow()
    values: dict[str, object] = {"status": status, "last_status_code": code, "last_error": error}
    if status == "delivered":
        values["delivered_at"] = now
    if status == "pending":
        values["next_attempt_at"] = now + timedelta(seconds=pause)
    async with db.transaction() as session:
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at == claim.lease,
                WebhookDelivery.attempts == claim.attempt,
            )
            .values(**values)
        )


async def sweep(db: Database, *, now: datetime | None = None) -> int:
    """Delete the deliveries delivered or failed more than ``KEEP_DAYS`` ago, and the
    events left without any delivery; how many deliveries went."""
    cutoff = (now or utcnow()) - timedelta(days=KEEP_DAYS)
    async with db.transaction() as session:
        gone = await session.execute(
            delete(WebhookDelivery).where(
                WebhookDelivery.status.in_(("delivered", "failed")),
                WebhookDelivery.created_at < cutoff,
            )
        )
        await session.execute(
            delete(WebhookEvent).where(
                WebhookEvent.dispatched.is_(True),
                WebhookEvent.created_at < cutoff,
                ~select(WebhookDelivery.id)
                .where(WebhookDelivery.event_id == WebhookEvent.id)
                .exists(),
            )
        )
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(slots=True)
class Worker:
    """This process's sender: it looks at the outbox every ``IDLE_SECONDS``."""

    db: Database
    policy: Policy
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        timeout = httpx.Timeout(SEND_SECONDS)
        swept = 0.0
        # No connection kept: the pool knows a connection by the address alone, and one
        # made (and its certificate checked) for one host must not carry another's delivery.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(
            follow_redirects=False, timeout=timeout, limits=limits
        ) as client:
            while True:
                try:
                    if time.monotonic() - swept > SWEEP_SECONDS:
                        await sweep(self.db)
                        swept = time.monotonic()
                    await dispatch(self.db)
                    while await deliver_due(self.db, client, self.policy) == BATCH:
                        pass  # more are due
                except Exception as exc:
                    if unavailable_reason(exc) is None:
                        log.exception("webhook deliveries: an error; trying again soon")
                await asyncio.sleep(IDLE_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
