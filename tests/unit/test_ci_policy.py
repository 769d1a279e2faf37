"""Under CI=true an unreachable PostgreSQL fails the run; elsewhere it is skipped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_unreachable_postgresql_fails_the_run_in_ci() -> None:
    done = _run("true")
    assert done.returncode != 0
    assert "cannot be reached" in done.stdout


def test_unreachable_postgresql_is_skipped_outside_ci() -> None:
    done = _run("")
    assert done.returncode == 0
    assert "1 skipped" in done.stdout
