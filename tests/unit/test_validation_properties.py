"""The validator under hypothesis: any JSON value, and any realistic document with parts
replaced, removed or added, checked against each shipped form (complete and as a draft)
never raises, and every error names its place with a JSON Pointer that resolves in the
document (a missing property: its parent resolves and the schema declares the property).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from survey_service.forms.validation import compile_schema, validate_document
from tests.unit.test_shipped_forms import DOCUMENTS, load, resolve

FORMS = list(DOCUMENTS)
SCHEMAS = {key: load(key)["schema"] for key in FORMS}
VALIDATORS = {key: compile_schema(schema) for key, schema in SCHEMAS.items()}
POINTER = re.compile(r"(/([^~/]|~[01])*)*")
ERROR_KEYS = {"path", "message", "message_zh", "keyword"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    # Values the forms care about: codes, dates, money-like numbers, Chinese text.
    | st.sampled_from(["6-01-02-03", "610202", "C3011", "2023-05-01", "", "是", "~/", "a/b"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)


def tokens(path: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def locate(document: Any, parts: list[str]) -> tuple[bool, Any]:
    """(found, value) of the RFC 6901 pointer ``parts`` in ``document``."""
    node = document
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            if part != str(int(part)):  # no leading zeros in an array index
                return False, None
            node = node[int(part)]
        else:
            return False, None
    return True, node


def instance_path(parts: list[str]) -> str:
    """The schema-side path: array indices become ``*`` (``resolve``'s convention)."""
    return "/" + "/".join("*" if p.isdigit() else p for p in parts) if parts else ""


def check_errors(key: str, document: Any, errors: list[dict[str, Any]], draft: bool) -> None:
    for error in errors:
        assert set(error) == ERROR_KEYS, error
        assert all(isinstance(error[k], str) for k in ERROR_KEYS), error
        path = error["path"]
        assert POINTER.fullmatch(path), error
        parts = tokens(path)
        found, _ = locate(document, parts)
        if error["keyword"] == "required":
            assert not draft, error
            parent_found, parent = locate(document, parts[:-1])
            assert parent_found, error
            assert isinstance(parent, dict), error
            assert parts[-1] not in parent, error
            assert resolve(SCHEMAS[key], instance_path(parts)) is not None, error
        else:
            assert found, error


def validate_both_ways(key: str, document: Any) -> None:
    for draft in (False, True):
        errors = validate_document(VALIDATORS[key], document, schema=SCHEMAS[key], draft=draft)
        check_errors(key, document, errors, draft)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(FORMS), json_values)
def test_any_json_value_is_checked_without_raising_and_errors_point_into_it(
    key: str, document: Any
) -> None:
    validate_both_ways(key, document)


def containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every object and array in ``node``, itself first."""
    found = [path] if isinstance(node, dict | list) else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for step, child in children:
        found += containers(child, (*path, step))
    return found


@st.composite
def damaged_documents(draw: st.DrawFn) -> tuple[str, Any]:
    """A realistic document of a shipped form with a few parts replaced, removed or added:
    errors deep inside, next to valid siblings."""
    key = draw(st.sampled_from(FORMS))
    document = copy.deepcopy(DOCUMENTS[key]())
    for _ in range(draw(st.integers(1, 4))):
        places = containers(document)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = document
        for step in path:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        members = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        if action == "add" or not members:
            if isinstance(parent, dict):
                parent[draw(st.text(max_size=12))] = draw(json_values)
            else:
                parent.append(draw(json_values))
        else:
            member = draw(st.sampled_from(members))
            if action == "remove":
                del parent[member]
            else:
                parent[member] = draw(json_values)
    return key, document


@settings(max_examples=300, deadline=None, derandomize=True)
@given(damaged_documents())
def test_a_damaged_realistic_document_gets_errors_that_point_into_it(
    case: tuple[str, Any],
) -> None:
    key, document = case
    validate_both_ways(key, document)
