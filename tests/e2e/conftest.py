"""End-to-end fixtures: a real uvicorn server on a free port over a temporary SQLite
database, Debian's Chromium driven by Playwright, and an admin API client to set up data.

Chromium is ``SURVEY_CHROMIUM`` or ``chromium`` on the PATH (``make test`` installs the
Debian package when it is missing). Without it the tests are skipped, except under
``CI=true`` where a missing browser fails the run, as a missing PostgreSQL does.
``SURVEY_SCREENSHOTS=1`` makes the tests write the pages' screenshots to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from survey_service.__main__ import prepare
from survey_service.settings import Settings
from tests.factories import campaign_body
from tests.paths import PROJECT_ROOT
from tests.samples import enterprise, uscc

HOST = "127.0.0.1"
IN_CI = os.environ.get("CI", "").lower() == "true"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


def chromium_path() -> str:
    """Debian's Chromium, or a failure under CI and a skip elsewhere."""
    path = os.environ.get("SURVEY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    message = (
        f"Chromium is not installed at {path}: the end-to-end page tests need it "
        "(make test installs Debian's chromium; or set SURVEY_CHROMIUM)"
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Server:
    base: str
    admin_token: str
    database: Path
    api: httpx.Client

    def url(self, path: str) -> str:
        return self.base + path

    def campaign(self, form_key: str, title: str, year: int = 2024, **more: Any) -> int:
        """A new campaign, open now unless ``more`` says otherwise (see
        ``tests.factories.campaign_body``)."""
        body = campaign_body(form_key, title=title, year=year, **more)
        response = self.api.post("/api/v1/campaigns", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def enterprise(self, n: int, district: str = "610202") -> str:
        response = self.api.post("/api/v1/enterprises", json=enterprise(n, district))
        assert response.status_code == 201, response.text
        return uscc(n)

    def poll_link(self, campaign_id: int, n: int) -> str:
        response = self.api.post(
            f"/api/v1/campaigns/{campaign_id}/poll-links", json={"enterprise": uscc(n)}
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["url"])

    def invite(self, campaign_id: int, n: int) -> str:
        response = self.api.post(
            f"/api/v1/campaigns/{campaign_id}/invitations", json={"enterprises": [uscc(n)]}
        )
        assert response.status_code == 201, response.text
        return str(response.json()[0]["token"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer within 30 s")


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_path()


@pytest.fixture(scope="module")
def server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var_dir = tmp_path_factory.mktemp("e2e-var")
    admin_token = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env |= {
        "SURVEY_VAR_DIR": str(var_dir),
        "SURVEY_DATABASE_URL": f"sqlite+aiosqlite:///{var_dir / 'survey.db'}",
        "SURVEY_FORM_SCHEMAS": str(PROJECT_ROOT / "form_schemas"),
        "SURVEY_ADMIN_TOKEN": admin_token,
        "SURVEY_FORM_CACHE_SECONDS": "0",
    }
    asyncio.run(prepare(Settings.from_env(env)))
    port = _free_port()
    base = f"http://{HOST}:{port}"
    log_path = var_dir / "server.log"
    with log_path.open("wb") as log:
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "survey_service.app:app_from_env",
            "--host", HOST, "--port", str(port), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        try:
            _wait_ready(process, base, log_path)
            headers = {"Authorization": f"Bearer {admin_token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=10) as api:
                yield Server(base, admin_token, var_dir / "survey.db", api)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    # Module-scoped: Playwright's sync API runs an event loop of its own while it is open,
    # and the asyncio tests that follow need it closed.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def new_page(browser: Browser, *, phone: bool = False, **options: Any) -> Page:
    """A page in a fresh context (its own cookies), phone-sized or desktop-sized."""
    if phone:
        options |= {"viewport": PHONE, "is_mobile": True, "has_touch": True}
    else:
        options |= {"viewport": DESKTOP}
    context = browser.new_context(locale="zh-CN", **options)
    context.set_default_timeout(10_000)
    return context.new_page()


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Write docs/screenshots/<name>.png when SURVEY_SCREENSHOTS is set (small: the PNG is
    reduced to a 64-colour palette)."""
    if os.environ.get("SURVEY_SCREENSHOTS", "") not in {"1", "true", "yes"}:
        return
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)
