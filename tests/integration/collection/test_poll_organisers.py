"""The public poll through HTTP names who runs it and the enterprise whose workers it is
for, beside the anonymity notice (on SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.conftest import Service
from tests.factories import open_poll
from tests.samples import enterprise


async def test_the_public_poll_names_its_organisers_and_the_enterprise(service: Service) -> None:
    _, slug = await open_poll(service)
    body = (await service.client.get(f"/api/v1/polls/{slug}")).json()
    assert body["enterprise_name"] == enterprise(1)["name"]
    assert "总工会" in body["organisers"]["zh"]
    assert "人力资源和社会保障局" in body["organisers"]["zh"]
    assert "匿名" in body["anonymity_notice"]["zh"]


async def test_a_campaign_setting_names_other_organisers(service: Service) -> None:
    _, slug = await open_poll(service, settings={"organisers": "耀州区总工会"})
    body = (await service.client.get(f"/api/v1/polls/{slug}")).json()
    assert body["organisers"] == {"zh": "耀州区总工会"}
