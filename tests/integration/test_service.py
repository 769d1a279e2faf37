"""Health, OpenAPI, the error shape and the body-size limit."""

from __future__ import annotations

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
