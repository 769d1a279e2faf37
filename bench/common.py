"""What every bench module shares: the result it hands to ``bench.__main__``, a repeat-timer
for in-process figures, and number formatting. No module asserts on time: a figure below
its target is reported (``met`` False), never raised."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SALARY_FORM = PROJECT_ROOT / "form_schemas" / "salary-survey.json"


@dataclass(frozen=True, slots=True)
class BenchResult:
    """One bench's figure beside its baseline, as printed and as written to JSON."""

    name: str
    figure: str  # the project's number, e.g. "123,456 rows/s"
    baseline: str  # the baseline's number from the same run
    ratio: str  # e.g. "52.6x" or "61% of bare"
    target: str  # e.g. ">= 50x"
    met: bool
    lines: tuple[str, ...]  # what the bench printed
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds per call over ``runs`` calls."""

    runs: int
    best: float
    median: float


def time_calls(
    fn: Callable[[], object], *, min_runs: int, min_seconds: float, max_runs: int = 10_000
) -> Timing:
    """Call ``fn`` at least ``min_runs`` times and for at least ``min_seconds`` (after one
    untimed warm-up call), the garbage collector off while timing."""
    fn()
    samples: list[float] = []
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        while len(samples) < max_runs and (
            len(samples) < min_runs or time.perf_counter() - start < min_seconds
        ):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    finally:
        if enabled:
            gc.enable()
    return Timing(runs=len(samples), best=min(samples), median=statistics.median(samples))


def grouped(value: float) -> str:
    """12345.6 -> "12,346"."""
    return f"{value:,.0f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"
