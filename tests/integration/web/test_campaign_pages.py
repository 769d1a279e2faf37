"""The bureau's campaign pages through HTTP on SQLite and PostgreSQL: a campaign made and
edited in the browser and read back through the API, errors shown next to their fields
with what was typed kept, closing early and reopening as an enterprise feels it, the roster
of enterprises by state (filters, search, sort, counts), a release made from the page, and
the dashboard's participation as a table and bars."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from survey_service.db.models import AccessToken, AuditEntry
from tests.conftest import Service
from tests.integration.analytics.wage_helpers import seeded_campaign
from tests.integration.web.helpers import assert_well_formed, page_csrf, sign_in
from tests.samples import enterprise, salary_document, uscc

NEW = "/admin/campaigns/new"


async def _admin_session(service: Service) -> None:
    response = await sign_in(service, service.admin_token, admin=True)
    assert response.status_code == 303, response.text


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _fields(**changes: Any) -> dict[str, Any]:
    """A complete campaign form as the browser posts it."""
    return {
        "form": "salary-survey@1",
        "title": "2025年企业薪酬调查",
        "year": "2024",
        "campaign_year": "",
        "opens_at": "2025-03-01",
        "closes_at": "2025-04-30",
        "audience_districts": ["610202", "610204"],
        "audience_industries": "C, D44",
        "audience_above_designated_size": "yes",
        "audience_has_union": "",
        "audience_min_staff": "50",
        "requires_review": "1",
        "response_target": "80",
        "disclosure_min_enterprises": "4",
        "disclosure_min_workers": "",
        "disclosure_p_percent": "15",
        "disclosure_dominance_n": "2",
        "disclosure_dominance_k": "85",
        "annual_min_months": "",
        "anonymity_min_group": "",
        "anonymity_min_group_comments": "",
        "poll_rate_per_minute": "",
        "organisers_zh": "铜川市人社局",
        "organisers_en": "",
    } | changes


async def _post(service: Service, path: str, fields: dict[str, Any], page: str) -> httpx.Response:
    return await service.client.post(path, data=fields | {"_csrf": await page_csrf(service, page)})


def _window(days_open: int = 30) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=days_open)).isoformat(),
    }


async def _api_campaign(service: Service, **extra: Any) -> int:
    response = await service.client.post(
        "/api/v1/campaigns",
        json={"form_key": "salary-survey", "title": "2024年企业薪酬调查", "year": 2024}
        | _window()
        | extra,
        headers=service.admin,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _audit(service: Service, action: str) -> list[AuditEntry]:
    async with service.db.read() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _error_of(html: str, field: str) -> str:
    """The error shown under the field ``field``, which its input names."""
    found = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', html)
    assert found is not None, f"no error next to {field}"
    return found.group(1)


def _input_value(html: str, field: str) -> str:
    found = re.search(
        rf'<input id="f-{field}" name="{field}" type="text"[^>]*? value="([^"]*)"',
        html,
    )
    assert found is not None, field
    return found.group(1)


async def test_a_campaign_made_on_the_page_reads_back_through_the_api(service: Service) -> None:
    await _admin_session(service)
    form = await service.client.get(NEW)
    assert form.status_code == 200
    assert_well_formed(form.text)
    assert 'value="salary-survey@1" selected' in form.text  # published versions only
    created = await _post(service, NEW, _fields(), NEW)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    campaign_id = int(location.split("/")[3].split("?")[0])
    assert location == f"/admin/campaigns/{campaign_id}?done=created"
    body = (
        await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    ).json()
    assert (body["form_key"], body["form_version"]) == ("salary-survey", 1)
    assert (body["title"], body["year"], body["campaign_year"]) == (
        "2025年企业薪酬调查",
        2024,
        2025,
    )
    # Days of Beijing time: from the start of 1 March through the whole of 30 April.
    assert body["opens_at"].startswith("2025-02-28T16:00:00")
    assert body["closes_at"].startswith("2025-04-30T16:00:00")
    assert body["audience"] == {
        "districts": ["610202", "610204"],
        "industries": ["C", "D44"],
        "above_designated_size": True,
        "min_staff": 50,
    }
    assert body["requires_review"] is True
    assert body["settings"] == {
        "disclosure": {"min_enterprises": 4, "p_percent": 15, "dominance": {"n": 2, "k": 85}},
        "organisers": {"zh": "铜川市人社局"},
        "response_target": 0.8,
    }
    assert [e.target for e in await _audit(service, "campaign.create")] == [
        f"campaign:{campaign_id}"
    ]
    shown = await service.client.get(location)
    assert shown.status_code == 200
    assert_well_formed(shown.text)
    assert "活动已创建" in shown.text
    assert "目标填报率 80%" in shown.text


async def test_editing_on_the_page_changes_the_campaign_and_keeps_what_it_does_not_show(
    service: Service,
) -> None:
    weights = {uscc(1): 2.5}
    campaign_id = await _api_campaign(
        service,
        opens_at="2024-03-01",
        closes_at="2024-04-30T18:00:00+08:00",
        settings={"enterprise_weights": weights, "disclosure": {"min_workers": 12}},
    )
    await _admin_session(service)
    edit = f"/admin/campaigns/{campaign_id}/edit"
    page = await service.client.get(edit)
    assert page.status_code == 200
    assert_well_formed(page.text)
    assert _input_value(page.text, "title") == "2024年企业薪酬调查"
    assert _input_value(page.text, "opens_at") == "2024-03-01"
    assert _input_value(page.text, "closes_at") == "2024-04-30T18:00:00+08:00"
    assert _input_value(page.text, "disclosure_min_workers") == "12"
    fields = _fields(
        title="2024年企业薪酬调查（补充）",
        year="2024",
        campaign_year="2024",
        opens_at="2024-03-01",
        closes_at="2024-05-31",
        audience_districts=["610222"],
        disclosure_min_workers="20",
        disclosure_dominance_n="",
        disclosure_dominance_k="",
        response_target="",
        organisers_zh="",
    )
    saved = await _post(service, edit, fields, edit)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/admin/campaigns/{campaign_id}?done=updated"
    body = (
        await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    ).json()
    assert body["title"] == "2024年企业薪酬调查（补充）"
    assert body["campaign_year"] == 2024
    assert body["closes_at"].startswith("2024-05-31T16:00:00")
    assert body["audience"]["districts"] == ["610222"]
    assert body["requires_review"] is True
    # The weights are not on the form: kept as they were; what the form shows is replaced.
    assert body["settings"] == {
        "enterprise_weights": weights,
        "disclosure": {"min_enterprises": 4, "min_workers": 20, "p_percent": 15},
    }
    for missing in ("/admin/campaigns/999", "/admin/campaigns/999/edit"):
        assert (await service.client.get(missing)).status_code == 404
    entry = (await _audit(service, "campaign.update"))[0]
    assert set(entry.detail["changed"]) == {
        "title", "window", "audience", "requires_review", "settings",
    }  # fmt: skip


async def test_bad_input_is_shown_next_to_its_field_and_what_was_typed_is_kept(
    service: Service,
) -> None:
    await _admin_session(service)
    unreadable = await _post(
        service, NEW, _fields(title="", year="二〇二四", audience_min_staff="很多"), NEW
    )
    assert unreadable.status_code == 422
    assert_well_formed(unreadable.text)
    assert _error_of(unreadable.text, "title") == "必填"
    assert _error_of(unreadable.text, "year") == "应为整数"
    assert _error_of(unreadable.text, "audience_min_staff") == "应为整数"
    assert (
        'id="f-year" name="year" type="text" inputmode="decimal" value="二〇二四" aria-describedby'
        in (unreadable.text)
    )
    assert _input_value(unreadable.text, "opens_at") == "2025-03-01"  # kept as typed
    assert 'value="610204" checked' in unreadable.text
    assert '<a href="#f-title">活动名称：必填</a>' in unreadable.text  # the summary links to it
    backwards = await _post(service, NEW, _fields(closes_at="2025-02-01"), NEW)
    assert backwards.status_code == 422
    assert _error_of(backwards.text, "closes_at") == "截止时间应晚于开始时间"
    assert _input_value(backwards.text, "closes_at") == "2025-02-01"
    assert 'aria-invalid="true"' in backwards.text.split('id="f-closes_at"', 1)[1].split(">")[0]
    zero = await _post(service, NEW, _fields(disclosure_min_enterprises="0"), NEW)
    assert zero.status_code == 422
    assert _error_of(zero.text, "disclosure_min_enterprises") == "应为不小于 1 的整数"
    half = await _post(service, NEW, _fields(disclosure_dominance_k=""), NEW)
    assert _error_of(half.text, "disclosure_dominance_n") == "应同时给出 n 和 k，或都不填"
    tampered = await _post(service, NEW, _fields(audience_districts=["999999"]), NEW)
    assert _error_of(tampered.text, "audience_districts") == "未知的区县代码 999999"
    unpublished = await _post(service, NEW, _fields(form="salary-survey@7"), NEW)
    assert _error_of(unpublished.text, "form") == "第 7 版未发布"
    too_long = await _post(service, NEW, _fields(title="长" * 201), NEW)
    assert _error_of(too_long.text, "title") == "最多 200 个字符"
    english = await service.client.post(
        NEW + "?lang=en", data=_fields(year="2200") | {"_csrf": await page_csrf(service, NEW)}
    )
    assert _error_of(english.text, "year") == "Expected `int` &lt;= 2100"
    listed = await service.client.get("/api/v1/campaigns", headers=service.admin)
    assert listed.json() == []  # nothing was stored
    no_token = await service.client.post(NEW, data=_fields())
    assert no_token.status_code == 403


async def test_the_api_refuses_settings_the_service_cannot_use(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/campaigns",
        json={"form_key": "salary-survey", "title": "x", "year": 2024}
        | _window()
        | {"settings": {"disclosure": {"min_workers": 0}, "annual_min_months": 13}},
        headers=service.admin,
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"/settings/disclosure/min_workers", "/settings/annual_min_months"}


async def _invite(service: Service, campaign_id: int, *numbers: int) -> dict[int, str]:
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(n) for n in numbers]},
        headers=service.admin,
    )
    assert response.status_code == 201, response.text
    return {n: i["token"] for n, i in zip(numbers, response.json(), strict=True)}


async def test_closing_early_stops_submissions_and_reopening_lets_them_in(
    service: Service,
) -> None:
    await service.client.post("/api/v1/enterprises", json=enterprise(1), headers=service.admin)
    campaign_id = await _api_campaign(service)
    token = (await _invite(service, campaign_id, 1))[1]
    await _admin_session(service)
    page = f"/admin/campaigns/{campaign_id}"
    closed = await _post(service, f"{page}/close", {}, page)
    assert closed.status_code == 303
    assert closed.headers["location"] == f"{page}?done=closed"
    api = await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    assert api.json()["is_open"] is False
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    document = {"data": salary_document(uscc(1))}
    refused = await service.client.post(url, json=document, headers=_bearer(token))
    assert refused.status_code == 403
    assert refused.json()["title"] == "Campaign closed"
    shown = await service.client.get(page)
    assert_well_formed(shown.text)
    assert '<span class="status " id="window-state">已截止</span>' in shown.text
    assert f'action="{page}/reopen"' in shown.text
    again = await _post(service, f"{page}/close", {}, page)
    assert again.status_code == 409
    assert "活动已经截止" in again.text
    past = await _post(service, f"{page}/reopen", {"closes_at": "2020-01-01"}, page)
    assert past.status_code == 422
    assert '<p class="error" id="reopen-error">新的截止时间应晚于现在</p>' in past.text
    assert 'value="2020-01-01"' in past.text
    until = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    reopened = await _post(service, f"{page}/reopen", {"closes_at": until}, page)
    assert reopened.status_code == 303
    assert reopened.headers["location"] == f"{page}?done=reopened"
    accepted = await service.client.post(url, json=document, headers=_bearer(token))
    assert accepted.status_code == 201, accepted.text
    # The code issued to last as long as the campaign lasts as long as the reopened one.
    body = (
        await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    ).json()
    async with service.db.read() as session:
        expiry = await session.scalar(
            select(AccessToken.expires_at).where(AccessToken.campaign_id == campaign_id)
        )
    assert expiry == datetime.fromisoformat(body["closes_at"])
    actions = [e.action for e in await _audit(service, "campaign.close")]
    actions += [e.action for e in await _audit(service, "campaign.reopen")]
    assert actions == ["campaign.close", "campaign.reopen"]


# --- the roster ---------------------------------------------------------------------------

# Enterprise n: its district and name; 1-5 invited, 6 and 7 not, 8 outside the audience.
REGISTRY = {
    1: ("610202", "王益示例机械厂"),
    2: ("610202", "王益示例建材公司"),
    3: ("610204", "耀州示例水泥公司"),
    4: ("610204", "耀州示例陶瓷公司"),
    5: ("610203", "印台示例煤业公司"),
    6: ("610203", "印台示例食品公司"),
    7: ("610202", "王益示例纺织公司"),
    8: ("610222", "宜君示例农业公司"),
}
EXPECTED = {1: "draft", 2: "submitted", 3: "returned", 4: "accepted", 5: "invited",
            6: "not_invited", 7: "not_invited"}  # fmt: skip


async def _roster_world(service: Service) -> int:
    """A campaign for three districts, its enterprises in every state, each state reached
    through the API as the enterprise and the bureau would."""
    await service.client.post(
        "/api/v1/enterprises",
        json=[enterprise(n, district=d, name=name) for n, (d, name) in REGISTRY.items()],
        headers=service.admin,
    )
    campaign_id = await _api_campaign(
        service, audience={"districts": ["610202", "610203", "610204"]}
    )
    tokens = await _invite(service, campaign_id, 1, 2, 3, 4, 5)
    url = f"/api/v1/campaigns/{campaign_id}/submissions"
    ids = {}
    for n, status in ((1, "draft"), (2, "submitted"), (3, "submitted"), (4, "submitted")):
        made = await service.client.post(
            url, json={"data": salary_document(uscc(n)), "status": status},
            headers=_bearer(tokens[n]),
        )  # fmt: skip
        assert made.status_code == 201, made.text
        ids[n] = made.json()["id"]
    for n, verdict in (
        (3, {"state": "returned", "reason": "缺少加班费"}),
        (4, {"state": "accepted"}),
    ):
        reviewed = await service.client.post(
            f"/api/v1/submissions/{ids[n]}/review", json=verdict, headers=service.admin
        )
        assert reviewed.status_code == 200, reviewed.text
    return campaign_id


def _rows(html: str) -> list[tuple[str, str]]:
    """(credit code, state) of each roster row, in the page's order."""
    table = html.split('id="roster-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-uscc="(\w+)">.*?data-state="(\w+)"', table, re.S)


def _counts(html: str) -> dict[str, int]:
    counts = html.split('id="state-counts"', 1)[1].split("</p>", 1)[0]
    return {
        s: int(n)
        for s, n in re.findall(r'data-state="(\w+)"[^>]*>[^<]*<span class="count">(\d+)', counts)
    }


async def test_the_roster_shows_where_each_enterprise_stands(service: Service) -> None:
    campaign_id = await _roster_world(service)
    await _admin_session(service)
    page = await service.client.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200
    assert_well_formed(page.text)
    assert dict(_rows(page.text)) == {uscc(n): state for n, state in EXPECTED.items()}
    assert uscc(8) not in page.text  # outside the audience and never invited
    assert _counts(page.text) == {
        "not_invited": 2, "invited": 1, "draft": 1, "submitted": 1, "returned": 1, "accepted": 1,
    }  # fmt: skip
    api = await service.client.get(f"/api/v1/campaigns/{campaign_id}/roster", headers=service.admin)
    assert {e["uscc"]: e["state"] for e in api.json()["items"]} == dict(_rows(page.text))
    # Returned, then amended by the enterprise: submitted again, waiting for review.
    await _invite(service, campaign_id, 6)
    amended_by = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/roster", params={"state": "returned"},
        headers=service.admin,
    )  # fmt: skip
    submission = amended_by.json()["items"][0]["submission_id"]
    tokens = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(3)], "reissue": True}, headers=service.admin,
    )  # fmt: skip
    amended = await service.client.put(
        f"/api/v1/submissions/{submission}",
        json={"data": salary_document(uscc(3))},
        headers=_bearer(tokens.json()[0]["token"]),
    )
    assert amended.status_code == 200, amended.text
    after = dict(_rows((await service.client.get(f"/admin/campaigns/{campaign_id}")).text))
    assert (after[uscc(3)], after[uscc(6)]) == ("submitted", "invited")
    # A withdrawn code without a survey: not invited any more.
    await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations/{uscc(6)}/revoke", headers=service.admin
    )
    again = dict(_rows((await service.client.get(f"/admin/campaigns/{campaign_id}")).text))
    assert again[uscc(6)] == "not_invited"


async def test_the_roster_filters_searches_and_sorts_through_the_address(
    service: Service,
) -> None:
    campaign_id = await _roster_world(service)
    await _admin_session(service)
    base = f"/admin/campaigns/{campaign_id}"

    async def rows(**params: str) -> list[tuple[str, str]]:
        response = await service.client.get(base, params=params)
        assert response.status_code == 200
        assert_well_formed(response.text)
        return _rows(response.text) if 'id="roster-table"' in response.text else []

    # By name (as the characters' code points order them), then by credit code.
    assert await rows(state="not_invited") == [(uscc(6), "not_invited"), (uscc(7), "not_invited")]
    assert {u for u, _ in await rows(district="610204")} == {uscc(3), uscc(4)}
    assert await rows(q="陶瓷") == [(uscc(4), "accepted")]
    assert await rows(q=uscc(5)[-6:].lower()) == [(uscc(5), "invited")]  # a part of the code
    by_state = [s for _, s in await rows(sort="state")]
    assert by_state == ["not_invited", "not_invited", "invited", "draft", "submitted",
                        "returned", "accepted"]  # fmt: skip
    assert [s for _, s in await rows(sort="state", order="desc")] == by_state[::-1]
    district_of = {uscc(n): d for n, (d, _) in REGISTRY.items()}
    ordered = [district_of[u] for u, _ in await rows(sort="district")]
    assert ordered == sorted(ordered)
    assert len(ordered) == 7
    assert [district_of[u] for u, _ in await rows(sort="district", order="desc")] == ordered[::-1]
    # Last change: the accepted survey was the last touched; never-invited ones come first.
    changed = [u for u, _ in await rows(sort="changed")]
    assert changed[:2] == [uscc(6), uscc(7)]
    assert changed[-1] == uscc(4)
    # Filters combine, and the counts follow every filter but the state.
    page = await service.client.get(base, params={"district": "610202", "state": "draft"})
    assert _rows(page.text) == [(uscc(1), "draft")]
    assert _counts(page.text)["not_invited"] == 1
    assert _counts(page.text)["submitted"] == 1
    # What is not understood is left out; nothing breaks.
    odd = await service.client.get(base, params={"state": "<x>", "sort": "x", "page": "x"})
    assert odd.status_code == 200
    assert len(_rows(odd.text)) == 7
    # The column headers sort (and sort back), keeping the other filters.
    header = re.search(r'<th scope="col" aria-sort="ascending"><a href="([^"]+)">', odd.text)
    assert header is not None
    assert "order=desc" in header.group(1)
    api = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/roster",
        params={"sort": "name", "per_page": "2", "page": "2"}, headers=service.admin,
    )  # fmt: skip
    body = api.json()
    assert (body["total"], body["pages"], body["page"]) == (7, 4, 2)
    names = sorted(REGISTRY[n][1] for n in EXPECTED)
    assert [e["name"] for e in body["items"]] == names[2:4]
    bad = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/roster", params={"state": "lost"}, headers=service.admin
    )
    assert bad.status_code == 422


# --- releases and the dashboard -----------------------------------------------------------


async def test_a_release_made_on_the_page_is_listed_with_what_it_holds(service: Service) -> None:
    campaign_id, workers = await seeded_campaign(service, enterprises=4)
    await _admin_session(service)
    page = f"/admin/campaigns/{campaign_id}"
    before = await service.client.get(page)
    assert 'id="no-release"' in before.text
    refused = await _post(service, f"{page}/releases", {"note": "初步"}, page)
    assert refused.status_code == 409  # still open, and the box was not ticked
    assert "活动仍在收集数据" in refused.text
    assert ">初步</textarea>" in refused.text
    made = await _post(
        service, f"{page}/releases", {"during_collection": "1", "note": "初步结果"}, page
    )
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"{page}?done=released#releases"
    listed = (
        await service.client.get(f"/api/v1/campaigns/{campaign_id}/releases", headers=service.admin)
    ).json()["releases"]
    assert [r["number"] for r in listed] == [1]
    assert listed[0]["summary"]["note"] == "初步结果"
    shown = await service.client.get(page)
    assert_well_formed(shown.text)
    row = shown.text.split('<tr data-release="1">', 1)[1].split("</tr>", 1)[0]
    assert "第 1 次" in row
    assert f"{listed[0]['summary']['enterprises']} 家企业" in row
    assert f"{listed[0]['summary']['workers']} 名职工" in row
    assert listed[0]["summary"]["workers"] == len(workers)
    assert "征求意见稿" in row
    assert "初步结果" in row
    assert f"/api/v1/campaigns/{campaign_id}/benchmarks/wages?format=xlsx&amp;release=1" in row
    entries = await _audit(service, "release.create")
    assert [e.detail["number"] for e in entries] == [1]


async def test_the_dashboard_shows_participation_as_a_table_and_bars(service: Service) -> None:
    await service.client.post(
        "/api/v1/enterprises",
        json=[enterprise(1), enterprise(2, district="610204"), enterprise(3, district="610204")],
        headers=service.admin,
    )
    campaign_id = await _api_campaign(service, campaign_year=2024)
    tokens = await _invite(service, campaign_id, 1, 2)
    made = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))}, headers=_bearer(tokens[1]),
    )  # fmt: skip
    assert made.status_code == 201
    await _api_campaign(service, campaign_year=2023, title="上一年度的调查")
    await _admin_session(service)
    html = (await service.client.get("/admin")).text
    assert_well_formed(html)
    assert 'href="/admin/campaigns/new"' in html
    assert "/api/v1/participation" not in html  # a table and bars, not raw JSON
    section = html.split('id="participation"', 1)[1].split("</section>", 1)[0]
    assert "2024 年度活动参与情况" in section
    charts = section.split('id="participation-charts"', 1)[1]
    svgs = re.findall(r"<svg.*?</svg>", charts, re.S)
    assert len(svgs) == 4
    took_part, above_size = svgs[0], svgs[1]
    assert "王益区" in took_part
    assert "1 / 1 (100%)" in took_part
    assert "耀州区" in took_part
    assert "0 / 2 (0%)" in took_part
    assert "1 / 3 (33%)" in took_part  # the city
    assert "目标 100%" in above_size
    assert '<line class="target"' in above_size  # the target drawn across the bars
    assert "<td>100.0%</td>" in section.split("王益区", 1)[1].split("</tr>", 1)[0]
    other = await service.client.get("/admin", params={"year": "2023"})
    assert "2023 年度活动参与情况" in other.text
    assert 'href="/admin?year=2024#participation"' in other.text
