"""The negotiation brief in the browser, through HTTP on SQLite and PostgreSQL: the
enterprise reads its brief (the page's figures are the API's), issues its union negotiator
a token on the page; the negotiator signs in with it, reads that brief and downloads its
PDF, and nothing else; a wrong token, an analyst and another enterprise are refused; the
bureau reads any enterprise's brief."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from pypdf import PdfReader

from tests.conftest import Service
from tests.factories import invite
from tests.integration.reports.report_helpers import released_campaign
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in
from tests.samples import uscc


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _assert_figures(html: str, brief: dict[str, Any]) -> None:
    """Every own and city figure of the JSON brief is on the page, in its occupation's row."""
    shown = 0
    for o in brief["occupations"]:
        row = html.split(f'data-occupation="{o["occupation"]}"', 1)[1].split("</tr>", 1)[0]
        if o["own"]["shown"]:
            for name in ("p25", "p50", "p75", "mean"):
                assert _money(o["own"][name]) in row, (o["occupation"], name)
            shown += 1
        else:
            assert "不列示" in row
        city = o["reference"]["city"]
        assert (_money(city["p50"]) if city["published"] else "—") in row
    assert shown


async def _pdf(service: Service, path: str) -> PdfReader:
    """Follow the page's PDF link until the worker has made it, then download it."""
    for _ in range(100):
        response = await service.client.get(path)
        if response.status_code == 303:
            pdf = await service.client.get(response.headers["location"])
            assert pdf.status_code == 200, pdf.text
            assert pdf.headers["content-type"] == "application/pdf"
            return PdfReader(io.BytesIO(pdf.content))
        assert response.status_code == 202, response.text
        assert 'http-equiv="refresh"' in response.text
        await asyncio.sleep(0.1)
    raise AssertionError("the PDF was never made")


async def test_the_enterprise_and_its_negotiator_read_the_brief_in_the_browser(
    service: Service,
) -> None:
    campaign_id, _, _ = await released_campaign(service)
    code = (await invite(service, campaign_id, 0, reissue=True))[0]
    expected = (
        await service.client.get(
            f"/api/v1/campaigns/{campaign_id}/briefs/{uscc(0)}", headers=service.admin
        )
    ).json()
    assert (await sign_in(service, code)).status_code == 303
    home = await service.client.get("/e")
    assert 'href="/e/brief"' in home.text
    page = await service.client.get("/e/brief")
    assert page.status_code == 200, page.text
    assert_well_formed(page.text)
    _assert_figures(page.text, expected)
    issued = await service.client.post(
        "/e/brief/negotiator",
        data={"_csrf": csrf_of(page.text), "days": "30", "label": "工会主席 张三"},
    )
    assert issued.status_code == 201, issued.text
    assert_well_formed(issued.text)
    found = re.search(r'<code id="negotiator-token">([^<]+)</code>', issued.text)
    assert found is not None
    token = found.group(1)
    refused = await service.client.post(
        "/e/brief/negotiator", data={"_csrf": csrf_of(page.text), "days": "400"}
    )
    assert refused.status_code == 422

    # The negotiator, in another browser.
    service.client.cookies.clear()
    assert (await service.client.get("/n")).headers["location"] == "/n/signin"
    form = await service.client.get("/n/signin")
    assert_well_formed(form.text)
    wrong = await service.client.post(
        "/n/signin",
        data={"_csrf": csrf_of(form.text), "token": code},  # an invitation code
    )
    assert wrong.status_code == 401
    assert "令牌无效" in wrong.text
    signed = await service.client.post(
        "/n/signin", data={"_csrf": csrf_of(form.text), "token": token}
    )
    assert signed.status_code == 303, signed.text
    mine = await service.client.get("/n")
    assert mine.status_code == 200, mine.text
    _assert_figures(mine.text, expected)
    assert 'action="/e/brief/negotiator"' not in mine.text  # it issues nothing
    reader = await _pdf(service, "/n/pdf")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    assert "年工资集体协商参考" in text
    assert expected["enterprise"]["name"] in text
    # Nothing else: not the enterprise's pages, not the bureau's, not another's brief.
    for path in ("/e", "/e/brief", f"/admin/campaigns/{campaign_id}/briefs/{uscc(1)}"):
        response = await service.client.get(path)
        assert response.status_code == 303, path
        assert "signin" in response.headers["location"], path
    other = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/briefs/{uscc(1)}", headers={"X-CSRF-Token": "x"}
    )
    assert other.status_code in (401, 403, 404)

    # An analyst is refused; the bureau reads any enterprise's brief and issues its token.
    service.client.cookies.clear()
    expected = (
        await service.client.get(
            f"/api/v1/campaigns/{campaign_id}/briefs/{uscc(1)}", headers=service.admin
        )
    ).json()
    analyst = await service.token("analyst", label="analyst")
    form = await service.client.get("/analyst/signin")
    await service.client.post(
        "/analyst/signin", data={"token": analyst, "_csrf": csrf_of(form.text)}
    )
    path = f"/admin/campaigns/{campaign_id}/briefs/{uscc(1)}"
    refused = await service.client.get(path)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/admin/signin")
    service.client.cookies.clear()
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    page = await service.client.get(path)
    assert page.status_code == 200, page.text
    assert_well_formed(page.text)
    _assert_figures(page.text, expected)
    csrf = await page_csrf(service, path)
    issued = await service.client.post(f"{path}/negotiator", data={"_csrf": csrf})
    assert issued.status_code == 201, issued.text
    assert 'id="negotiator-token"' in issued.text
    missing = await service.client.get(f"/admin/campaigns/{campaign_id}/briefs/{uscc(99)}")
    assert missing.status_code == 404
