"""A full disk under the embedded SQLite database, with a real server process.

The database lives on a small filesystem of the test's own, which the test fills until
writes fail and then frees again, without touching the server. Two ways to fill it:

- ``tmpfs``: a tmpfs of a few MB mounted for the test (needs root and the right to mount;
  skipped where that is refused) filled with a ballast file: the kernel answers ENOSPC,
  SQLite "database or disk is full";
- ``file-size-limit``: the server's RLIMIT_FSIZE lowered to the database files' current
  size (``prlimit``, no privilege needed): a file may not grow, the kernel answers EFBIG
  (Python ignores SIGXFSZ), SQLite "disk I/O error".

While the disk is full every write (a JSON submission, a spreadsheet upload, a poll answer
stored by the group commit) gets a 503 problem with ``Retry-After`` and the reason, never
a 500 or a traceback; what was acknowledged before is still served; reads and /health keep
working. Once there is room again the same writes succeed, with no restart, and the
database is whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from bench.data import SURVEY_YEAR
from survey_service.db.engine import open_database
from survey_service.db.models import Submission, WageRow
from tests.factories import bearer
from tests.integration.faults.server import (
    Server,
    invite,
    numbered_answer,
    open_campaign,
    poll_link,
    server_env,
)
from tests.samples import POLL_ANSWER, enterprise, salary_document, uscc

DISK_MB = 8
N_ENTERPRISES = 60  # each sends at most one submission: enough to fill what is left
ROWS = 150  # employees per submission: ~60 KB of JSON, more with its wage rows
TEST_BUDGET = 50.0


class Disk:
    """A directory on a filesystem that can be made full and then given room again."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self, server: Server) -> None:
        raise NotImplementedError

    def free(self, server: Server) -> None:
        raise NotImplementedError


class Tmpfs(Disk):
    """A tmpfs of DISK_MB, filled by a ballast file to the last byte."""

    @property
    def ballast(self) -> Path:
        return self.path / "ballast"

    def fill(self, server: Server) -> None:
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 20, 1 << 12):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * size)
        finally:
            os.close(fd)
        assert os.statvfs(self.path).f_bavail == 0

    def free(self, server: Server) -> None:
        self.ballast.unlink()


class FileSizeLimit(Disk):
    """The server process may not make a file bigger than the largest one it has now."""

    def fill(self, server: Server) -> None:
        assert server.process is not None
        largest = max(p.stat().st_size for p in self.path.iterdir())
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (largest, largest * 4))

    def free(self, server: Server) -> None:
        assert server.process is not None
        unlimited = resource.RLIM_INFINITY
        # The hard limit may only be raised back with CAP_SYS_RESOURCE: keep it when lacking.
        hard = resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE)[1]
        with contextlib.suppress(PermissionError):
            resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
            return
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (hard, hard))


def _mount_tmpfs(path: Path) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture(params=["tmpfs", "file-size-limit"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Disk]:
    path = tmp_path / "disk"
    if request.param == "file-size-limit":
        path.mkdir()
        yield FileSizeLimit(path)
        return
    if not _mount_tmpfs(path):
        pytest.skip("mounting a tmpfs is not permitted here (the file-size-limit case runs)")
    try:
        yield Tmpfs(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


def _is_full_disk_problem(response: httpx.Response) -> bool:
    """A 503 problem+json that says why, asks to retry later and carries no traceback."""
    if response.status_code != 503:
        return False
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["reason"] in {"disk-full", "disk-error"}, body
    assert "Traceback" not in response.text
    assert "sqlite" not in response.text.lower(), "the driver's error leaked to the client"
    return True


def _csv(n: int) -> bytes:
    lines = ["occupation,months_worked,annual_pay,education"]
    lines += [f"6-01-02-03,12,{60_000 + n * 100 + i},bachelor" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.timeout(70)
async def test_a_full_disk_refuses_writes_with_503_and_the_service_recovers_by_itself(
    disk: Disk, tmp_path: Path
) -> None:
    admin_token = secrets.token_urlsafe(32)
    admin = bearer(admin_token)
    url = f"sqlite+aiosqlite:///{disk.path / 'survey.db'}"
    server = Server(server_env(url, tmp_path / "var", admin_token), tmp_path / "server.log")
    try:
        async with asyncio.timeout(TEST_BUDGET), httpx.AsyncClient(timeout=30) as client:
            server.start()
            await server.wait_healthy(client)
            base = server.base
            response = await client.post(
                base + "/api/v1/enterprises",
                json=[enterprise(n) for n in range(N_ENTERPRISES)],
                headers=admin,
            )
            assert response.status_code == 201, response.text
            salary = await open_campaign(client, base, admin, "salary-survey", SURVEY_YEAR)
            tokens = await invite(
                client, base, admin, salary, [uscc(n) for n in range(N_ENTERPRISES)]
            )
            poll = await open_campaign(client, base, admin, "worker-satisfaction", SURVEY_YEAR)
            slug, codes = await poll_link(client, base, admin, poll, uscc(0), codes=20)

            def body(n: int) -> dict[str, Any]:
                document = salary_document(uscc(n))
                document["employees"] = [
                    document["employees"][0] | {"annual_pay": 60_000 + i, "base_pay": 48_000}
                    for i in range(ROWS)
                ]
                return {"id": str(uuid.uuid4()), "data": document, "status": "submitted"}

            async def submit(n: int) -> tuple[httpx.Response, dict[str, Any]]:
                sent = body(n)
                response = await client.post(
                    f"{base}/api/v1/campaigns/{salary}/submissions",
                    json=sent,
                    headers=bearer(tokens[uscc(n)]),
                )
                return response, sent

            async def upload(n: int) -> httpx.Response:
                return await client.post(
                    f"{base}/api/v1/campaigns/{salary}/salary-uploads",
                    files={"file": ("payroll.csv", _csv(n), "text/csv")},
                    headers=bearer(tokens[uscc(n)]),
                )

            async def answer(i: int) -> httpx.Response:
                client.cookies.clear()
                return await client.post(
                    f"{base}/api/v1/polls/{slug}/responses",
                    json={"data": numbered_answer(i, POLL_ANSWER), "code": codes[i]},
                )

            # Acknowledged before the disk fills.
            acknowledged: dict[str, dict[str, Any]] = {}
            for n in range(3):
                response, sent = await submit(n)
                assert response.status_code == 201, response.text
                acknowledged[sent["id"]] = sent["data"]
            assert (await answer(0)).status_code == 201

            disk.fill(server)
            # Writes go on until SQLite must take a page it has no room for (a WAL file
            # that wraps may take a few more first); then each one is refused.
            n = 3
            refused: list[str] = []
            while n < N_ENTERPRISES - 3:
                response, sent = await submit(n)
                n += 1
                if _is_full_disk_problem(response):
                    refused.append(sent["id"])
                    break
                assert response.status_code == 201, response.text
                acknowledged[sent["id"]] = sent["data"]
            assert refused, "the disk never filled up"
            assert _is_full_disk_problem((await submit(n))[0])
            assert _is_full_disk_problem(await upload(n + 1))
            assert _is_full_disk_problem(await answer(1))

            # Reads and the health check go on; what was acknowledged is all there.
            health = await client.get(base + "/health")
            assert health.status_code == 200, health.text
            for sid, data in acknowledged.items():
                response = await client.get(f"{base}/api/v1/submissions/{sid}", headers=admin)
                assert response.status_code == 200, response.text
                assert response.json()["data"] == data
            response = await client.get(f"{base}/api/v1/campaigns/{salary}/progress", headers=admin)
            assert response.status_code == 200, response.text
            assert server.process is not None
            assert server.process.poll() is None, "the server died of a full disk"

            # Room again: the same server takes writes at once (no restart).
            disk.free(server)
            response, sent = await submit(n)
            assert response.status_code == 201, response.text
            acknowledged[sent["id"]] = sent["data"]
            response = await upload(n + 1)
            assert response.status_code == 201, response.text
            assert (await answer(1)).status_code == 201
            refused_id = refused[0]
            response = await client.get(f"{base}/api/v1/submissions/{refused_id}", headers=admin)
            assert response.status_code == 404, "a refused submission was stored"
    finally:
        server.kill()
    log = server.log()
    assert "Traceback" not in log, log
    assert log.count("database unavailable (") >= 1, log

    db = open_database(url)
    try:
        async with db.read() as session:
            assert await session.scalar(text("PRAGMA integrity_check")) == "ok"
            stored = dict((await session.execute(select(Submission.id, Submission.data))).all())
            wage_rows = dict(
                (
                    await session.execute(
                        select(WageRow.submission_id, func.count()).group_by(WageRow.submission_id)
                    )
                ).all()
            )
    finally:
        await db.dispose()
    for sid, data in acknowledged.items():
        assert stored.get(sid) == data
    # Every stored submission (the upload's too) has one wage row per employee.
    assert wage_rows == {sid: len(data["employees"]) for sid, data in stored.items()}
