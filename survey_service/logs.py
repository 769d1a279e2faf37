"""Logs: plain text by default; with ``SURVEY_LOG_FORMAT=json`` every record (the service's
and uvicorn's) as one JSON object a line (python-json-logger) and one line per request, for
a log collector.

A request's line names its method, route template, path (never the query string), status
and duration, and the client's address except on the poll routes: a worker's address beside
the time of an anonymous answer would undo the anonymity the form promises (the deployment
guide's nginx configuration leaves it out there too). No header or body is logged, so no
token and no answer; of a poll, only the link in the path.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from litestar.types import ASGIApp, HTTPScope

from survey_service.collection.polls import POLL_PATHS
from survey_service.observed import observed

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
requests_log = logging.getLogger("survey_service.requests")


def logging_config(log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for this process and uvicorn's (``log_config``)."""
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
        }
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
        # uvicorn's own loggers carry handlers of their own; here they go through the root's.
        "loggers": {
            **{
                name: {"level": "INFO", "handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # WeasyPrint tells every step of every render at INFO.
            "weasyprint": {"level": "WARNING"},
        },
    }


def configure_logging(log_format: str) -> None:
    logging.config.dictConfig(logging_config(log_format))


def request_log(app: ASGIApp) -> ASGIApp:
    """One record a request, once its answer is sent (or it failed)."""

    def log(scope: HTTPScope, status: int, seconds: float) -> None:
        path: str = scope["path"]
        line: dict[str, Any] = {
            "method": scope["method"],
            "route": scope.get("path_template"),
            "path": path,
            "status": status,
            "ms": round(seconds * 1000, 1),
        }
        client = scope.get("client")
        if client and not path.startswith(POLL_PATHS):
            line["client"] = client[0]
        requests_log.info("request", extra=line)

    return observed(app, log)
