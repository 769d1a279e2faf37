"""The Makefile's and pyproject's policies: under CI=true an unreachable PostgreSQL fails the
run (elsewhere it is skipped); ``make run`` installs only what serving needs, and ``make
test``, ``make lint`` and ``make bench`` add their tools (read from the commands ``make -n``
would run and the packages the lock file gives those commands)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests/integration/test_service.py::test_health_says_ok_once_the_database_answers"


def _run(ci: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env |= {"CI": ci, "SURVEY_TEST_PG_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/test"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{TARGET}[postgresql]"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@cache
def _runs() -> dict[str, subprocess.CompletedProcess[str]]:
    """Both runs (under CI=true and without), started together: each is mostly start-up."""
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(("true", ""), pool.map(_run, ("true", "")), strict=True))


def test_unreachable_postgresql_fails_the_run_in_ci() -> None:
    done = _runs()["true"]
    assert done.returncode != 0
    assert "cannot be reached" in done.stdout


def test_unreachable_postgresql_is_skipped_outside_ci() -> None:
    done = _runs()[""]
    assert done.returncode == 0
    assert "1 skipped" in done.stdout


# What only the tests, lint and benchmarks use: none of it belongs on a server.
TOOLS = {
    "test": {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "jsonschema",
             "pypdfium2", "playwright", "schemathesis"},
    "lint": {"mypy", "ruff"},
    "bench": {"duckdb"},
}  # fmt: skip
ALL_TOOLS = set().union(*TOOLS.values())


def _installed_by(target: str) -> set[str]:
    """The packages ``make <target>`` installs: its ``uv sync`` line (from ``make -n``), asked
    of the lock file through ``uv export`` with the same groups."""
    dry_run = subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    [sync] = [line for line in dry_run.stdout.splitlines() if re.search(r"uv sync\b", line)]
    uv, _, flags = sync.partition(" sync ")
    assert "--frozen" in flags.split()
    assert "--no-default-groups" in flags.split()
    groups = [arg for group in re.findall(r"--group (\S+)", flags) for arg in ("--group", group)]
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-default-groups", "--no-hashes", "--no-header",
         "--no-emit-project", *groups],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return {
        line.split("==")[0].strip()
        for line in exported.stdout.splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }


@pytest.mark.parametrize("target", ["run", "migrate", "demo", "backup"])
def test_the_server_installs_none_of_the_test_and_development_tools(target: str) -> None:
    installed = _installed_by(target)
    assert {"litestar", "uvicorn", "weasyprint", "sqlalchemy"} <= installed
    assert installed & ALL_TOOLS == set()


@pytest.mark.parametrize(
    ("target", "needs"),
    [
        ("test", TOOLS["test"]),
        ("test-unit", TOOLS["test"]),
        ("lint", TOOLS["lint"]),
        ("format", TOOLS["lint"]),
        ("bench", TOOLS["bench"] | {"pytest"}),  # bench/ reuses tests/samples.py
    ],
)
def test_each_tool_target_installs_its_tools(target: str, needs: set[str]) -> None:
    installed = _installed_by(target)
    assert needs <= installed
    assert "litestar" in installed
