"""The changes between two revisions as a reviewer reads them: where (the form's own labels
along the JSON Pointer, a worker's line by its number) and the answer before and after (a
choice by its label, yes/no as words)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from survey_service.collection.revision_changes import Change
from survey_service.web.form_view import as_text
from survey_service.web.i18n import Lang, pick, schema_text

MAX_VALUE_CHARS = 200


@dataclass(frozen=True, slots=True)
class ShownChange:
    place: str
    kind: str  # added | removed | changed
    before: str
    after: str


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _place(pointer: str, schema: dict[str, Any], lang: Lang) -> tuple[str, dict[str, Any]]:
    """The labels along the pointer, and the schema of the answer it names."""
    labels: list[str] = []
    here: Any = schema
    for token in _tokens(pointer):
        properties = here.get("properties") if isinstance(here, dict) else None
        items = here.get("items") if isinstance(here, dict) else None
        if isinstance(properties, dict) and isinstance(properties.get(token), dict):
            here = properties[token]
            labels.append(schema_text(here, "title", lang) or token)
        elif token.isdigit() and isinstance(items, dict):
            here = items
            line = int(token) + 1
            labels.append(f"第 {line} 行" if lang == "zh" else f"line {line}")
        else:
            here = {}
            labels.append(token)
    return " › ".join(labels) or ("整份问卷" if lang == "zh" else "the whole survey"), here


def _value(value: Any, schema: dict[str, Any], lang: Lang, present: bool) -> str:
    if not present:
        return "—"
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    labels = schema.get("x-enum-labels")
    if isinstance(value, str) and isinstance(labels, dict) and value in labels:
        return pick(labels[value], lang)
    if isinstance(value, dict | list):
        text = msgspec.json.encode(value).decode()
    else:
        text = as_text(value) if value is not None else "null"
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def shown_changes(changes: list[Change], schema: dict[str, Any], lang: Lang) -> list[ShownChange]:
    out = []
    for change in changes:
        place, answer_schema = _place(change.pointer, schema, lang)
        out.append(
            ShownChange(
                place=place,
                kind=change.kind,
                before=_value(change.before, answer_schema, lang, change.kind != "added"),
                after=_value(change.after, answer_schema, lang, change.kind != "removed"),
            )
        )
    return out
