"""Hostile uploads in parallel against a real server process (``python -m survey_service
serve``), on SQLite and PostgreSQL, under a bound on the server's memory: issue 12, item 18.

Nine uploads at once, three of each kind: a CSV whose header holds 10 million empty
columns (19 MB), a 1.4 MB workbook whose shared strings expand to 173 MiB, and a 70 KB
workbook that shows one 4,000-character text in each of its 30,000 cells. Before the limits,
the nine took the server's peak resident memory up by 2.5 GB (and the six workbooks were
stored); now each is refused, the limit named, and the peak (the server's VmHWM, reset once
it has warmed up) grows by less than ``PEAK_GROWTH_MB``: about 105 MB on 2026-12-04, the
nine bodies held at once and the reader's bounded work for each. No time is measured.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from survey_service.collection.spreadsheets import DEFAULT_LIMITS
from tests.conftest import BACKENDS
from tests.factories import bearer
from tests.integration.faults.server import (
    Server,
    empty_database,
    invite,
    open_campaign,
    server_env,
)
from tests.integration.security.hostile_files import (
    expanding_shared_strings,
    one_text_in_every_cell,
    ten_million_empty_columns,
)
from tests.samples import enterprise, uscc
from tests.unit.test_spreadsheets import HEADER_ZH, workbook

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out

PARALLEL = 3  # uploads of each kind at once
PEAK_GROWTH_MB = 300  # nine hostile uploads at once; before the limits, over 2,000
STUCK_SECONDS = 240  # a bound on a stuck server, not a performance figure


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of this test's own that the server migrates on start."""
    async with empty_database(request.param, tmp_path, "survey_memory") as url:
        yield url


def good_csv() -> bytes:
    return ("职业代码,学历,性别,是否工会会员,工作月数,年度应发工资\n"
            "6-01-02-03,本科,女,是,12,68000\n").encode()  # fmt: skip


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int) -> None:
    """Set the process's VmHWM back to its current resident size (Linux clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def test_hostile_uploads_in_parallel_stay_under_a_memory_bound(
    database_url: str, tmp_path: Path
) -> None:
    admin_token = secrets.token_urlsafe(32)
    admin = bearer(admin_token)
    server = Server(server_env(database_url, tmp_path / "var", admin_token), tmp_path / "log")
    hostile = {
        "工资.csv": (ten_million_empty_columns(), "Line 1 is longer than"),
        "字符串.xlsx": (
            expanding_shared_strings(90_000, 2_000),
            f"shared strings hold more than {DEFAULT_LIMITS.max_shared_string_chars:,}",
        ),
        "单元格.xlsx": (
            one_text_in_every_cell(),
            f"text cells hold more than {DEFAULT_LIMITS.max_text_chars:,}",
        ),
    }
    try:
        async with (
            asyncio.timeout(STUCK_SECONDS),
            httpx.AsyncClient(timeout=STUCK_SECONDS) as client,
        ):
            server.start()
            await server.wait_healthy(client)
            assert server.process is not None
            base = server.base
            response = await client.post(
                base + "/api/v1/enterprises", json=enterprise(1), headers=admin
            )
            assert response.status_code == 201, response.text
            campaign_id = await open_campaign(client, base, admin, "salary-survey", 2023)
            token = (await invite(client, base, admin, campaign_id, [uscc(1)]))[uscc(1)]
            url = f"{base}/api/v1/campaigns/{campaign_id}/salary-uploads"

            async def upload(name: str, content: bytes) -> httpx.Response:
                return await client.post(
                    url, files={"file": (name, content)}, headers=bearer(token)
                )

            # Warm up: the readers' modules and the thread pool are loaded before the peak
            # is reset, so that only what the hostile uploads hold is measured.
            good = workbook([HEADER_ZH, ["6-01-02-03", "本科", "女", "是", 12, 68000]])
            for name, content in (("good.xlsx", good), ("good.csv", good_csv())):
                response = await upload(name, content)
                assert response.status_code == 201, response.text
            pid = server.process.pid
            resident = _memory_kb(pid, "VmRSS")
            _reset_peak(pid)
            responses = await asyncio.gather(
                *(
                    upload(name, content)
                    for name, (content, _) in hostile.items()
                    for _ in range(PARALLEL)
                )
            )
            peak = _memory_kb(pid, "VmHWM")
    finally:
        server.kill()
    for response, (name, (_, limit)) in zip(
        responses, [item for item in hostile.items() for _ in range(PARALLEL)], strict=True
    ):
        assert response.status_code == 422, f"{name}: {response.text[:300]}"
        assert limit in response.json()["detail"], name
    growth_mb = (peak - resident) / 1024
    assert growth_mb < PEAK_GROWTH_MB, f"the server's peak grew by {growth_mb:,.0f} MB"
    assert "Traceback" not in server.log(), server.log()
