"""``python -m bench``: run every bench module in turn, print each figure beside its
baseline, then a summary table, and write the numbers to ``bench/out/latest.json``.

A bench module is any module with ``run() -> BenchResult``; adding one is one line in
``BENCHES``. A figure below target is reported, never fatal; the exit status is 1 only when
a bench could not run at all.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bench.common import PROJECT_ROOT, BenchResult
from bench.provenance import Provenance, provenance

BENCHES: tuple[str, ...] = (
    "bench.validation",
    "bench.form_fetch",
    "bench.ingest",
    "bench.upload",
    "bench.polls",
    "bench.aggregate",
    "bench.release",
    "bench.reports",
    "bench.exports",
    "bench.load",
)
OUT = PROJECT_ROOT / "bench" / "out" / "latest.json"


def load(module: str) -> Callable[[], BenchResult]:
    run: Callable[[], BenchResult] = importlib.import_module(module).run
    return run


def run_one(module: str) -> tuple[BenchResult | None, float, str | None]:
    """The bench's result (None if it failed), its wall time and the error if any."""
    start = time.perf_counter()
    try:
        outcome = load(module)()
    except Exception as exc:
        traceback.print_exc()
        return None, time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
    return outcome, time.perf_counter() - start, None


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def summary(results: dict[str, BenchResult | None], errors: dict[str, str]) -> str:
    rows: list[tuple[str, ...]] = [("bench", "project", "baseline", "ratio", "target", "met")]
    for module, outcome in results.items():
        name = module.removeprefix("bench.")
        if outcome is None:
            rows.append((name, "failed", errors[module][:60], "", "", ""))
        else:
            met = "yes" if outcome.met else "NO"
            rows.append(
                (name, outcome.figure, outcome.baseline, outcome.ratio, outcome.target, met)
            )
    return table(rows)


def environment(origin: Provenance) -> dict[str, Any]:
    return {
        **origin.as_json(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def write_json(
    origin: Provenance,
    results: dict[str, BenchResult | None],
    errors: dict[str, str],
    seconds: dict[str, float],
) -> None:
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(origin),
        "benches": {
            module.removeprefix("bench."): {
                "figure": outcome.figure,
                "baseline": outcome.baseline,
                "ratio": outcome.ratio,
                "target": outcome.target,
                "met": outcome.met,
                "seconds": round(seconds[module], 1),
                "data": outcome.data,
            }
            if outcome is not None
            else {"error": errors[module], "seconds": round(seconds[module], 1)}
            for module, outcome in results.items()
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> int:
    results: dict[str, BenchResult | None] = {}
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    origin = provenance()
    print(origin.line(), flush=True)
    for module in BENCHES:
        outcome, took, error = run_one(module)
        results[module], seconds[module] = outcome, took
        if error is not None:
            errors[module] = error
            print(f"{module.removeprefix('bench.'):11s} failed: {error}", flush=True)
        else:
            assert outcome is not None
            print("\n".join(outcome.lines), flush=True)
    print()
    print(summary(results, errors))
    write_json(origin, results, errors, seconds)
    stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {origin.line()}"
    took = sum(seconds.values())
    print(f"\nwritten to {OUT.relative_to(PROJECT_ROOT)} ({took:.0f}s in all; {stamp})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
