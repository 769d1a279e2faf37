"""The one error shape, pinned across real failing requests: every problem is
problem+json whose ``type`` is one of the catalogue's (``survey_service.problems``), with
that entry's status and title and a ``detail``; and its ``type`` dereferences (``GET`` it:
200, as JSON, and as an HTML page for a browser)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from survey_service.app import create_app
from survey_service.db.engine import open_database
from survey_service.errors import PROBLEM_JSON
from survey_service.json_depth import MAX_JSON_DEPTH
from survey_service.problems import CATALOGUE, ProblemKind
from survey_service.settings import Settings
from tests.conftest import Service
from tests.integration.security.world import service_with
from tests.paths import PROJECT_ROOT

VALIDATE = "/api/v1/forms/salary-survey/validate"
JSON = {"content-type": "application/json"}


async def assert_problem(
    client: httpx.AsyncClient, response: httpx.Response, kind: ProblemKind
) -> dict[str, Any]:
    """``response`` is the catalogue's problem ``kind``, and its type dereferences."""
    entry = CATALOGUE[kind]
    assert response.status_code == entry.status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["type"] == entry.uri == f"/problems/{kind}"
    assert (body["status"], body["title"]) == (entry.status, entry.title)
    assert isinstance(body["detail"], str)
    assert body["detail"]
    documented = await client.get(body["type"])
    assert documented.status_code == 200
    assert documented.json() == {
        "type": entry.uri,
        "slug": kind,
        "status": entry.status,
        "title": entry.title,
        "title_zh": entry.title_zh,
        "description": entry.description,
    }
    page = await client.get(body["type"], headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert entry.title_zh in page.text
    return body


async def test_client_errors_carry_a_type_of_the_catalogue(service: Service) -> None:
    client = service.client
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='a')}"}

    await assert_problem(client, await client.get("/api/v1/nothing-here"), "not-found")
    await assert_problem(client, await client.get("/api/v1/forms/no-such-form"), "not-found")
    await assert_problem(client, await client.delete("/health"), "method-not-allowed")
    unauthorized = await client.get("/api/v1/tokens")
    await assert_problem(client, unauthorized, "unauthorized")
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    await assert_problem(client, await client.get("/api/v1/tokens", headers=analyst), "forbidden")

    # Not JSON: read by the route itself, and by Litestar for a typed body.
    not_json = await client.post(VALIDATE, content=b'{"a": ', headers=JSON)
    await assert_problem(client, not_json, "invalid-json")
    for broken in (b'{"role": x}', b'{"role": '):
        not_json = await client.post("/api/v1/tokens", content=broken, headers=JSON | service.admin)
        await assert_problem(client, not_json, "invalid-json")
    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    await assert_problem(
        client, await client.post(VALIDATE, content=deep, headers=JSON), "json-too-deep"
    )

    taken = {"key": "salary-survey", "title": {"zh": "工资"}, "schema": {"type": "object"}}
    conflict = await client.post("/api/v1/forms", json=taken, headers=service.admin)
    await assert_problem(client, conflict, "conflict")

    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    expired = await client.post(
        "/api/v1/tokens",
        json={"role": "analyst", "label": "x", "expires_at": past},
        headers=service.admin,
    )
    body = await assert_problem(client, expired, "validation-failed")
    assert body["errors"] == [
        {"path": "/expires_at", "message": "must be in the future", "keyword": "minimum"}
    ]
    wrong_shape = await client.post("/api/v1/tokens", json={"role": 5}, headers=service.admin)
    body = await assert_problem(client, wrong_shape, "validation-failed")
    assert body["errors"]
    assert all("path" in e and "message" in e for e in body["errors"])

    too_big = b'{"a": "' + b"x" * (service.settings.max_body_bytes + 10) + b'"}'
    await assert_problem(
        client, await client.post(VALIDATE, content=too_big, headers=JSON), "payload-too-large"
    )


async def test_too_many_failed_tokens_is_a_typed_429_with_retry_after(service: Service) -> None:
    async with service_with(service, auth_failures_per_minute=1) as limited:
        guess = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
        first = await limited.client.get("/api/v1/tokens", headers=guess)
        await assert_problem(limited.client, first, "unauthorized")
        again = await limited.client.get("/api/v1/tokens", headers=guess)
        await assert_problem(limited.client, again, "too-many-failed-attempts")
        assert int(again.headers["retry-after"]) >= 1


async def test_an_unreachable_database_is_a_typed_503(tmp_path: Path) -> None:
    (tmp_path / "a-directory.db").mkdir()  # a SQLite "file" that cannot be opened
    url = f"sqlite+aiosqlite:///{tmp_path / 'a-directory.db'}"
    settings = Settings(
        database_url=url, var_dir=tmp_path / "var", form_schemas_dir=PROJECT_ROOT / "form_schemas"
    )
    db = open_database(url)
    app = create_app(settings, database=db)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            for path in ("/health", "/api/v1/forms"):
                response = await client.get(path)
                body = await assert_problem(client, response, "database-unavailable")
                assert body["reason"] == "database-unreachable"
                assert int(response.headers["retry-after"]) >= 1
    finally:
        await app.state.reports.close()
        await db.dispose()


async def test_the_catalogue_is_served_whole_and_an_unknown_type_is_not_found(
    service: Service,
) -> None:
    listed = await service.client.get("/problems")
    assert listed.status_code == 200
    assert [p["type"] for p in listed.json()["problems"]] == [p.uri for p in CATALOGUE.values()]
    page = await service.client.get("/problems", headers={"accept": "text/html"})
    assert all(p.uri in page.text and p.title_zh in page.text for p in CATALOGUE.values())
    unknown = await service.client.get("/problems/no-such-problem")
    await assert_problem(service.client, unknown, "not-found")
