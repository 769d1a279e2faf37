"""The one error shape: RFC 9457 problem+json, raised from anywhere and mapped here.

Validation problems carry ``errors: [{"path", "message", "message_zh", "keyword"}]`` where
``path`` is a JSON Pointer into the submitted document (or ``row``/``column`` for sheets).

A database that cannot be reached or cannot write (PostgreSQL down or restarting, a
connection cut, a full disk, a disk I/O error, a lock held too long) is not a bug of the
service: every such error, wherever it is raised, is answered here with a 503 problem
(``Retry-After``, a ``reason``) instead of a 500, and logged once per reason and minute
without a traceback.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
import sqlite3
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from sqlalchemy import exc as sa_exc

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


# --- the database unavailable ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why the database could not serve a request, as a client and an operator need it."""

    reason: str  # database-unreachable | connection-lost | database-busy | disk-full | ...
    detail: str
    retry_after: int  # seconds


_UNREACHABLE = Unavailable(
    "database-unreachable", "The database cannot be reached just now.", retry_after=5
)
_CONNECTION_LOST = Unavailable(
    "connection-lost", "The connection to the database was lost.", retry_after=1
)
_BUSY = Unavailable("database-busy", "The database is too busy to answer just now.", 2)
_DISK_FULL = Unavailable("disk-full", "The database's disk is full: nothing can be stored.", 30)
_DISK_ERROR = Unavailable("disk-error", "The database's disk failed to read or write.", 30)
_READ_ONLY = Unavailable("read-only", "The database's storage is read-only just now.", 30)
# Whatever else stops the database answering /health (a timeout, say).
NO_ANSWER = Unavailable("no-answer", "The database does not answer.", retry_after=5)

# SQLite's primary result codes (the low byte of the extended code) that say the file or
# its disk, not the statement, is at fault.
_SQLITE_CODES = {
    5: _BUSY,  # SQLITE_BUSY: the busy_timeout ran out
    6: _BUSY,  # SQLITE_LOCKED
    7: _BUSY,  # SQLITE_NOMEM
    8: _READ_ONLY,  # SQLITE_READONLY
    10: _DISK_ERROR,  # SQLITE_IOERR
    13: _DISK_FULL,  # SQLITE_FULL
    14: _UNREACHABLE,  # SQLITE_CANTOPEN
    15: _BUSY,  # SQLITE_PROTOCOL
}
# PostgreSQL's SQLSTATEs: a class (two characters) or one code.
_SQLSTATES = {
    "08": _CONNECTION_LOST,  # connection exception
    "53100": _DISK_FULL,  # disk_full
    "53": _BUSY,  # insufficient resources: out of memory, too many connections
    "57P01": _CONNECTION_LOST,  # admin_shutdown: terminated, or the server stopping
    "57P02": _CONNECTION_LOST,  # crash_shutdown
    "57P03": _UNREACHABLE,  # cannot_connect_now: the server starting up
    "58030": _DISK_ERROR,  # io_error
}


_DATA_ERRORS = (
    sa_exc.IntegrityError,
    sa_exc.DataError,
    sa_exc.ProgrammingError,
    sa_exc.NotSupportedError,
)


def _sqlstate(error: object) -> Unavailable | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if not isinstance(state, str):
        return None
    return _SQLSTATES.get(state) or _SQLSTATES.get(state[:2])


def _one(error: BaseException) -> Unavailable | None:
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return _BUSY
    if isinstance(error, sa_exc.DBAPIError):
        found = _one(error.orig) if error.orig is not None else None
        if found is not None:
            return found
        if error.connection_invalidated:
            return _CONNECTION_LOST
        # No statement: it failed while connecting (refused, not accepting connections,
        # unknown database, authentication) or committing; a statement's own errors, and
        # data that breaks a constraint even at commit, are bugs (500).
        if error.statement is None and not isinstance(error, _DATA_ERRORS):
            return _UNREACHABLE
        return None
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return _SQLITE_CODES.get(code & 0xFF) if isinstance(code, int) else None
    if isinstance(error, ConnectionError | socket.gaierror):
        return _UNREACHABLE
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return _DISK_FULL
    return _sqlstate(error)


def unavailable_reason(error: BaseException) -> Unavailable | None:
    """Why the database is unavailable, if that is what ``error`` (or what it was raised
    from) says; None for any other error."""
    seen: BaseException | None = error
    for _ in range(6):
        if seen is None:
            return None
        found = _one(seen)
        if found is not None:
            return found
        seen = seen.__cause__ or seen.__context__
    return None


class _OutageLog:
    """One warning per reason and minute, with how many more came meanwhile: an outage
    fails every request, and a log line (or a traceback) for each would bury the cause."""

    INTERVAL = 60.0

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, int]] = {}  # reason -> (logged at, since then)

    def forget(self) -> None:
        """Log the next one of each reason at once (a test starting afresh)."""
        self._last.clear()

    def note(self, found: Unavailable, error: BaseException, where: str) -> None:
        now = time.monotonic()
        logged_at, since = self._last.get(found.reason, (-self.INTERVAL, 0))
        if now - logged_at < self.INTERVAL:
            self._last[found.reason] = (logged_at, since + 1)
            return
        self._last[found.reason] = (now, 0)
        # The driver's message, not the statement: its parameters may be respondents' data.
        cause = getattr(error, "orig", None) or error
        log.warning(
            "database unavailable (%s) on %s: %s: %s; answering 503%s",
            found.reason,
            where,
            type(cause).__name__,
            str(cause).splitlines()[0] if str(cause) else "",
            f" ({since} more since the last warning)" if since else "",
        )


outage_log = _OutageLog()


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
