"""Benchmarks: every figure printed beside its baseline, measured in the same run.

``python -m bench`` runs the modules listed in ``bench.__main__.BENCHES``:

- ``bench.validation``: rows/s validating a 1,000-row salary survey, the project's validator
  against python-jsonschema.
- ``bench.form_fetch``: req/s and latency of the form-schema route against a bare route
  serving the same bytes, over HTTP on 127.0.0.1.

- ``bench.aggregate``: seconds and peak memory of the occupation x district wage table with
  disclosure control over 1,000,000 rows (SQLite and PostgreSQL), beside DuckDB's
  ``quantile_disc`` over the same rows.

``bench.data`` is the seeded generator of synthetic salary surveys they (and demos) share.
"""
