"""Whether the database, not the request, is at fault: PostgreSQL down or restarting, a
connection cut, a full disk, a disk I/O error, a lock held too long. Such an error is not a
bug of the service: ``unavailable_reason`` names why (for a 503 with ``Retry-After`` and a
``reason``, see ``survey_service.errors``), and ``outage_log`` logs it once per reason and
minute without a traceback.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

from survey_service import counters

log = logging.getLogger(__name__)


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
        counters.database_errors.labels(found.reason).inc()
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
