"""``python -m survey_service serve`` (what ``make run`` starts) says where the service is:
the landing page, the administrators' and enterprises' pages and the API's document, each
an address that answers (issue 12, item 9)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.paths import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(
    tmp_path: Path, *, stderr: IO[bytes] | None = None, **env_extra: str
) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEY_", "PROMETHEUS_"))}
    env |= {"SURVEY_VAR_DIR": str(tmp_path), "SURVEY_PORT": str(port), "SURVEY_WORKERS": "1"}
    env |= env_extra
    process = subprocess.Popen(
        [sys.executable, "-m", "survey_service", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.DEVNULL,
        text=True,
    )
    return process, port


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    with (tmp_path / "stderr.log").open("wb") as log:
        process, port = _serve(tmp_path, stderr=log, SURVEY_WORKERS="2", SURVEY_LOG_FORMAT="json")
        try:
            yield process, port
        finally:
            process.terminate()
            process.wait(timeout=30)


def _printed_addresses(process: subprocess.Popen[str]) -> dict[str, str]:
    """The lines ``serve`` prints before it starts answering, as {what: address}."""
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "survey_service serves:"
    addresses: dict[str, str] = {}
    while line := process.stdout.readline():
        what, _, address = line.strip().rpartition(" ")
        if not address.startswith("http://"):
            break
        addresses[what.strip()] = address
    return addresses


def _wait_until_answering(base: str, process: subprocess.Popen[str]) -> None:
    while process.poll() is None:
        try:
            httpx.get(base + "/health", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"serve exited with {process.returncode}")


def test_serve_prints_the_addresses_it_serves(
    serving: tuple[subprocess.Popen[str], int], tmp_path: Path
) -> None:
    """Served by two processes (SURVEY_WORKERS=2), whose figures /metrics sums, logging
    JSON (SURVEY_LOG_FORMAT=json)."""
    process, port = serving
    base = f"http://127.0.0.1:{port}"
    addresses = _printed_addresses(process)
    assert addresses == {
        "landing page": f"{base}/",
        "Administrators": f"{base}/admin",
        "Enterprises": f"{base}/e",
        "Analysts": f"{base}/analyst",
        "API documentation (OpenAPI)": f"{base}/schema/openapi.json",
    }
    _wait_until_answering(base, process)
    landing = httpx.get(addresses["landing page"])
    assert landing.status_code == 200
    assert "劳动关系调查服务" in landing.text
    assert httpx.get(addresses["Administrators"]).headers["location"] == "/admin/signin"
    assert httpx.get(addresses["Enterprises"]).headers["location"] == "/e/signin"
    assert httpx.get(addresses["Analysts"]).headers["location"] == "/analyst/signin"
    assert httpx.get(addresses["API documentation (OpenAPI)"]).json()["openapi"].startswith("3.")
    _metrics_summed(tmp_path, base)
    _logged_as_json(tmp_path, base)


def _metrics_summed(tmp_path: Path, base: str) -> None:
    """With two server processes every process writes its figures where a scrape of either
    one sums them: the requests counted are the requests made, whichever process took
    them."""
    admin = {"Authorization": "Bearer " + (tmp_path / "admin-token").read_text().strip()}
    with ThreadPoolExecutor(8) as pool:  # fresh connections, several at once
        statuses = list(
            pool.map(lambda _: httpx.get(f"{base}/api/v1/forms").status_code, range(40))
        )
    assert statuses == [200] * 40
    folder = tmp_path / "metrics"
    pids = {path.stem.rsplit("_", 1)[-1] for path in folder.glob("counter_*.db")}
    assert len(pids) == 2, sorted(folder.iterdir())  # both processes write there
    for _ in range(4):  # whichever process answers the scrape
        scrape = httpx.get(f"{base}/metrics", headers=admin)
        assert scrape.status_code == 200
        counted = sum(
            sample.value
            for family in text_string_to_metric_families(scrape.text)
            for sample in family.samples
            if sample.name == "survey_http_requests_total"
            and sample.labels["route"] == "/api/v1/forms"
        )
        assert counted == 40


def _logged_as_json(tmp_path: Path, base: str) -> None:
    """Every line on stderr is a JSON object; each request has its line, without its query
    string or any header, and a poll's without the client's address."""
    token = (tmp_path / "admin-token").read_text().strip()
    link = "Zx9" + "q" * 19
    assert httpx.get(f"{base}/api/v1/campaigns", headers={"Authorization": f"Bearer {token}"})
    page = httpx.get(f"{base}/p/{link}", params={"code": "SECRETCODE"})
    answer = httpx.post(f"{base}/api/v1/polls/{link}/responses", json={"q1": "answer text"})
    assert (page.status_code, answer.status_code) == (404, 422)
    log = tmp_path / "stderr.log"
    deadline = time.monotonic() + 10
    while True:  # each process writes its lines as it answers; wait for the last ones
        records = [json.loads(line) for line in log.read_text().splitlines()]
        requests = [r for r in records if r["logger"] == "survey_service.requests"]
        if any(r["route"] == "/api/v1/polls/{link}/responses" for r in requests):
            break
        assert time.monotonic() < deadline, requests[-5:]
        time.sleep(0.1)
    assert {r["level"] for r in records} <= {"INFO", "WARNING"}
    assert any(r["logger"].startswith("uvicorn") for r in records)  # uvicorn's too
    campaigns = next(r for r in requests if r["route"] == "/api/v1/campaigns")
    assert (campaigns["method"], campaigns["status"], campaigns["client"]) == (
        "GET",
        200,
        "127.0.0.1",
    )
    assert campaigns["ms"] >= 0
    polls = [r for r in requests if link in r["path"]]
    assert [(r["route"], r["status"]) for r in polls] == [
        ("/p/{link}", 404),
        ("/api/v1/polls/{link}/responses", 422),
    ]
    assert all("client" not in r for r in polls)
    text = log.read_text()
    for secret in (token, "SECRETCODE", "answer text"):
        assert secret not in text
