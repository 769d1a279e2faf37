"""The stored warnings of a submission as a person reads them: where (the sheet's row and
column for an upload, the worker's line and the column's label for a form) and what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survey_service.web.i18n import Lang


@dataclass(frozen=True, slots=True)
class ShownWarning:
    place: str
    text: str


def _label(schema: dict[str, Any], key: str, lang: Lang) -> str:
    items = ((schema.get("properties") or {}).get("employees") or {}).get("items") or {}
    prop = (items.get("properties") or {}).get(key) or {}
    if lang == "en":
        return str((prop.get("x-en") or {}).get("title") or prop.get("title") or key)
    return str(prop.get("title") or key)


def _place(warning: dict[str, Any], schema: dict[str, Any], lang: Lang) -> str:
    zh = lang == "zh"
    if warning.get("row"):
        column = warning.get("column") or ""
        if zh:
            return f"第 {warning['row']} 行" + (f"，{column} 列" if column else "")
        return f"row {warning['row']}" + (f", column {column}" if column else "")
    parts = str(warning.get("path", "")).split("/")
    if len(parts) >= 3 and parts[1] == "employees" and parts[2].isdigit():
        line = int(parts[2]) + 1
        label = _label(schema, parts[3], lang) if len(parts) > 3 else ""
        if zh:
            return f"职工第 {line} 行" + (f"，{label}" if label else "")
        return f"worker line {line}" + (f", {label}" if label else "")
    return ""


def shown_warnings(
    warnings: list[dict[str, Any]], schema: dict[str, Any], lang: Lang
) -> list[ShownWarning]:
    zh = lang == "zh"
    return [
        ShownWarning(
            place=_place(w, schema, lang),
            text=str((w.get("message_zh") or w.get("message")) if zh else w.get("message")),
        )
        for w in warnings
    ]
