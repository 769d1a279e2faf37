"""HTTP routes of the forms API: read (public), build and version (admin), validate."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from survey_service.auth import Principal, audit, require
from survey_service.deps import DB, Forms, PathId
from survey_service.errors import ServiceError, from_msgspec
from survey_service.forms import service
from survey_service.forms.schemas import (
    FormCreate,
    FormDetail,
    FormSummary,
    ValidationResult,
    VersionContent,
    VersionOut,
)
from survey_service.forms.validation import validate_document
from survey_service.openapi import BEARER, body_of, problems
from survey_service.structs import INT4_MAX

_any_json = msgspec.json.Decoder()


def decode_json(body: bytes) -> Any:
    try:
        return _any_json.decode(body)
    except msgspec.DecodeError as exc:
        raise ServiceError("invalid-json", f"The request body is not valid JSON: {exc}") from None


T = TypeVar("T")


def decode_items(body: bytes, item_type: type[T]) -> tuple[list[T], bool]:
    """A body of one object or a list of them, as a list of ``item_type``; and whether it
    was a list (its errors' pointers then start with the item's index)."""
    raw = decode_json(body)
    try:
        items: list[T] = msgspec.convert(
            raw if isinstance(raw, list) else [raw],
            list[item_type],  # type: ignore[valid-type]
        )
    except msgspec.ValidationError as exc:
        raise from_msgspec(exc) from None
    return items, isinstance(raw, list)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: ``*`` or a list of tags, compared weakly (``W/`` ignored)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag.removeprefix("W/") in tags


class FormController(Controller):
    path = "/api/v1/forms"
    tags = ["forms"]

    @get("/")
    async def list_forms(self, db: DB) -> list[FormSummary]:
        async with db.read() as session:
            return await service.list_forms(session)

    @get("/{key:str}", responses=problems(400, 404))
    async def get_form(self, db: DB, key: FromPath[str]) -> FormDetail:
        async with db.read() as session:
            form = await service.get_form(session, key)
            return service.detail(form, await service.versions_of(session, form))

    @get(
        "/{key:str}/schema",
        media_type="application/schema+json",
        responses={
            200: ResponseSpec(
                dict[str, Any],
                media_type="application/schema+json",
                description="The JSON Schema (2020-12); `ETag` and `X-Form-Version` name it.",
                generate_examples=False,
            ),
            304: ResponseSpec(None, description="Unchanged since the `If-None-Match` tag."),
            **problems(400, 404, 422),
        },
    )
    async def get_schema(
        self,
        request: Request[Any, Any, Any],
        form_cache: Forms,
        key: FromPath[str],
        version: Annotated[int | None, QueryParameter(ge=1, le=INT4_MAX)] = None,
    ) -> Response[bytes]:
        """The JSON Schema of the current published version, or of ``version``."""
        entry = await form_cache.schema_bytes(key, version)
        etag = f'"{entry.content_hash}"'
        headers = {"ETag": etag, "X-Form-Version": str(entry.number)}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(b"", status_code=304, headers=headers)
        return Response(entry.body, media_type="application/schema+json", headers=headers)

    @post(
        "/",
        guards=[require("admin")],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        responses=problems(400, 401, 403, 409, 413, 422),
    )
    async def create_form(
        self, request: Request[Any, Any, Any], db: DB, data: JSONBody[FormCreate]
    ) -> FormDetail:
        """Create a form as a draft (version 1), from a JSON Schema or from builder fields."""
        principal: Principal = request.state.principal
        async with db.transaction() as session:
            form = await service.create_form(session, data)
            audit(session, principal, "form.create", f"form:{form.key}")
            return service.detail(form, await service.versions_of(session, form))

    @post(
        "/{key:str}/versions",
        guards=[require("admin")],
        security=BEARER,
        status_code=HTTP_201_CREATED,
        responses=problems(400, 401, 403, 404, 413, 422),
    )
    async def add_version(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        key: FromPath[str],
        data: JSONBody[VersionContent],
    ) -> VersionOut:
        async with db.transaction() as session:
            form = await service.get_form(session, key)
            version = await service.add_version(session, form, data)
            audit(session, request.state.principal, "form.version", f"form:{key}:{version.number}")
            return service.version_out(version)

    @put(
        "/{key:str}/versions/{number:int}",
        guards=[require("admin")],
        security=BEARER,
        responses=problems(400, 401, 403, 404, 409, 413, 422),
    )
    async def update_draft(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        key: FromPath[str],
        number: PathId,
        data: JSONBody[VersionContent],
    ) -> VersionOut:
        """Edit a draft version; a published version never changes (409)."""
        async with db.transaction() as session:
            form = await service.get_form(session, key)
            version = await service.update_draft(session, form, number, data)
            audit(session, request.state.principal, "form.edit", f"form:{key}:{number}")
            return service.version_out(version)

    @post(
        "/{key:str}/versions/{number:int}/publish",
        guards=[require("admin")],
        security=BEARER,
        status_code=HTTP_200_OK,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def publish(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        form_cache: Forms,
        key: FromPath[str],
        number: PathId,
    ) -> VersionOut:
        principal = request.state.principal
        version = await service.change_version_status(
            db, form_cache, principal, key, number, "publish"
        )
        return service.version_out(version)

    @post(
        "/{key:str}/versions/{number:int}/retire",
        guards=[require("admin")],
        security=BEARER,
        status_code=HTTP_200_OK,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def retire(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        form_cache: Forms,
        key: FromPath[str],
        number: PathId,
    ) -> VersionOut:
        principal = request.state.principal
        version = await service.change_version_status(
            db, form_cache, principal, key, number, "retire"
        )
        return service.version_out(version)

    @post(
        "/{key:str}/validate",
        status_code=HTTP_200_OK,
        operation_class=body_of(Any),
        responses=problems(400, 404, 413, 422),
    )
    async def validate(
        self,
        request: Request[Any, Any, Any],
        form_cache: Forms,
        key: FromPath[str],
        version: Annotated[int | None, QueryParameter(ge=1, le=INT4_MAX)] = None,
        draft: FromQuery[bool] = False,
    ) -> ValidationResult:
        """Validate any JSON document against a published version (the current by default).

        ``draft=true`` checks a document in progress: every rule but ``required``."""
        document = decode_json(await request.body())
        entry = await form_cache.schema_bytes(key, version)
        validator = form_cache.validators.get(entry.version_id, entry.schema)
        errors = validate_document(validator, document, schema=entry.schema, draft=draft)
        return ValidationResult(valid=not errors, errors=errors)
