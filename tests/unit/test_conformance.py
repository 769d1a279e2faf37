"""The service's validator against the JSON Schema Test Suite (draft 2020-12).

Every case runs through ``compile_schema`` and ``validate_document``, exactly as the API
validates a submission. The few cases where the service deliberately differs are listed in
``deviation`` with the reason; such a case must still fail, so a list entry that starts
passing is reported too (strict xfail).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from survey_service.forms.validation import SchemaError, compile_schema, validate_document

SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "json-schema-test-suite"
SUITE_DIR = SUITE / "draft2020-12"

# (file, group description, case description) -> why the service differs.
FORMAT_ASSERTED = (
    "the service asserts `format` (it checks the custom formats uscc, occupation-code, "
    "industry-code, division-code and the standard ones), where the suite treats it as an "
    "annotation only"
)
REMOTE = (
    "the case needs the suite's remote documents at http://localhost:1234/ (a remote $ref or "
    "a custom meta-schema), and the service never fetches a remote document: such a schema "
    "is refused when a form is created"
)


def deviation(file: str, schema: Any, case: dict[str, Any]) -> str | None:
    """Why the service differs from the suite on this case, or None where it agrees."""
    if file == "format.json" and "only an annotation by default" in case["description"]:
        return FORMAT_ASSERTED
    ids, refs = _ids_and_refs(schema)
    if any(r.startswith("http://localhost:1234/") and r.split("#")[0] not in ids for r in refs):
        return REMOTE
    return None


def _ids_and_refs(schema: Any) -> tuple[set[str], set[str]]:
    """Every document the schema defines (``$id``) and every one it refers to, as absolute
    URIs resolved against the base URI in force where they stand."""
    ids: set[str] = set()
    refs: set[str] = set()
    stack: list[tuple[Any, str]] = [(schema, "")]
    while stack:
        node, base = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("$id"), str):
                base = urljoin(base, node["$id"])
                ids.add(base.split("#")[0])
            for k in ("$ref", "$dynamicRef", "$schema"):
                if isinstance(node.get(k), str):
                    refs.add(urljoin(base, node[k]))
            stack.extend((v, base) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, base) for v in node)
    return ids, refs


def _cases() -> Iterator[Any]:
    if not SUITE_DIR.is_dir():
        raise RuntimeError(f"the JSON Schema Test Suite is missing at {SUITE_DIR}")
    for path in sorted(SUITE_DIR.glob("*.json")):
        for group in json.loads(path.read_text()):
            for case in group["tests"]:
                reason = deviation(path.name, group["schema"], case)
                marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
                yield pytest.param(
                    group["schema"],
                    case["data"],
                    case["valid"],
                    id=f"{path.stem}: {group['description']}: {case['description']}",
                    marks=marks,
                )


@pytest.mark.parametrize(("schema", "data", "valid"), list(_cases()))
def test_suite_case(schema: Any, data: Any, valid: bool) -> None:
    try:
        validator = compile_schema(schema)
    except SchemaError as exc:
        pytest.fail(f"schema refused: {exc}")
    errors = validate_document(validator, data)
    assert (not errors) is valid, errors


def test_the_whole_suite_is_there() -> None:
    assert len(list(SUITE_DIR.glob("*.json"))) >= 45
