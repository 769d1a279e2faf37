"""A campaign's audience (districts, industries, size, union, staff) through HTTP on SQLite
and PostgreSQL: checked when the campaign is made, enforced when enterprises are invited
and when poll links are issued."""

from __future__ import annotations

from typing import Any

from httpx import Response

from tests.conftest import Service
from tests.factories import post_campaign, register_enterprises
from tests.samples import enterprise, uscc


async def _with_audience(service: Service, form_key: str, audience: dict[str, Any]) -> Response:
    """The admin's request for a campaign of ``form_key`` open to ``audience``."""
    return await post_campaign(
        service, form_key, title="audience", campaign_year=None, audience=audience
    )


async def _register(service: Service) -> None:
    await register_enterprises(
        service,
        enterprise(1, "610202", above_designated_size=True, has_union=True, staff_count=150),
        enterprise(2, "610204", above_designated_size=True, has_union=True, staff_count=300),
        enterprise(3, "610202", above_designated_size=False, has_union=True, staff_count=40),
    )


async def test_invitations_outside_the_audience_are_refused(service: Service) -> None:
    await _register(service)
    audience = {"districts": ["610202"], "above_designated_size": True, "min_staff": 100}
    created = await _with_audience(service, "salary-survey", audience)
    assert created.status_code == 201, created.text
    assert created.json()["audience"] == audience
    campaign_id = created.json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}/invitations"
    refused = await service.client.post(
        url, json={"enterprises": [uscc(1), uscc(2), uscc(3)]}, headers=service.admin
    )
    assert refused.status_code == 422
    messages = [e["message"] for e in refused.json()["errors"]]
    assert any(uscc(2) in m and "district 610204" in m for m in messages)
    assert any(uscc(3) in m for m in messages)
    assert not any(uscc(1) in m for m in messages)
    # Nothing was issued for the one that fits either: all or nothing.
    listed = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/progress", headers=service.admin
    )
    assert listed.json()["overall"]["invited"] == 0
    accepted = await service.client.post(
        url, json={"enterprises": [uscc(1)]}, headers=service.admin
    )
    assert accepted.status_code == 201, accepted.text


async def test_poll_links_follow_the_audience_and_unknown_codes_are_refused(
    service: Service,
) -> None:
    await _register(service)
    created = await _with_audience(service, "worker-satisfaction", {"industries": ["Z"]})
    assert created.status_code == 422
    assert created.json()["errors"][0]["path"] == "/audience/industries/0"
    created = await _with_audience(service, "worker-satisfaction", {"districts": ["999999"]})
    assert created.status_code == 422
    typo = await _with_audience(service, "worker-satisfaction", {"district": ["610202"]})
    assert typo.status_code in (400, 422)
    created = await _with_audience(
        service, "worker-satisfaction", {"has_union": True, "min_staff": 100}
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/campaigns/{created.json()['id']}/poll-links"
    inside = await service.client.post(url, json={"enterprise": uscc(1)}, headers=service.admin)
    assert inside.status_code == 201, inside.text
    outside = await service.client.post(url, json={"enterprise": uscc(3)}, headers=service.admin)
    assert outside.status_code == 422
    assert "fewer than 100" in outside.json()["errors"][0]["message"]
