"""``/metrics``: requests counted and timed by route template and status, and the service's
own counters, in the Prometheus text format (read back with prometheus-client's parser);
admins only; nothing in it names a link, a token or an enterprise."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from survey_service.app import create_app
from tests.conftest import Service
from tests.factories import invited, open_poll, submit, upload_salaries
from tests.integration.reports.report_helpers import ask, wait_for
from tests.samples import POLL_ANSWER, salary_document, salary_rows, salary_workbook, uscc

SCHEMA_ROUTE = "/api/v1/forms/{key}/schema"
ANSWER_ROUTE = "/api/v1/polls/{link}/responses"


Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(service: Service) -> Scrape:
    response = await service.client.get("/metrics", headers=service.admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(scrape: Scrape, name: str, **labels: str) -> float:
    return sum(
        value
        for (sample, found), value in scrape.items()
        if sample == name and labels.items() <= dict(found).items()
    )


def _growth(before: Scrape, after: Scrape) -> Callable[..., float]:
    """How much a series (``name``, ``labels``) grew from one scrape to the next."""

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    return grew


async def test_requests_and_answers_are_counted_by_route_and_status(service: Service) -> None:
    _, slug = await open_poll(service)
    before = await _scrape(service)
    for _ in range(3):
        assert (await service.client.get("/api/v1/forms/salary-survey/schema")).status_code == 200
    assert (await service.client.get("/api/v1/forms/no-such-form/schema")).status_code == 404
    answered = await service.client.post(
        f"/api/v1/polls/{slug}/responses", json={"data": POLL_ANSWER}
    )
    assert answered.status_code == 201
    after = await _scrape(service)

    grew = _growth(before, after)

    ok = {"route": SCHEMA_ROUTE, "method": "GET", "status": "200"}
    assert grew("survey_http_requests_total", **ok) == 3
    assert grew("survey_http_requests_total", route=SCHEMA_ROUTE, status="404") == 1
    assert grew("survey_http_request_seconds_count", **ok) == 3
    assert grew("survey_http_requests_total", route=ANSWER_ROUTE, status="201") == 1
    assert grew("survey_poll_answers_total") == 1

    text = (await service.client.get("/metrics", headers=service.admin)).text
    assert slug not in text  # routes by template: no link, id or token in a label
    assert service.admin_token not in text


async def test_only_an_admin_reads_the_metrics_and_they_can_be_turned_off(
    service: Service,
) -> None:
    assert (await service.client.get("/metrics")).status_code == 401
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='a')}"}
    assert (await service.client.get("/metrics", headers=analyst)).status_code == 403
    off = create_app(dataclasses.replace(service.settings, metrics=False), database=service.db)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=off), base_url="http://testserver"
        ) as client:
            assert (await client.get("/metrics", headers=service.admin)).status_code == 404
    finally:
        await off.state.reports.close()


async def test_report_jobs_are_counted_by_kind_and_outcome(service: Service) -> None:
    before = await _scrape(service)
    status, asked = await ask(service, service.admin, type="participation", year=2023)
    assert status in (200, 201, 202), asked
    ended = await wait_for(service, service.admin, asked["id"])
    after = await _scrape(service)
    grew = _growth(before, after)
    assert grew("survey_report_jobs_total", kind="participation", state=ended["status"]) == 1
    if ended["status"] == "done":
        assert grew("survey_report_seconds_count", kind="participation") == 1


async def test_surveys_and_spreadsheets_are_counted(service: Service) -> None:
    """A spreadsheet refused (a bad row), one stored with its bad row left out, and a JSON
    survey: counted by outcome, rows by fate, surveys by form kind and status."""
    campaign_id, token = await invited(service)
    rows = salary_rows(5)
    rows[1][1] = 13  # months worked: refused
    before = await _scrape(service)
    book = salary_workbook(rows)
    assert (await upload_salaries(service, campaign_id, token, book, "a.xlsx")).status_code == 422
    stored = await upload_salaries(service, campaign_id, token, book, "a.xlsx", partial="true")
    assert stored.status_code == 201
    other, token2 = await invited(service, 2)
    await submit(service, other, token2, salary_document(uscc(2)), status="draft")
    after = await _scrape(service)

    grew = _growth(before, after)

    assert grew("survey_salary_uploads_total", outcome="refused") == 1
    assert grew("survey_salary_uploads_total", outcome="stored") == 1
    assert grew("survey_salary_upload_rows_total", fate="rejected") == 2  # once each time
    assert grew("survey_salary_upload_rows_total", fate="accepted") == 4
    assert grew("survey_submissions_total", kind="salary-survey", status="submitted") == 1
    assert grew("survey_submissions_total", kind="salary-survey", status="draft") == 1
