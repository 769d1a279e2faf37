"""What fuzzing the API found, pinned on SQLite and PostgreSQL: numbers beyond the
database's integer are refused as invalid (they were 500s: SQLite cannot bind an integer
beyond 64 bits, PostgreSQL one beyond its int4 column), a missing body is named as such,
and an empty cursor is the first page."""

from __future__ import annotations

import pytest

from survey_service.structs import INT4_MAX
from tests.conftest import Service
from tests.factories import bearer, invited
from tests.samples import enterprise, salary_document, uscc

BEYOND_INT4 = INT4_MAX + 1
BEYOND_INT64 = 2**70


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        (f"/api/v1/campaigns/{BEYOND_INT4}", "/campaign_id"),
        (f"/api/v1/campaigns/{BEYOND_INT64}/progress", "/campaign_id"),
        (f"/api/v1/campaigns/{BEYOND_INT4}/benchmarks/wages", "/campaign_id"),
        (f"/api/v1/forms/salary-survey/schema?version={BEYOND_INT64}", "/version"),
        (f"/api/v1/forms/salary-survey/versions/{BEYOND_INT4}/publish", "/number"),
        (f"/api/v1/tokens/{BEYOND_INT64}/revoke", "/token_id"),
    ],
)
async def test_a_number_beyond_the_database_integer_is_refused_as_invalid(
    service: Service, path: str, pointer: str
) -> None:
    method = "POST" if path.endswith(("/publish", "/revoke")) else "GET"
    response = await service.client.request(method, path, headers=service.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in response.json()["errors"]] == [pointer]


async def test_the_largest_storable_id_is_simply_not_found(service: Service) -> None:
    response = await service.client.get(f"/api/v1/campaigns/{INT4_MAX}", headers=service.admin)
    assert response.status_code == 404


async def test_a_report_of_a_campaign_beyond_the_database_integer_is_invalid(
    service: Service,
) -> None:
    response = await service.client.post(
        "/api/v1/reports",
        json={"type": "wage-benchmark", "campaign_id": BEYOND_INT64},
        headers=service.admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "/campaign_id"


async def test_a_cursor_beyond_the_database_integer_was_not_given_out(service: Service) -> None:
    for path in ("/api/v1/enterprises", "/api/v1/campaigns/1/poll-links"):
        response = await service.client.get(
            path, params={"cursor": str(BEYOND_INT64)}, headers=service.admin
        )
        assert response.status_code == 400, response.text
        assert response.json()["detail"] == "The cursor is not one this service gave out."


async def test_an_empty_cursor_is_the_first_page(service: Service) -> None:
    await service.client.post("/api/v1/enterprises", json=enterprise(1), headers=service.admin)
    response = await service.client.get(
        "/api/v1/enterprises", params={"cursor": ""}, headers=service.admin
    )
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


async def test_a_missing_body_is_named_as_such(service: Service) -> None:
    response = await service.client.post("/api/v1/tokens", headers=service.admin)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "", "message": "A JSON body is required.", "keyword": "type"}
    ]


async def test_a_salary_campaign_with_no_worker_counted_yet_has_an_empty_table(
    service: Service,
) -> None:
    """It answered 400 with numpy's "cannot reshape array of size 0" before."""
    campaign_id, token = await invited(service, campaign_year=None)
    url = f"/api/v1/campaigns/{campaign_id}/benchmarks/wages"
    for by in ("occupation", "occupation,district"):
        empty = await service.client.get(url, params={"by": by}, headers=service.admin)
        assert empty.status_code == 200, empty.text
        assert empty.json()["rows"] == []
    # Part-year workers only: nobody is counted in the annual table.
    document = salary_document(uscc(1))
    for worker in document["employees"]:
        worker["months_worked"] = 6
    submitted = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": document, "status": "submitted"},
        headers=bearer(token),
    )
    assert submitted.status_code == 201, submitted.text
    annual = await service.client.get(url, params={"by": "occupation"}, headers=service.admin)
    assert annual.status_code == 200, annual.text
    assert annual.json()["rows"] == []
    csv_download = await service.client.get(
        url, params={"by": "occupation", "format": "csv"}, headers=service.admin
    )
    assert csv_download.status_code == 200
    assert len(csv_download.text.strip().splitlines()) == 1  # the header only
