"""Validation throughput: rows per second of validating one 1,000-row salary submission.

Project: ``compile_schema`` once, then ``validate_document(validator, doc, schema=schema)``,
exactly what ``POST /api/v1/forms/{key}/validate`` runs (jsonschema-rs with the custom
formats, plus the builder's date-limit walk when the schema has date limits). Baseline:
python-jsonschema's
``Draft202012Validator`` with a ``FormatChecker`` carrying the same custom format functions
(``FORMAT_CHECKERS``), on the same document in the same run. Figures are medians of
repeated runs (best in the JSON); the target is project >= 50x the baseline.

The JSON also carries a breakdown of the project's time: jsonschema-rs alone, jsonschema-rs
without the Python format callbacks.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import jsonschema_rs

from bench.common import SALARY_FORM, BenchResult, Timing, grouped, ms, time_calls
from bench.data import make_rng, salary_document
from survey_service.forms.formats import FORMAT_CHECKERS
from survey_service.forms.validation import compile_schema, validate_document

ROWS = 1000
TARGET_RATIO = 50.0


def salary_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SALARY_FORM.read_text(encoding="utf-8"))["schema"]
    return schema


def baseline_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """python-jsonschema doing the same work: the same custom format functions, checked."""
    checker = jsonschema.FormatChecker()
    for name, function in FORMAT_CHECKERS.items():
        checker.checks(name)(function)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def _check_valid(project: list[Any], baseline: list[Any]) -> None:
    """The generated document must be valid for both, or the bench measures error paths."""
    if project or baseline:
        raise RuntimeError(
            f"the generated document is not valid: project {project[:3]}, "
            f"python-jsonschema {[e.message for e in baseline[:3]]}"
        )


def breakdown(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, float]:
    """Median seconds of the parts of ``validate_document`` on a valid document."""
    project = compile_schema(schema)
    no_formats = jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
    parts = {
        "jsonschema_rs_is_valid": lambda: project.is_valid(document),
        "jsonschema_rs_without_formats": lambda: no_formats.is_valid(document),
    }
    return {name: time_calls(fn, min_runs=20, min_seconds=0.3).median for name, fn in parts.items()}


def run() -> BenchResult:
    schema = salary_schema()
    document = salary_document(make_rng(), ROWS)
    project = compile_schema(schema)
    baseline = baseline_validator(schema)
    _check_valid(
        validate_document(project, document, schema=schema), list(baseline.iter_errors(document))
    )

    mine = time_calls(
        lambda: validate_document(project, document, schema=schema), min_runs=30, min_seconds=1.0
    )
    theirs = time_calls(lambda: list(baseline.iter_errors(document)), min_runs=5, min_seconds=2.0)
    parts = breakdown(schema, document)
    return result(mine, theirs, parts)


def result(mine: Timing, theirs: Timing, parts: dict[str, float]) -> BenchResult:
    mine_rate, theirs_rate = ROWS / mine.median, ROWS / theirs.median
    ratio = mine_rate / theirs_rate
    figure, baseline = f"{grouped(mine_rate)} rows/s", f"{grouped(theirs_rate)} rows/s"
    lines = (
        f"validation  project {figure} | python-jsonschema {baseline} | "
        f"ratio {ratio:.1f}x (target ≥ {TARGET_RATIO:.0f}x)",
        f"            {ROWS:,}-row document, median of {mine.runs} / {theirs.runs} runs: "
        f"project {ms(mine.median)} (best {ms(mine.best)}), "
        f"python-jsonschema {ms(theirs.median)} (best {ms(theirs.best)})",
        "            project breakdown: jsonschema-rs "
        f"{ms(parts['jsonschema_rs_is_valid'])} (without the Python format callbacks "
        f"{ms(parts['jsonschema_rs_without_formats'])}); the salary form has no date "
        "limits, so the builder's date walk is skipped",
    )
    return BenchResult(
        name="validation",
        figure=figure,
        baseline=baseline,
        ratio=f"{ratio:.1f}x",
        target=f"≥ {TARGET_RATIO:.0f}x",
        met=ratio >= TARGET_RATIO,
        lines=lines,
        data={
            "rows": ROWS,
            "project": {"rows_per_s": mine_rate, **_seconds(mine)},
            "python_jsonschema": {"rows_per_s": theirs_rate, **_seconds(theirs)},
            "ratio": ratio,
            "target_ratio": TARGET_RATIO,
            "project_breakdown_median_s": parts,
        },
    )


def _seconds(timing: Timing) -> dict[str, float | int]:
    return {"median_s": timing.median, "best_s": timing.best, "runs": timing.runs}


if __name__ == "__main__":
    print("\n".join(run().lines))
