"""``/metrics`` in the Prometheus text format, for the bureau's operators.

Requests are counted and timed by Litestar's Prometheus middleware (prometheus-client
underneath), labelled by the route's template (``/api/v1/polls/{link}/responses``,
never a link or an id) and status, so the series stay few whatever the traffic. The
service's own events are counters beside them (``survey_*``). With several server processes
(``SURVEY_WORKERS``) prometheus-client's multiprocess mode sums every process's figures
when ``PROMETHEUS_MULTIPROC_DIR`` names a shared, emptied-at-start folder.

The figures say how much the service is used, never who did what: no token, address,
enterprise or poll answer is a label. Only an admin's token may read them (Prometheus sends
it as ``authorization: credentials``); ``SURVEY_METRICS=false`` turns the middleware and
the route off.
"""

from __future__ import annotations

from litestar.middleware.base import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Histogram

from survey_service.auth import require
from survey_service.openapi import BEARER

PATH = "/metrics"

submissions = Counter(
    "survey_submissions_total",
    "Surveys stored, by how they came (json, xlsx, page) and their status",
    ["source", "status"],
)
poll_answers = Counter("survey_poll_answers_total", "Anonymous poll answers stored")
report_jobs = Counter(
    "survey_report_jobs_total", "Report jobs that ended, by kind and state", ["kind", "state"]
)
report_seconds = Histogram(
    "survey_report_seconds",
    "Time to build a report, by kind",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
database_errors = Counter(
    "survey_database_errors_total",
    "Requests the database could not serve, by reason (unavailable, disk full, ...)",
    ["reason"],
)


def config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name="survey_service",
        prefix="survey_http",
        group_path=True,  # the route's template, not the path: no ids, links or tokens
        exclude=[PATH],
    )


def middleware() -> DefineMiddleware:
    return config().middleware


class MetricsController(PrometheusController):
    path = PATH
    guards = [require("admin")]
    security = BEARER
    tags = ["operations"]
