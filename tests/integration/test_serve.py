"""``python -m survey_service serve`` (what ``make run`` starts) says where the service is:
the landing page, the administrators' and enterprises' pages and the API's document, each
an address that answers (issue 12, item 9)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.paths import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(tmp_path: Path, **env_extra: str) -> tuple[subprocess.Popen[str], int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SURVEY_", "PROMETHEUS_"))}
    env |= {"SURVEY_VAR_DIR": str(tmp_path), "SURVEY_PORT": str(port), "SURVEY_WORKERS": "1"}
    env |= env_extra
    process = subprocess.Popen(
        [sys.executable, "-m", "survey_service", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return process, port


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    process, port = _serve(tmp_path, SURVEY_WORKERS="2")
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
    """Served by two processes (SURVEY_WORKERS=2), whose figures /metrics sums."""
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
