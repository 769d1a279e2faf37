"""The README's deployment guide followed from a clean PostgreSQL database by
docs/deploy/check_guide.py (a database and role of its own, the env file, migrate, two
servers and the worker as their units start them, nginx with the shipped site, the service's
work through it, both backups, an upgrade), which must pass every step. The guide's
database is PostgreSQL: without it the test is skipped, and fails under ``CI=true``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from sqlalchemy import make_url

from tests.conftest import IN_CI, PG_URL, require_postgres
from tests.deployment import DEPLOY, NGINX_INSTALLED
from tests.paths import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_the_deployment_guide_passes_from_a_clean_database() -> None:
    if not NGINX_INSTALLED:
        message = "nginx is not installed (make test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    await require_postgres()
    server = make_url(PG_URL)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(DEPLOY / "check_guide.py"), "--host", server.host or "127.0.0.1",
         "--port", str(server.port or 5432), "--user", server.username or "postgres"],
        cwd=PROJECT_ROOT, env=os.environ | ({"PGPASSWORD": str(server.password)}
                                            if server.password else {}),
        capture_output=True, text=True, timeout=200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-8000:]}"
    assert "the guide's steps all passed" in done.stdout
    assert "and its role dropped" in done.stdout
