"""The nesting limit's depth count on raw JSON bytes, against the depth of the parsed value
for any JSON text (strings full of brackets, quotes and backslashes included)."""

from __future__ import annotations

import json
from typing import Any
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from survey_service import json_depth
from survey_service.json_depth import MAX_JSON_DEPTH, nesting_depth, too_deep

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@given(DOCUMENTS, st.booleans())
def test_the_count_on_bytes_is_the_depth_of_the_parsed_value(value: Any, ascii_only: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert nesting_depth(body) == depth(value)


@given(DOCUMENTS)
def test_the_count_carries_across_chunks(value: Any) -> None:
    body = json.dumps(value).encode()
    with patch.object(json_depth, "_CHUNK", 5):  # a string's quotes and a level split
        assert nesting_depth(body) == depth(value)


@given(st.text(alphabet='[]{}"\\ab', max_size=200))
def test_brackets_quotes_and_backslashes_inside_strings_never_count(text: str) -> None:
    body = json.dumps({"a": [text, {"b": text}]}).encode()
    assert nesting_depth(body) == 3


def test_the_limit_is_inclusive() -> None:
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert not too_deep(at_limit)
    assert too_deep(b"[" + at_limit + b"]")
    assert too_deep(b"[" * 100_000)  # not even JSON: still refused, never parsed


def test_many_shallow_brackets_are_not_deep() -> None:
    assert not too_deep(b"[" + b"[1]," * 100_000 + b"[1]]")
