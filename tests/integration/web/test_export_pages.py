"""The campaign page's data out: the microdata export asked for on the page, followed on
its own page until its file downloads with the session; the national layout's links."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile

from sqlalchemy import update

from survey_service.db.models import Export
from tests.conftest import Service
from tests.factories import create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.release_helpers import release
from tests.integration.web.helpers import assert_well_formed, csrf_of, english_words, sign_in
from tests.samples import salary_document, uscc


async def test_an_admin_exports_the_surveys_from_the_campaign_page(service: Service) -> None:
    await register_enterprises(service, 1, 2)
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2)
    ids = {await submit(service, campaign_id, tokens[n], salary_document(uscc(n))) for n in (1, 2)}
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    page = await service.client.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200
    section = page.text.split('id="exports"', 1)[1].split("</section>", 1)[0]
    assert 'value="sav"' in section
    national = section.split('id="national-csv" href="', 1)[1].split('"', 1)[0]
    layout = await service.client.get(national.replace("&amp;", "&"))
    assert layout.status_code == 200, layout.text
    assert layout.headers["content-type"] == "application/zip"

    asked = await service.client.post(
        f"/admin/campaigns/{campaign_id}/exports",
        data={"format": "csv", "_csrf": csrf_of(page.text)},
    )
    assert asked.status_code == 303, asked.text
    where = asked.headers["location"]
    assert where.startswith("/admin/exports/")
    for _ in range(100):
        shown = await service.client.get(where)
        if 'id="download"' in shown.text:
            break
        assert '<meta http-equiv="refresh"' in shown.text  # follows itself while running
        await asyncio.sleep(0.05)
    assert_well_formed(shown.text)
    assert english_words(shown.text) == []
    assert "已完成" in shown.text
    href = shown.text.split('id="download" href="', 1)[1].split('"', 1)[0]
    got = await service.client.get(href)
    assert got.status_code == 200
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        text = archive.read("submissions.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert {row[0] for row in rows} == ids

    # A format the page does not offer is refused, nothing recorded.
    refused = await service.client.post(
        f"/admin/campaigns/{campaign_id}/exports",
        data={"format": "pdf", "_csrf": csrf_of(page.text)},
    )
    assert refused.status_code == 422


async def test_the_page_exports_a_release_and_shows_an_expired_export(service: Service) -> None:
    await register_enterprises(service, 1)
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1)
    await submit(service, campaign_id, tokens[1], salary_document(uscc(1)))
    await release(service, campaign_id)
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    page = await service.client.get(f"/admin/campaigns/{campaign_id}")
    section = page.text.split('id="exports"', 1)[1].split("</section>", 1)[0]
    assert '<option value="1">第 1 次发布时的问卷</option>' in section
    national = section.split('class="national-release" href="', 1)[1].split('"', 1)[0]
    assert national.endswith("release=1")
    layout = await service.client.get(national.replace("&amp;", "&"))
    assert layout.status_code == 200, layout.text
    assert "release-1" in layout.headers["content-disposition"]
    for bad in ("abc", "0", "²"):
        refused = await service.client.post(
            f"/admin/campaigns/{campaign_id}/exports",
            data={"format": "csv", "release": bad, "_csrf": csrf_of(page.text)},
        )
        assert refused.status_code == 422, (bad, refused.text)
    asked = await service.client.post(
        f"/admin/campaigns/{campaign_id}/exports",
        data={"format": "csv", "release": "1", "_csrf": csrf_of(page.text)},
    )
    assert asked.status_code == 303, asked.text
    export_id = asked.headers["location"].rsplit("/", 1)[1]
    for _ in range(100):
        shown = await service.client.get(asked.headers["location"])
        if 'id="download"' in shown.text:
            break
        await asyncio.sleep(0.05)
    assert "第 1 次发布时的问卷" in shown.text.split('id="data">', 1)[1]
    got = await service.client.get(f"/api/v1/exports/{export_id}", headers=service.admin)
    assert (got.json()["release"], got.json()["surveys"]) == (1, 1)
    # Its file deleted after a week: the page says so (it broke on the status before).
    async with service.db.transaction() as session:
        await session.execute(update(Export).where(Export.id == export_id).values(status="expired"))
    expired = await service.client.get(asked.headers["location"])
    assert expired.status_code == 200
    assert "已过期" in expired.text
    assert 'id="download"' not in expired.text
