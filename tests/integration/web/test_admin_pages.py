"""The admin's pages and the poll page's CSRF choice through HTTP on SQLite and PostgreSQL:
sign-in, the dashboard's figures, QR codes, the builder's preview, the API opened by the
session only with the CSRF header, and a poll page that carries nothing per visitor."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from survey_service.db.models import PollResponse
from tests.conftest import Service
from tests.factories import bearer, invite, invited, open_poll, post_campaign, register_enterprises
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.score_helpers import poll as score_poll
from tests.integration.analytics.score_helpers import release as score_release
from tests.integration.reports.report_helpers import released_campaign
from tests.integration.web.helpers import (
    assert_well_formed,
    csrf_of,
    english_words,
    page_csrf,
    sign_in,
)
from tests.samples import POLL_ANSWER, enterprise, form_fields, local_day, salary_document, uscc

SHOW_IF_FIELDS: list[dict[str, Any]] = [
    {
        "type": "single_choice",
        "name": "has_union",
        "label": {"zh": "企业有工会吗？"},
        "required": True,
        "choices": [
            {"value": "yes", "label": {"zh": "有"}},
            {"value": "no", "label": {"zh": "没有"}},
        ],
    },
    {
        "type": "text",
        "name": "union_name",
        "label": {"zh": "<script>alert(1)</script>工会名称"},
        "required": True,
        "show_if": {"field": "has_union", "equals": "yes"},
    },
]


async def _admin_session(service: Service) -> None:
    response = await sign_in(service, service.admin_token, admin=True)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/admin"


async def test_only_a_valid_admin_token_signs_in(service: Service) -> None:
    analyst = await service.token("analyst", label="a")
    refused = await sign_in(service, analyst, admin=True)
    assert refused.status_code == 401
    assert "不是管理员或区县工作人员的令牌" in refused.text
    assert (await service.client.get("/admin")).headers["location"] == "/admin/signin"
    revoked = await service.token("admin", label="old")
    listed = await service.client.get("/api/v1/tokens", headers=service.admin)
    old = next(t for t in listed.json() if t["label"] == "old")
    await service.client.post(f"/api/v1/tokens/{old['id']}/revoke", headers=service.admin)
    assert (await sign_in(service, revoked, admin=True)).status_code == 401
    await _admin_session(service)
    dashboard = await service.client.get("/admin")
    assert dashboard.status_code == 200
    assert_well_formed(dashboard.text)


async def test_dashboard_shows_progress_by_district_and_the_downloads(service: Service) -> None:
    campaign_id, token = await invited(service, 1)
    await register_enterprises(service, 2, district="610204")
    await invite(service, campaign_id, 2)
    sample = enterprise(1)
    document = {
        "enterprise": {k: sample[k] for k in ("uscc", "name", "district", "industry")}
        | {"staff_count": 150, "has_union": True},
        "employees": [{"occupation": "6-01-02-03", "months_worked": 12, "annual_pay": 60000}],
    }
    submitted = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document, "status": "submitted"},
        headers=bearer(token),
    )
    assert submitted.status_code == 201, submitted.text
    await _admin_session(service)
    html = (await service.client.get("/admin")).text
    assert_well_formed(html)
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "王益区" in svg
    assert "耀州区" in svg
    assert "1 / 1 (100%)" in svg  # Wangyi: one invited, one submitted
    assert "0 / 1 (0%)" in svg  # Yaozhou
    assert "1 / 2 (50%)" in svg  # the whole city
    # No release yet: nothing to download, and the page says so.
    assert "/benchmarks/wages" not in html
    assert "尚无数据发布" in html
    assert "/api/v1/participation" not in html  # a table and bars (issue 14), not raw JSON
    # Participation by district against the targets, as /api/v1/participation says.
    section = html.split('id="participation"', 1)[1].split("</section>", 1)[0]
    rows = {
        row.split("</th>", 1)[0].rsplit(">", 1)[1]: row
        for row in section.split("<tbody>", 1)[1].split("<tr")[1:]
    }
    assert "<td>100.0%</td>" in rows["王益区"]
    assert '<td class="below">0.0%</td>' in rows["耀州区"]
    assert "50.0%" in rows["全市"]
    detail = await service.client.get(f"/admin/campaigns/{campaign_id}")
    assert detail.status_code == 200
    assert_well_formed(detail.text)
    assert '<td class="num">50%</td>' in detail.text


async def test_dashboard_downloads_the_latest_release(service: Service) -> None:
    campaign_id, _, made = await released_campaign(service)
    second = await release(service, campaign_id)
    await _admin_session(service)
    html = (await service.client.get("/admin")).text
    assert_well_formed(html)
    line = html.split(f'data-release="{campaign_id}">', 1)[1].split("</p>", 1)[0]
    assert f"第 {second['number']} 次" in line
    assert local_day(second["created_at"], service.settings.zone) in line
    assert "征求意见稿" in line
    links = re.findall(rf'href="(/api/v1/campaigns/{campaign_id}/benchmarks/wages[^"]*)"', html)
    assert len(links) == 3
    bodies = {}
    for link in links:
        url = link.replace("&amp;", "&")
        assert f"release={second['number']}" in url
        response = await service.client.get(url, headers=service.admin)
        assert response.status_code == 200, response.text
        bodies[url.split("format=")[1].split("&")[0]] = response
    meta = bodies["json"].json()["meta"]["release"]
    assert (meta["number"], meta["content_hash"]) == (second["number"], second["content_hash"])
    assert made["number"] < second["number"]
    disposition = bodies["csv"].headers["content-disposition"]
    assert f"-r{second['number']}.csv" in disposition


async def test_poll_link_qr_codes_are_for_admins_only(service: Service) -> None:
    campaign_id, slug = await open_poll(service)
    base = f"/api/v1/campaigns/{campaign_id}/poll-links/{slug}"
    svg = await service.client.get(f"{base}/qr.svg", headers=service.admin)
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.lstrip().startswith("<svg")
    png = await service.client.get(f"{base}/qr.png", headers=service.admin)
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert (await service.client.get(f"{base}/qr.svg")).status_code == 401
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='a')}"}
    assert (await service.client.get(f"{base}/qr.png", headers=analyst)).status_code == 403
    other = f"/api/v1/campaigns/{campaign_id}/poll-links/no-such-link/qr.svg"
    assert (await service.client.get(other, headers=service.admin)).status_code == 404
    await service.client.post(f"{base}/revoke", headers=service.admin)
    assert (await service.client.get(f"{base}/qr.svg", headers=service.admin)).status_code == 410


async def test_campaign_page_shows_each_link_with_its_qr_code(service: Service) -> None:
    campaign_id, slug = await open_poll(service, title="<i>满意度</i>")
    await _admin_session(service)
    page = await service.client.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert_well_formed(page.text)
    assert "<i>" not in page.text
    assert "&lt;i&gt;满意度&lt;/i&gt;" in page.text
    src = f"/api/v1/campaigns/{campaign_id}/poll-links/{slug}/qr.svg"
    assert f'src="{src}"' in page.text
    image = await service.client.get(src)  # the browser's session opens it
    assert image.status_code == 200


async def test_the_api_takes_the_session_only_with_its_csrf_header(service: Service) -> None:
    await _admin_session(service)
    csrf = await page_csrf(service, "/admin/builder")
    body = {"key": "union-poll", "kind": "poll", "title": {"zh": "工会问卷"}}
    body |= {"fields": SHOW_IF_FIELDS}
    assert (await service.client.get("/api/v1/forms")).status_code == 200  # reading needs none
    missing = await service.client.post("/api/v1/forms", json=body)
    assert missing.status_code == 403
    wrong = await service.client.post("/api/v1/forms", json=body, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    created = await service.client.post("/api/v1/forms", json=body, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    published = await service.client.post(
        "/api/v1/forms/union-poll/versions/1/publish", headers={"X-CSRF-Token": csrf}
    )
    assert published.status_code == 200
    signed_out = await service.client.post("/admin/signout", data={"_csrf": csrf})
    assert signed_out.status_code == 303
    after = await service.client.post(
        "/api/v1/forms", json=body | {"key": "other-poll"}, headers={"X-CSRF-Token": csrf}
    )
    assert after.status_code == 401


async def test_builder_preview_draws_the_form_and_its_schema(service: Service) -> None:
    await _admin_session(service)
    builder = await service.client.get("/admin/builder")
    assert builder.status_code == 200
    assert_well_formed(builder.text)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', builder.text)
    assert csrf is not None
    body = {"title": {"zh": "工会问卷"}, "fields": SHOW_IF_FIELDS}
    refused = await service.client.post("/admin/builder/preview", json=body)
    assert refused.status_code == 403
    headers = {"X-CSRF-Token": csrf.group(1)}
    response = await service.client.post("/admin/builder/preview", json=body, headers=headers)
    assert response.status_code == 200
    preview = response.json()
    assert preview["errors"] == []
    assert preview["schema"]["allOf"][0]["if"] == {
        "properties": {"has_union": {"const": "yes"}},
        "required": ["has_union"],
    }
    html = preview["html"]
    assert 'data-show-if="has_union" data-show-values="[&#34;yes&#34;]"' in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;工会名称" in html
    broken = body | {"fields": [SHOW_IF_FIELDS[1]]}  # shown if a field that does not exist
    issues = await service.client.post("/admin/builder/preview", json=broken, headers=headers)
    assert issues.json()["errors"][0]["keyword"] == "show-if-unknown"


async def _stored(service: Service) -> list[PollResponse]:
    async with service.db.read() as session:
        return list(await session.scalars(select(PollResponse)))


async def test_poll_page_carries_nothing_that_tells_visitors_apart(service: Service) -> None:
    _, slug = await open_poll(service)
    await _admin_session(service)  # even a browser with a session gets no session cookie here
    first = await service.client.get(f"/p/{slug}")
    service.client.cookies.clear()
    second = await service.client.get(f"/p/{slug}")
    assert first.text == second.text
    for response in (first, second):
        assert response.headers.get_list("set-cookie") == []
        assert 'name="_csrf"' not in response.text


async def test_cross_site_poll_post_is_refused_and_not_stored(service: Service) -> None:
    _, slug = await open_poll(service)
    service.client.cookies.clear()
    forged = await service.client.post(
        f"/p/{slug}", data=form_fields(POLL_ANSWER), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert forged.status_code == 403
    assert "来自其他网站" in forged.text
    other_origin = await service.client.post(
        f"/p/{slug}", data=form_fields(POLL_ANSWER), headers={"Origin": "https://evil.example"}
    )
    assert other_origin.status_code == 403
    assert await _stored(service) == []
    # What a browser sends from the page itself (its no-referrer policy makes Origin null).
    same = await service.client.post(
        f"/p/{slug}",
        data=form_fields(POLL_ANSWER),
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    )
    assert same.status_code == 303
    assert len(await _stored(service)) == 1


async def test_poll_page_in_english(service: Service) -> None:
    _, slug = await open_poll(service)
    service.client.cookies.clear()
    page = await service.client.get(f"/p/{slug}?lang=en")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert "This survey is anonymous" in page.text
    assert "<legend>Labour contracts</legend>" in page.text
    assert "Strongly agree" in page.text
    assert [c.split(";")[0] for c in page.headers.get_list("set-cookie")] == ["lang=en"]


async def test_signin_form_needs_its_csrf_token(service: Service) -> None:
    form = await service.client.get("/admin/signin")
    csrf = csrf_of(form.text)
    refused = await service.client.post("/admin/signin", data={"token": service.admin_token})
    assert refused.status_code == 403
    accepted = await service.client.post(
        "/admin/signin", data={"token": service.admin_token, "_csrf": csrf}
    )
    assert accepted.status_code == 303


async def test_a_survey_of_last_years_pay_and_this_years_poll_are_one_campaign_year(
    service: Service,
) -> None:
    """Issue 12 (14): the salary survey speaks of last year's pay and the poll of this
    year; matched by those numbers the dashboard showed this year's participation at 0%
    beside 100%. A campaign belongs to a campaign year of its own (by default the year it
    opens in, Beijing time), and the page says which year each figure is."""
    this_year = datetime.now(timezone(timedelta(hours=8))).year
    await register_enterprises(service, 1)
    survey = await post_campaign(
        service, title="薪酬调查（上年工资）", year=this_year - 1, campaign_year=None
    )
    poll = await post_campaign(
        service, "worker-satisfaction", title="职工满意度", year=this_year, campaign_year=None
    )
    assert (survey.json()["campaign_year"], poll.json()["campaign_year"]) == (this_year,) * 2
    explicit = await post_campaign(
        service, "worker-satisfaction", title="补录", year=2020, campaign_year=2021
    )
    assert explicit.json()["campaign_year"] == 2021
    token = (await invite(service, survey.json()["id"], 1))[1]
    created = await service.client.post(
        f"/api/v1/campaigns/{survey.json()['id']}/submissions",
        json={"data": salary_document(uscc(1))},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    figures = await service.client.get(
        f"/api/v1/participation?year={this_year}", headers=service.admin
    )
    assert figures.json()["city"]["participation_rate"] == 1.0
    await _admin_session(service)
    html = (await service.client.get("/admin")).text
    section = html.split('id="participation"', 1)[1].split("</section>", 1)[0]
    assert f"{this_year} 年度活动参与情况" in section
    assert "薪酬调查（上年工资）" in section
    assert "100.0%" in section
    assert f"{this_year} 年度活动 · 数据年份 {this_year - 1}" in html


async def test_the_satisfaction_button_opens_a_table_not_json(service: Service) -> None:
    """Issue 12 (11): the dashboard's satisfaction button opened raw JSON."""
    districts = {1: "610202", 2: "610202", 3: "610203", 4: "610204"}
    campaign_id, _ = await score_poll(service, {1: 9, 2: 3, 3: 6, 4: 2}, districts)
    api = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/satisfaction?by=district", headers=service.admin
    )
    groups = {g["key"]: g for g in api.json()["groups"]}
    number = await score_release(service, campaign_id)
    await _admin_session(service)
    dashboard = (await service.client.get("/admin")).text
    link = f"/admin/campaigns/{campaign_id}/scores?release={number}"
    assert link in dashboard
    live = await service.client.get(f"/admin/campaigns/{campaign_id}/scores")
    assert live.status_code == 200
    assert_well_formed(live.text)
    assert english_words(live.text) == []
    table = live.text.split('id="scores"', 1)[1].split("</table>", 1)[0]
    wangyi = table.split("王益区", 1)[1].split("</tr>", 1)[0]
    first = groups["610202"]["dimensions"][0]["favourable"]
    assert f"{first * 100:.0f}%" in wangyi
    assert ">12<" in wangyi  # answers
    assert "答卷不足" in table.split("耀州区", 1)[1].split("</tr>", 1)[0]  # 2 answers
    released = await service.client.get(link)
    assert released.status_code == 200
    assert f"第 {number} 次数据发布" in released.text
    # The page's downloads open with the session and carry the page's figures.
    href = released.text.split('id="download-csv" href="', 1)[1].split('"', 1)[0]
    download = await service.client.get(href.replace("&amp;", "&"))
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert {r["分组代码"] for r in rows} >= {"610202", "610204"}
    assert f"release={number}" in href
    xlsx = released.text.split('id="download-xlsx" href="', 1)[1].split('"', 1)[0]
    assert (await service.client.get(xlsx.replace("&amp;", "&"))).status_code == 200
