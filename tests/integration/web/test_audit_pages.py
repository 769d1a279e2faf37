"""The audit log as a page and through ``GET /api/v1/audit``, on SQLite and PostgreSQL:
filters by the actor's role and token, the action (or its family), a range of days in the
service's zone and a campaign (its parts and submissions included); pages by keyset that
neither skip nor repeat an entry; a filter it cannot read is said; admins only."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from survey_service.db.models import AccessToken, AuditEntry
from tests.conftest import Service
from tests.factories import bearer, invited
from tests.integration.web.helpers import assert_well_formed, sign_in
from tests.samples import salary_document, uscc

_ENTRY = re.compile(r'<tr data-entry="(\d+)">')


async def _admin_session(service: Service) -> None:
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303


async def _shown(service: Service, query: str) -> list[tuple[str, str]]:
    """(action, target) of each entry the page shows for ``query``, newest first."""
    response = await service.client.get(f"/admin/audit?{query}")
    assert response.status_code == 200, response.text
    assert_well_formed(response.text)
    rows = (
        response.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        if _ENTRY.search(response.text)
        else ""
    )
    found = []
    for row in rows.split("<tr ")[1:]:
        action = row.split("<code>", 1)[1].split("</code>", 1)[0]
        target = row.split("</code></td>\n<td>", 1)[1].split("</td>", 1)[0]
        found.append((action, target))
    return found


async def _world(service: Service) -> tuple[int, int, str]:
    """Two campaigns, one submission, a token made and one refused: (campaign of the
    submission, the other campaign, the submission's id)."""
    campaign_id, token = await invited(service, 1)
    other_id, _ = await invited(service, 2)
    submitted = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1)), "status": "submitted"},
        headers=bearer(token),
    )
    assert submitted.status_code == 201, submitted.text
    revoked = await service.client.post(
        f"/api/v1/campaigns/{other_id}/invitations/{uscc(2)}/revoke", headers=service.admin
    )
    assert revoked.status_code == 204
    made = await service.client.post(
        "/api/v1/tokens", json={"role": "analyst", "label": "统计局"}, headers=service.admin
    )
    assert made.status_code == 201
    refused = await service.client.get("/api/v1/campaigns", headers=bearer("not-a-token"))
    assert refused.status_code == 401
    return campaign_id, other_id, submitted.json()["id"]


async def test_the_log_filters_by_campaign_role_action_and_actor(service: Service) -> None:
    campaign_id, other_id, submission_id = await _world(service)
    await _admin_session(service)
    everything = await _shown(service, "")
    assert everything[0] == ("session.sign_in", "page:admin")
    assert ("auth.refused", "") in everything
    assert await _shown(service, f"campaign={campaign_id}") == [
        ("submission.create", f"submission:{submission_id}"),
        ("campaign.invite", f"campaign:{campaign_id}"),
        ("campaign.create", f"campaign:{campaign_id}"),
    ]
    assert [a for a, _ in await _shown(service, f"campaign={other_id}")] == [
        "campaign.revoke",
        "campaign.invite",
        "campaign.create",
    ]
    assert await _shown(service, "role=none") == [("auth.refused", "")]
    assert [a for a, _ in await _shown(service, "role=enterprise")] == ["submission.create"]
    assert [a for a, _ in await _shown(service, "action=campaign")] == [
        "campaign.revoke", "campaign.invite", "campaign.create",
        "campaign.invite", "campaign.create",
    ]  # fmt: skip
    assert [a for a, _ in await _shown(service, "action=token.create")] == ["token.create"]
    assert await _shown(service, "action=token.revoke") == []
    async with service.db.read() as session:
        admin_id = await session.scalar(
            select(AccessToken.id).where(AccessToken.label == "test admin")
        )
    by_admin = await _shown(service, f"actor={admin_id}&action=campaign.create")
    assert len(by_admin) == 2
    page = await service.client.get(f"/admin/audit?role=none&campaign={campaign_id}")
    assert "没有符合条件的记录" in page.text


async def test_days_are_read_in_the_services_zone(service: Service) -> None:
    async with service.db.transaction() as session:
        for at in ("2026-03-01T15:59:00", "2026-03-01T16:00:00", "2026-03-02T15:59:00",
                   "2026-03-02T16:00:00"):  # fmt: skip
            moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
            session.add(AuditEntry(at=moment, action="test.day", target=at, detail={}))
    await _admin_session(service)
    # 2 March in Beijing is 1 March 16:00 UTC to 2 March 16:00 UTC.
    shown = await _shown(service, "action=test&since=2026-03-02&until=2026-03-02")
    assert [t for _, t in shown] == ["2026-03-02T15:59:00", "2026-03-01T16:00:00"]
    api = await service.client.get(
        "/api/v1/audit",
        params={"action": "test.day", "since": "2026-03-01T16:00:00Z"},
        headers=service.admin,
    )
    assert [e["target"] for e in api.json()["items"]] == [
        "2026-03-02T16:00:00", "2026-03-02T15:59:00", "2026-03-01T16:00:00",
    ]  # fmt: skip


async def test_pages_follow_by_keyset_without_gaps_or_repeats(service: Service) -> None:
    async with service.db.transaction() as session:
        for n in range(120):
            session.add(AuditEntry(action="test.page", target=f"n:{n}", detail={"n": n}))
    await _admin_session(service)
    seen: list[str] = []
    url = "/admin/audit?action=test.page"
    while url:
        response = await service.client.get(url)
        assert response.status_code == 200
        seen += re.findall(r"<td>(n:\d+)</td>", response.text)
        found = re.search(r'id="earlier" href="([^"]+)"', response.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
        if url:
            assert "action=test.page" in url  # the filter is kept from page to page
    assert seen == [f"n:{n}" for n in reversed(range(120))]
    # The API pages alike, with its limit.
    items: list[str] = []
    cursor = ""
    while True:
        answer = await service.client.get(
            "/api/v1/audit",
            params={"action": "test", "limit": 50} | ({"cursor": cursor} if cursor else {}),
            headers=service.admin,
        )
        body = answer.json()
        items += [e["target"] for e in body["items"]]
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]
    assert items == seen


async def test_a_filter_it_cannot_read_is_said(service: Service) -> None:
    await _admin_session(service)
    for query, said in [
        ("since=2026-13-01", "since"),
        ("until=yesterday", "until"),
        ("role=root", "role"),
        ("actor=abc", "actor"),
        ("campaign=-1", "campaign"),
        ("since=2026-03-05&until=2026-03-01", "until"),
        ("cursor=x", "cursor"),
    ]:
        response = await service.client.get(f"/admin/audit?{query}")
        assert response.status_code == 400, query
        assert said in response.text.split('id="audit-error"', 1)[1].split("</div>", 1)[0]
        api_query = query.replace("campaign=", "campaign_id=")
        api = await service.client.get(f"/api/v1/audit?{api_query}", headers=service.admin)
        assert api.status_code in (400, 422), (query, api.text)


async def test_the_log_is_for_admins_only(service: Service) -> None:
    assert (await service.client.get("/admin/audit")).headers["location"] == "/admin/signin"
    analyst = bearer(await service.token("analyst", label="a"))
    assert (await service.client.get("/api/v1/audit", headers=analyst)).status_code == 403
    assert (await service.client.get("/api/v1/audit")).status_code == 401
