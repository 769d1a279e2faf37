"""``/metrics`` in the Prometheus text format, for the bureau's operators.

Requests are counted and timed (prometheus-client) under their route's template
(``/api/v1/polls/{link}/responses``, never a link or an id) and status, so the series stay
few whatever the traffic. The
service's own events are counters beside them (``survey_*``). With several server processes
(``SURVEY_WORKERS``) ``serve`` turns on prometheus-client's multiprocess mode (a folder
``var/metrics`` each process writes to, emptied at start), so any process's answer to a
scrape sums them all; behind a proxy spread over hosts, scrape each host.

The figures say how much the service is used, never who did what: no token, address,
enterprise or poll answer is a label. Only an admin's token may read them (Prometheus sends
it as ``authorization: credentials``); ``SURVEY_METRICS=false`` turns the middleware and
the route off.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ASGIApp, HTTPScope
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from survey_service.auth import require
from survey_service.observed import observed
from survey_service.openapi import BEARER, problems

PATH = "/metrics"
# prometheus-client's switch to its multiprocess mode, read when it is first imported.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"

requests = Counter(
    "survey_http_requests_total",
    "Requests answered, by method, route and status",
    ["method", "route", "status"],
)
request_seconds = Histogram(
    "survey_http_request_seconds",
    "Time from a request's arrival to its answer's last byte",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_Series = tuple[Any, Any]  # a route's counter and histogram children
_series: dict[tuple[str, str, int], _Series] = {}


def _of(method: str, route: str, status: int) -> _Series:
    key = (method, route, status)
    found = _series.get(key)
    if found is None:
        found = _series[key] = (
            requests.labels(method, route, str(status)),
            request_seconds.labels(method, route, str(status)),
        )
    return found


def request_metrics(app: ASGIApp) -> ASGIApp:
    """Count and time every routed request under its route's template.

    Not Litestar's Prometheus middleware: measured on the poll bench it cost about 35 us a
    request (a Request object, label dicts, four label lookups and an in-progress gauge
    per request), a quarter of a bare route's throughput; this one looks its two series
    up once per route and status and costs a few microseconds."""

    def count(scope: HTTPScope, status: int, seconds: float) -> None:
        total, timing = _of(scope["method"], scope.get("path_template", "?"), status)
        total.inc()
        timing.observe(seconds)

    return observed(app, count)


def share_between_processes(folder: Path) -> None:
    """Before the server processes start: each writes its figures under ``folder`` (emptied
    now: figures of processes gone would count twice) and a scrape sums them all."""
    if MULTIPROCESS in os.environ:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS] = str(folder)


def _registry() -> CollectorRegistry:
    if MULTIPROCESS not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


@get(
    PATH,
    guards=[require("admin")],
    security=BEARER,
    tags=["operations"],
    media_type=CONTENT_TYPE_LATEST,
    responses={
        200: ResponseSpec(
            str,
            media_type=CONTENT_TYPE_LATEST,
            description="The Prometheus text format.",
            generate_examples=False,
        ),
        **problems(401, 403),
    },
    sync_to_thread=False,
)
def scrape() -> Response[bytes]:
    """The service's counters and request timings (admins; see ``SURVEY_METRICS``)."""
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
