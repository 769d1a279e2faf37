"""The webhooks in the browser (``/admin/webhooks``, admins): register an endpoint (its
secret shown once), see each endpoint's deliveries and replay one, remove an endpoint. The
same service calls as the API's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath

from survey_service.auth import Principal
from survey_service.deps import DB, Config, PathId
from survey_service.errors import ServiceError, converted
from survey_service.web.admin_access import SIGN_IN, see_other
from survey_service.web.i18n import lang_of
from survey_service.web.pages import page, refusal_page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import field, signed_post
from survey_service.webhooks import endpoints
from survey_service.webhooks.endpoints import EVENT_TYPES, WebhookIn

HOOKS = "/admin/webhooks"


def _refused(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    zh = lang_of(request) == "zh"
    return refusal_page(request, exc, link=HOOKS, link_text="返回数据推送" if zh else "Webhooks")


async def _act(
    request: Request[Any, Any, Any],
    action: Callable[[Principal], Awaitable[object]],
    then: str,
) -> Response[Any]:
    """An admin's button on an endpoint: the action, then ``then``, or the refusal page."""
    sent = await signed_post(request, ("admin",), SIGN_IN)
    if isinstance(sent, Response):
        return sent
    try:
        await action(sent[0])
    except ServiceError as exc:
        return _refused(request, exc)
    return see_other(then)


class WebhookPageController(Controller):
    path = HOOKS
    include_in_schema = False

    async def _list(self, request: Request[Any, Any, Any], db: DB, status: int = 200,
                    **context: Any) -> Response[Any]:  # fmt: skip
        async with db.read() as session:
            hooks = await endpoints.list_endpoints(session)
        return page(request, "admin_webhooks.html", status, hooks=hooks, events=EVENT_TYPES,
                    csrf=csrf_token(request), **context)  # fmt: skip

    @get("/", media_type=MediaType.HTML)
    async def hooks(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        if await signed_in(request, "admin") is None:
            return see_other(SIGN_IN)
        return await self._list(request, db)

    @post("/", media_type=MediaType.HTML)
    async def register(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config
    ) -> Response[Any]:
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        raw = {"url": field(posted, "url"), "events": posted.fields.get("events") or [],
               "description": field(posted, "description") or None}  # fmt: skip
        try:
            data = converted(raw, WebhookIn)
            made = await endpoints.register(
                db, principal, data, allow_private=app_settings.webhooks_allow_private
            )
        except ServiceError as exc:
            zh = lang_of(request) == "zh"
            errors = exc.extra.get("errors") or [{}]
            problem = str(errors[0].get("message_zh" if zh else "message") or exc.detail)
            return await self._list(request, db, exc.status_code, problem=problem, posted=raw)
        return await self._list(request, db, 201, made=made)

    @get("/{webhook_id:int}", media_type=MediaType.HTML)
    async def deliveries(
        self, request: Request[Any, Any, Any], db: DB, webhook_id: PathId
    ) -> Response[Any]:
        if await signed_in(request, "admin") is None:
            return see_other(SIGN_IN)
        try:
            async with db.read() as session:
                hook = await endpoints.get_endpoint(session, webhook_id)
                found = await endpoints.deliveries(session, webhook_id, None, 200)
        except ServiceError as exc:
            return _refused(request, exc)
        return page(request, "admin_webhook.html", hook=hook, deliveries=found,
                    csrf=csrf_token(request))  # fmt: skip

    @post("/{webhook_id:int}/deliveries/{delivery_id:str}/replay", media_type=MediaType.HTML)
    async def replay(
        self, request: Request[Any, Any, Any], db: DB, webhook_id: PathId,
        delivery_id: FromPath[str],
    ) -> Response[Any]:  # fmt: skip
        return await _act(
            request,
            lambda principal: endpoints.replay(db, principal, webhook_id, delivery_id),
            f"{HOOKS}/{webhook_id}?replayed={delivery_id}",
        )

    @post("/{webhook_id:int}/remove", media_type=MediaType.HTML)
    async def remove(
        self, request: Request[Any, Any, Any], db: DB, webhook_id: PathId
    ) -> Response[Any]:
        return await _act(
            request, lambda principal: endpoints.deactivate(db, principal, webhook_id), HOOKS
        )
