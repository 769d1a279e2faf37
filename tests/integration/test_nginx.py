"""The deployment's nginx configuration (docs/deploy/nginx.conf), run by Debian's nginx in
front of real server processes: two on PostgreSQL, one on SQLite (which one process
serves). Through it: the API and a poll page, the client's address as nginx saw it (a
client's own X-Forwarded-For replaced, not believed), the body limit, and on PostgreSQL a
server process killed while answers stream in, after which the other one takes every
request and no acknowledged answer is missing."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from survey_service.db.engine import open_database
from survey_service.db.models import PollResponse
from tests.conftest import BACKENDS, IN_CI
from tests.factories import bearer, window
from tests.integration.faults.server import (
    HOST,
    Server,
    free_port,
    private_postgres,
    refuses_connections,
    server_env,
)
from tests.nginx import INSTALLED, site, start_nginx
from tests.samples import POLL_ANSWER, enterprise

ANSWERS = 40
KILL_AFTER = 10

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if not INSTALLED:
        message = "nginx is not installed (make test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'survey.db'}"
        return
    async with private_postgres("survey_nginx") as (url, _):
        yield url


async def _until_up(client: httpx.AsyncClient, base: str, nginx: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if nginx.poll() is not None:
            pytest.fail(f"nginx exited: {nginx.stderr.read() if nginx.stderr else b''!r}")
        try:
            if (await client.get(base + "/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    pytest.fail("nginx did not answer")


def _client() -> httpx.AsyncClient:
    """A client that keeps no cookie: each poll answer comes from a new device."""
    client = httpx.AsyncClient(timeout=30)
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return client


def _clients_seen(servers: list[Server]) -> set[str]:
    """The addresses the servers' request lines name (SURVEY_LOG_FORMAT=json)."""
    seen: set[str] = set()
    for server in servers:
        for line in server.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"survey_service.requests"' in line:
                record = json.loads(line)
                if "client" in record:
                    seen.add(record["client"])
    return seen


async def _stored_answers(url: str, campaign_id: int) -> int:
    db = open_database(url)
    try:
        async with db.read() as session:
            count = await session.scalar(
                select(func.count()).where(PollResponse.campaign_id == campaign_id)
            )
    finally:
        await db.dispose()
    return int(count or 0)


async def test_nginx_in_front_of_the_servers(database_url: str, tmp_path: Path) -> None:
    several = not database_url.startswith("sqlite")
    admin_token = secrets.token_urlsafe(32)
    admin = bearer(admin_token)
    env = server_env(database_url, tmp_path / "var", admin_token) | {
        "SURVEY_TRUSTED_PROXIES": HOST,
        "SURVEY_LOG_FORMAT": "json",
    }
    servers = [Server(env, tmp_path / f"server-{n}.log") for n in range(2 if several else 1)]
    nginx: subprocess.Popen[bytes] | None = None
    listen = free_port()
    base = f"http://{HOST}:{listen}"
    try:
        async with _client() as client:
            for server in servers:  # one after the other: the first one migrates
                server.start()
                await server.wait_healthy(client)
            folder = tmp_path / "nginx"
            folder.mkdir()
            nginx = start_nginx(folder, site([s.port for s in servers], listen, folder))
            await _until_up(client, base, nginx)

            # The API through nginx, with a client that claims another address.
            response = await client.post(
                base + "/api/v1/enterprises",
                json=[enterprise(1)],
                headers=admin | {"X-Forwarded-For": "203.0.113.9"},
            )
            assert response.status_code in (200, 201), response.text
            year = datetime.now(UTC).year
            response = await client.post(
                base + "/api/v1/campaigns",
                json={"form_key": "worker-satisfaction", "title": "nginx", "year": year,
                      "settings": {"poll_rate_per_minute": 100_000}} | window(),
                headers=admin,
            )  # fmt: skip
            assert response.status_code == 201, response.text
            poll = int(response.json()["id"])
            response = await client.post(
                f"{base}/api/v1/campaigns/{poll}/poll-links",
                json={"enterprise": enterprise(1)["uscc"]},
                headers=admin,
            )
            assert response.status_code == 201, response.text
            slug = response.json()["link"]
            page = await client.get(f"{base}/p/{slug}")
            assert page.status_code == 200
            assert "text/html" in page.headers["content-type"]
            assert _clients_seen(servers) == {"127.0.0.1"}  # never the claimed 203.0.113.9

            # The body limit: nginx lets through what the service takes, and no more.
            too_big = await client.post(
                f"{base}/api/v1/campaigns/{poll}/salary-uploads",
                content=b"x" * (20 * 1024 * 1024 + 1),
                headers={"Content-Type": "text/csv"},
            )
            assert too_big.status_code == 413

            # Answers stream in; on PostgreSQL one server process dies among them.
            acknowledged = 0
            statuses: list[int] = []
            for n in range(ANSWERS):
                if several and n == KILL_AFTER:
                    servers[0].kill()
                    assert refuses_connections(servers[0].port)
                async with _client() as device:
                    answer = await device.post(
                        f"{base}/api/v1/polls/{slug}/responses", json={"data": POLL_ANSWER}
                    )
                statuses.append(answer.status_code)
                acknowledged += answer.status_code == 201
            assert statuses == [201] * ANSWERS  # the survivor took every one
            assert await _stored_answers(database_url, poll) >= acknowledged
            log = (folder / "access.log").read_text()
            assert "/api/v1/polls/" in log
            for line in log.splitlines():
                if "/api/v1/polls/" in line or '"GET /p/' in line:
                    assert line.startswith("- ")  # no address beside an answer
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for server in servers:
            server.kill()
