"""The admins' webhook endpoints and their deliveries: register (the secret shown once),
list, remove (deactivate: the deliveries stay readable), read the deliveries, replay one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit, recorder
from survey_service.db.engine import Database
from survey_service.db.models import WebhookDelivery, WebhookEndpoint, WebhookEvent, utcnow
from survey_service.errors import conflict, not_found
from survey_service.structs import Body, Out
from survey_service.webhooks.delivery import new_secret
from survey_service.webhooks.targets import registrable

EventType = Literal[
    "submission.received",
    "submission.amended",
    "submission.reviewed",
    "upload.stored",
    "report.done",
    "release.made",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookIn(Body, kw_only=True, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
    events: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=6)]
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class WebhookOut(Out, kw_only=True):
    id: int
    url: str
    events: list[str]
    description: str | None
    active: bool
    created_at: datetime
    secret: str | None = None  # only in the answer to the registration


class DeliveryOut(Out, kw_only=True):
    id: str  # the webhook-id header it is sent with
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None  # null once delivered or failed
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _out(row: WebhookEndpoint, *, secret: bool = False) -> WebhookOut:
    return WebhookOut(
        id=row.id, url=row.url, events=list(row.events), description=row.description,
        active=row.active, created_at=row.created_at, secret=row.secret if secret else None,
    )  # fmt: skip


async def register(
    db: Database, principal: Principal, data: WebhookIn, *, allow_private: bool
) -> WebhookOut:
    """The endpoint, its address checked first (outside the transaction: a name is looked
    up), with a new secret; audited."""
    await registrable(data.url, allow_private=allow_private)
    async with db.transaction() as session:
        row = WebhookEndpoint(
            url=data.url, secret=new_secret(), events=sorted(set(data.events)),
            description=data.description, active=True, created_by=recorder(principal),
            created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        await session.flush()
        # The address without its query: a receiver's token there stays out of the log.
        where = urlsplit(data.url)._replace(query="", fragment="").geturl()
        audit(session, principal, "webhook.register", f"webhook:{row.id}", url=where)
        return _out(row, secret=True)


async def _endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    found = await session.get(WebhookEndpoint, endpoint_id)
    if found is None:
        raise not_found(f"Webhook {endpoint_id}")
    return found


async def list_endpoints(session: AsyncSession) -> list[WebhookOut]:
    rows = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    return [_out(row) for row in rows]


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> WebhookOut:
    return _out(await _endpoint(session, endpoint_id))


async def deactivate(db: Database, principal: Principal, endpoint_id: int) -> None:
    """No more deliveries to it; those not sent yet fail when their turn comes. Audited."""
    async with db.transaction() as session:
        (await _endpoint(session, endpoint_id)).active = False
        audit(session, principal, "webhook.remove", f"webhook:{endpoint_id}")


async def deliveries(
    session: AsyncSession, endpoint_id: int, status: DeliveryStatus | None, limit: int
) -> list[DeliveryOut]:
    await _endpoint(session, endpoint_id)
    query = (
        select(WebhookDelivery, WebhookEvent.type)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return [_delivery(row, event) for row, event in await session.execute(query)]


def _delivery(row: WebhookDelivery, event: str) -> DeliveryOut:
    return DeliveryOut(
        id=row.id, event=event, status=row.status, attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code, last_error=row.last_error,
        created_at=row.created_at, delivered_at=row.delivered_at,
    )  # fmt: skip


async def replay(
    db: Database, principal: Principal, endpoint_id: int, delivery_id: str
) -> DeliveryOut:
    """Send a delivery again, now, with a fresh count of attempts (same id, same body).
    Audited."""
    async with db.transaction() as session:
        endpoint = await _endpoint(session, endpoint_id)
        row = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if row is None or row.endpoint_id != endpoint.id:
            raise not_found(f"Delivery {delivery_id}")
        if not endpoint.active:
            raise conflict(f"Webhook {endpoint_id} was removed; nothing is sent to it.")
        row.status, row.attempts, row.next_attempt_at = "pending", 0, utcnow()
        row.last_error = None
        event = await session.get(WebhookEvent, row.event_id)
        audit(session, principal, "webhook.replay", f"delivery:{delivery_id}")
        return _delivery(row, event.type if event else "")
