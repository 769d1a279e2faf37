"""Wage releases: making a 1,000,000-row release (2,000 enterprises) and reading its
occupation x district table, beside DuckDB computing the same percentiles over the same
rows in the same run.

Data: ``bench.aggregate.fill`` (the seeded ``bench.data`` surveys, 500 rows per
enterprise, written straight into ``wage_rows``) on SQLite.

Project:
- the release: ``analytics.releases.create_release`` (read the columns, protect every
  table an analyst can ask, write one row), once, timed whole, and separately the
  protection alone (``wage_structure.protect_wages`` over the same columns: the cost of
  protecting the whole set of tables, both measures), each with its peak memory;
- the table: the occupation (as reported) x district table with every margin from the
  release, as the route computes it (``wage_release.release_rows`` over the loaded release,
  the hidden cells from its stored pattern), the median of ``RUNS`` runs on a fresh
  release object each (nothing cached from an earlier run), and the first read of the
  release (decoding the stored row) beside it.

Baseline: DuckDB (in memory) over the same counted rows: ``count``, ``quantile_disc`` of
the five percentiles and ``avg`` over ``CUBE(occupation, district)`` (as
``bench.aggregate``); loading is not timed. Every published cell must agree with DuckDB.

Also the protection of the demo city (``make demo``'s 300 enterprises, seeded; many small
cells, so thousands of primary cells): ``protect_wages`` over its survey's columns, timed
whole, with the pattern's summary (cells, primary, complements, determined complements
published, linear programs). Reported, no baseline: no other tool protects this structure.

Targets: the table within 3x DuckDB and under 1 s; peak memory under 600 MB.
Nothing here is asserted: a figure below its target is reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from bench.aggregate import (
    ENTERPRISES,
    ROWS_PER_ENTERPRISE,
    Columns,
    _reset_peak,
    _rss_kib,
    duckdb_baseline,
    fill,
)
from bench.common import PROJECT_ROOT, BenchResult
from survey_service.analytics.disclosure import DisclosureRules
from survey_service.analytics.release_store import decode_wages
from survey_service.analytics.releases import create_release
from survey_service.analytics.wage_columns import read_columns
from survey_service.analytics.wage_release import WageRelease, release_rows
from survey_service.analytics.wage_structure import protect_wages
from survey_service.analytics.wages import WageQuery, load_campaign
from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import upgrade
from survey_service.db.models import Release
from survey_service.demo.fill import fill_demo
from survey_service.forms.registry import load_shipped_forms

RUNS = 3
TARGET_RATIO = 3.0
TARGET_SECONDS = 1.0
TARGET_MIB = 600.0
QUERY = WageQuery(["occupation", "district"])

T = TypeVar("T")


@dataclasses.dataclass
class Measured:
    seconds: float
    peak_rss_delta_mib: float | None
    traced_peak_mib: float | None
    value: Any

    @property
    def peak(self) -> float:
        return max(self.peak_rss_delta_mib or 0.0, self.traced_peak_mib or 0.0)


async def measured(fn: Callable[[], Awaitable[T]], *, traced: bool = True) -> Measured:
    """One timed call with its peak RSS above the RSS before it, then (``traced``) one
    more under tracemalloc for its peak of Python and numpy allocations."""
    gc.collect()
    reset = _reset_peak()
    before = _rss_kib("VmRSS")
    t0 = time.perf_counter()
    value = await fn()
    seconds = time.perf_counter() - t0
    rss = (_rss_kib("VmHWM") - before) / 1024 if reset else None
    traced_peak = None
    if traced:
        gc.collect()
        tracemalloc.start()
        await fn()
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return Measured(seconds, rss, traced_peak, value)


def published_disagreements(rows: list[dict[str, Any]], duck: dict[Any, Any]) -> int:
    bad = 0
    for row in rows:
        if row["suppressed"]:
            continue
        n, q, _ = duck[(row["occupation"], row["district"])]
        figures = tuple(row[k] for k in ("p10", "p25", "p50", "p75", "p90"))
        if n != row["n_workers"] or figures != tuple(q):
            bad += 1
    return bad


async def main() -> BenchResult:
    lines: list[str] = []
    columns: Columns = {"occupation": [], "district": [], "v": []}
    with tempfile.TemporaryDirectory() as tmp:
        db: Database = open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(db.engine)
        t0 = time.perf_counter()
        campaign_id = await fill(db, columns)
        lines.append(
            f"release     {ENTERPRISES * ROWS_PER_ENTERPRISE:,} rows written in "
            f"{time.perf_counter() - t0:.0f} s; {len(columns['v']):,} with 12 months"
        )

        async def make() -> Any:
            return await create_release(
                db, campaign_id, during_collection=True, note=None, created_by=None,
                audit=lambda session, info: None,
            )  # fmt: skip

        made = await measured(make, traced=False)
        info = made.value
        async with db.read() as session:
            campaign = await load_campaign(session, campaign_id)
            assert campaign is not None
            wage_columns = await read_columns(session, campaign)
            row = await session.scalar(
                select(Release).where(
                    Release.campaign_id == campaign_id, Release.number == info.number
                )
            )
            assert row is not None
        rules = DisclosureRules.from_settings(campaign.settings.get("disclosure"))

        async def protect() -> Any:
            return await asyncio.to_thread(protect_wages, wage_columns, rules, 12, [])

        protection = await measured(protect)
        first = await measured(lambda: asyncio.to_thread(decode_wages, row), traced=False)
        loaded: WageRelease = first.value
        runs: list[Measured] = []
        for _ in range(RUNS):
            fresh = dataclasses.replace(loaded, _populations={}, _dimensions={})

            async def table(release: WageRelease = fresh) -> Any:
                return release_rows(release, QUERY)

            runs.append(await measured(table, traced=len(runs) == 0))
        await db.dispose()
    duck_seconds, duck_cells = duckdb_baseline(columns)
    del columns
    table_seconds = statistics.median(r.seconds for r in runs)
    table_peak = max(r.peak for r in runs)
    rows = runs[0].value.rows
    hidden = sum(r["suppressed"] for r in rows)
    bad = published_disagreements(rows, duck_cells)
    summary = info.summary
    lines.append(
        f"release     made in {made.seconds:.1f} s (peak RSS +{made.peak:.0f} MiB); the "
        f"protection alone {protection.seconds:.1f} s (peak {protection.peak:.0f} MiB) over "
        f"{summary.get('cells', '?')} cells, {summary.get('hidden', '?')} hidden"
    )
    lines.append(
        f"release     occupation x district: {len(rows):,} rows ({hidden:,} hidden), "
        f"{table_seconds:.3f} s (runs {[round(r.seconds, 3) for r in runs]}), peak "
        f"{table_peak:.0f} MiB; first read of the release {first.seconds:.2f} s; DuckDB "
        f"{duck_seconds:.3f} s; published cells differing from DuckDB: {bad}"
    )
    ratio = table_seconds / duck_seconds
    met = ratio <= TARGET_RATIO and table_seconds < TARGET_SECONDS and table_peak < TARGET_MIB
    met = met and bad == 0
    return BenchResult(
        name="release",
        figure=f"table {table_seconds:.2f} s, {table_peak:.0f} MiB; release {made.seconds:.0f} s",
        baseline=f"DuckDB {duck_seconds:.3f} s",
        ratio=f"{ratio:.1f}x DuckDB",
        target="<= 3x, < 1 s, < 600 MB",
        met=met,
        lines=tuple(lines),
        data={
            "rows": ENTERPRISES * ROWS_PER_ENTERPRISE,
            "enterprises": ENTERPRISES,
            "release_seconds": round(made.seconds, 2),
            "release_peak_rss_delta_mib": made.peak_rss_delta_mib,
            "protection_seconds": round(protection.seconds, 2),
            "protection_peak_mib": round(protection.peak, 1),
            "release_summary": summary,
            "first_read_seconds": round(first.seconds, 3),
            "table_seconds": round(table_seconds, 3),
            "table_runs": [round(r.seconds, 3) for r in runs],
            "table_peak_mib": round(table_peak, 1),
            "table_rows": len(rows),
            "table_hidden": hidden,
            "duckdb_seconds": round(duck_seconds, 3),
            "disagreements": bad,
        },
    )


async def demo_city_protection() -> tuple[float, dict[str, Any]]:
    """Seconds and summary of protecting the demo city's salary survey (the engine alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}")
        await upgrade(db.engine)
        await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
        summary = await fill_demo(db, releases=False, say=lambda _: None)
        survey = summary.campaigns[1]  # this year's salary survey
        async with db.read() as session:
            campaign = await load_campaign(session, survey.id)
            assert campaign is not None
            columns = await read_columns(session, campaign)
        await db.dispose()
    rules = DisclosureRules.from_settings(campaign.settings.get("disclosure"))
    started = time.perf_counter()
    pattern = await asyncio.to_thread(protect_wages, columns, rules, 12, [])
    return time.perf_counter() - started, pattern.summary | {"rows": len(columns.monthly)}


def run() -> BenchResult:
    outcome = asyncio.run(main())
    seconds, summary = asyncio.run(demo_city_protection())
    line = (
        f"release     demo city (300 enterprises, {summary['rows']:,} rows): protected in "
        f"{seconds:.1f} s; {summary['cells']:,} cells, {summary['primary']:,} primary, "
        f"{summary['secondary']:,} complements, {summary['republished']} determined "
        f"complements published, {summary['linear_programs']:,} linear programs"
    )
    data = outcome.data | {"demo_city_seconds": round(seconds, 1), "demo_city_summary": summary}
    return dataclasses.replace(outcome, lines=(*outcome.lines, line), data=data)


if __name__ == "__main__":
    outcome = run()
    print("\n".join(outcome.lines))
    print(outcome.figure, "|", outcome.baseline, "|", outcome.ratio, "| met:", outcome.met)
