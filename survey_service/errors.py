"""The one error shape: RFC 9457 problem+json, raised from anywhere and mapped here.

Validation problems carry ``errors: [{"path", "message", "message_zh", "keyword"}]`` where
``path`` is a JSON Pointer into the submitted document (or ``row``/``column`` for sheets).

A database that cannot serve (see ``survey_service.db.faults``) is not a bug of the
service: every such error, wherever it is raised, is answered here with a 503 problem
(``Retry-After``, a ``reason``) instead of a 500.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from survey_service.db.faults import Unavailable, outage_log, unavailable_reason

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        title=title or HTTPStatus(status).phrase,
        detail=detail,
        headers=headers,
        extra=extra or None,
    )


def not_found(what: str) -> ProblemDetailsException:
    return problem(404, f"{what} not found")


def conflict(detail: str, **extra: Any) -> ProblemDetailsException:
    return problem(409, detail, **extra)


def unprocessable(
    detail: str, errors: list[dict[str, Any]], **extra: Any
) -> ProblemDetailsException:
    return problem(422, detail, title="Validation failed", errors=errors, **extra)


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
            return problem(400, f"The request body is not valid JSON: {text}")
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
        return problem(400, str(exc.detail))
    return unprocessable("The request does not have the expected shape.", errors)


def from_msgspec(exc: Exception) -> ProblemDetailsException:
    """A 422 for a body that msgspec could not convert to the expected type."""
    text = str(exc)
    match = _MSGSPEC_LOCATION.search(text)
    path = _msgspec_pointer(match.group("loc")) if match else ""
    message = _MSGSPEC_LOCATION.sub("", text)
    return unprocessable(
        "The request body does not have the expected shape.",
        [{"path": path, "message": message, "keyword": "type"}],
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if isinstance(exc, ValidationException):
        return _from_validation_exception(exc)
    return problem(
        exc.status_code,
        str(exc.detail),
        headers=exc.headers,
        **(exc.extra if isinstance(exc.extra, dict) else {}),
    )


def database_unavailable(found: Unavailable) -> ProblemDetailsException:
    """The 503 a client gets while the database is unavailable: try again later."""
    return problem(
        503,
        f"{found.detail} The request was not carried out; send it again later.",
        title="Service unavailable",
        headers={"Retry-After": str(found.retry_after)},
        reason=found.reason,
        message_zh="数据库暂时不可用，本次请求未生效，请稍后重试。",
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    found = unavailable_reason(exc)
    if found is not None:
        outage_log.note(found, exc, f"{request.method} {request.url.path}")
        return database_unavailable(found).to_response(request)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "The server met an unexpected error; it has been logged.").to_response(
        request
    )


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={
                HTTPException: _from_http_exception,
                ValidationException: _from_validation_exception,
            },
        )
    )
