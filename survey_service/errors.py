"""The one error shape: RFC 9457 problem+json, mapped here and nowhere else.

Services raise ``ServiceError`` naming a problem type of the catalogue
(``survey_service.problems``), with a ``detail`` and the members a client or a page needs
(``errors``, ``message_zh``, ``reason``, ...); the convenience constructors below name the
common ones. This module turns it, Litestar's own HTTP errors (their type chosen by
status) and any unhandled error into problem+json: ``type`` (``/problems/<slug>``),
``title``, ``status``, ``detail`` and those members. Pages catch the same ``ServiceError``
and branch on its ``kind``.

Validation problems carry ``errors: [{"path", "message", "message_zh", "keyword"}]`` where
``path`` is a JSON Pointer into the submitted document (or ``row``/``column`` for sheets).

A database that cannot serve (see ``survey_service.db.faults``) is not a bug of the
service: every such error, wherever it is raised, is answered here with a 503 problem
(``Retry-After``, a ``reason``) instead of a 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from survey_service.db.faults import Unavailable, outage_log, unavailable_reason
from survey_service.problems import CATALOGUE, ProblemKind, ProblemType

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ServiceError(Exception):
    """A request the service refuses, as one problem type of the catalogue: ``kind`` (its
    slug), ``detail`` for the client, ``headers`` (``Retry-After``, ...) and ``extra``
    members of the problem+json body. Its status and title come from the catalogue."""

    def __init__(
        self,
        kind: ProblemKind,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.kind: ProblemKind = kind
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = extra

    @property
    def problem_type(self) -> ProblemType:
        return CATALOGUE[self.kind]

    @property
    def status_code(self) -> int:
        return self.problem_type.status


def not_found(what: str) -> ServiceError:
    return ServiceError("not-found", f"{what} not found")


def conflict(detail: str, *, kind: ProblemKind = "conflict", **extra: Any) -> ServiceError:
    return ServiceError(kind, detail, **extra)


def unprocessable(detail: str, errors: list[dict[str, Any]], **extra: Any) -> ServiceError:
    """Data that is not valid: ``errors`` says what to correct, and where."""
    return ServiceError("validation-failed", detail, errors=errors, **extra)


# msgspec names the failing location as `$.a.b[3]`; turn it into a JSON Pointer.
_MSGSPEC_LOCATION = re.compile(r" - at `\$(?P<loc>[^`]*)`$")
_MSGSPEC_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")


def _msgspec_pointer(location: str) -> str:
    parts = [m.group(1) or m.group(2) or "-" for m in _MSGSPEC_STEP.finditer(location)]
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _from_validation_exception(exc: ValidationException) -> ProblemDetailsException:
    """Litestar raises ValidationException both for bodies that are not JSON (400) and for
    JSON of the wrong shape (422): tell them apart by what msgspec said."""
    messages = exc.extra if isinstance(exc.extra, list) else []
    errors: list[dict[str, Any]] = []
    for item in messages:
        text = str(item.get("message", "")) if isinstance(item, dict) else str(item)
        if "malformed" in text.lower() or "invalid json" in text.lower():
            return problem_details(
                ServiceError("invalid-json", f"The request body is not valid JSON: {text}")
            )
        match = _MSGSPEC_LOCATION.search(text)
        path = _msgspec_pointer(match.group("loc")) if match else ""
        key = item.get("key") if isinstance(item, dict) else None
        if key == "data" and text == "'data'":  # Litestar's word for a missing body
            errors.append({"path": "", "message": "A JSON body is required.", "keyword": "type"})
            continue
        if not path and isinstance(key, str) and key and key != "data":
            # Litestar names the location as msgspec does, without the `$`: `a.b[3]`.
            path = _msgspec_pointer("." + key)
        message = _MSGSPEC_LOCATION.sub("", text)
        errors.append({"path": path, "message": message, "keyword": "type"})
    if not errors:
        return problem_details(ServiceError("bad-request", str(exc.detail)))
    return problem_details(unprocessable("The request does not have the expected shape.", errors))


T = TypeVar("T")


def converted(raw: Any, kind: type[T], *, strict: bool = True) -> T:
    """``raw`` (a page's posted fields) as the request struct ``kind``, or the 422 the API
    answers for a body of that shape. ``strict=False``: text is taken for the numbers it
    spells (a posted field is always text)."""
    try:
        return msgspec.convert(raw, kind, strict=strict)
    except msgspec.ValidationError as exc:
        raise from_msgspec(exc) from None


def from_msgspec(exc: Exception) -> ServiceError:
    """A 422 for a body that msgspec could not convert to the expected type."""
    text = str(exc)
    match = _MSGSPEC_LOCATION.search(text)
    path = _msgspec_pointer(match.group("loc")) if match else ""
    message = _MSGSPEC_LOCATION.sub("", text)
    return unprocessable(
        "The request body does not have the expected shape.",
        [{"path": path, "message": message, "keyword": "type"}],
    )


# Litestar's own errors, by status (the catalogue's entry for each status it raises).
_BY_STATUS: dict[int, ProblemKind] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    500: "internal-error",
}


def _not_json(exc: HTTPException) -> bool:
    """Litestar's 400 for a body it could not decode (raised from msgspec's DecodeError)."""
    cause = exc.__cause__
    decoding = cause.__cause__ if isinstance(cause, SerializationException) else None
    return isinstance(decoding, msgspec.DecodeError) and not isinstance(
        decoding, msgspec.ValidationError
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ValidationException):
        return _from_validation_exception(exc)
    status = exc.status_code
    kind = _BY_STATUS.get(status) or ("bad-request" if status < 500 else "internal-error")
    if status == 400 and _not_json(exc):
        kind = "invalid-json"
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    return _problem(CATALOGUE[kind], status, str(exc.detail), exc.headers, extra)


def _problem(
    found: ProblemType,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None,
    extra: Mapping[str, Any],
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        type_=found.uri,
        title=found.title,
        detail=detail,
        headers=dict(headers) if headers else None,
        extra=dict(extra) or None,
    )


def problem_details(error: ServiceError) -> ProblemDetailsException:
    """The problem+json answer of a ``ServiceError``."""
    found = error.problem_type
    return _problem(found, found.status, error.detail, error.headers, error.extra)


def problem_body(kind: ProblemKind, detail: str) -> dict[str, Any]:
    """The members every problem has, for a route that writes its problem+json itself."""
    found = CATALOGUE[kind]
    return {"type": found.uri, "status": found.status, "title": found.title, "detail": detail}


def database_unavailable(found: Unavailable) -> ServiceError:
    """The 503 a client gets while the database is unavailable: try again later."""
    return ServiceError(
        "database-unavailable",
        f"{found.detail} The request was not carried out; send it again later.",
        headers={"Retry-After": str(found.retry_after)},
        reason=found.reason,
        message_zh="数据库暂时不可用，本次请求未生效，请稍后重试。",
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    found = unavailable_reason(exc)
    if found is not None:
        outage_log.note(found, exc, f"{request.method} {request.url.path}")
        return problem_details(database_unavailable(found)).to_response(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    error = ServiceError(
        "internal-error", "The server met an unexpected error; it has been logged."
    )
    return problem_details(error).to_response(request)


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={
                HTTPException: _from_http_exception,
                ValidationException: _from_validation_exception,
                ServiceError: problem_details,
            },
        )
    )
