"""Downloads answer with the headers a browser and a script expect (issue 12, item 15):
the CSV's Content-Type names its charset once; HEAD on the spreadsheet template answers as
GET (same type, name and length) without a body."""

from __future__ import annotations

from tests.conftest import Service
from tests.integration.analytics.wage_helpers import URL, seeded_campaign

TEMPLATE = "/api/v1/forms/salary-survey/template.xlsx"


async def test_the_csv_download_names_its_charset_once(service: Service) -> None:
    campaign_id, _ = await seeded_campaign(service, enterprises=3)
    response = await service.client.get(
        URL.format(campaign_id), params={"by": "occupation", "format": "csv"},
        headers=service.admin,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


async def test_head_on_the_template_answers_as_get_without_a_body(service: Service) -> None:
    got = await service.client.get(TEMPLATE)
    head = await service.client.head(TEMPLATE)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-disposition"):
        assert head.headers[name] == got.headers[name]
    assert head.headers["content-length"] == str(len(got.content))
    missing = await service.client.head("/api/v1/forms/worker-satisfaction/template.xlsx")
    assert missing.status_code == 404
