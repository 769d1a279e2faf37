"""Health, OpenAPI, the error shape and the body-size limit."""

from __future__ import annotations

import logging

import httpx
import pytest
from weasyprint.text import ffi

from survey_service.app import create_app
from survey_service.reports.subsetting import SLOW_SUBSETTING, harfbuzz_subsetting
from tests.conftest import Service


async def test_health_says_ok_once_the_database_answers(service: Service) -> None:
    response = await service.client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in {"sqlite", "postgresql"}


async def test_openapi_describes_the_forms_endpoints(service: Service) -> None:
    response = await service.client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/forms",
        "/api/v1/forms/{key}",
        "/api/v1/forms/{key}/schema",
        "/api/v1/forms/{key}/versions",
        "/api/v1/forms/{key}/versions/{number}/publish",
        "/api/v1/forms/{key}/validate",
        "/api/v1/tokens",
        "/health",
    ):
        assert path in paths, path


async def test_unknown_route_is_problem_json(service: Service) -> None:
    response = await service.client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_body_over_the_limit_is_refused_with_413(service: Service) -> None:
    limit = service.settings.max_body_bytes
    body = b'{"a": "' + b"x" * (limit + 10) + b'"}'
    response = await service.client.post(
        "/api/v1/forms/salary-survey/validate",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_machine_has_the_fast_font_subsetter(service: Service) -> None:
    """`make run` and `make test` install libharfbuzz-subset0: reports render fast here."""
    assert harfbuzz_subsetting()
    assert "warnings" not in (await service.client.get("/health")).json()


async def test_a_missing_font_subsetter_is_said_at_start_up_and_on_health(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    harfbuzz_subsetting.cache_clear()
    # The app's logging set-up replaces the root logger's handlers (pytest's among them):
    # listen on the module's own logger, after the app is made.
    app = create_app(service.settings, database=service.db)
    said: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("survey_service.reports.subsetting")
    logger.addHandler(handler)
    try:
        async with app.lifespan():  # the app's start-up and shut-down
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                health = await client.get("/health")
    finally:
        logger.removeHandler(handler)
        harfbuzz_subsetting.cache_clear()
        await app.state.reports.close()
    assert said == [SLOW_SUBSETTING]
    assert health.status_code == 200
    assert health.json()["warnings"] == [SLOW_SUBSETTING]
