"""Anonymous poll links through HTTP on SQLite and PostgreSQL: issuing links and one-time
codes, the public poll (JSON and the HTML page), what an answer stores, and the limits
against ballot stuffing."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser

from sqlalchemy import func, inspect, select, text

from survey_service.collection.polls import CODE_ALPHABET
from survey_service.db.models import PollCode, PollResponse
from survey_service.web.pages import STATIC_URLS
from tests.conftest import Service
from tests.factories import (
    answer_poll,
    create_campaign,
    open_poll,
    poll_link,
    register_enterprises,
)
from tests.samples import POLL_ANSWER, enterprise, form_fields, uscc


async def _stored(service: Service) -> list[PollResponse]:
    async with service.db.read() as session:
        return list(await session.scalars(select(PollResponse)))


class _Balance(HTMLParser):
    """Fails on a closing tag that does not match the open one; records what is left open."""

    VOID = frozenset({"meta", "input", "br", "hr", "img", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1:] == [tag], f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def _assert_well_formed(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert parser.stack == []


# --- issuing links -------------------------------------------------------------------------


async def test_only_admins_issue_and_list_poll_links(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    url = f"/api/v1/campaigns/{campaign_id}/poll-links"
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='a')}"}
    body = {"enterprise": uscc(1)}
    assert (await service.client.post(url, json=body)).status_code == 401
    assert (await service.client.post(url, json=body, headers=analyst)).status_code == 403
    assert (await service.client.get(url)).status_code == 401
    assert (await service.client.get(url, headers=analyst)).status_code == 403


async def test_link_is_one_per_enterprise_and_rotating_replaces_it(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1)
    first = await poll_link(service, campaign_id)
    slug = first["link"]
    assert first["url"] == f"/p/{slug}"
    assert len(slug) >= 22  # 128 random bits, URL-safe
    assert (first["enterprise"], first["requires_code"], first["codes"]) == (uscc(1), False, [])
    url = f"/api/v1/campaigns/{campaign_id}/poll-links"
    again = await service.client.post(url, json={"enterprise": uscc(1)}, headers=service.admin)
    assert again.status_code == 200
    assert again.json()["link"] == slug
    rotated = await service.client.post(
        url, json={"enterprise": uscc(1), "rotate": True}, headers=service.admin
    )
    assert rotated.status_code == 201
    assert rotated.json()["link"] != slug
    assert (await service.client.get(f"/api/v1/polls/{slug}")).status_code == 404
    new = rotated.json()["link"]
    assert (await service.client.get(f"/api/v1/polls/{new}")).status_code == 200
    listed = await service.client.get(url, headers=service.admin)
    assert [item["link"] for item in listed.json()["items"]] == [new]


async def test_link_needs_a_poll_and_a_registered_enterprise(service: Service) -> None:
    salary = await create_campaign(service)
    await service.client.post("/api/v1/enterprises", json=enterprise(1), headers=service.admin)
    response = await service.client.post(
        f"/api/v1/campaigns/{salary}/poll-links",
        json={"enterprise": uscc(1)},
        headers=service.admin,
    )
    assert response.status_code == 422
    assert "poll" in response.json()["detail"]
    poll = await create_campaign(service, "worker-satisfaction")
    unknown = await service.client.post(
        f"/api/v1/campaigns/{poll}/poll-links",
        json={"enterprise": uscc(99)},
        headers=service.admin,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["path"] == "/enterprise"


async def test_codes_are_shown_once_and_stored_as_digests(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1)
    link = await poll_link(service, campaign_id, requires_code=True, codes=20)
    codes = link["codes"]
    assert len(set(codes)) == 20
    assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1I") & set("".join(codes))
    async with service.db.read() as session:
        stored = set(await session.scalars(select(PollCode.code_hash)))
    assert len(stored) == 20
    assert not any(code in digest for digest in stored for code in codes)
    again = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/poll-links",
        json={"enterprise": uscc(1), "codes": 5},
        headers=service.admin,
    )
    assert again.status_code == 200
    assert len(again.json()["codes"]) == 5
    assert again.json()["requires_code"] is True
    too_many = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/poll-links",
        json={"enterprise": uscc(1), "codes": 5001},
        headers=service.admin,
    )
    assert too_many.status_code == 422
    await service.client.post("/api/v1/enterprises", json=enterprise(2), headers=service.admin)
    no_codes = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/poll-links",
        json={"enterprise": uscc(2), "requires_code": True},
        headers=service.admin,
    )
    assert no_codes.status_code == 422
    assert no_codes.json()["errors"][0]["path"] == "/codes"


# --- the public poll -----------------------------------------------------------------------


async def test_public_poll_gives_the_form_and_the_anonymity_notice(service: Service) -> None:
    _, slug = await open_poll(service)
    response = await service.client.get(f"/api/v1/polls/{slug}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["campaign"]["title"] == "2023年职工满意度调查"
    assert (body["form"]["key"], body["form"]["version"]) == ("worker-satisfaction", 1)
    assert "recommend" in body["form"]["schema"]["properties"]
    assert body["requires_code"] is False
    assert body["anonymity_notice"] == body["form"]["ui"]["anonymity_notice"]
    assert "匿名" in body["anonymity_notice"]["zh"]


async def test_unknown_link_is_not_found(service: Service) -> None:
    response = await service.client.get("/api/v1/polls/no-such-link")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    page = await service.client.get("/p/no-such-link")
    assert page.status_code == 404
    assert "找不到问卷" in page.text


async def test_answer_stores_only_the_answer_its_enterprise_and_the_day(service: Service) -> None:
    _, slug = await open_poll(service)
    response = await answer_poll(service, slug, POLL_ANSWER | {"comment": "食堂可以再改进"})
    assert response.status_code == 201, response.text
    assert response.json() == {"status": "received", "day": datetime.now(UTC).date().isoformat()}
    async with service.db.engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in inspect(c).get_columns("poll_responses")}
        )
        if service.db.is_sqlite:  # no hidden rowid that would keep the arrival order
            ddl = await conn.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'poll_responses'")
            )
            assert "WITHOUT ROWID" in str(ddl).upper()
    assert columns == {"id", "link_id", "campaign_id", "enterprise_id", "day", "data"}
    [row] = await _stored(service)
    assert row.data == POLL_ANSWER | {"comment": "食堂可以再改进"}
    assert row.day == datetime.now(UTC).date()


async def test_answer_ids_are_random_uuids(service: Service) -> None:
    _, slug = await open_poll(service)
    for _ in range(2):
        assert (await answer_poll(service, slug)).status_code == 201
    ids = [uuid.UUID(row.id) for row in await _stored(service)]
    assert len(set(ids)) == 2
    assert all(i.version == 4 for i in ids)


async def test_invalid_answer_is_422_with_pointers_and_not_stored(service: Service) -> None:
    _, slug = await open_poll(service)
    data = {k: v for k, v in POLL_ANSWER.items() if k != "recommend"} | {
        "wage_1": 6,
        "name": "张三",
    }
    response = await answer_poll(service, slug, data)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    found = {(e["path"], e["keyword"]) for e in response.json()["errors"]}
    assert {("/wage_1", "maximum"), ("/recommend", "required")} <= found
    assert "additionalProperties" in {keyword for _, keyword in found}
    assert await _stored(service) == []


async def test_form_post_is_stored_and_redirects_to_the_thanks_page(service: Service) -> None:
    _, slug = await open_poll(service)
    service.client.cookies.clear()
    response = await service.client.post(
        f"/p/{slug}", data=form_fields(POLL_ANSWER) | {"comment": "  "}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/p/{slug}/thanks"
    thanks = await service.client.get(response.headers["location"])
    assert thanks.status_code == 200
    assert thanks.headers["content-type"].startswith("text/html")
    assert "感谢" in thanks.text
    [row] = await _stored(service)
    assert row.data == POLL_ANSWER  # integers from the form's text; the blank comment left out


async def test_form_post_with_errors_shows_the_page_again(service: Service) -> None:
    _, slug = await open_poll(service)
    service.client.cookies.clear()
    fields = form_fields(POLL_ANSWER) | {"wage_2": "", "recommend": "11"}
    response = await service.client.post(f"/p/{slug}", data=fields)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    _assert_well_formed(response.text)
    assert 'role="alert"' in response.text
    assert '<a href="#q3">此题必答：近一年来，我的工资收入有所增长。</a>' in response.text
    assert '<fieldset class="question invalid" id="q3"' in response.text
    assert '<p class="error" id="q13-error">请从选项中选择</p>' in response.text  # recommend=11
    assert 'name="contract_1" value="5" checked' in response.text  # what was chosen stays
    assert await _stored(service) == []


async def test_poll_page_is_valid_accessible_and_escaped(service: Service) -> None:
    evil = "<script>alert(1)</script>"
    created = await service.client.post(
        "/api/v1/forms",
        json={
            "key": "evil-poll",
            "kind": "poll",
            "title": {"zh": evil},
            "fields": [
                {
                    "type": "likert",
                    "name": "q1",
                    "label": {"zh": '<img src=x onerror="alert(2)">'},
                    "required": True,
                },
                {"type": "text", "name": "note", "label": {"zh": "说明"}, "multiline": True},
            ],
        },
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        "/api/v1/forms/evil-poll/versions/1/publish", headers=service.admin
    )
    assert published.status_code in (200, 201), published.text
    _, slug = await open_poll(service, form_key="evil-poll", title="<b>活动</b>")
    page = await service.client.get(f"/p/{slug}")
    assert page.status_code == 200
    html = page.text
    _assert_well_formed(html)
    # The one script is the site's own file (no inline script): the title's stays text.
    assert re.findall(r"<script[^>]*>", html) == [f'<script src="{STATIC_URLS["form.js"]}" defer>']
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "<b>" not in html
    assert '<html lang="zh-CN">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert html.count('type="radio" name="q1"') == 5
    assert '<textarea id="q1" name="note"' in html
    assert "匿名" in html  # the default notice for a form without its own
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in page.headers["content-security-policy"]


async def test_worker_satisfaction_page_asks_every_question(service: Service) -> None:
    _, slug = await open_poll(service)
    service.client.cookies.clear()
    page = await service.client.get(f"/p/{slug}")
    assert page.status_code == 200
    html = page.text
    _assert_well_formed(html)
    assert html.count('type="radio"') == 13 * 5 + 11  # 13 Likert questions, 0-10 recommend
    assert html.count('<fieldset class="group">') == 7
    assert html.count("<legend>") == 7 + 14
    assert "<legend>劳动有合同</legend>" in html
    assert '<textarea id="q14" name="comment"' in html
    assert "本问卷匿名填写" in html
    assert 'name="code"' not in html


# --- closed and withdrawn links ------------------------------------------------------------


async def test_revoked_link_says_it_was_withdrawn(service: Service) -> None:
    campaign_id, slug = await open_poll(service)
    revoke = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/poll-links/{slug}/revoke", headers=service.admin
    )
    assert revoke.status_code == 204
    fetched = await service.client.get(f"/api/v1/polls/{slug}")
    assert fetched.status_code == 410
    assert fetched.headers["content-type"].startswith("application/problem+json")
    assert "withdrawn" in fetched.json()["detail"].lower()
    assert (await answer_poll(service, slug)).status_code == 410
    page = await service.client.get(f"/p/{slug}")
    assert (page.status_code, "链接已收回" in page.text) == (410, True)
    listed = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links", headers=service.admin
    )
    assert listed.json()["items"][0]["revoked_at"] is not None


async def test_closed_or_future_poll_is_refused_with_a_clear_title(service: Service) -> None:
    _, closed = await open_poll(service, 1, window="closed")
    response = await service.client.get(f"/api/v1/polls/{closed}")
    assert (response.status_code, response.json()["title"]) == (403, "Poll closed")
    answer = await answer_poll(service, closed)
    assert (answer.status_code, answer.json()["title"]) == (403, "Poll closed")
    page = await service.client.get(f"/p/{closed}")
    assert page.status_code == 403
    assert "已经结束" in page.text
    _, future = await open_poll(service, 2, window="future")
    response = await service.client.get(f"/api/v1/polls/{future}")
    assert (response.status_code, response.json()["title"]) == (403, "Poll not open yet")
    assert await _stored(service) == []


# --- one-time codes ------------------------------------------------------------------------


async def test_required_code_is_missing_valid_then_used(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1)
    link = await poll_link(service, campaign_id, requires_code=True, codes=2)
    slug, code = link["link"], link["codes"][0]
    assert (await service.client.get(f"/api/v1/polls/{slug}")).json()["requires_code"] is True
    missing = await answer_poll(service, slug)
    assert (missing.status_code, missing.json()["title"]) == (403, "Code required")
    unknown = await answer_poll(service, slug, code="ABCDEFGH")
    assert unknown.status_code == 403
    valid = await answer_poll(service, slug, code=f"{code[:4].lower()}-{code[4:]}")
    assert valid.status_code == 201, valid.text
    reused = await answer_poll(service, slug, code=code)
    assert (reused.status_code, reused.json()["title"]) == (403, "Code not accepted")
    assert len(await _stored(service)) == 1
    listed = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links", headers=service.admin
    )
    item = listed.json()["items"][0]
    assert (item["responses"], item["codes_issued"], item["codes_used"]) == (1, 2, 1)


async def test_a_code_used_twice_at_once_stores_one_answer(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1)
    link = await poll_link(service, campaign_id, requires_code=True, codes=1)
    service.client.cookies.clear()
    url = f"/api/v1/polls/{link['link']}/responses"
    body = {"data": POLL_ANSWER, "code": link["codes"][0]}
    first, second = await asyncio.gather(
        service.client.post(url, json=body), service.client.post(url, json=body)
    )
    assert sorted([first.status_code, second.status_code]) == [201, 403]
    assert len(await _stored(service)) == 1


async def test_form_post_with_a_used_code_shows_the_page_with_the_error(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1)
    link = await poll_link(service, campaign_id, requires_code=True, codes=1)
    slug, code = link["link"], link["codes"][0]
    assert (await answer_poll(service, slug, code=code)).status_code == 201
    service.client.cookies.clear()
    page = await service.client.get(f"/p/{slug}")
    assert 'name="code"' in page.text
    response = await service.client.post(
        f"/p/{slug}", data=form_fields(POLL_ANSWER) | {"code": code}
    )
    assert response.status_code == 403
    _assert_well_formed(response.text)
    assert "参与码无效或已经用过" in response.text
    assert len(await _stored(service)) == 1


# --- rate limit and device cookie ----------------------------------------------------------


async def test_rate_limit_is_per_link(service: Service) -> None:
    campaign_id = await create_campaign(
        service, "worker-satisfaction", settings={"poll_rate_per_minute": 2}
    )
    await register_enterprises(service, 1, 2)
    slug = (await poll_link(service, campaign_id, 1))["link"]
    other = (await poll_link(service, campaign_id, 2))["link"]
    assert [(await answer_poll(service, slug)).status_code for _ in range(2)] == [201, 201]
    limited = await answer_poll(service, slug)
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["retry-after"]) <= 30
    assert (await answer_poll(service, other)).status_code == 201
    assert len(await _stored(service)) == 3


async def test_second_answer_from_the_same_browser_is_refused(service: Service) -> None:
    _, slug = await open_poll(service)
    first = await answer_poll(service, slug)
    assert first.status_code == 201
    set_cookies = first.headers.get_list("set-cookie")
    assert (
        sorted(c.split("; ")[0] for c in set_cookies)
        == [f"poll_{hashlib.sha256(slug.encode()).hexdigest()[:16]}=1"] * 2
    )
    assert {part for c in set_cookies for part in c.split("; ") if part.startswith("Path=")} == {
        "Path=/p/",
        "Path=/api/v1/polls/",
    }
    assert all("HttpOnly" in c and "SameSite=lax" in c.replace("Lax", "lax") for c in set_cookies)
    assert all("Max-Age=" in c for c in set_cookies)
    second = await service.client.post(
        f"/api/v1/polls/{slug}/responses", json={"data": POLL_ANSWER}
    )
    assert second.status_code == 409
    assert "device" in second.json()["title"]
    page = await service.client.get(f"/p/{slug}")
    assert "已经提交过" in page.text
    assert 'name="contract_1"' not in page.text
    form = await service.client.post(f"/p/{slug}", data=form_fields(POLL_ANSWER))
    assert form.status_code == 409
    assert len(await _stored(service)) == 1


# --- counts --------------------------------------------------------------------------------


async def test_answers_count_for_their_enterprise_only(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1, 2)
    first = (await poll_link(service, campaign_id, 1))["link"]
    second = (await poll_link(service, campaign_id, 2))["link"]
    for slug in (first, first, second):
        assert (await answer_poll(service, slug)).status_code == 201
    listed = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links", headers=service.admin
    )
    counts = {item["enterprise"]: item["responses"] for item in listed.json()["items"]}
    assert counts == {uscc(1): 2, uscc(2): 1}
    async with service.db.read() as session:
        by_enterprise = {
            enterprise_id: n
            for enterprise_id, n in await session.execute(
                select(PollResponse.enterprise_id, func.count()).group_by(
                    PollResponse.enterprise_id
                )
            )
        }
    assert sorted(by_enterprise.values()) == [1, 2]


async def test_openapi_describes_the_poll_endpoints(service: Service) -> None:
    paths = (await service.client.get("/schema/openapi.json")).json()["paths"]
    assert {
        "/api/v1/campaigns/{campaign_id}/poll-links",
        "/api/v1/campaigns/{campaign_id}/poll-links/{link}/revoke",
        "/api/v1/polls/{link}",
        "/api/v1/polls/{link}/responses",
        "/p/{link}",
    } <= set(paths)
