"""The demo city and its generator (``survey_service.demo``) are no part of serving: the app
and every other command run without importing them; nor are SciPy and pypdf imported to serve."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "survey_service"

# Builds the app as a server process does (routes, pages, report worker) and imports the
# command line, then names every demo module loaded.
BUILD_THE_APP = """
import sys
from pathlib import Path
import survey_service.__main__
from survey_service.app import create_app
from survey_service.settings import Settings
create_app(Settings(var_dir=Path("var"), session_secret="not used"))
print(sorted(m for m in sys.modules if m.startswith(("survey_service.", "scipy", "pypdf"))))
"""


def test_building_the_app_imports_no_demo_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_THE_APP],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    loaded = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert "survey_service.app" in loaded
    assert "survey_service.web.pages" in loaded
    assert [m for m in loaded if m.startswith("survey_service.demo")] == []
    # Nor SciPy (a second of start-up) nor pypdf (half a second), which only making a
    # release and joining a report's sections need.
    assert [m for m in loaded if m.startswith(("scipy", "pypdf"))] == []


def _imports_of_demo(path: Path) -> list[int]:
    """The lines of ``path`` that import the demo package or one of its modules."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(n == "survey_service.demo" or n.startswith("survey_service.demo.") for n in names):
            lines.append(node.lineno)
    return lines


def test_only_the_demo_command_imports_the_demo() -> None:
    """No module outside ``demo/`` imports it, not even inside a function (a route's lazy
    import would load it on a request); the command line does, in its ``demo`` command."""
    importers = {
        path.relative_to(PACKAGE).as_posix(): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent != PACKAGE / "demo" and (lines := _imports_of_demo(path))
    }
    assert list(importers) == ["__main__.py"]
    main = ast.parse((PACKAGE / "__main__.py").read_text())
    demo_command = next(
        node for node in ast.walk(main) if isinstance(node, ast.AsyncFunctionDef)
        and node.name == "_demo"
    )  # fmt: skip
    assert all(
        demo_command.lineno <= line <= (demo_command.end_lineno or 0)
        for line in importers["__main__.py"]
    )
