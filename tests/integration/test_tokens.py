"""Access tokens through HTTP, on SQLite and on PostgreSQL: an admin creates, lists and revokes
analyst and admin tokens; a token is shown once and stored only as its SHA-256; revoked,
expired, unknown and non-bearer credentials are refused; and the first admin token is
bootstrapped into ``var/admin-token`` (mode 0600)."""

from __future__ import annotations

import hashlib
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from survey_service.db.models import AccessToken, AuditEntry
from survey_service.tokens import ensure_admin_token
from tests.conftest import Service
from tests.factories import bearer

PROBLEM_JSON = "application/problem+json"
FORM = {
    "key": "union-home",
    "title": {"zh": "职工之家"},
    "schema": {"type": "object", "properties": {"name": {"type": "string"}}},
}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


async def create_token(service: Service, **body: Any) -> dict[str, Any]:
    response = await service.client.post(
        "/api/v1/tokens",
        json={"role": "analyst", "label": "统计分析", **body},
        headers=service.admin,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def stored_token(service: Service, token_id: int) -> AccessToken:
    async with service.db.read() as session:
        row = await session.get(AccessToken, token_id)
    assert row is not None
    return row


# ---------------------------------------------------------------- create, list, revoke


async def test_admin_creates_an_analyst_token_shown_once(service: Service) -> None:
    created = await create_token(service, label="统计局 张三")
    assert created["role"] == "analyst"
    assert created["label"] == "统计局 张三"
    assert isinstance(created["token"], str)
    assert len(created["token"]) >= 40
    assert created["created_at"].endswith("Z")
    assert (created["expires_at"], created["revoked_at"]) == (None, None)
    again = await create_token(service, label="统计局 张三")
    assert again["token"] != created["token"]
    assert again["id"] != created["id"]


async def test_only_the_sha256_of_a_token_is_stored(service: Service) -> None:
    created = await create_token(service)
    row = await stored_token(service, created["id"])
    assert row.token_hash == hashlib.sha256(created["token"].encode()).hexdigest()
    async with service.db.read() as session:
        for token in await session.scalars(select(AccessToken)):
            columns = [getattr(token, c.key) for c in AccessToken.__table__.columns]
            assert created["token"] not in [str(v) for v in columns]


async def test_the_token_list_never_shows_a_token(service: Service) -> None:
    created = await create_token(service)
    response = await service.client.get("/api/v1/tokens", headers=service.admin)
    assert response.status_code == 200
    assert created["token"] not in response.text
    assert service.admin_token not in response.text
    listed = {t["id"]: t for t in response.json()}
    assert created["id"] in listed
    assert listed[created["id"]]["role"] == "analyst"
    assert all(t.get("token") is None for t in listed.values())
    assert "test admin" in {t["label"] for t in listed.values()}


async def test_an_analyst_token_reads_forms_but_cannot_write_them(service: Service) -> None:
    analyst = bearer((await create_token(service))["token"])
    assert (await service.client.get("/api/v1/forms", headers=analyst)).status_code == 200
    detail = await service.client.get("/api/v1/forms/salary-survey", headers=analyst)
    assert detail.status_code == 200
    assert_problem(await service.client.post("/api/v1/forms", json=FORM, headers=analyst), 403)


async def test_an_admin_token_made_through_the_api_can_write(service: Service) -> None:
    admin = bearer((await create_token(service, role="admin", label="second admin"))["token"])
    response = await service.client.post("/api/v1/forms", json=FORM, headers=admin)
    assert response.status_code == 201


async def test_a_revoked_token_is_refused_with_401(service: Service) -> None:
    created = await create_token(service)
    analyst = bearer(created["token"])
    assert (await service.client.get("/api/v1/tokens", headers=analyst)).status_code == 403
    response = await service.client.post(
        f"/api/v1/tokens/{created['id']}/revoke", headers=service.admin
    )
    assert response.status_code == 200
    revoked = response.json()
    assert revoked["revoked_at"] is not None
    assert revoked["revoked_at"].endswith("Z")
    assert revoked.get("token") is None
    refused = await service.client.get("/api/v1/tokens", headers=analyst)
    assert_problem(refused, 401)
    assert "invalid_token" in refused.headers["www-authenticate"]
    # revoking again changes nothing
    again = await service.client.post(
        f"/api/v1/tokens/{created['id']}/revoke", headers=service.admin
    )
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked["revoked_at"]


async def test_revoking_an_unknown_token_is_404(service: Service) -> None:
    assert_problem(
        await service.client.post("/api/v1/tokens/9999/revoke", headers=service.admin), 404
    )


async def test_an_expired_token_is_refused_with_401(service: Service) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    expired = await service.token("analyst", label="old", expires_at=past)
    assert_problem(await service.client.get("/api/v1/tokens", headers=bearer(expired)), 401)
    expired_admin = await service.token("admin", label="old admin", expires_at=past)
    assert_problem(
        await service.client.post("/api/v1/forms", json=FORM, headers=bearer(expired_admin)), 401
    )


async def test_a_token_works_until_it_expires(service: Service) -> None:
    future = datetime.now(UTC) + timedelta(days=30)
    created = await create_token(service, role="admin", expires_at=future.isoformat())
    assert datetime.fromisoformat(created["expires_at"]) == future
    response = await service.client.get("/api/v1/tokens", headers=bearer(created["token"]))
    assert response.status_code == 200


async def test_expiry_times_are_answered_in_utc(service: Service) -> None:
    created = await create_token(service, expires_at="2099-01-01T08:00:00+08:00")
    assert created["expires_at"] == "2099-01-01T00:00:00Z"
    listed = (await service.client.get("/api/v1/tokens", headers=service.admin)).json()
    [row] = [t for t in listed if t["id"] == created["id"]]
    assert row["expires_at"] == "2099-01-01T00:00:00Z"


async def test_an_expiry_without_a_time_zone_is_refused(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/tokens",
        json={"role": "analyst", "label": "x", "expires_at": "2099-01-01T00:00:00"},
        headers=service.admin,
    )
    body = assert_problem(response, 422)
    assert [e["path"] for e in body["errors"]] == ["/expires_at"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"role": "enterprise", "label": "x"}, "/role"),
        ({"role": "root", "label": "x"}, "/role"),
        ({"role": "analyst", "label": ""}, "/label"),
        ({"role": "analyst"}, ""),
    ],
)
async def test_a_bad_token_request_is_refused_by_field(
    service: Service, body: dict[str, Any], path: str
) -> None:
    response = await service.client.post("/api/v1/tokens", json=body, headers=service.admin)
    errors = assert_problem(response, 422)["errors"]
    assert [e["path"] for e in errors] == [path]
    async with service.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(AccessToken)) == 1


async def test_an_analyst_cannot_create_list_or_revoke_tokens(service: Service) -> None:
    analyst = bearer(await service.token("analyst", label="x"))
    create = await service.client.post(
        "/api/v1/tokens", json={"role": "admin", "label": "me"}, headers=analyst
    )
    assert_problem(create, 403)
    assert_problem(await service.client.get("/api/v1/tokens", headers=analyst), 403)
    assert_problem(await service.client.post("/api/v1/tokens/1/revoke", headers=analyst), 403)
    async with service.db.read() as session:
        roles = list(await session.scalars(select(AccessToken.role).order_by(AccessToken.id)))
    assert roles == ["admin", "analyst"]


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWRtaW46c2VjcmV0",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "Token {admin}",
        "{admin}",
    ],
)
async def test_anything_but_a_known_bearer_token_is_401(
    service: Service, authorization: str
) -> None:
    headers = {"Authorization": authorization.format(admin=service.admin_token)}
    response = await service.client.get("/api/v1/tokens", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_no_token_at_all_is_401(service: Service) -> None:
    response = await service.client.get("/api/v1/tokens")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_the_bearer_scheme_is_case_insensitive(service: Service) -> None:
    headers = {"Authorization": f"bearer {service.admin_token}"}
    assert (await service.client.get("/api/v1/tokens", headers=headers)).status_code == 200


async def test_token_creation_and_revocation_are_audited(service: Service) -> None:
    created = await create_token(service)
    await service.client.post(f"/api/v1/tokens/{created['id']}/revoke", headers=service.admin)
    async with service.db.read() as session:
        admin_id = await session.scalar(
            select(AccessToken.id).where(AccessToken.label == "test admin")
        )
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(r.action, r.target, r.actor_role, r.actor_token_id) for r in rows] == [
        ("token.create", f"token:{created['id']}", "admin", admin_id),
        ("token.revoke", f"token:{created['id']}", "admin", admin_id),
    ]
    assert rows[0].detail == {"role": "analyst"}
    assert all(created["token"] not in str(r.detail) for r in rows)


# ---------------------------------------------------------------- the first admin


async def test_the_first_admin_token_is_written_to_a_private_file(
    service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var-bootstrap"
    with caplog.at_level(logging.DEBUG):
        await ensure_admin_token(service.db, var, None)
    token_file = var / "admin-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 40
    assert token not in caplog.text
    assert str(token_file) in caplog.text
    response = await service.client.post("/api/v1/forms", json=FORM, headers=bearer(token))
    assert response.status_code == 201
    async with service.db.read() as session:
        row = await session.scalar(
            select(AccessToken).where(
                AccessToken.token_hash == hashlib.sha256(token.encode()).hexdigest()
            )
        )
    assert row is not None
    assert (row.role, row.label) == ("admin", "first admin")


async def test_a_second_start_keeps_the_same_admin_token(
    service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var-bootstrap"
    await ensure_admin_token(service.db, var, None)
    token = (var / "admin-token").read_text().strip()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        await ensure_admin_token(service.db, var, None)
    assert (var / "admin-token").read_text().strip() == token
    assert token not in caplog.text
    async with service.db.read() as session:
        admins = await session.scalar(
            select(func.count()).select_from(AccessToken).where(AccessToken.role == "admin")
        )
    assert admins == 2  # the fixture's and the first admin, not a third
    assert (await service.client.get("/api/v1/tokens", headers=bearer(token))).status_code == 200


async def test_the_file_token_is_registered_on_a_fresh_database(
    service: Service, tmp_path: Path
) -> None:
    var = tmp_path / "var-bootstrap"
    var.mkdir()
    token = "kept-from-an-earlier-installation-0123456789abcdef"
    (var / "admin-token").write_text(token + "\n")
    (var / "admin-token").chmod(0o600)
    await ensure_admin_token(service.db, var, None)
    assert (var / "admin-token").read_text().strip() == token
    assert (await service.client.get("/api/v1/tokens", headers=bearer(token))).status_code == 200


async def test_a_configured_admin_token_is_registered_and_no_file_written(
    service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var-bootstrap"
    configured = "configured-admin-token-from-SURVEY_ADMIN_TOKEN-0123456789"
    with caplog.at_level(logging.DEBUG):
        await ensure_admin_token(service.db, var, configured)
        await ensure_admin_token(service.db, var, configured)
    assert not (var / "admin-token").exists()
    assert configured not in caplog.text
    response = await service.client.post("/api/v1/forms", json=FORM, headers=bearer(configured))
    assert response.status_code == 201
    async with service.db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AccessToken)
            .where(AccessToken.token_hash == hashlib.sha256(configured.encode()).hexdigest())
        )
    assert count == 1


async def test_an_admin_token_file_left_empty_is_refilled_privately(
    service: Service, tmp_path: Path
) -> None:
    var = tmp_path / "var-bootstrap"
    var.mkdir()
    token_file = var / "admin-token"
    token_file.write_text("")
    token_file.chmod(0o644)
    await ensure_admin_token(service.db, var, None)
    token = token_file.read_text().strip()
    assert token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert (await service.client.get("/api/v1/tokens", headers=bearer(token))).status_code == 200


async def test_a_revoked_admin_token_in_the_file_is_rotated_on_start(
    service: Service, tmp_path: Path
) -> None:
    var = tmp_path / "var-bootstrap"
    await ensure_admin_token(service.db, var, None)
    old = (var / "admin-token").read_text().strip()
    async with service.db.transaction() as session:
        row = await session.scalar(
            select(AccessToken).where(
                AccessToken.token_hash == hashlib.sha256(old.encode()).hexdigest()
            )
        )
        assert row is not None
        row.revoked_at = datetime.now(UTC)
    await ensure_admin_token(service.db, var, None)
    new = (var / "admin-token").read_text().strip()
    assert new != old
    assert stat.S_IMODE((var / "admin-token").stat().st_mode) == 0o600
    response = await service.client.post("/api/v1/forms", json=FORM, headers=bearer(new))
    assert response.status_code == 201


async def test_a_token_expiring_in_the_past_is_refused(service: Service) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = await service.client.post(
        "/api/v1/tokens",
        json={"role": "analyst", "label": "late", "expires_at": past},
        headers=service.admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "/expires_at"
