"""A district's staff through HTTP on SQLite and PostgreSQL: the bureau's pages and the
API show and act on their district's enterprises, submissions and progress only; the
city's released tables like an analyst, never the live figures; the bureau's own pages
(tokens, campaigns, audit) not at all."""

from __future__ import annotations

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises, submit
from tests.integration.web.helpers import sign_in
from tests.samples import salary_document, uscc

# Enterprises 1 and 2 are in 王益区 (610202), 3 in 印台区 (610203), whose staff we are.
DISTRICTS = {1: "610202", 2: "610202", 3: "610203"}


async def _staff_of_yintai(service: Service) -> tuple[int, str, dict[int, str]]:
    for n, district in DISTRICTS.items():
        await register_enterprises(service, n, district=district)
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, *DISTRICTS)
    submissions = {
        n: await submit(service, campaign_id, tokens[n], salary_document(uscc(n))) for n in (1, 3)
    }
    made = await service.client.post(
        "/api/v1/tokens",
        json={"role": "district", "label": "印台区总工会", "district": "610203"},
        headers=service.admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["district"] == "610203"
    return campaign_id, made.json()["token"], submissions


async def test_a_district_token_needs_a_district_of_the_city(service: Service) -> None:
    for body in (
        {"role": "district", "label": "x"},
        {"role": "district", "label": "x", "district": "110101"},
        {"role": "analyst", "label": "x", "district": "610203"},
    ):
        refused = await service.client.post("/api/v1/tokens", json=body, headers=service.admin)
        assert refused.status_code == 422, body


async def test_the_pages_show_the_staffs_district_only(service: Service) -> None:
    campaign_id, token, submissions = await _staff_of_yintai(service)
    signed = await sign_in(service, token, admin=True)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/admin/review"
    registry = (await service.client.get("/admin/enterprises")).text
    assert uscc(3) in registry
    assert uscc(1) not in registry
    assert uscc(2) not in registry
    queue = (await service.client.get("/admin/review")).text
    assert submissions[3] in queue
    assert submissions[1] not in queue
    other = await service.client.get(f"/admin/review/submissions/{submissions[1]}")
    assert other.status_code == 404
    own = await service.client.get(f"/admin/review/submissions/{submissions[3]}")
    assert own.status_code == 200
    assert (await service.client.get(f"/admin/enterprises/{uscc(1)}")).status_code == 404
    invitations = (await service.client.get(f"/admin/campaigns/{campaign_id}/invitations")).text
    assert uscc(3) in invitations
    assert uscc(1) not in invitations
    reminders = (await service.client.get(f"/admin/reminders/{campaign_id}")).text
    assert "铜川示例企业1" not in reminders
    assert "铜川示例企业2" not in reminders
    # The bureau's own pages stay the bureau's.
    for path in ("/admin/tokens", "/admin/audit", "/admin/campaigns/new", "/admin/forms"):
        answer = await service.client.get(path)
        assert answer.status_code == 303, path
        assert "/signin" in answer.headers["location"], path


async def test_the_api_holds_the_staff_to_its_district(service: Service) -> None:
    campaign_id, token, _ = await _staff_of_yintai(service)
    progress = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/progress", headers=bearer(token)
    )
    assert progress.status_code == 200
    body = progress.json()
    assert [row["district"] for row in body["by_district"]] == ["610203"]
    assert (body["overall"]["invited"], body["overall"]["submitted"]) == (1, 1)
    live = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/benchmarks/wages",
        params={"release": "live"},
        headers=bearer(token),
    )
    assert live.status_code == 403
    for path in ("/api/v1/tokens", f"/api/v1/campaigns/{campaign_id}/submissions"):
        assert (await service.client.get(path, headers=bearer(token))).status_code == 403
