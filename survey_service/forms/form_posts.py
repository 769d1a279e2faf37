"""HTML form posts as the JSON documents their schema describes, and the show-if conditions
of the UI hints applied to a document.

A form field is named after the answer's JSON Pointer with dots: ``comment``,
``enterprise.uscc``, ``employees.3.annual_pay`` (a table row's index, any whole number: rows
are taken in their numeric order, gaps and all). Every value arrives as text; it becomes the
schema's type when it parses, and stays text otherwise so that validation names the field.
Empty fields, rows and sections are left out; fields the schema does not name are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_INTEGER = re.compile(r"[+-]?\d{1,15}")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MAX_DEPTH = 32


def resolve(schema: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with a local ``$ref`` (``#/$defs/...``) replaced by its target, the
    referring schema's own keywords (title, description...) taking precedence."""
    if not isinstance(schema, dict):
        return {}
    current: dict[str, Any] = schema
    for _ in range(_MAX_DEPTH):
        ref = current.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return current
        target: Any = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        own = {k: v for k, v in current.items() if k != "$ref"}
        if not isinstance(target, dict):
            return own
        current = {**target, **own}
    return current


def json_type(schema: Mapping[str, Any]) -> str | None:
    """The one JSON type a property holds (ignoring null): its ``type``, or what every value
    of its ``enum`` is (boolean, integer, number, string); None when the schema does not
    say. The one reading of a property's type, for forms posted and spreadsheets read."""
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    if isinstance(declared, str):
        return declared
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        if all(isinstance(v, bool) for v in enum):
            return "boolean"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in enum):
            return "integer"
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in enum):
            return "number"
        if all(isinstance(v, str) for v in enum):
            return "string"
    return None


def typed(schema: Mapping[str, Any], text: str) -> Any:
    """A form field's text as the schema's type; left as text when it does not parse."""
    kind = json_type(schema)
    if kind == "integer" and _INTEGER.fullmatch(text):
        return int(text)
    if kind == "number" and _NUMBER.fullmatch(text):
        number = float(text)
        return int(number) if number.is_integer() and _INTEGER.fullmatch(text) else number
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    return text


def _texts(fields: Mapping[str, Iterable[str]], name: str) -> list[str]:
    texts = (t.replace("\r\n", "\n").strip() for t in fields.get(name, ()))
    return [t for t in texts if t]


def _row_indices(fields: Mapping[str, Iterable[str]], name: str) -> list[int]:
    prefix = name + "."
    found: set[int] = set()
    for key in fields:
        if key.startswith(prefix):
            index = key[len(prefix) :].split(".", 1)[0]
            if index.isdigit() and len(index) <= 6:
                found.add(int(index))
    return sorted(found)


def _value(
    schema: Any, root: Mapping[str, Any], fields: Mapping[str, Iterable[str]], name: str, depth: int
) -> Any:
    """The answer under form name ``name``, or None when nothing was filled in."""
    prop = resolve(schema, root)
    kind = json_type(prop)
    if kind == "object" or (kind is None and isinstance(prop.get("properties"), dict)):
        return _object(prop, root, fields, name + ".", depth + 1) or None
    if kind == "array":
        items = resolve(prop.get("items"), root)
        if json_type(items) == "object" or isinstance(items.get("properties"), dict):
            rows = [
                _object(items, root, fields, f"{name}.{i}.", depth + 1)
                for i in _row_indices(fields, name)
            ]
            return [row for row in rows if row] or None
        return [typed(items, t) for t in _texts(fields, name)] or None
    texts = _texts(fields, name)
    return typed(prop, texts[0]) if texts else None


def _object(
    schema: Mapping[str, Any],
    root: Mapping[str, Any],
    fields: Mapping[str, Iterable[str]],
    prefix: str,
    depth: int,
) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict) or depth > _MAX_DEPTH:
        return {}
    data: dict[str, Any] = {}
    for key, prop in properties.items():
        value = _value(prop, root, fields, prefix + key, depth)
        if value is not None:
            data[key] = value
    return data


def document_from_form(schema: Mapping[str, Any], fields: Mapping[str, Iterable[str]]) -> Any:
    """The JSON document an HTML form post describes (see the module's docstring)."""
    return _object(resolve(schema, schema), schema, fields, "", 0)


# --- show-if -------------------------------------------------------------------------------


def _split(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _instances(document: Any, parts: list[str], at: list[str | int]) -> list[list[str | int]]:
    """The concrete paths in ``document`` that match ``parts`` (``*`` for any row)."""
    if not parts:
        return [at]
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(document, list):
            return []
        return [p for i, row in enumerate(document) for p in _instances(row, rest, [*at, i])]
    if not isinstance(document, dict) or head not in document:
        return []
    return _instances(document[head], rest, [*at, head])


def _get(document: Any, path: list[str | int]) -> Any:
    for part in path:
        if isinstance(document, dict) and isinstance(part, str):
            document = document.get(part)
        elif isinstance(document, list) and isinstance(part, int) and part < len(document):
            document = document[part]
        else:
            return None
    return document


def concrete(pattern: str, instance: list[str | int]) -> list[str | int]:
    """``pattern``'s path with each ``*`` taken from ``instance``'s row indices (the
    dependency of a field in a table row is read in the same row)."""
    rows = iter(p for p in instance if isinstance(p, int))
    out: list[str | int] = []
    for part in _split(pattern):
        out.append(next(rows, 0) if part == "*" else part)
    return out


def condition_met(show_if: Mapping[str, Any], answer: Any) -> bool:
    """Whether an answer (a value, a list for a multiple choice, None) shows the field."""
    wanted = show_if.get("in") if "in" in show_if else [show_if.get("equals")]
    if not isinstance(wanted, list):
        return False
    answers = answer if isinstance(answer, list) else [answer]
    return any(_same(a, w) for a in answers for w in wanted)


def _same(answer: Any, wanted: Any) -> bool:
    if isinstance(answer, bool) or isinstance(wanted, bool):
        return answer is wanted
    if isinstance(answer, int | float) and isinstance(wanted, int | float):
        return float(answer) == float(wanted)
    return bool(answer == wanted)


def dependency_pointer(show_if: Mapping[str, Any]) -> str | None:
    """The JSON Pointer (``*`` for rows) of the field a condition reads."""
    path = show_if.get("path") or show_if.get("field")
    if not isinstance(path, str) or not path:
        return None
    return path if path.startswith("/") else "/" + path


def drop_hidden(document: Any, ui: Mapping[str, Any]) -> Any:
    """Remove the answers to fields whose show-if condition is not met, in the order of the
    hints (so a field hidden because its own dependency is hidden goes too). A page without
    JavaScript shows every field; what the respondent could not have been asked is not sent."""
    hints = ui.get("fields")
    if not isinstance(hints, Mapping) or not isinstance(document, dict):
        return document
    for pointer, hint in hints.items():
        show_if = hint.get("show_if") if isinstance(hint, Mapping) else None
        depends = dependency_pointer(show_if) if isinstance(show_if, Mapping) else None
        if show_if is None or depends is None or not isinstance(pointer, str):
            continue
        for path in _instances(document, _split(pointer), []):
            if not condition_met(show_if, _get(document, concrete(depends, path))):
                parent = _get(document, path[:-1])
                if isinstance(parent, dict):
                    parent.pop(str(path[-1]), None)
    return document
