"""The bureau's token page through HTTP on SQLite and PostgreSQL: a token made on the page
is shown once and works on the API; letting it expire or revoking it ends its use (and the
sessions opened with it); bad input is refused with the reason; only admins get in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from survey_service.db.models import AccessToken, AuditEntry
from tests.conftest import Service
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in

_SHOWN = re.compile(r'id="new-token-value" type="text" readonly value="([^"]+)"')


async def _admin_session(service: Service) -> None:
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303


async def _create(service: Service, **fields: str) -> tuple[str, int]:
    """Make a token on the page: (the token shown, its id)."""
    csrf = await page_csrf(service, "/admin/tokens")
    response = await service.client.post(
        "/admin/tokens", data={"_csrf": csrf, "role": "analyst", "label": "统计局"} | fields
    )
    assert response.status_code == 201, response.text
    assert_well_formed(response.text)
    found = _SHOWN.search(response.text)
    assert found is not None
    async with service.db.read() as session:
        token_id = await session.scalar(select(func.max(AccessToken.id)))
    assert token_id is not None
    return found.group(1), token_id


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _reads(service: Service, token: str) -> int:
    """The status of an analyst's read through the API with ``token``."""
    return (await service.client.get("/api/v1/campaigns", headers=_bearer(token))).status_code


async def test_a_token_made_on_the_page_is_shown_once_and_works_on_the_api(
    service: Service,
) -> None:
    await _admin_session(service)
    token, token_id = await _create(service, label="市总工会 <b>张三</b>")
    created = await service.client.get("/admin/tokens")
    assert "只显示这一次" not in created.text  # the list never shows it again
    assert token not in created.text
    assert "市总工会 &lt;b&gt;张三&lt;/b&gt;" in created.text
    row = created.text.split(f'data-token="{token_id}"', 1)[1].split("</tr>", 1)[0]
    assert "分析员" in row
    assert "有效" in row
    # The analyst's token reads releases' endpoints and nothing of an admin's.
    assert await _reads(service, token) == 200
    assert (await service.client.get("/api/v1/tokens", headers=_bearer(token))).status_code == 403
    listed = await service.client.get("/api/v1/tokens", headers=service.admin)
    [made] = [t for t in listed.json() if t["id"] == token_id]
    assert (made["role"], made["label"]) == ("analyst", "市总工会 <b>张三</b>")


async def test_the_shown_token_page_says_it_is_shown_once_in_both_languages(
    service: Service,
) -> None:
    await _admin_session(service)
    csrf = await page_csrf(service, "/admin/tokens")
    made = await service.client.post(
        "/admin/tokens?lang=en", data={"_csrf": csrf, "role": "admin", "label": "second admin"}
    )
    assert made.status_code == 201
    assert "shown this once only" in made.text
    assert made.headers["cache-control"] == "no-store"
    token = _SHOWN.search(made.text)
    assert token is not None
    # An admin token made on the page writes through the API.
    body = {"key": "page-made", "title": {"zh": "页面"}, "fields": []}
    body["fields"] = [{"type": "text", "name": "a", "label": {"zh": "甲"}}]
    written = await service.client.post("/api/v1/forms", json=body, headers=_bearer(token.group(1)))
    assert written.status_code == 201, written.text


async def test_revoking_on_the_page_ends_the_tokens_use_and_its_sessions(service: Service) -> None:
    await _admin_session(service)
    token, token_id = await _create(service, role="admin", label="to revoke")
    assert (await service.client.get("/api/v1/tokens", headers=_bearer(token))).status_code == 200
    csrf = await page_csrf(service, "/admin/tokens")
    revoked = await service.client.post(f"/admin/tokens/{token_id}/revoke", data={"_csrf": csrf})
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/admin/tokens?done=revoked")
    refused = await service.client.get("/api/v1/tokens", headers=_bearer(token))
    assert refused.status_code == 401
    page = await service.client.get("/admin/tokens?done=revoked")
    assert "令牌已撤销" in page.text
    row = page.text.split(f'data-token="{token_id}"', 1)[1].split("</tr>", 1)[0]
    assert "已撤销" in row
    assert "/revoke" not in row  # nothing more to do with it
    async with service.db.read() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["token.revoke", "auth.refused"]


async def test_expiring_on_the_page_ends_the_tokens_use_and_a_later_day_restores_it(
    service: Service,
) -> None:
    await _admin_session(service)
    token, token_id = await _create(service)
    csrf = await page_csrf(service, "/admin/tokens")
    expired = await service.client.post(f"/admin/tokens/{token_id}/expire", data={"_csrf": csrf})
    assert expired.status_code == 303
    assert await _reads(service, token) == 401
    page = await service.client.get("/admin/tokens")
    assert "已过期" in page.text.split(f'data-token="{token_id}"', 1)[1].split("</tr>", 1)[0]
    later = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    again = await service.client.post(
        f"/admin/tokens/{token_id}/expire", data={"_csrf": csrf, "expires_on": later}
    )
    assert again.status_code == 303
    assert await _reads(service, token) == 200
    async with service.db.read() as session:
        row = await session.get(AccessToken, token_id)
    assert row is not None
    assert row.expires_at is not None
    # Through that day in Beijing time: the next day's midnight there, 16:00 UTC.
    assert row.expires_at.astimezone(UTC).hour == 16
    assert row.expires_at.astimezone(UTC).date().isoformat() == later


async def test_a_token_made_with_a_last_day_expires_after_it(service: Service) -> None:
    await _admin_session(service)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    _, token_id = await _create(service, expires_on=tomorrow)
    async with service.db.read() as session:
        row = await session.get(AccessToken, token_id)
    assert row is not None
    assert row.expires_at is not None
    assert row.expires_at > datetime.now(UTC) + timedelta(days=1)


async def test_bad_input_is_refused_with_the_reason_and_nothing_made(service: Service) -> None:
    await _admin_session(service)
    csrf = await page_csrf(service, "/admin/tokens")
    yesterday = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    cases = [
        ({"role": "enterprise", "label": "x"}, "role"),
        ({"role": "analyst", "label": "   "}, "label"),
        ({"role": "analyst", "label": "x" * 201}, "label"),
        ({"role": "analyst", "label": "x", "expires_on": yesterday}, "expires_at"),
        ({"role": "analyst", "label": "x", "expires_on": "2026-02-30"}, "2026-02-30"),
    ]
    for fields, said in cases:
        response = await service.client.post("/admin/tokens", data={"_csrf": csrf} | fields)
        assert response.status_code == 422, (fields, response.text)
        assert said in response.text.split('id="token-error"', 1)[1].split("</div>", 1)[0]
        assert 'id="new-token-value"' not in response.text
    async with service.db.read() as session:
        assert len(list(await session.scalars(select(AccessToken.id)))) == 1
    # A revoked token keeps its state; an enterprise's invitation is not a staff token.
    _, token_id = await _create(service)
    await service.client.post(f"/admin/tokens/{token_id}/revoke", data={"_csrf": csrf})
    again = await service.client.post(f"/admin/tokens/{token_id}/expire", data={"_csrf": csrf})
    assert again.status_code == 409
    unknown = await service.client.post("/admin/tokens/99999/revoke", data={"_csrf": csrf})
    assert unknown.status_code == 404


async def test_a_post_without_the_pages_csrf_token_changes_nothing(service: Service) -> None:
    await _admin_session(service)
    _, token_id = await _create(service)
    forged = await service.client.post(f"/admin/tokens/{token_id}/revoke", data={"_csrf": "x"})
    assert forged.status_code == 403
    cross = await service.client.post(
        f"/admin/tokens/{token_id}/revoke",
        data={"_csrf": await page_csrf(service, "/admin/tokens")},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    async with service.db.read() as session:
        row = await session.get(AccessToken, token_id)
    assert row is not None
    assert row.revoked_at is None


async def test_the_api_expires_a_token_now_or_later(service: Service) -> None:
    made = await service.client.post(
        "/api/v1/tokens", json={"role": "analyst", "label": "x"}, headers=service.admin
    )
    token_id, token = made.json()["id"], made.json()["token"]
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    answer = await service.client.post(
        f"/api/v1/tokens/{token_id}/expire", json={"expires_at": later}, headers=service.admin
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["expires_at"] is not None
    assert await _reads(service, token) == 200
    now = await service.client.post(
        f"/api/v1/tokens/{token_id}/expire", json={}, headers=service.admin
    )
    assert now.status_code == 200
    assert await _reads(service, token) == 401
    past = await service.client.post(
        f"/api/v1/tokens/{token_id}/expire",
        json={"expires_at": "2020-01-01T00:00:00Z"},
        headers=service.admin,
    )
    assert past.status_code == 422
    assert [e["path"] for e in past.json()["errors"]] == ["/expires_at"]


async def test_only_an_admins_session_opens_the_page(service: Service) -> None:
    analyst = await service.token("analyst", label="a")
    assert (await service.client.get("/admin/tokens")).headers["location"] == "/admin/signin"
    form = await service.client.get("/analyst/signin")
    signed = await service.client.post(
        "/analyst/signin", data={"token": analyst, "_csrf": csrf_of(form.text)}
    )
    assert signed.status_code == 303
    assert (await service.client.get("/admin/tokens")).headers["location"] == "/admin/signin"
    posted = await service.client.post(
        "/admin/tokens", data={"_csrf": csrf_of(form.text), "role": "admin", "label": "me"}
    )
    assert posted.status_code == 303
    async with service.db.read() as session:
        assert len(list(await session.scalars(select(AccessToken.id)))) == 2
