"""Builder fields read back from a form version the builder made: its JSON Schema and UI
hints hold every choice the admin made (the hints name each field's widget, label, help,
requirement and condition; the schema its limits and choices), so a published version can
be reopened in the builder as a new draft. ``build_schema`` of the fields read back makes
the same schema and hints again (tested over every palette type).

A form written as JSON Schema by hand (the shipped salary survey) has no widget hint for
every field: ``NotBuilderMade`` says which field, and such a form is edited as a schema
through the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from survey_service.forms.builder import BuilderField, decode_builder_fields

SCALAR_WIDGETS = frozenset(
    {"text", "number", "money", "date", "single_choice", "multiple_choice", "likert"}
)


class NotBuilderMade(ValueError):
    """The version was not made by the builder (or not by this one): ``path`` is the first
    field the builder could not have made."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path or '/'}: {why}")
        self.path = path


def _label(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not isinstance(value.get("zh"), str):
        raise NotBuilderMade(path, "no label in the UI hints")
    return {k: str(v) for k, v in value.items() if k in ("zh", "en") and v is not None}


def _choices(schema: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
    values = schema.get("enum")
    labels = schema.get("x-enum-labels") or {}
    if not isinstance(values, list) or not isinstance(labels, Mapping):
        raise NotBuilderMade(path, "choices without their labels")
    return [{"value": v, "label": _label(labels.get(v), path)} for v in values]


def _unless_default(value: Any, default: Any, required: bool) -> Any:
    """A minimum the builder adds by itself for a required field is not the admin's."""
    return None if required and value == default else value


def _field(
    name: str, schema: Mapping[str, Any], hint: Mapping[str, Any], path: str, hints: Any
) -> dict[str, Any]:
    widget = hint.get("widget")
    required = bool(hint.get("required", False))
    out: dict[str, Any] = {"type": widget, "name": name, "label": _label(hint.get("label"), path)}
    if hint.get("help") is not None:
        out["help"] = _label(hint["help"], path)
    if required:
        out["required"] = True
    shown = hint.get("show_if")
    if isinstance(shown, Mapping):
        condition = {"field": shown.get("field")}
        condition |= {"in": shown["in"]} if "in" in shown else {"equals": shown.get("equals")}
        out["show_if"] = condition
    if widget == "text":
        out["min_length"] = _unless_default(schema.get("minLength"), 1, required)
        out["max_length"] = schema.get("maxLength")
        out["pattern"] = schema.get("pattern")
        out["multiline"] = bool(hint.get("multiline", False))
    elif widget == "number":
        out["integer"] = schema.get("type") == "integer"
        out["minimum"], out["maximum"] = schema.get("minimum"), schema.get("maximum")
    elif widget == "money":
        out["minimum"] = None if schema.get("minimum") == 0 else schema.get("minimum")
        out["maximum"] = schema.get("maximum")
    elif widget == "date":
        out["min_date"], out["max_date"] = hint.get("min_date"), hint.get("max_date")
    elif widget == "single_choice":
        out["choices"] = _choices(schema, path)
    elif widget == "multiple_choice":
        out["choices"] = _choices(schema.get("items") or {}, path)
        out["min_selected"] = _unless_default(schema.get("minItems"), 1, required)
        out["max_selected"] = schema.get("maxItems")
    elif widget == "likert":
        out["scale"] = hint.get("scale", 5)
        for key in ("low_label", "high_label"):
            if hint.get(key) is not None:
                out[key] = _label(hint[key], path)
    elif widget == "table":
        out["columns"] = _level(schema.get("items") or {}, f"{path}/*", hint.get("order"), hints)
        out["min_rows"] = _unless_default(schema.get("minItems"), 1, required)
        out["max_rows"] = schema.get("maxItems")
    elif widget == "section":
        out["fields"] = _level(schema, path, hint.get("order"), hints)
    else:
        raise NotBuilderMade(path, f"no builder widget ({widget!r})")
    return {k: v for k, v in out.items() if v is not None and v is not False}


def _level(
    schema: Mapping[str, Any], pointer: str, order: Any, hints: Mapping[str, Any]
) -> list[dict[str, Any]]:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        raise NotBuilderMade(pointer, "no properties")
    names = order if isinstance(order, list) else list(properties)
    if set(names) != set(properties):
        raise NotBuilderMade(pointer, "the hints' order does not name every field")
    out = []
    for name in names:
        path = f"{pointer}/{name}"
        hint, prop = hints.get(path), properties.get(name)
        if not isinstance(hint, Mapping) or not isinstance(prop, Mapping):
            raise NotBuilderMade(path, "no UI hint for this field")
        out.append(_field(str(name), prop, hint, path, hints))
    return out


def fields_from_schema(schema: Mapping[str, Any], ui: Mapping[str, Any]) -> list[BuilderField]:
    """The builder fields that made ``schema`` and ``ui``; ``NotBuilderMade`` otherwise."""
    hints = ui.get("fields")
    if not isinstance(hints, Mapping):
        raise NotBuilderMade("", "no UI hints by field")
    raw = _level(schema, "", ui.get("order"), hints)
    try:
        return decode_builder_fields(msgspec.json.encode(raw))
    except msgspec.ValidationError as exc:
        raise NotBuilderMade("", f"the fields read back do not decode: {exc}") from None


def description_of(schema: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The form's description (Chinese, English) as a version's schema carries it."""
    zh = schema.get("description")
    english = schema.get("x-en")
    en = english.get("description") if isinstance(english, Mapping) else None
    return (zh if isinstance(zh, str) else None, en if isinstance(en, str) else None)
