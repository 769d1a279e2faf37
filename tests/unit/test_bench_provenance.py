"""`make bench` says whether its checkout is a fresh clone: the README's numbers must come
from one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench.provenance import provenance


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _origin(tmp_path: Path) -> Path:
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    (origin / "a.txt").write_text("a\n")
    _git(origin, "add", "a.txt")
    _git(origin, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    return origin


def test_a_new_clone_is_fresh_and_stops_being_so(tmp_path: Path) -> None:
    origin = _origin(tmp_path)
    subprocess.run(["git", "clone", "-q", str(origin), str(tmp_path / "c")], check=True)
    clone = tmp_path / "c"

    fresh = provenance(clone)
    assert fresh.fresh_clone, fresh.why_not_fresh
    assert fresh.cloned_at is not None
    assert "fresh clone" in fresh.line()

    (clone / "bench" / "out").mkdir(parents=True)  # an earlier bench run
    (clone / "a.txt").write_text("changed\n")
    used = provenance(clone)
    assert not used.fresh_clone
    assert used.commit.endswith("+changes")
    assert set(used.why_not_fresh) == {"local changes", "bench/out/ from an earlier run"}


def test_a_repository_that_was_not_cloned_is_not_fresh(tmp_path: Path) -> None:
    origin = _origin(tmp_path)
    assert provenance(origin).why_not_fresh == ("not made by git clone",)


def test_the_readme_table_names_the_run_it_comes_from() -> None:
    from bench.readme import markdown

    run = {
        "generated_at": "2026-12-04T19:00:00+00:00",
        "environment": {
            "commit": "abc1234",
            "fresh_clone": False,
            "cloned_at": None,
            "why_not_fresh": ["local changes"],
            "missing_system": [],
            "cpu_count": 2,
            "python": "3.11.7",
        },
        "benches": {
            "polls": {
                "figure": "2,600 answers/s",
                "baseline": "10,000 req/s",
                "ratio": "26% of bare",
                "target": ">= 2,000/s",
                "met": True,
                "seconds": 33.0,
            },
            "load": {"error": "RuntimeError: no server", "seconds": 1.0},
        },
    }
    text = markdown(run)
    assert "NOT a fresh clone (local changes), commit abc1234" in text
    assert "| polls | 2,600 answers/s | 10,000 req/s | 26% of bare | >= 2,000/s | yes |" in text
    assert "| load | failed: RuntimeError: no server |" in text
