"""A poll's links from the bureau's pages through HTTP on SQLite and PostgreSQL: make a link,
rotate it (the old address then answers as the API's rotation does: unknown), revoke it
(410), and print posters (one A4 page per link with its address, the enterprise and the
anonymity promise of the poll's form), read back from the PDF."""

from __future__ import annotations

import io
import json
import re

import httpx
from pypdf import PdfReader

from tests.conftest import Service
from tests.factories import create_campaign
from tests.integration.other_settings import client_with
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in
from tests.paths import PROJECT_ROOT
from tests.samples import enterprise, uscc

PUBLIC = "https://survey.tongchuan.example"
PROMISE = json.loads((PROJECT_ROOT / "form_schemas" / "worker-satisfaction.json").read_text())[
    "ui"
]["anonymity_notice"]


async def _setup(service: Service) -> int:
    registered = await service.client.post(
        "/api/v1/enterprises",
        json=[enterprise(1), enterprise(2, district="610204", name="耀州示例企业")],
        headers=service.admin,
    )
    assert registered.status_code == 201, registered.text
    campaign_id = await create_campaign(service, "worker-satisfaction", year=2024)
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    return campaign_id


async def _links(service: Service, campaign_id: int) -> dict[str, dict[str, object]]:
    listed = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links", headers=service.admin
    )
    return {link["enterprise"]: link for link in listed.json()["items"]}


async def _make(client: httpx.AsyncClient, campaign_id: int, n: int) -> None:
    page = await client.get(f"/admin/campaigns/{campaign_id}/poll-links")
    made = await client.post(
        f"/admin/campaigns/{campaign_id}/poll-links",
        data={"_csrf": csrf_of(page.text), "enterprise": uscc(n)},
    )
    assert made.status_code == 303, made.text


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def test_a_link_is_made_rotated_and_revoked_from_the_page(service: Service) -> None:
    campaign_id = await _setup(service)
    listed = await service.client.get(f"/admin/campaigns/{campaign_id}/poll-links")
    assert listed.status_code == 200
    assert_well_formed(listed.text)
    assert listed.text.count(">生成链接<") == 2
    await _make(service.client, campaign_id, 1)
    old = str((await _links(service, campaign_id))[uscc(1)]["link"])
    assert (await service.client.get(f"/p/{old}")).status_code == 200

    csrf = await page_csrf(service, f"/admin/campaigns/{campaign_id}/poll-links")
    rotated = await service.client.post(
        f"/admin/campaigns/{campaign_id}/poll-links/{old}/rotate", data={"_csrf": csrf}
    )
    assert rotated.status_code == 303
    shown = await service.client.get(rotated.headers["location"])
    assert "旧链接已停止使用" in shown.text
    new = str((await _links(service, campaign_id))[uscc(1)]["link"])
    assert new != old
    assert (await service.client.get(f"/p/{old}")).status_code == 404
    assert (await service.client.get(f"/api/v1/polls/{old}")).status_code == 404
    assert (await service.client.get(f"/p/{new}")).status_code == 200

    revoked = await service.client.post(
        f"/admin/campaigns/{campaign_id}/poll-links/{new}/revoke", data={"_csrf": csrf}
    )
    assert revoked.status_code == 303
    assert (await service.client.get(f"/p/{new}")).status_code == 410
    assert (await service.client.get(f"/api/v1/polls/{new}")).status_code == 410
    again = await service.client.get(f"/admin/campaigns/{campaign_id}/poll-links")
    assert "已收回" in again.text
    assert ">重新生成链接<" in again.text
    # An unknown link, a forged post: nothing happens.
    unknown = await service.client.post(
        f"/admin/campaigns/{campaign_id}/poll-links/{old}/revoke", data={"_csrf": csrf}
    )
    assert unknown.status_code == 404
    forged = await service.client.post(
        f"/admin/campaigns/{campaign_id}/poll-links", data={"_csrf": "x", "enterprise": uscc(2)}
    )
    assert forged.status_code == 403
    assert uscc(2) not in await _links(service, campaign_id)


async def test_posters_carry_the_qr_link_and_the_anonymity_promise(service: Service) -> None:
    campaign_id = await _setup(service)
    async with client_with(service, public_base_url=PUBLIC) as client:
        form = await client.get("/admin/signin")
        signed = await client.post(
            "/admin/signin", data={"token": service.admin_token, "_csrf": csrf_of(form.text)}
        )
        assert signed.status_code == 303
        nothing = await client.get(f"/admin/campaigns/{campaign_id}/poll-links/posters.pdf")
        assert nothing.status_code == 404
        for n in (1, 2):
            await _make(client, campaign_id, n)
        links = await _links(service, campaign_id)
        one = await client.get(
            f"/admin/campaigns/{campaign_id}/poll-links/{links[uscc(1)]['link']}/poster.pdf"
        )
        every = await client.get(f"/admin/campaigns/{campaign_id}/poll-links/posters.pdf")
    assert one.status_code == 200, one.text
    assert one.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(one.content))
    assert len(reader.pages) == 1
    text = _flat(reader.pages[0].extract_text())
    assert _flat(enterprise(1)["name"]) in text
    assert f"{PUBLIC}/p/{links[uscc(1)]['link']}" in text
    assert _flat(PROMISE["zh"]) in text
    assert "2024年职工满意度调查" in text

    pages = PdfReader(io.BytesIO(every.content)).pages
    assert len(pages) == 2
    texts = [_flat(p.extract_text()) for p in pages]
    assert any("耀州示例企业" in t and str(links[uscc(2)]["link"]) in t for t in texts)

    # A withdrawn link's poster is gone, as its QR code is.
    csrf = await page_csrf(service, f"/admin/campaigns/{campaign_id}/poll-links")
    slug = links[uscc(2)]["link"]
    await service.client.post(
        f"/admin/campaigns/{campaign_id}/poll-links/{slug}/revoke", data={"_csrf": csrf}
    )
    gone = await service.client.get(f"/admin/campaigns/{campaign_id}/poll-links/{slug}/poster.pdf")
    assert gone.status_code == 410
