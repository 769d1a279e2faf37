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
from pathlib import Path

import httpx
import pytest

from tests.paths import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env |= {"SURVEY_VAR_DIR": str(tmp_path), "SURVEY_PORT": str(port), "SURVEY_WORKERS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "survey_service", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
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
    serving: tuple[subprocess.Popen[str], int],
) -> None:
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
