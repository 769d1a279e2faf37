"""Asking for a report over HTTP, waiting for its worker, and reading the PDF back."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from pypdf import PdfReader

from tests.conftest import Service
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.wage_helpers import seeded_campaign

WAIT_SECONDS = 120  # a bound on a stuck worker, not a performance figure
# Three or more English words in a row: a sentence for developers, not for the reader.
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[\s,;:()'*/.-]+[A-Za-z]{2,}){2,}")


async def ask(service: Service, headers: dict[str, str], **body: Any) -> tuple[int, dict[str, Any]]:
    response = await service.client.post("/api/v1/reports", json=body, headers=headers)
    return response.status_code, response.json()


async def wait_for(service: Service, headers: dict[str, str], report_id: str) -> dict[str, Any]:
    """The report once its worker has finished with it (done or failed)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            response = await service.client.get(f"/api/v1/reports/{report_id}", headers=headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("done", "failed"):
                return body
            await asyncio.sleep(0.2)


async def pdf_of(service: Service, headers: dict[str, str], report_id: str) -> PdfReader:
    response = await service.client.get(f"/api/v1/reports/{report_id}/pdf", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return PdfReader(io.BytesIO(response.content))


def text_of(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def embedded_fonts(reader: PdfReader) -> set[str]:
    """The names of the fonts whose programs are embedded in the PDF."""
    names: set[str] = set()
    for page in reader.pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for ref in fonts.values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            faces = [d.get_object() for d in descendants] if descendants else [font]
            for face in faces:
                descriptor = face.get("/FontDescriptor")
                if descriptor is None:
                    continue
                descriptor = descriptor.get_object()
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(face.get("/BaseFont")))
    return names


async def released_campaign(
    service: Service, **campaign: Any
) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    """The seeded salary campaign (12 enterprises, two districts), released once during
    collection: its id, what was submitted (one dict per worker) and the release."""
    campaign_id, workers = await seeded_campaign(service, **campaign)
    return campaign_id, workers, await release(service, campaign_id)


async def release_table(
    service: Service, campaign_id: int, number: int, **params: Any
) -> list[dict[str, Any]]:
    """The rows of a table of release ``number`` as an analyst downloads it (JSON)."""
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='analyst')}"}
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/benchmarks/wages",
        params=params | {"release": str(number)},
        headers=analyst,
    )
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["release"]["number"] == number
    rows: list[dict[str, Any]] = response.json()["rows"]
    return rows
