"""The catalogue of problem types (``survey_service.problems``) is the one list of what
the service answers with: each slug is a ``ProblemKind``, none is left unused, and each
status Litestar raises maps to an entry with that status."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from survey_service import errors
from survey_service.problems import CATALOGUE, ProblemKind

PACKAGE = Path(errors.__file__).resolve().parent


def test_the_kinds_and_the_catalogue_name_the_same_slugs() -> None:
    assert list(get_args(ProblemKind)) == list(CATALOGUE)
    assert all(slug == entry.slug for slug, entry in CATALOGUE.items())
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", slug) for slug in CATALOGUE)


def test_every_entry_is_answered_somewhere_in_the_code() -> None:
    code = "\n".join(
        path.read_text() for path in PACKAGE.rglob("*.py") if path.name != "problems.py"
    )
    unused = [slug for slug in CATALOGUE if f'"{slug}"' not in code]
    assert unused == []


def test_each_status_litestar_raises_maps_to_an_entry_with_that_status() -> None:
    assert {status: CATALOGUE[kind].status for status, kind in errors._BY_STATUS.items()} == {
        status: status for status in errors._BY_STATUS
    }


def test_entries_are_complete_and_statuses_are_errors() -> None:
    for entry in CATALOGUE.values():
        assert 400 <= entry.status < 600
        assert entry.title
        assert re.search(r"[\u4e00-\u9fff]", entry.title_zh), entry.slug
        assert entry.description.endswith("."), entry.slug
        assert entry.uri == f"/problems/{entry.slug}"
