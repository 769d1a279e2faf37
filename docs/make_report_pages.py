"""Render a page of each PDF report of the demo city as PNG for the README.

    PYTHONPATH=. .venv/bin/python docs/make_report_pages.py

A fresh SQLite database in a temporary directory is filled by the demo (seeded, so the
pictures change only when the reports or the data generator do), the three reports are
rendered as the report worker renders them, and the chosen pages are written to
``docs/reports/`` with pypdfium2.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pypdfium2
from sqlalchemy import select

from survey_service.db.engine import open_database
from survey_service.db.migrate import upgrade
from survey_service.db.models import Campaign, Enterprise, Submission
from survey_service.demo.fill import fill_demo
from survey_service.forms.registry import load_shipped_forms
from survey_service.reports.jobs import build_pdf
from survey_service.settings import Settings

OUT = Path(__file__).resolve().parent / "reports"
SCALE = 1.0  # 595 x 842 pixels for an A4 page


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}")
        db = open_database(settings.database_url)
        await upgrade(db.engine)
        await load_shipped_forms(db, settings.form_schemas_dir)
        summary = await fill_demo(db, enterprises_count=150, say=lambda _: None)
        async with db.read() as session:
            campaign_id, uscc = (
                await session.execute(
                    select(Campaign.id, Enterprise.uscc)
                    .join(Submission, Submission.campaign_id == Campaign.id)
                    .join(Enterprise, Enterprise.id == Submission.enterprise_id)
                    .where(Campaign.year == summary.year, Campaign.title.like("%薪酬调查"))
                    .order_by(Enterprise.id)
                    .limit(1)
                )
            ).one()
        wanted = {
            "wage-guide": ("wage-benchmark", {"campaign_id": campaign_id}, (1, 2)),
            "enterprise": ("enterprise", {"campaign_id": campaign_id, "enterprise": uscc}, (0, 2)),
            "brief": ("negotiation-brief", {"campaign_id": campaign_id, "enterprise": uscc}, (0,)),
            "circular": ("participation", {"year": summary.year, "annex": True}, (0,)),
        }
        OUT.mkdir(parents=True, exist_ok=True)
        for name, (kind, params, pages) in wanted.items():
            pdf, _ = await build_pdf(db, settings, kind, params, None)
            document = pypdfium2.PdfDocument(pdf)
            for page in pages:
                if page < len(document):
                    image = document[page].render(scale=SCALE).to_pil()
                    image.save(OUT / f"{name}-{page + 1}.png", optimize=True)
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
