"""A campaign's window through HTTP: a date alone is that day in the configured time zone
(Beijing time by default), a full RFC 3339 time stays accepted, and anything else is a
422 naming the field."""

from __future__ import annotations

from typing import Any

from tests.conftest import Service
from tests.factories import campaign_body, post_campaign
from tests.integration.other_settings import client_with


def _days(opens_at: str, closes_at: str) -> dict[str, Any]:
    """A 2026 salary survey's campaign, its window as given (the campaign year left to the
    service)."""
    window = {"opens_at": opens_at, "closes_at": closes_at}
    return {"year": 2026, "campaign_year": None, "window": window}


async def test_a_date_alone_is_that_whole_day_in_beijing_time(service: Service) -> None:
    response = await post_campaign(service, **_days("2026-12-01", "2026-12-31"))
    assert response.status_code == 201, response.text
    body = response.json()
    # 2026-12-01 00:00 Beijing time, and the end of 2026-12-31 (2027-01-01 00:00) there.
    assert (body["opens_at"], body["closes_at"]) == (
        "2026-11-30T16:00:00Z",
        "2026-12-31T16:00:00Z",
    )


async def test_a_full_rfc3339_time_is_still_taken_as_given(service: Service) -> None:
    response = await post_campaign(
        service, **_days("2026-12-01T09:30:00+08:00", "2026-12-20T00:00:00Z")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["opens_at"], body["closes_at"]) == (
        "2026-12-01T01:30:00Z",
        "2026-12-20T00:00:00Z",
    )


async def test_a_date_that_is_not_one_is_a_422_naming_the_field(service: Service) -> None:
    response = await post_campaign(service, **_days("2026-13-01", "2026-12-20T08:00"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"/opens_at", "/closes_at"}
    assert "not a date" in errors["/opens_at"]
    assert "RFC 3339" in errors["/closes_at"]


async def test_one_day_campaign_given_as_one_date_is_open_that_day(service: Service) -> None:
    response = await post_campaign(service, **_days("2026-12-01", "2026-12-01"))
    assert response.status_code == 201, response.text
    assert response.json()["closes_at"] == "2026-12-01T16:00:00Z"


async def test_the_days_follow_the_configured_time_zone(service: Service) -> None:
    async with client_with(service, time_zone="Europe/Berlin") as client:
        response = await client.post(
            "/api/v1/campaigns",
            json=campaign_body(**_days("2026-07-01", "2026-07-31")),
            headers=service.admin,
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["opens_at"], body["closes_at"]) == (
        "2026-06-30T22:00:00Z",
        "2026-07-31T22:00:00Z",
    )


async def test_the_openapi_document_says_a_date_alone_is_taken(service: Service) -> None:
    document = (await service.client.get("/schema/openapi.json")).json()
    fields = document["components"]["schemas"]["CampaignIn"]["properties"]
    assert "date alone" in fields["opens_at"]["description"]
    assert "that day's end" in fields["closes_at"]["description"]
