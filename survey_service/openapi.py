"""What the OpenAPI document (``/schema/openapi.json``) says beyond the handlers' own types:
the problem+json shape of every error (its ``type`` one of the catalogue's, each listed
with what it means), the bearer-token scheme, the HTML of the poll pages,
and the other media types a download can take.

A handler names the errors it can answer with ``responses=problems(401, 403, 404)``; the
access guards (``auth.require``) go with ``security=BEARER``. ``tests/unit/
test_openapi_document.py`` checks that no operation leaves out what its guards, path
parameters and body imply, and the schemathesis run against a live server
(``tests/integration/test_openapi_fuzz.py``) that every answer is documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    Operation,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

from survey_service.errors import PROBLEM_JSON
from survey_service.problems import CATALOGUE, PROBLEMS_PATH

HTML = "text/html; charset=utf-8"
# Where the document is served (JSON only: no other rendering of it is served).
OPENAPI_PATH = "/schema"
OPENAPI_DOCUMENT = f"{OPENAPI_PATH}/openapi.json"
BEARER_SCHEME = "bearer"
BEARER: list[SecurityRequirement] = [{BEARER_SCHEME: []}]


class FieldProblem(msgspec.Struct, kw_only=True):
    """One thing wrong in a request: a JSON Pointer into the submitted document (``path``),
    or a spreadsheet's ``row`` and ``column``, and what is wrong there."""

    message: str
    path: str | None = None
    row: int | None = None
    column: str | None = None
    message_zh: str | None = None
    keyword: str | None = None


if TYPE_CHECKING:
    ProblemTypeUri = str
else:  # the catalogue's URIs, as an enum in the document
    ProblemTypeUri = Literal.__getitem__(tuple(p.uri for p in CATALOGUE.values()))

_TYPE_DESCRIPTION = "\n".join(
    [
        f"Which problem this is: a URI relative to the service; `GET` it for its entry "
        f"(`{PROBLEMS_PATH}` lists them all). Tell problems apart by `type`, not by text.",
        "",
        *(f"- `{p.uri}` ({p.status}, {p.title}): {p.description}" for p in CATALOGUE.values()),
    ]
)


class Problem(msgspec.Struct, kw_only=True):
    """An error (RFC 9457 problem details). Some carry more members: ``errors`` for what
    to correct, ``message_zh`` for the pages, counts for a refused spreadsheet."""

    type: Annotated[ProblemTypeUri, msgspec.Meta(description=_TYPE_DESCRIPTION)] | (
        msgspec.UnsetType
    ) = msgspec.UNSET
    status: int
    title: str
    detail: str
    errors: list[FieldProblem] | None = None
    message_zh: str | None = None


# What each error status means here, whatever the route (a route's docstring says more).
_MEANINGS: dict[int, str] = {
    400: "The request is malformed: not JSON, or a parameter the service cannot read.",
    401: "No valid bearer token (missing, unknown, expired or revoked).",
    403: "The token's role may not do this, or the campaign or poll is not open.",
    404: "Not found, or not this token's to see.",
    409: "Conflicts with the current state (a retry with other data, a published version).",
    410: "The poll link was withdrawn.",
    413: "The request body is larger than the service accepts.",
    422: "Well-formed but not valid: `errors` lists what to correct, with JSON Pointers.",
    429: "Too many requests; `Retry-After` says when to try again.",
    503: "Not stored just now (nothing was received); `Retry-After` says when to try again.",
}


def _meaning(status: int) -> str:
    return _MEANINGS.get(status) or HTTPStatus(status).phrase


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of a route, each documented as problem+json."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_meaning(status),
            generate_examples=False,
        )
        for status in statuses
    }


def pages(*statuses: int) -> dict[int, ResponseSpec]:
    """The answers of a page route (an HTML page explains the error to a person)."""
    return {
        status: ResponseSpec(
            data_container=str,
            media_type=HTML,
            description=_meaning(status) if status >= 400 else HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in statuses
    }


def components() -> Components:
    """The bearer scheme the ``BEARER`` requirement names."""
    return Components(
        security_schemes={
            BEARER_SCHEME: SecurityScheme(
                type="http",
                scheme="bearer",
                description="An admin, analyst or invitation (enterprise) token.",
            )
        }
    )


_ANY_JSON = Schema(description="Any JSON document.")
_BYTES = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def _content(schema: Schema) -> dict[str, OpenAPIMediaType]:
    return {MediaType.JSON.value: OpenAPIMediaType(schema=schema)}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def body_of(body_type: Any, *, required: bool = True) -> type[Operation]:
    """An operation whose route reads its JSON body itself (for its own error pointers):
    the body documented as ``body_type`` (msgspec's JSON Schema of it, inlined; ``Any``:
    any JSON document); ``required=False`` when the route takes none too."""
    if body_type is Any:
        schema: Any = _ANY_JSON
    else:
        generated = msgspec.json.schema(body_type)
        schema = _inline(generated, generated.get("$defs", {}))

    @dataclass
    class ReadsBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=_content(schema), required=required)

    return ReadsBody


def downloads(*media_types: str) -> type[Operation]:
    """An operation whose 200 answer also comes as ``media_types`` (``?format=`` or
    ``Accept``), besides JSON."""

    @dataclass
    class Download(Operation):
        def __post_init__(self) -> None:
            ok: Any = (self.responses or {}).get("200")
            if ok is not None and ok.content is not None:
                for media_type in media_types:
                    ok.content[media_type] = OpenAPIMediaType(schema=_BYTES)

    return Download
