"""A real server for the fault tests: ``python -m survey_service serve`` in a session of its
own (so that a SIGKILL of its process group leaves nothing behind), on a database of the
test's own, with the helpers the scenarios share.

``serve`` runs uvicorn with one worker, which serves in the same process (uvicorn starts a
supervisor and worker processes only for ``workers > 1``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _admin, create_database
from tests.deployment import HOST
from tests.factories import window
from tests.paths import PROJECT_ROOT

START_TIMEOUT = 20.0


@dataclass
class Server:
    """One ``python -m survey_service serve`` (or ``command``) process in a session of its
    own."""

    env: dict[str, str]
    log_path: Path
    command: str = "serve"  # or another of the CLI's commands (``worker``)
    port: int = 0  # a free one at start when 0
    argv: list[str] | None = None  # instead of ``python -m survey_service COMMAND``
    process: subprocess.Popen[bytes] | None = None
    children_at_kill: list[int] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self.port = self.port or free_port()
        env = self.env | {"SURVEY_PORT": str(self.port)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv or [sys.executable, "-m", "survey_service", self.command],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_healthy(self, client: httpx.AsyncClient) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited ({self.process.returncode}):\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(self.base + "/health", timeout=2)
                if response.status_code == 200 and response.json()["status"] == "ok":
                    return
            await asyncio.sleep(0.05)
        pytest.fail(f"the server did not answer /health within {START_TIMEOUT:.0f}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the server, any child it has, and its whole process group; wait for it."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.children_at_kill = _children(process.pid)
        for pid in (process.pid, *self.children_at_kill):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def terminate(self) -> None:
        """SIGTERM, as ``systemctl stop`` sends it (to the process alone)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def stopped_cleanly(self) -> bool:
        """Whether the process has ended as a graceful stop ends it: status 0 (the worker),
        or, for ``serve``, by the SIGTERM itself after the app's shutdown ran: uvicorn raises
        the signal it caught again once it has shut down, and systemd counts an end by
        SIGTERM as a clean stop."""
        assert self.process is not None
        code = self.process.poll()
        return code == 0 or (
            code == -signal.SIGTERM and "Application shutdown complete." in self.log()
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _children(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux /proc)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) != 0


def server_env(database_url: str, var_dir: Path, admin_token: str) -> dict[str, str]:
    """The server's environment: this test's database and var/, nothing of the caller's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")} | {
        "SURVEY_HOST": HOST,
        "SURVEY_WORKERS": "1",
        "SURVEY_VAR_DIR": str(var_dir),
        "SURVEY_ADMIN_TOKEN": admin_token,
        "SURVEY_DATABASE_URL": database_url,
        "SURVEY_FORM_SCHEMAS": str(PROJECT_ROOT / "form_schemas"),
        # One renderer: the machine's cores are shared with the rest of the suite.
        "SURVEY_REPORT_WORKERS": "1",
    }


@contextlib.asynccontextmanager
async def private_postgres(prefix: str) -> AsyncIterator[tuple[str, str]]:
    """An empty PostgreSQL database of this test's own, dropped at the end: (url, name).
    Skipped (failed under CI) when the server cannot be reached."""
    url, name = await create_database(prefix)
    try:
        yield url, name
    finally:
        await _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def empty_database(backend: str, folder: Path, prefix: str) -> AsyncIterator[str]:
    """The URL of an empty database of the test's own that a server migrates on start: a
    file in ``folder`` on SQLite, ``private_postgres`` on PostgreSQL."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / (prefix + '.db')}"
        return
    async with private_postgres(prefix) as (url, _):
        yield url


async def open_campaign(
    client: httpx.AsyncClient, base: str, admin: dict[str, str], form_key: str, year: int
) -> int:
    response = await client.post(
        base + "/api/v1/campaigns",
        json={
            "form_key": form_key,
            "title": f"fault test {form_key}",
            "year": year,
            "campaign_year": year,
        }
        | window(),
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def invite(
    client: httpx.AsyncClient, base: str, admin: dict[str, str], campaign_id: int, usccs: list[str]
) -> dict[str, str]:
    """One invitation token per enterprise: uscc -> token."""
    response = await client.post(
        f"{base}/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": usccs},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return {item["uscc"]: item["token"] for item in response.json()}


async def poll_link(
    client: httpx.AsyncClient, base: str, admin: dict[str, str], campaign_id: int, uscc: str,
    codes: int,
) -> tuple[str, list[str]]:  # fmt: skip
    """The enterprise's poll link, which takes only its ``codes`` one-time codes."""
    response = await client.post(
        f"{base}/api/v1/campaigns/{campaign_id}/poll-links",
        json={"enterprise": uscc, "codes": codes, "requires_code": True},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return str(link["link"]), list(link["codes"])


def numbered_answer(index: int, template: dict[str, Any]) -> dict[str, Any]:
    """A poll answer that carries ``index`` (base 5 in its first five Likert items), so that
    an anonymous stored answer still says which request sent it."""
    answer = dict(template)
    for position, key in enumerate(list(template)[:5]):
        answer[key] = (index // 5**position) % 5 + 1
    return answer


def answer_index(data: dict[str, Any], template: dict[str, Any]) -> int:
    return sum((int(data[key]) - 1) * 5**p for p, key in enumerate(list(template)[:5]))
