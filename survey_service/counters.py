"""The service's own Prometheus counters, beside the request figures of
``survey_service.metrics``: low in the package (prometheus-client only) so the layers that
see an event count it where it happens. No label names a person, an enterprise, a token or
a link."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
    "Database operations that failed for want of the database, by reason",
    ["reason"],
)
submissions = Counter(
    "survey_submissions_total",
    "Surveys written (created or amended; JSON, page or spreadsheet), by form kind and status",
    ["kind", "status"],
)
salary_uploads = Counter(
    "survey_salary_uploads_total",
    "Salary spreadsheets checked, by outcome (stored, refused)",
    ["outcome"],
)
upload_rows = Counter(
    "survey_salary_upload_rows_total",
    "Worker rows of the salary spreadsheets checked, by fate (accepted, rejected)",
    ["fate"],
)
