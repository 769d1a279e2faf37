"""Making a release through the API, as the admin does after the surveys are in."""

from __future__ import annotations

from typing import Any

from tests.conftest import Service


async def release(service: Service, campaign_id: int, **body: Any) -> dict[str, Any]:
    """Release the campaign (during collection unless told otherwise: the test campaigns
    are still open); the new release as the API returns it."""
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/releases",
        json={"during_collection": True} | body,
        headers=service.admin,
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made
