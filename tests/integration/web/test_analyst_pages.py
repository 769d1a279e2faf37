"""The analyst's page through HTTP on SQLite and PostgreSQL: sign in with an analyst's
token, read a released wage table with its hidden cells marked and why, the P10-P90 chart,
and the downloads (CSV, Excel, JSON, the wage guide's PDF) opened by the browser's session
and read back; live figures never reach an analyst through the page; an admin's session
opens it and sees the detailed reasons; other tokens do not sign in."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any

import pytest
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from tests.conftest import Service
from tests.factories import invited
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.score_helpers import poll as score_poll
from tests.integration.analytics.score_helpers import release as score_release
from tests.integration.analytics.wage_helpers import submit_workers, worker
from tests.integration.reports.report_helpers import released_campaign
from tests.integration.web.helpers import assert_well_formed, csrf_of, english_words, sign_in

WAIT_SECONDS = 120  # a bound on a stuck report worker, not a performance figure
TABLE = "by1=occupation_major&by2=district"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _analyst_session(service: Service) -> str:
    """Sign in on /analyst with a new analyst token; the token."""
    token = await service.token("analyst", label="统计局")
    form = await service.client.get("/analyst/signin")
    assert form.status_code == 200
    signed = await service.client.post(
        "/analyst/signin", data={"token": token, "_csrf": csrf_of(form.text)}
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/analyst"), signed.text
    return token


def _table_rows(html: str) -> list[str]:
    body = html.split('<table id="wage-table">', 1)[1].split("</tbody>", 1)[0]
    return body.split("<tbody>", 1)[1].split("<tr")[1:]


def _api_rows(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["occupation_major"], r["district"]): r for r in body["rows"]}


def _figures(row_html: str) -> list[str]:
    return re.findall(r'<td class="num">([^<]*)</td>', row_html)


async def test_an_analyst_reads_a_released_table_with_hidden_cells_marked(
    service: Service,
) -> None:
    campaign_id, _, made = await released_campaign(service)
    token = await _analyst_session(service)
    page = await service.client.get(f"/analyst?campaign={campaign_id}&{TABLE}")
    assert page.status_code == 200, page.text
    assert_well_formed(page.text)
    assert f"第 {made['number']} 次发布" in page.text
    api = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/benchmarks/wages",
        params={"by": "occupation_major,district"},
        headers=_bearer(token),
    )
    expected = list(_api_rows(api.json()).values())
    rows = _table_rows(page.text)
    assert len(rows) == len(expected)
    hidden = [r for r in expected if r["suppressed"]]
    assert hidden, "the seeded release hides some cells"
    for row_html, row in zip(rows, expected, strict=True):
        if row["suppressed"]:
            assert 'data-suppressed="confidential"' in row_html
            assert "※ 不予公布" in row_html
            assert '<td class="reason">保密</td>' in row_html
            assert _figures(row_html) == []  # no figure of a hidden cell on the page
        else:
            shown = _figures(row_html)
            assert shown[:2] == [str(row["n_enterprises"]), str(row["n_workers"])]
            assert shown[4] == f"{row['p50']:,.0f}"
    assert "以免由原因推算" not in page.text  # the analyst's explanation, not the admin's
    assert "一律不予公布，也不说明是哪一条规则" in page.text
    # The chart: P10-P90 of each major group over both districts, hidden ones said.
    svg = page.text.split('<svg class="spread"', 1)[1].split("</svg>", 1)[0]
    margins = [r for r in expected if r["district"] == "*"]
    for row in margins:
        if not row["suppressed"]:
            assert f"中位数 {row['p50']:,.0f}" in svg
    assert svg.count('class="hidden-group">保密') == sum(r["suppressed"] for r in margins)
    english = await service.client.get(f"/analyst?campaign={campaign_id}&{TABLE}&lang=en")
    assert "not published" in english.text
    assert "confidential" in english.text
    chinese = await service.client.get(f"/analyst?campaign={campaign_id}&{TABLE}&lang=zh")
    assert english_words(chinese.text.split("<table", 1)[0]) == []


@pytest.mark.slow  # renders the wage guide: seconds
async def test_the_downloads_open_with_the_session_and_say_what_the_page_says(
    service: Service,
) -> None:
    campaign_id, _, made = await released_campaign(service)
    await _analyst_session(service)
    page = await service.client.get(f"/analyst?campaign={campaign_id}&{TABLE}&measure=monthly")
    links = {
        fmt: href.replace("&amp;", "&")
        for fmt, href in re.findall(r'id="download-(\w+)" href="([^"]+)"', page.text)
    }
    assert set(links) == {"csv", "xlsx", "json"}
    got = {}
    for fmt, link in links.items():
        assert f"release={made['number']}" in link
        response = await service.client.get(link)  # the session, no bearer token
        assert response.status_code == 200, (fmt, response.text)
        got[fmt] = response
    body = got["json"].json()
    assert body["meta"]["release"]["content_hash"] == made["content_hash"]
    assert body["rules"]["measure"] == "monthly"
    lines = list(csv.reader(io.StringIO(got["csv"].content.decode("utf-8-sig"))))
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(got["xlsx"].content))
    cells = sheet.get_sheet_by_name("工资价位").to_python()
    assert lines[0] == [str(c) for c in cells[0]]
    assert len(lines) == len(cells) == len(body["rows"]) + 1 == len(_table_rows(page.text)) + 1
    reason = lines[0].index("保密原因")
    for row, line in zip(body["rows"], lines[1:], strict=True):
        assert (line[reason] == "保密") == row["suppressed"]
    # The wage guide: asked on the page, followed on its page, read back.
    csrf = csrf_of(page.text)
    asked = await service.client.post(
        "/analyst/guide", data={"_csrf": csrf, "campaign_id": str(campaign_id)}
    )
    assert asked.status_code == 303, asked.text
    report_page = asked.headers["location"]
    assert report_page.startswith("/analyst/reports/")
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            shown = await service.client.get(report_page)
            assert shown.status_code == 200
            if 'data-status="done"' in shown.text or 'data-status="failed"' in shown.text:
                break
            assert shown.headers["refresh"] == "3"
            await asyncio.sleep(0.2)
    assert 'data-status="done"' in shown.text, shown.text
    pdf_link = re.search(r'id="pdf" href="([^"]+)"', shown.text)
    assert pdf_link is not None
    pdf = await service.client.get(pdf_link.group(1))
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "2023年企业薪酬调查" in text
    assert made["content_hash"][:12] in text.replace("\n", "")


async def test_an_analyst_never_sees_live_figures_through_the_page(service: Service) -> None:
    campaign_id, _, _ = await released_campaign(service)
    await _analyst_session(service)
    before = await service.client.get(f"/analyst?campaign={campaign_id}&by1=district")
    # Three enterprises come in late: the live figures move, the release does not.
    for n in (40, 41, 42):
        await submit_workers(
            service, campaign_id, n, [worker("6-15-01-01", 300_000 + i) for i in range(20)]
        )
    after = await service.client.get(f"/analyst?campaign={campaign_id}&by1=district")
    assert _table_rows(after.text) == _table_rows(before.text)
    live = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/benchmarks/wages?by=district&release=live",
        headers=service.admin,
    )
    live_total = next(r for r in live.json()["rows"] if r["district"] == "*")
    assert str(live_total["n_workers"]) not in "".join(_figures(_table_rows(after.text)[-1]))
    for asked in ("release=live", "release=live&suppress=false"):
        refused = await service.client.get(f"/analyst?campaign={campaign_id}&by1=district&{asked}")
        assert refused.status_code == 403
        assert 'id="wage-table"' not in refused.text
        assert "analysts read releases" in refused.text
    # A campaign without a release: told so, nothing shown.
    unreleased, _ = await invited(service, 60)
    waiting = await service.client.get(f"/analyst?campaign={unreleased}")
    assert waiting.status_code == 409
    assert 'id="wage-table"' not in waiting.text
    # A second release is chosen by number, and the latest by default.
    second = await release(service, campaign_id)
    latest = await service.client.get(f"/analyst?campaign={campaign_id}&by1=district")
    assert f"第 {second['number']} 次发布" in latest.text
    first = await service.client.get(f"/analyst?campaign={campaign_id}&by1=district&release=1")
    assert _table_rows(first.text) == _table_rows(before.text)


async def test_an_admins_session_opens_the_page_with_the_detailed_reasons(
    service: Service,
) -> None:
    campaign_id, _, _ = await released_campaign(service)
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    page = await service.client.get(f"/analyst?campaign={campaign_id}&{TABLE}")
    assert page.status_code == 200
    reasons = set(re.findall(r'data-suppressed="([^"]+)"', page.text))
    assert reasons
    assert "confidential" not in reasons
    assert reasons <= {"min_enterprises", "min_workers", "p_percent", "dominance", "complementary"}
    assert "以免由原因推算" in page.text
    assert 'href="/admin"' in page.text
    # Not even an admin sees live figures here: the page shows releases only.
    live = await service.client.get(f"/analyst?campaign={campaign_id}&by1=district&release=live")
    assert live.status_code == 403
    assert 'id="wage-table"' not in live.text
    unreleased, _ = await invited(service, 60)
    waiting = await service.client.get(f"/analyst?campaign={unreleased}")
    assert waiting.status_code == 403
    assert "只显示已发布的数据" in waiting.text


async def test_only_analysts_and_admins_sign_in(service: Service) -> None:
    campaign_id, invitation = await invited(service, 1)
    assert (await service.client.get("/analyst")).headers["location"] == "/analyst/signin"
    for token in (invitation, "not-a-token", ""):
        form = await service.client.get("/analyst/signin")
        refused = await service.client.post(
            "/analyst/signin", data={"token": token, "_csrf": csrf_of(form.text)}
        )
        assert refused.status_code == 401, token
        assert "不是分析员令牌" in refused.text
    assert (await service.client.get("/analyst")).headers["location"] == "/analyst/signin"
    form = await service.client.get("/analyst/signin")
    stale = await service.client.post("/analyst/signin", data={"token": "x", "_csrf": "stale"})
    assert stale.status_code == 403
    admin = await service.client.post(
        "/analyst/signin", data={"token": service.admin_token, "_csrf": csrf_of(form.text)}
    )
    assert admin.status_code == 303
    signed = await service.client.get("/analyst")
    assert signed.status_code == 200
    assert "还没有已发布的工资调查" in signed.text
    out = await service.client.post("/analyst/signout", data={"_csrf": csrf_of(signed.text)})
    assert out.headers["location"] == "/analyst/signin"
    assert (await service.client.get("/analyst")).headers["location"] == "/analyst/signin"
    assert campaign_id


async def test_a_table_the_release_does_not_answer_is_said(service: Service) -> None:
    campaign_id, _, _ = await released_campaign(service)
    await _analyst_session(service)
    for query in (
        "by1=nonsense",
        "by1=occupation&by2=district&size_class=medium",  # three dimensions
        "by1=education&by2=district",  # education goes alone
        "by1=district&occupation=not-a-code",
    ):
        response = await service.client.get(f"/analyst?campaign={campaign_id}&{query}")
        assert response.status_code == 400, (query, response.status_code)
        assert 'id="table-error"' in response.text
        assert 'id="wage-table"' not in response.text
    bad_guide = await service.client.post(
        "/analyst/guide",
        data={"_csrf": csrf_of(response.text), "campaign_id": "99999"},
    )
    assert bad_guide.status_code == 404


async def test_an_analyst_reads_and_downloads_the_released_scores(service: Service) -> None:
    districts = {n: "610202" for n in range(1, 5)} | {n: "610203" for n in range(5, 9)}
    districts |= {9: "610204", 10: "610222"}  # one enterprise each: hidden
    poll_id, _ = await score_poll(service, {n: 10 for n in districts} | {9: 2, 10: 2}, districts)
    number = await score_release(service, poll_id)
    await _analyst_session(service)
    html = (await service.client.get("/analyst/scores")).text
    assert_well_formed(html)
    assert english_words(html) == []
    api = await service.client.get(
        f"/api/v1/campaigns/{poll_id}/satisfaction?by=district&release={number}",
        headers=_bearer(await service.token("analyst", label="a")),
    )
    groups = {g["key"]: g for g in api.json()["groups"]}
    table = html.split('id="scores"', 1)[1].split("</table>", 1)[0]
    wangyi = table.split("王益区", 1)[1].split("</tr>", 1)[0]
    assert f"{groups['610202']['dimensions'][0]['favourable'] * 100:.0f}%" in wangyi
    assert "答卷不足" in table.split("耀州区", 1)[1].split("</tr>", 1)[0]
    href = html.split('id="download-xlsx" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    download = await service.client.get(href)
    assert download.status_code == 200
    book = CalamineWorkbook.from_filelike(io.BytesIO(download.content))
    rows = book.get_sheet_by_name("职工满意度").to_python()
    assert {r[0] for r in rows[1:]} >= {"610202", "610204"}
    # A campaign without a score release is said, not shown.
    missing = await service.client.get("/analyst/scores?campaign=999")
    assert missing.status_code == 404
    assert "没有已发布的得分" in missing.text
