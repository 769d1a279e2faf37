"""Microdata exports: the time and the peak memory of one export, for the demo city's salary
survey and for a campaign of 1,000,000 wage rows, beside a plain export of the same rows.

Data: the demo city (``fill_demo``, seeded, ``ENTERPRISES`` enterprises) on a fresh SQLite
file; then a second salary campaign of ``BIG_SURVEYS`` surveys of ``BIG_ROWS`` employees
each (the demo's employees repeated with their pay varied), written straight to the
database.

Project: ``survey_service.collection.export_jobs.run_export`` in a process of its own per
export (as the server makes one: the surveys read ``BATCH`` at a time), its wall time and
its peak RSS (``VmHWM``), beside the same process's RSS before the export.

Baseline: the same employees written by Python's ``csv`` module from ``sqlite3`` (each
survey's JSON decoded, every value as it is, no zip) in a process of its own: wall time
and peak RSS.

No target but the bound the uploads have (a server under 400 MB): the peaks are stated.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import PROJECT_ROOT, BenchResult

ENTERPRISES = 270
BIG_SURVEYS = 100
BIG_ROWS = 10_000
FORMATS_SMALL = ("csv", "xlsx", "sav", "dta")
FORMATS_BIG = ("csv", "sav")  # XLSX: about 9,000 rows/s (xlsxwriter), 110 s for a million
BOUND_MIB = 400


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not carried over
    from the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _export(database_url: str, campaign_id: int, fmt: str, var_dir: Path) -> dict[str, Any]:
    from survey_service.collection.export_jobs import run_export
    from survey_service.db.engine import open_database
    from survey_service.db.models import Export, utcnow

    db = open_database(database_url)
    export_id = str(uuid.uuid4())
    async with db.transaction() as session:
        session.add(Export(id=export_id, campaign_id=campaign_id, format=fmt, district=None,
                           status="queued", requested_by="bench", created_at=utcnow()))  # fmt: skip
    before = _peak_mib()
    started = time.perf_counter()
    await run_export(db, var_dir, export_id)
    seconds = time.perf_counter() - started
    async with db.read() as session:
        row = await session.get(Export, export_id)
    await db.dispose()
    if row is None or row.status != "done":
        raise RuntimeError(f"the export failed: {row and row.reason}")
    return {"seconds": seconds, "peak_mib": _peak_mib(), "before_mib": before,
            "size": row.size, "rows": row.rows, "surveys": row.surveys}  # fmt: skip


def _plain(path: str, campaign_id: int, out: str) -> dict[str, Any]:
    before = _peak_mib()
    started = time.perf_counter()
    rows = 0
    with sqlite3.connect(path) as conn, open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for (data,) in conn.execute(
            "SELECT data FROM submissions WHERE campaign_id = ?", (campaign_id,)
        ):
            for employee in json.loads(data)["employees"]:
                writer.writerow(employee.values())
                rows += 1
    return {"seconds": time.perf_counter() - started, "peak_mib": _peak_mib(),
            "before_mib": before, "rows": rows}  # fmt: skip


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.exports", *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


async def _setup(database_url: str) -> tuple[int, int]:
    """The demo city's salary campaign, and a copy of it holding 1,000,000 wage rows."""
    from survey_service.db.engine import open_database
    from survey_service.db.migrate import upgrade
    from survey_service.db.models import Campaign, Enterprise, Submission
    from survey_service.demo.fill import fill_demo
    from survey_service.forms.registry import load_shipped_forms

    db = open_database(database_url)
    await upgrade(db.engine)
    await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
    await fill_demo(db, enterprises_count=ENTERPRISES, releases=False, say=lambda _: None)
    async with db.read() as session:
        campaign = await session.scalar(
            select(Campaign)
            .where(Campaign.title.like("%企业薪酬调查"))
            .order_by(Campaign.year.desc())
        )
        assert campaign is not None
        sample = await session.scalar(
            select(Submission).where(Submission.campaign_id == campaign.id).limit(1)
        )
        assert sample is not None
    rng = random.Random(7)
    employees = sample.data["employees"]
    async with db.transaction() as session:
        big = Campaign(
            form_version_id=campaign.form_version_id, title="导出测试：一百万条工资记录",
            year=campaign.year, campaign_year=campaign.campaign_year,
            opens_at=campaign.opens_at, closes_at=campaign.closes_at,
            audience=campaign.audience, settings=campaign.settings,
        )  # fmt: skip
        session.add(big)
        await session.flush()
        for n in range(BIG_SURVEYS):
            enterprise = Enterprise(
                uscc=f"91610200BENCH{n:04d}X", name=f"导出测试企业{n}", district="610202",
                industry="C30", size_class="large", staff_count=BIG_ROWS,
            )  # fmt: skip
            session.add(enterprise)
            await session.flush()
            rows = [
                employees[i % len(employees)] | {"annual_pay": 40_000 + rng.randrange(60_000)}
                for i in range(BIG_ROWS)
            ]
            data = sample.data | {"employees": rows}
            session.add(
                Submission(
                    id=str(uuid.uuid4()), campaign_id=big.id, enterprise_id=enterprise.id,
                    form_version_id=campaign.form_version_id, status="submitted",
                    review_state="pending", revision=1, data=data, content_hash="bench",
                )
            )  # fmt: skip
        ids = (campaign.id, big.id)
    await db.dispose()
    return ids


def run() -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="survey-bench-exports-") as tmp:
        path = Path(tmp) / "survey.db"
        url = f"sqlite+aiosqlite:///{path}"
        small, big = asyncio.run(_setup(url))
        found: dict[str, Any] = {}
        for name, campaign, formats in (("demo", small, FORMATS_SMALL), ("big", big, FORMATS_BIG)):
            found[name] = {fmt: _child("export", url, str(campaign), fmt, tmp) for fmt in formats}
            found[name]["plain"] = _child(
                "plain", str(path), str(campaign), str(Path(tmp) / "p.csv")
            )
    return result(found)


def result(found: dict[str, Any]) -> BenchResult:
    lines = []
    worst = 0.0
    for name, label in (("demo", f"demo city ({ENTERPRISES} enterprises)"),
                        ("big", f"{BIG_SURVEYS * BIG_ROWS:,} wage rows")):  # fmt: skip
        plain = found[name]["plain"]
        rows = plain["rows"]
        lines.append(f"            {label}: {rows:,} employee rows")
        for fmt, got in found[name].items():
            if fmt == "plain":
                continue
            worst = max(worst, got["peak_mib"])
            lines.append(
                f"              {fmt:<5} {got['seconds']:6.1f} s  {rows / got['seconds']:>9,.0f} "
                f"rows/s  peak {got['peak_mib']:5.0f} MB (before the export "
                f"{got['before_mib']:.0f} MB)  file {got['size'] / 1e6:.1f} MB"
            )
        lines.append(
            f"              plain csv from sqlite3: {plain['seconds']:6.1f} s  "
            f"{rows / plain['seconds']:>9,.0f} rows/s  peak {plain['peak_mib']:5.0f} MB"
        )
    big_csv, big_plain = found["big"]["csv"], found["big"]["plain"]
    lines[0] = "exports     " + lines[0].strip()
    return BenchResult(
        name="exports",
        figure=f"1M rows: CSV {big_csv['seconds']:.0f} s, peak {worst:.0f} MB (any format)",
        baseline=f"plain csv {big_plain['seconds']:.0f} s, {big_plain['peak_mib']:.0f} MB",
        ratio=f"{big_plain['seconds'] / big_csv['seconds']:.0%} of plain speed",
        target=f"peak stated (< {BOUND_MIB} MB as the uploads)",
        met=worst < BOUND_MIB,
        lines=tuple(lines),
        data=found,
    )


if __name__ == "__main__":
    if sys.argv[1] == "export":
        url, campaign, fmt, var_dir = sys.argv[2:6]
        print(json.dumps(asyncio.run(_export(url, int(campaign), fmt, Path(var_dir)))))
    else:
        print(json.dumps(_plain(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
