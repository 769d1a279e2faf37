"""Wage-table aggregation: the full occupation x district table (as reported, 5 districts,
every margin) with disclosure control over 1,000,000 wage rows from 2,000 enterprises,
beside DuckDB computing the same percentiles over the same rows in the same run.

Data: ``bench.data.salary_document`` (seeded), 500 rows per enterprise, written straight
into ``wage_rows`` (and one submitted submission per enterprise) with Core executemany:
this bench measures aggregation, not ingest. The annual table counts the workers with 12
months (about 85% of the rows).

Project: ``survey_service.analytics.wages.wage_table`` on SQLite (columns fetched through
the driver, grouped with numpy) and, when reachable, on PostgreSQL (``percentile_disc``
over ``CUBE`` in SQL), each the median of ``RUNS`` runs after one warm-up. Memory: the
peak RSS above the RSS before the call (``VmHWM`` reset through ``/proc/self/clear_refs``)
and, in a separate run, tracemalloc's peak (Python and numpy allocations).

Baseline: DuckDB (in memory, its default threads) over a table of the same counted rows:
``count``, ``quantile_disc`` of the five percentiles and ``avg`` over ``CUBE(occupation,
district)``; loading the table is not timed. The figures are checked against the
project's: every published cell's count and percentiles must equal DuckDB's. Beside them,
the time Python's ``sqlite3`` alone takes to fetch the same rows (the project's query):
the floor of any fetch-then-compute path on SQLite.

Targets: the SQLite table within 3x DuckDB and under 3 s; peak memory under 600 MB.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
from sqlalchemy import Table, insert, make_url, select, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench.common import PROJECT_ROOT, BenchResult
from bench.data import SURVEY_YEAR, make_rng, salary_document
from survey_service.analytics.percentiles import QUANTILE_NAMES, QUANTILES
from survey_service.analytics.wages import (
    WageQuery,
    WageTable,
    base_query,
    load_campaign,
    wage_table,
)
from survey_service.collection.wages import WAGE_COLUMNS, wage_rows
from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import upgrade
from survey_service.db.models import (
    Campaign,
    Enterprise,
    Form,
    FormVersion,
    Submission,
    WageRow,
    utcnow,
)
from survey_service.forms.registry import load_shipped_forms

ENTERPRISES = 2000
ROWS_PER_ENTERPRISE = 500
BATCH = 20  # enterprises per insert
RUNS = 3
TARGET_RATIO = 3.0
TARGET_SECONDS = 3.0
TARGET_MIB = 600.0
PG_URL = os.environ.get("SURVEY_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
QUERY = WageQuery(["occupation", "district"])

Columns = dict[str, list[Any]]


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def _campaign(db: Database) -> int:
    async with db.transaction() as session:
        version_id = await session.scalar(
            select(FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Form.key == "salary-survey", FormVersion.status == "published")
        )
        now = utcnow()
        campaign = Campaign(
            form_version_id=version_id, title="bench", year=SURVEY_YEAR, campaign_year=SURVEY_YEAR,
            opens_at=now,
            closes_at=now, audience={}, settings={}, requires_review=False,
        )  # fmt: skip
        session.add(campaign)
        await session.flush()
        return campaign.id


async def fill(db: Database, duck: Columns | None) -> int:
    """The campaign's id, after writing every enterprise's rows (the same seed each call);
    the counted rows' columns are appended to ``duck`` when given."""
    await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
    campaign_id = await _campaign(db)
    async with db.transaction() as session:
        version_id = (await session.get(Campaign, campaign_id)).form_version_id  # type: ignore[union-attr]
    rng = make_rng()
    table = cast(Table, WageRow.__table__)
    for start in range(0, ENTERPRISES, BATCH):
        records: list[dict[str, Any]] = []
        async with db.transaction() as session:
            for n in range(start, start + BATCH):
                document = salary_document(rng, ROWS_PER_ENTERPRISE)
                head = document["enterprise"]
                enterprise = Enterprise(
                    uscc=f"{n:018d}", name=head["name"],
                    district=head["district"], industry=head["industry"],
                    size_class=head["size_class"], ownership=head["ownership"],
                )  # fmt: skip
                session.add(enterprise)
                await session.flush()
                sid = str(uuid.uuid4())
                session.add(
                    Submission(
                        id=sid, campaign_id=campaign_id, enterprise_id=enterprise.id,
                        form_version_id=version_id, status="submitted", review_state="pending",
                        revision=1, data={}, content_hash="bench",
                    )
                )  # fmt: skip
                await session.flush()
                rows = [
                    dict(zip(WAGE_COLUMNS, record, strict=True))
                    for record in wage_rows(
                        document["employees"], enterprise, submission_id=sid,
                        campaign_id=campaign_id,
                    )
                ]  # fmt: skip
                records += rows
                if duck is not None:
                    for r in rows:
                        if r["months_worked"] >= 12:
                            duck["occupation"].append(r["occupation"])
                            duck["district"].append(r["district"])
                            duck["v"].append(r["annual_pay"])
            await session.execute(insert(table), records)
    # Fresh statistics, as autovacuum would give a table this size after a bulk load.
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()
    return campaign_id


async def measure(db: Database, campaign_id: int) -> dict[str, Any]:
    async def once() -> WageTable:
        async with db.read() as session:
            campaign = await load_campaign(session, campaign_id)
            assert campaign is not None
            return await wage_table(session, campaign, QUERY)

    result = await once()  # warm-up
    seconds = []
    peak_delta = []
    for _ in range(RUNS):
        gc.collect()
        reset = _reset_peak()
        before = _rss_kib("VmRSS")
        t0 = time.perf_counter()
        result = await once()
        seconds.append(time.perf_counter() - t0)
        if reset:
            peak_delta.append((_rss_kib("VmHWM") - before) / 1024)
    gc.collect()
    tracemalloc.start()
    await once()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": statistics.median(seconds),
        "runs": [round(s, 3) for s in seconds],
        "peak_rss_delta_mib": max(peak_delta) if peak_delta else None,
        "traced_peak_mib": traced_peak / 2**20,
        "table": result,
    }


async def raw_fetch_seconds(db: Database, campaign_id: int, path: Path) -> float:
    """Python's sqlite3 alone fetching the rows the table is computed from (the project's
    own query): the floor of any fetch-then-compute path on SQLite."""
    async with db.read() as session:
        campaign = await load_campaign(session, campaign_id)
    assert campaign is not None
    query = base_query(campaign, QUERY.dimensions, QUERY.measure)
    sql = str(query.compile(dialect=sqlite_dialect(), compile_kwargs={"literal_binds": True}))
    connection = sqlite3.connect(path)
    try:
        t0 = time.perf_counter()
        connection.execute(sql).fetchall()
        return time.perf_counter() - t0
    finally:
        connection.close()


def duckdb_baseline(columns: Columns) -> tuple[float, dict[tuple[str, str], tuple[Any, ...]]]:
    arrays = {
        "occupation": np.array(columns["occupation"], dtype=object),
        "district": np.array(columns["district"], dtype=object),
        "v": np.array(columns["v"], dtype=np.float64),
    }
    con = duckdb.connect()
    con.register("arrays", arrays)
    con.execute("CREATE TABLE rows AS SELECT * FROM arrays")
    sql = (
        "SELECT GROUPING(occupation, district), occupation, district, count(*), "
        f"quantile_disc(v, {list(QUANTILES)}), avg(v) FROM rows GROUP BY CUBE(occupation, district)"
    )
    con.execute(sql).fetchall()  # warm-up
    seconds = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        rows = con.execute(sql).fetchall()
        seconds.append(time.perf_counter() - t0)
    con.close()
    cells = {}
    for g, occupation, district, n, q, mean in rows:
        key = ("*" if g & 2 else occupation, "*" if g & 1 else district)
        cells[key] = (n, tuple(q), mean)
    return statistics.median(seconds), cells


def disagreements(table: WageTable, duck: dict[tuple[str, str], tuple[Any, ...]]) -> int:
    """Published cells whose count or percentiles differ from DuckDB's."""
    bad = 0
    for row in table.rows:
        if row["suppressed"]:
            continue
        n, q, _ = duck[(row["occupation"], row["district"])]
        if n != row["n_workers"] or tuple(row[k] for k in QUANTILE_NAMES) != q:
            bad += 1
    return bad


async def _postgres() -> tuple[Database, str] | None:
    name = f"bench_aggregate_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with asyncio.timeout(10), admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None
    finally:
        await admin.dispose()
    db = open_database(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    await upgrade(db.engine)
    return db, name


async def _drop_postgres(name: str) -> None:
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def main() -> BenchResult:
    lines: list[str] = []
    columns: Columns = {"occupation": [], "district": [], "v": []}
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(db.engine)
        t0 = time.perf_counter()
        campaign_id = await fill(db, columns)
        lines.append(
            f"aggregate   {ENTERPRISES * ROWS_PER_ENTERPRISE:,} rows written in "
            f"{time.perf_counter() - t0:.0f} s; {len(columns['v']):,} with 12 months"
        )
        sqlite = await measure(db, campaign_id)
        fetch_floor = await raw_fetch_seconds(db, campaign_id, Path(tmp) / "bench.db")
        await db.dispose()
    duck_seconds, duck_cells = duckdb_baseline(columns)
    del columns
    table: WageTable = sqlite["table"]
    suppressed = sum(r["suppressed"] for r in table.rows)
    sqlite_bad = disagreements(table, duck_cells)
    lines.append(
        f"aggregate   table: {len(table.rows):,} rows ({suppressed:,} suppressed); "
        f"published cells differing from DuckDB: {sqlite_bad}"
    )
    lines.append(
        f"aggregate   SQLite+numpy {sqlite['seconds']:.2f} s (runs {sqlite['runs']}), peak RSS "
        f"+{sqlite['peak_rss_delta_mib'] or float('nan'):.0f} MiB, traced peak "
        f"{sqlite['traced_peak_mib']:.0f} MiB; DuckDB {duck_seconds:.3f} s; sqlite3 fetchall "
        f"of the same rows alone {fetch_floor:.2f} s"
    )
    data: dict[str, Any] = {
        "rows": ENTERPRISES * ROWS_PER_ENTERPRISE,
        "enterprises": ENTERPRISES,
        "table_rows": len(table.rows),
        "suppressed": suppressed,
        "duckdb_seconds": round(duck_seconds, 3),
        "sqlite3_fetchall_seconds": round(fetch_floor, 3),
        "sqlite": {k: v for k, v in sqlite.items() if k != "table"},
        "sqlite_disagreements": sqlite_bad,
    }
    postgres = await _postgres()
    if postgres is None:
        lines.append("aggregate   PostgreSQL not reachable: skipped")
    else:
        pg_db, name = postgres
        try:
            pg_campaign = await fill(pg_db, None)
            pg = await measure(pg_db, pg_campaign)
        finally:
            await pg_db.dispose()
            await _drop_postgres(name)
        pg_table: WageTable = pg["table"]
        same = [
            {k: v for k, v in r.items() if k not in {"p50_change", "mean_change"}}
            for r in pg_table.rows
        ] == [
            {k: v for k, v in r.items() if k not in {"p50_change", "mean_change"}}
            for r in table.rows
        ]
        data["postgresql"] = {k: v for k, v in pg.items() if k != "table"}
        data["postgresql_same_as_sqlite"] = same
        lines.append(
            f"aggregate   PostgreSQL (SQL) {pg['seconds']:.2f} s (runs {pg['runs']}), peak RSS "
            f"+{pg['peak_rss_delta_mib'] or float('nan'):.0f} MiB; same table as SQLite: {same}"
        )
    ratio = sqlite["seconds"] / duck_seconds
    peak = max(sqlite["peak_rss_delta_mib"] or 0, sqlite["traced_peak_mib"])
    met = (
        ratio <= TARGET_RATIO
        and sqlite["seconds"] < TARGET_SECONDS
        and peak < TARGET_MIB
        and sqlite_bad == 0
    )
    return BenchResult(
        name="aggregate",
        figure=f"{sqlite['seconds']:.2f} s, {peak:.0f} MiB",
        baseline=f"DuckDB {duck_seconds:.3f} s",
        ratio=f"{ratio:.1f}x DuckDB",
        target="<= 3x, < 3 s, < 600 MB",
        met=met,
        lines=tuple(lines),
        data=data,
    )


def run() -> BenchResult:
    return asyncio.run(main())


if __name__ == "__main__":
    outcome = run()
    print("\n".join(outcome.lines))
    print(outcome.figure, "|", outcome.baseline, "|", outcome.ratio, "| met:", outcome.met)
