"""Where a bench run's numbers come from: the commit, whether the checkout is a fresh
clone, and whether the machine has what ``make run`` installs.

The README's figures must be those of a newcomer's machine: a ``git clone`` of main, set
up by ``make run``/``make test`` only. A checkout that holds local changes, numbers of an
earlier bench run (``bench/out/``) or has moved since it was cloned is "not fresh", and
a machine without the system libraries the reports need renders PDFs far slower; the run
says so at its top and in ``bench/out/latest.json`` instead of leaving it to memory.
"""

from __future__ import annotations

import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.common import PROJECT_ROOT

# What a bench run leaves behind in a checkout (ignored by git). The virtual environment,
# byte-code caches and `make run`'s var/ are set-up: the benches use databases of their own.
LEFT_BY_A_RUN = ("bench/out",)


@dataclass(frozen=True, slots=True)
class Provenance:
    commit: str  # short hash, "+changes" when tracked files differ from it
    fresh_clone: bool
    cloned_at: str | None  # from the reflog's "clone:" entry
    why_not_fresh: tuple[str, ...]
    missing_system: tuple[str, ...]  # what the reports need and this machine lacks

    def line(self) -> str:
        clone = (
            f"fresh clone of {self.cloned_at}"
            if self.fresh_clone
            else "NOT a fresh clone (" + "; ".join(self.why_not_fresh) + ")"
        )
        system = (
            "system libraries as `make run` installs them"
            if not self.missing_system
            else "MISSING: " + "; ".join(self.missing_system)
        )
        return f"commit {self.commit}, {clone}, {system}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout


def _missing_system() -> tuple[str, ...]:
    from survey_service.reports.subsetting import report_warnings

    missing = list(report_warnings())
    fonts = subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout
    if "Noto Sans CJK" not in fonts:
        missing.append("Noto CJK fonts (fonts-noto-cjk)")
    return tuple(missing)


def provenance(root: Path = PROJECT_ROOT) -> Provenance:
    """Read before the run starts (the run itself writes ``var/`` and ``bench/out/``)."""
    head = (_git(root, "rev-parse", "--short", "HEAD") or "unknown").strip()
    changes = (_git(root, "status", "--porcelain", "--untracked-files=normal") or "").strip()
    reflog = _git(root, "reflog", "show", "--format=%gs|%gd", "--date=iso", "HEAD") or ""
    entries = [line for line in reflog.splitlines() if line]
    why: list[str] = []
    cloned_at = None
    if entries and entries[-1].startswith("clone:"):
        cloned_at = entries[-1].split("HEAD@{", 1)[-1].rstrip("}")
        if len(entries) > 1:
            why.append(f"HEAD moved {len(entries) - 1} time(s) since the clone")
    else:
        why.append("not made by git clone")
    if changes:
        why.append("local changes")
    why.extend(f"{name}/ from an earlier run" for name in LEFT_BY_A_RUN if (root / name).exists())
    return Provenance(
        commit=head + ("+changes" if changes else ""),
        fresh_clone=not why,
        cloned_at=cloned_at,
        why_not_fresh=tuple(why),
        missing_system=_missing_system(),
    )
