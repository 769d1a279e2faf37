"""An installed wheel runs without the checkout: built (``uv build``, offline from uv's
cache, which ``make test``'s sync filled with the build backend), installed into a folder of
its own and run from an empty working directory, it loads its shipped forms into a fresh
SQLite database under ``./var`` and renders a report with its templates and CSS, all read
from inside the installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import IN_CI
from tests.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow  # builds, installs, fills a small demo city, renders a PDF

# Where the installed package looks for its data, as it reports it.
WHERE = """
import json, survey_service
from survey_service import shipped
from survey_service.reports import render
from survey_service.settings import Settings
settings = Settings.from_env()
print(json.dumps({
    "package": survey_service.__file__,
    "forms": str(settings.form_schemas_dir),
    "templates": str(render.TEMPLATES),
    "css": str(shipped.report_templates_dir() / "style.css"),
    "var": str(settings.var_dir),
}))
"""


def _uv() -> str:
    """The uv the Makefile installs (on PATH, else in ~/.local/bin)."""
    found = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")
    if not Path(found).is_file():
        message = "uv is not installed (make test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_installed_wheel_finds_its_forms_and_report_templates(tmp_path: Path) -> None:
    uv, dist, site, work = _uv(), tmp_path / "dist", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    tools = os.environ | {"UV_OFFLINE": "1", "UV_NO_PROGRESS": "1"}
    _run([uv, "build", "--wheel", "--python", sys.executable, "-o", str(dist), str(PROJECT_ROOT)],
         PROJECT_ROOT, tools)  # fmt: skip
    (wheel,) = dist.glob("survey_service-*.whl")
    _run([uv, "pip", "install", "--no-deps", "--python", sys.executable, "--target", str(site),
          str(wheel)], tmp_path, tools)  # fmt: skip

    # The installed copy ahead of the editable install; no setting points anywhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env |= {"PYTHONPATH": str(site), "SURVEY_REPORT_WORKERS": "1"}

    def service(*args: str) -> subprocess.CompletedProcess[str]:
        return _run([sys.executable, "-m", "survey_service", *args], work, env)

    where = json.loads(_run([sys.executable, "-c", WHERE], work, env).stdout)
    installed = site / "survey_service"
    assert Path(where["package"]).parent == installed
    assert Path(where["forms"]) == installed / "_shipped" / "form_schemas"
    assert Path(where["templates"]) == installed / "_shipped" / "reports"
    assert Path(where["css"]).is_file()
    assert Path(where["var"]) == work / "var"

    service("migrate")
    loaded = service("load-forms")
    assert "new versions: enterprise-self-assessment, salary-survey, worker-commitments, " in (
        loaded.stdout
    )
    assert (work / "var" / "survey.db").is_file()
    assert not list(installed.rglob("*.db"))

    service("demo", "--enterprises", "4", "--seed", "7")
    report = service("report", "participation", "--year", "2023", "--workers", "1",
                     "-o", str(work / "circular.pdf"))  # fmt: skip
    # WeasyPrint says so (and carries on) when a template's stylesheet cannot be loaded.
    assert "Failed to load" not in report.stderr
    reader = PdfReader(work / "circular.pdf")
    first = "".join((reader.pages[0].extract_text() or "").split())
    assert "2023年度“双爱”活动参与情况的通报" in first
