"""Three ``python -m survey_service serve`` processes started at the same moment on an
empty database, as systemd starts two servers and the worker after a fresh install: each
migrates, loads the shipped forms and makes the first admin token, one after another under
the start-up lock. All three come up; every shipped form has one version, not one per
process; there is one admin token, the one in var/admin-token, and every server takes it.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from survey_service.db.engine import open_database
from survey_service.db.models import AccessToken, Form, FormVersion
from survey_service.forms.registry import read_form_files
from tests.conftest import BACKENDS
from tests.factories import bearer
from tests.integration.faults.server import Server, empty_database, server_env
from tests.paths import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PROCESSES = 3


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with empty_database(request.param, tmp_path, "survey_start") as url:
        yield url


async def test_servers_started_together_on_an_empty_database_all_come_up_with_one_of_each(
    database_url: str, tmp_path: Path
) -> None:
    var_dir = tmp_path / "var"
    env = server_env(database_url, var_dir, admin_token="unused")
    del env["SURVEY_ADMIN_TOKEN"]  # each must find or make the first admin token itself
    servers = [Server(env, tmp_path / f"server-{i}.log") for i in range(PROCESSES)]
    try:
        for server in servers:
            server.start()
        async with httpx.AsyncClient() as client:
            await asyncio.gather(*(server.wait_healthy(client) for server in servers))
            token = (var_dir / "admin-token").read_text().strip()
            for server in servers:
                response = await client.get(server.base + "/api/v1/forms", headers=bearer(token))
                assert response.status_code == 200, (response.text, server.log())
    finally:
        for server in servers:
            if server.process is not None and server.process.poll() is None:
                server.kill()

    shipped = {spec.key for spec in read_form_files(PROJECT_ROOT / "form_schemas")}
    db = open_database(database_url)
    try:
        async with db.read() as session:
            rows = await session.execute(
                select(Form.key, func.count(FormVersion.id))
                .join(FormVersion, FormVersion.form_id == Form.id)
                .group_by(Form.key)
            )
            versions = {key: count for key, count in rows}
            admins = await session.scalar(
                select(func.count()).select_from(AccessToken).where(AccessToken.role == "admin")
            )
    finally:
        await db.dispose()
    assert versions == dict.fromkeys(shipped, 1)
    assert admins == 1
