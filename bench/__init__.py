"""Benchmarks: every figure printed beside its baseline, measured in the same run.

``python -m bench`` runs the modules listed in ``bench.__main__.BENCHES``:

- ``bench.validation``: rows/s validating a 1,000-row salary survey, the project's validator
  against python-jsonschema.
- ``bench.form_fetch``: req/s and latency of the form-schema route against a bare route
  serving the same bytes, over HTTP on 127.0.0.1.
- ``bench.ingest``: rows/s persisted of 1,000-row JSON salary surveys through HTTP, beside
  raw ``sqlite3`` executemany of the same rows.
- ``bench.upload``: rows/s and the server's peak memory for a 100,000-row XLSX upload,
  beside raw ``sqlite3`` executemany.
- ``bench.polls``: poll answers/s and p99 through HTTP (durable when acknowledged), beside
  a bare handler (wrk).
- ``bench.aggregate``: seconds and peak memory of the occupation x district wage table with
  disclosure control over 1,000,000 rows (SQLite and PostgreSQL), beside DuckDB's
  ``quantile_disc`` over the same rows.
- ``bench.reports``: pages/s of the wage guide (about 1,500 table rows) beside WeasyPrint
  rendering one plain table of the same rows, and an enterprise report's warm seconds.

``bench.data`` is the seeded generator of synthetic salary surveys they (and demos) share.
"""
