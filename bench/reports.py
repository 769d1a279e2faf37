"""PDF reports: the wage guide for about 1,500 table rows and an enterprise report, beside
WeasyPrint rendering one plain HTML table of the same rows in the same run.

Data: the demo city (``survey_service.demo.fill.fill_demo``, seeded) with ``ENTERPRISES``
enterprises on a fresh SQLite file, its salary campaign released once (reports read
releases); the release's occupation x district wage table (every district and the city row
of each occupation) has about 1,500 rows.

Project: ``survey_service.reports.jobs.build_pdf``, as the report worker runs it: the figures
gathered through the analytics functions, the sections rendered by a pool of
``os.cpu_count()`` processes (started and warmed before the clock), joined and numbered.
The guide's time is the median of ``RUNS`` runs; pages/s counts every page of it (cover,
method, tables, charts, year-on-year).

Baseline: ``weasyprint.HTML(...).write_pdf()`` in this process of one HTML table with the
same rows (occupation, district, enterprises, workers, P10-P90, mean; suppressed cells
empty) in the same CJK font, no other page: pages/s over ``RUNS`` runs (median).

Targets: the guide at least 2x the plain render's pages/s; an enterprise report under
1.5 s warm (the median of ``RUNS`` runs after a first one) and under 5 s the first time
after the rendering processes started; the guide's PDF under 1 MB, and the guide of a small
campaign (a demo city of ``SMALL_ENTERPRISES`` enterprises, on a file of its own) under
400 kB. The sizes are printed beside those of the same reports joined with each section's
own fonts (as WeasyPrint embeds them).
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2
import weasyprint
from pypdf import PdfReader
from sqlalchemy import select

from bench.common import PROJECT_ROOT, BenchResult
from survey_service.analytics.release_store import ReleaseStore, release_wage_table
from survey_service.analytics.releases import create_release
from survey_service.analytics.wages import WageQuery, load_campaign
from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import upgrade
from survey_service.db.models import Campaign, Enterprise, Submission
from survey_service.demo.fill import fill_demo
from survey_service.forms.registry import load_shipped_forms
from survey_service.reports import fonts
from survey_service.reports.jobs import build_pdf
from survey_service.reports.render import process_pool
from survey_service.settings import Settings

ENTERPRISES = 270
SMALL_ENTERPRISES = 8
RUNS = 3
TARGET_RATIO = 2.0
TARGET_ENTERPRISE_SECONDS = 1.5
TARGET_GUIDE_BYTES = 1_000_000
TARGET_SMALL_GUIDE_BYTES = 400_000
TARGET_FIRST_SECONDS = 5.0

PLAIN = jinja2.Template(
    """<!doctype html><html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 15mm; }
body { font-family: "Noto Sans CJK SC", sans-serif; font-size: 8pt; }
table { width: 100%; border-collapse: collapse; }
th, td { border: 0.5pt solid #999; padding: 1pt 3pt; text-align: right; }
</style></head><body><table>
<thead><tr><th>职业</th><th>区县</th><th>企业</th><th>职工</th><th>P10</th><th>P25</th><th>P50</th>
<th>P75</th><th>P90</th><th>均值</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.occupation }}</td><td>{{ r.district }}</td>
<td>{{ r.n_enterprises or "" }}</td><td>{{ r.n_workers or "" }}</td><td>{{ r.p10 or "" }}</td>
<td>{{ r.p25 or "" }}</td><td>{{ r.p50 or "" }}</td><td>{{ r.p75 or "" }}</td>
<td>{{ r.p90 or "" }}</td><td>{{ r.mean or "" }}</td></tr>
{% endfor %}</tbody></table></body></html>""",
    autoescape=True,
)


async def _campaigns(db: Database) -> tuple[int, str]:
    """The demo's salary campaign of the year and an enterprise that answered it."""
    async with db.read() as session:
        campaign_id, uscc = (
            await session.execute(
                select(Campaign.id, Enterprise.uscc)
                .join(Submission, Submission.campaign_id == Campaign.id)
                .join(Enterprise, Enterprise.id == Submission.enterprise_id)
                .where(Campaign.title.like("%企业薪酬调查"))
                .order_by(Campaign.year.desc(), Enterprise.id)
                .limit(1)
            )
        ).one()
    return int(campaign_id), str(uscc)


async def _table_rows(db: Database, campaign_id: int) -> list[dict[str, Any]]:
    """The guide's table of the campaign's release (made now: reports read releases)."""
    made = await create_release(
        db, campaign_id, during_collection=True, note=None, created_by=None,
        audit=lambda session, info: None,
    )  # fmt: skip
    async with db.read() as session:
        campaign = await load_campaign(session, campaign_id)
        assert campaign is not None
        table = await release_wage_table(
            session, ReleaseStore(), campaign, made.number,
            WageQuery(["occupation", "district"]), detailed=False,
        )  # fmt: skip
    return [r for r in table.rows if r["occupation"] != "*"]


def plain_render(rows: list[dict[str, Any]]) -> tuple[float, int]:
    html = PLAIN.render(rows=rows)
    started = time.perf_counter()
    pdf = weasyprint.HTML(string=html).write_pdf()
    seconds = time.perf_counter() - started
    return seconds, len(PdfReader(io.BytesIO(pdf)).pages)


async def main() -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="survey-bench-reports-") as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'survey.db'}", var_dir=Path(tmp)
        )
        db = open_database(settings.database_url)
        await upgrade(db.engine)
        await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
        await fill_demo(db, enterprises_count=ENTERPRISES, releases=False, say=lambda _: None)
        campaign_id, uscc = await _campaigns(db)
        rows = await _table_rows(db, campaign_id)
        workers = os.cpu_count() or 1
        pool = process_pool(workers)
        try:
            list(pool.map(abs, range(workers)))  # the workers are started and warmed
            guide_params = {"campaign_id": campaign_id}
            guide: list[float] = []
            pages = 0
            guide_pdf = b""
            for _ in range(RUNS):
                started = time.perf_counter()
                guide_pdf, pages = await build_pdf(
                    db, settings, "wage-benchmark", guide_params, pool
                )
                guide.append(time.perf_counter() - started)
            sizes = await _sizes(db, settings, pool, campaign_id, guide_params, len(guide_pdf))
            sizes |= await _small_guide(Path(tmp), pool)
            ent_params = {"campaign_id": campaign_id, "enterprise": uscc}
            started = time.perf_counter()
            await build_pdf(db, settings, "enterprise", ent_params, pool)  # the first, cold
            first = time.perf_counter() - started
            enterprise: list[float] = []
            ent_pages = 0
            for _ in range(RUNS):
                started = time.perf_counter()
                _, ent_pages = await build_pdf(db, settings, "enterprise", ent_params, pool)
                enterprise.append(time.perf_counter() - started)
        finally:
            pool.shutdown()
            await db.dispose()
        plain = [plain_render(rows) for _ in range(RUNS)]
    return result(len(rows), pages, guide, plain, ent_pages, enterprise, first, workers, sizes)


async def _small_guide(tmp: Path, pool: Any) -> dict[str, int]:
    """The wage guide of a small campaign (``SMALL_ENTERPRISES``), and its size with each
    section's own fonts."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'small.db'}", var_dir=tmp / "small"
    )
    db = open_database(settings.database_url)
    try:
        await upgrade(db.engine)
        await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
        await fill_demo(db, enterprises_count=SMALL_ENTERPRISES, releases=False, say=lambda _: None)
        campaign_id, _ = await _campaigns(db)
        await _table_rows(db, campaign_id)  # its release
        params = {"campaign_id": campaign_id}
        small, pages = await build_pdf(db, settings, "wage-benchmark", params, pool)
        original = fonts.share_fonts
        fonts.share_fonts = lambda writer: 0
        try:
            apart, _ = await build_pdf(db, settings, "wage-benchmark", params, pool)
        finally:
            fonts.share_fonts = original
    finally:
        await db.dispose()
    return {"small_guide": len(small), "small_guide_fonts_apart": len(apart),
            "small_guide_pages": pages}  # fmt: skip


async def _sizes(
    db: Database,
    settings: Settings,
    pool: Any,
    campaign_id: int,
    guide_params: dict[str, Any],
    guide_size: int,
) -> dict[str, int]:
    """The guide's size and the participation circular's (a short report of several
    sections), each beside the same report with every section's own fonts (as joined
    before ``reports.fonts.share_fonts``)."""
    async with db.read() as session:
        year = await session.scalar(
            select(Campaign.campaign_year).where(Campaign.id == campaign_id)
        )
    circular_params = {"year": year, "annex": True}
    circular, _ = await build_pdf(db, settings, "participation", circular_params, pool)
    original = fonts.share_fonts
    fonts.share_fonts = lambda writer: 0
    try:
        guide_apart, _ = await build_pdf(db, settings, "wage-benchmark", guide_params, pool)
        circular_apart, _ = await build_pdf(db, settings, "participation", circular_params, pool)
    finally:
        fonts.share_fonts = original
    return {
        "guide": guide_size, "guide_fonts_apart": len(guide_apart),
        "circular": len(circular), "circular_fonts_apart": len(circular_apart),
    }  # fmt: skip


def result(
    rows: int,
    pages: int,
    guide: list[float],
    plain: list[tuple[float, int]],
    ent_pages: int,
    enterprise: list[float],
    first: float,
    workers: int,
    sizes: dict[str, int],
) -> BenchResult:
    guide_s = statistics.median(guide)
    plain_s = statistics.median(s for s, _ in plain)
    plain_pages = plain[0][1]
    mine, theirs = pages / guide_s, plain_pages / plain_s
    ratio = mine / theirs
    ent_s = statistics.median(enterprise)
    met = (
        ratio >= TARGET_RATIO
        and ent_s < TARGET_ENTERPRISE_SECONDS
        and sizes["guide"] < TARGET_GUIDE_BYTES
        and sizes["small_guide"] < TARGET_SMALL_GUIDE_BYTES
        and first < TARGET_FIRST_SECONDS
    )
    lines = (
        f"reports     wage guide {pages} pages ({rows:,} table rows) in {guide_s:.2f} s = "
        f"{mine:.1f} pages/s  ({workers} render processes)",
        f"            plain WeasyPrint table of the same rows: {plain_pages} pages in "
        f"{plain_s:.2f} s = {theirs:.1f} pages/s",
        f"            guide {ratio:.1f}x the plain render's pages/s (target ≥ {TARGET_RATIO:.0f}x)",
        f"            enterprise report {ent_pages} pages in {ent_s:.2f} s warm "
        f"(target < {TARGET_ENTERPRISE_SECONDS} s); medians of {RUNS} runs; the first "
        f"{first:.2f} s (target < {TARGET_FIRST_SECONDS:.0f} s)",
        f"            guide PDF {sizes['guide'] / 1e6:.2f} MB (target < "
        f"{TARGET_GUIDE_BYTES / 1e6:.0f} MB; {sizes['guide_fonts_apart'] / 1e6:.2f} MB with each "
        "section's own fonts)",
        f"            small campaign's guide ({SMALL_ENTERPRISES} enterprises, "
        f"{sizes['small_guide_pages']} pages) {sizes['small_guide'] / 1e3:.0f} kB (target < "
        f"{TARGET_SMALL_GUIDE_BYTES / 1e3:.0f} kB; {sizes['small_guide_fonts_apart'] / 1e3:.0f} kB "
        "with each section's own fonts)",
        f"            participation circular {sizes['circular'] / 1e3:.0f} kB "
        f"({sizes['circular_fonts_apart'] / 1e3:.0f} kB with each section's own fonts)",
    )
    return BenchResult(
        name="reports",
        figure=f"guide {mine:.1f} pages/s, {sizes['guide'] / 1e6:.2f} MB, small "
        f"{sizes['small_guide'] / 1e3:.0f} kB; enterprise {ent_s:.2f} s, first {first:.2f} s",
        baseline=f"plain {theirs:.1f} pages/s",
        ratio=f"{ratio:.1f}x",
        target=f"≥ {TARGET_RATIO:.0f}x, < 1 MB, small < 400 kB, enterprise < "
        f"{TARGET_ENTERPRISE_SECONDS} s, first < {TARGET_FIRST_SECONDS:.0f} s",
        met=met,
        lines=lines,
        data={"table_rows": rows, "guide_pages": pages, "guide_seconds": guide,
              "plain_pages": plain_pages, "plain_seconds": [s for s, _ in plain],
              "enterprise_pages": ent_pages, "enterprise_seconds": enterprise,
              "enterprise_first_seconds": first,
              "render_processes": workers, "pdf_bytes": sizes},
    )  # fmt: skip


def run() -> BenchResult:
    return asyncio.run(main())


if __name__ == "__main__":
    print("\n".join(run().lines))
