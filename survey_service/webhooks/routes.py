"""HTTP routes of the webhooks: admins register endpoints, read their deliveries and replay
one; nobody else."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from survey_service.auth import principal_of, require
from survey_service.deps import DB, Config, PathId
from survey_service.openapi import BEARER, problems
from survey_service.structs import Out
from survey_service.webhooks import endpoints
from survey_service.webhooks.endpoints import DeliveryOut, DeliveryStatus, WebhookIn, WebhookOut

Limit = Annotated[int, QueryParameter(ge=1, le=1000, description="at most this many, newest first")]


class WebhookList(Out):
    webhooks: list[WebhookOut]


class DeliveryList(Out):
    deliveries: list[DeliveryOut]


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    guards = [require("admin")]
    security = BEARER

    @post("/", status_code=HTTP_201_CREATED, responses=problems(400, 401, 403, 413, 422))
    async def register(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        app_settings: Config,
        data: JSONBody[WebhookIn],
    ) -> WebhookOut:
        """Register an endpoint for events; the answer holds its signing secret, shown this
        once. Each delivery is a POST of `{"type", "timestamp", "data"}` (ids and links,
        never answers) with the Standard Webhooks headers `webhook-id`, `webhook-timestamp`
        and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
        `{id}.{timestamp}.{body}` under the secret's base64 bytes). An address must be
        https on a host whose every address is public (422 otherwise) unless
        SURVEY_WEBHOOKS_ALLOW_PRIVATE is set. Events: `submission.received`,
        `submission.amended`, `submission.reviewed`, `upload.stored`, `report.done`,
        `release.made`."""
        return await endpoints.register(
            db, principal_of(request), data, allow_private=app_settings.webhooks_allow_private
        )

    @get("/", responses=problems(401, 403))
    async def list_webhooks(self, db: DB) -> WebhookList:
        """Every endpoint, removed ones too (inactive); secrets are never shown again."""
        async with db.read() as session:
            return WebhookList(webhooks=await endpoints.list_endpoints(session))

    @get("/{webhook_id:int}", responses=problems(400, 401, 403, 404, 422))
    async def get_webhook(self, db: DB, webhook_id: PathId) -> WebhookOut:
        async with db.read() as session:
            return await endpoints.get_endpoint(session, webhook_id)

    @delete(
        "/{webhook_id:int}",
        status_code=HTTP_204_NO_CONTENT,
        responses=problems(400, 401, 403, 404, 422),
    )
    async def remove(self, request: Request[Any, Any, Any], db: DB, webhook_id: PathId) -> None:
        """Deactivate the endpoint: nothing more is sent to it; its deliveries stay."""
        await endpoints.deactivate(db, principal_of(request), webhook_id)

    @get("/{webhook_id:int}/deliveries", responses=problems(400, 401, 403, 404, 422))
    async def list_deliveries(
        self,
        db: DB,
        webhook_id: PathId,
        status: FromQuery[DeliveryStatus | None] = None,
        limit: Limit = 100,
    ) -> DeliveryList:
        """The endpoint's deliveries, newest first: status, attempts, the next one's time,
        the last answer's status code or error."""
        async with db.read() as session:
            found = await endpoints.deliveries(session, webhook_id, status, limit)
        return DeliveryList(deliveries=found)

    @post(
        "/{webhook_id:int}/deliveries/{delivery_id:str}/replay",
        status_code=HTTP_202_ACCEPTED,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def replay(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        webhook_id: PathId,
        delivery_id: FromPath[str],
    ) -> DeliveryOut:
        """Send a delivery again (delivered or failed), now, with the same id and body."""
        return await endpoints.replay(db, principal_of(request), webhook_id, delivery_id)
