"""The bureau's pages of forms (``/admin/forms``): every form with its description and
versions; one form's versions, each previewed as respondents see it; reopen a published
form as a new draft version, edit that draft in the builder (its fields read back from the
version, ``forms.builder_readback``), and publish it. The work is ``forms.service``'s, as
for the forms API; the builder's script saves drafts through that API."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from markupsafe import Markup

from survey_service.auth import audit
from survey_service.deps import DB, Forms, PathId
from survey_service.errors import ServiceError
from survey_service.forms import service
from survey_service.forms.builder_readback import (
    NotBuilderMade,
    description_of,
    fields_from_schema,
)
from survey_service.web.form_view import form_view
from survey_service.web.i18n import lang_of
from survey_service.web.pages import message_page, page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import see_other, signed_post

FORMS = "/admin/forms"
SIGN_IN = "/admin/signin"
ADMIN = ("admin",)


def _json_for_script(value: Any) -> Markup:
    """JSON to put in a ``<script type="application/json">`` (no ``<`` to end it early)."""
    text = msgspec.json.encode(value).decode().replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(text.replace("&", "\\u0026"))  # noqa: S704 (no markup character is left)


def _refused(request: Request[Any, Any, Any], exc: ServiceError) -> Response[str]:
    zh = lang_of(request) == "zh"
    missing = exc.status_code == 404
    title = (
        ("找不到" if missing else "无法完成") if zh else ("Not found" if missing else "Not done")
    )
    return message_page(
        request, exc.status_code, title, str(exc.detail),
        csrf=csrf_token(request), link=FORMS, link_text="表单" if zh else "Forms",
    )  # fmt: skip


class FormPageController(Controller):
    path = FORMS
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def forms(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Every form: its title, description, state and current version."""
        if await signed_in(request, *ADMIN) is None:
            return see_other(SIGN_IN)
        async with db.read() as session:
            listed = await service.list_forms(session)
        return page(request, "admin_forms.html", forms=listed, csrf=csrf_token(request))

    @get("/{key:str}", media_type=MediaType.HTML)
    async def form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        key: FromPath[str],
        version: FromQuery[int | None] = None,
        done: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """One form: its versions, and a version previewed (the current one by default)."""
        if await signed_in(request, *ADMIN) is None:
            return see_other(SIGN_IN)
        lang = lang_of(request)
        try:
            async with db.read() as session:
                form = await service.get_form(session, key)
                versions = await service.versions_of(session, form)
                shown = service.shown_version(versions)
                if version is not None:
                    shown = await service.get_version(session, form, version)
        except ServiceError as exc:
            return _refused(request, exc)
        preview = form_view(shown.schema, shown.ui, {}, [], lang) if shown else None
        latest = max(versions, key=lambda v: v.number) if versions else None
        return page(
            request,
            "admin_form.html",
            form=form,
            detail=service.detail(form, versions),
            versions=versions,
            shown=shown,
            preview=preview,
            draft=latest if latest is not None and latest.status == "draft" else None,
            done=done if done in ("published", "reopened") else "",
            csrf=csrf_token(request),
        )

    @post("/{key:str}/reopen", media_type=MediaType.HTML)
    async def reopen(
        self, request: Request[Any, Any, Any], db: DB, key: FromPath[str]
    ) -> Response[Any]:
        """A new draft version with the current version's content (or the draft that is
        open already), then the builder on it."""
        sent = await signed_post(request, ADMIN, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, _posted = sent
        try:
            async with db.transaction() as session:
                form = await service.get_form(session, key)
                version, created = await service.reopen(session, form)
                if created:
                    audit(session, principal, "form.version", f"form:{key}:{version.number}",
                          reopened=True)  # fmt: skip
        except ServiceError as exc:
            return _refused(request, exc)
        return see_other(f"{FORMS}/{key}/versions/{version.number}/builder")

    @get("/{key:str}/versions/{number:int}/builder", media_type=MediaType.HTML)
    async def builder(
        self, request: Request[Any, Any, Any], db: DB, key: FromPath[str], number: PathId
    ) -> Response[Any]:
        """The builder on a draft version: its fields read back, saved by the forms API."""
        if await signed_in(request, *ADMIN) is None:
            return see_other(SIGN_IN)
        zh = lang_of(request) == "zh"
        try:
            async with db.read() as session:
                form = await service.get_form(session, key)
                version = await service.get_version(session, form, number)
        except ServiceError as exc:
            return _refused(request, exc)
        if version.status != "draft":
            return message_page(
                request, 409,
                "这一版已发布" if zh else "This version is published",
                "已发布的版本不能修改；请在表单页“重新打开为新草稿”。" if zh
                else "A published version never changes; reopen the form as a new draft.",
                csrf=csrf_token(request), link=f"{FORMS}/{key}", link_text=form.title_zh,
            )  # fmt: skip
        try:
            fields = fields_from_schema(version.schema, version.ui)
        except NotBuilderMade as exc:
            return message_page(
                request, 409,
                "这份表单不是用表单设计器制作的" if zh else "This form was not made in the builder",
                (f"无法在设计器中编辑（{exc}）；请通过接口修改它的 JSON Schema："
                 f"PUT /api/v1/forms/{key}/versions/{number}。") if zh
                else (f"It cannot be edited in the builder ({exc}); change its JSON Schema "
                      f"through PUT /api/v1/forms/{key}/versions/{number}."),
                csrf=csrf_token(request), link=f"{FORMS}/{key}", link_text=form.title_zh,
            )  # fmt: skip
        description, description_en = description_of(version.schema)
        state = {
            "key": form.key,
            "kind": form.kind,
            "title": {"zh": form.title_zh, "en": form.title_en},
            "description": {"zh": description, "en": description_en} if description else None,
            "version": version.number,
            "fields": msgspec.to_builtins(fields),
            "rules": version.rules,
        }
        return page(
            request, "admin_builder.html", csrf=csrf_token(request), state=_json_for_script(state)
        )

    @post("/{key:str}/versions/{number:int}/publish", media_type=MediaType.HTML)
    async def publish(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        form_cache: Forms,
        key: FromPath[str],
        number: PathId,
    ) -> Response[Any]:
        """Publish a draft version: campaigns can use it from now on."""
        sent = await signed_post(request, ADMIN, SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, _posted = sent
        try:
            await service.change_version_status(db, form_cache, principal, key, number, "publish")
        except ServiceError as exc:
            return _refused(request, exc)
        return see_other(f"{FORMS}/{key}?done=published")
