"""One renderer for every form the service shows (polls, enterprise surveys, the builder's
preview): a form version's JSON Schema and UI hints, with the answers so far and the errors
of a refused post, become a tree of widgets that the ``form_fields.html`` macros draw.

Widgets: ``input`` (text, number, money, date), ``textarea``, ``choice`` (radio buttons:
single choice, yes/no, Likert and 0-10 scales), ``select`` (a single choice with many
options), ``checkboxes`` (multiple choice), ``section`` (a fieldset of fields) and
``table`` (rows of fields with add/remove). Field ids are ``q<n>`` for the n-th top-level
field, with ``-<n>`` for a section's fields and ``-r<row>-<n>`` for a table's cells.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from survey_service.forms.form_posts import dependency_pointer, json_type, resolve
from survey_service.web.i18n import Lang, pick, schema_text, translate

# A single choice with more options than this is a drop-down instead of radio buttons.
MAX_RADIOS = 8
# Rows a table shows on a page; past this the survey is better uploaded as a spreadsheet.
MAX_TABLE_ROWS = 300
ROW_PLACEHOLDER = "__i__"


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(slots=True)
class Field:
    id: str
    name: str  # the form field's name: the answer's pointer with dots
    label: str
    widget: str
    required: bool = False
    help: str = ""
    scale_note: str = ""
    error: str = ""
    value: str = ""
    options: list[Option] = field(default_factory=list)
    input_type: str = "text"
    attrs: dict[str, str] = field(default_factory=dict)  # min, max, step, maxlength, ...
    unit: str = ""
    rows: int = 4
    show_if_name: str = ""  # the form name of the field a condition reads
    show_if_values: str = ""  # JSON list of the values that show this field
    show_if_note: str = ""
    children: list[Field] = field(default_factory=list)  # a section's fields
    columns: list[Field] = field(default_factory=list)  # a table's header (labels)
    table_rows: list[list[Field]] = field(default_factory=list)
    template_row: list[Field] = field(default_factory=list)
    more_rows: int = 0  # rows not shown (past MAX_TABLE_ROWS)
    legend_hidden: bool = False  # the group's title says it already (kept for screen readers)
    can_add_row: bool = True

    @property
    def described_by(self) -> str:
        """The ids of the texts that explain the question, for ``aria-describedby``."""
        parts = [
            ("help", self.help),
            ("scale", self.scale_note),
            ("cond", self.show_if_note),
            ("error", self.error),
        ]
        return " ".join(f"{self.id}-{part}" for part, text in parts if text)

    @property
    def is_group(self) -> bool:
        return self.widget in ("choice", "checkboxes", "section", "table")

    @property
    def filled_rows(self) -> list[list[Field]]:
        """A table's rows that hold an answer (not the blank row offered to fill in)."""
        return [row for row in self.table_rows if any(c.answer_text() for c in row)]

    def answer_text(self) -> str:
        """The answer as a reader sees it (the chosen options' labels)."""
        if self.options:
            return "、".join(o.label for o in self.options if o.checked)
        return self.value + (f" {self.unit}" if self.value and self.unit else "")


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    fields: list[Field]


@dataclass(frozen=True, slots=True)
class ErrorLine:
    text: str
    target: str  # the id of the field, or "" for an error about the whole document


@dataclass(frozen=True, slots=True)
class FormView:
    title: str
    description: str
    sections: list[Section]
    errors: list[ErrorLine]


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None or isinstance(value, dict | list) else str(value)


def _number_text(value: Any) -> str:
    return as_text(value) if isinstance(value, int | float) and not isinstance(value, bool) else ""


@dataclass
class _Renderer:
    root: Mapping[str, Any]
    hints: Mapping[str, Any]
    lang: Lang
    errors: dict[str, str]  # concrete pointer -> first message
    by_pointer: dict[str, Field] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # hint pointer -> label
    add_row: str | None = None  # the table a page without JavaScript adds a row to

    def t(self, text: str, **values: Any) -> str:
        return translate(self.lang, text, **values)

    def hint(self, pattern: str) -> Mapping[str, Any]:
        found = self.hints.get(pattern)
        return found if isinstance(found, Mapping) else {}

    def order(self, schema: Mapping[str, Any], hint: Mapping[str, Any]) -> list[str]:
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return []
        listed = hint.get("order")
        names = [n for n in listed if n in properties] if isinstance(listed, list) else []
        return names + [n for n in properties if n not in names]

    def fields(
        self,
        schema: Mapping[str, Any],
        values: Any,
        pattern: str,
        path: list[str | int],
        id_prefix: str,
        required: set[str],
        names: list[str],
    ) -> list[Field]:
        """The fields of an object: ``pattern`` is its hint pointer (``*`` for rows),
        ``path`` its concrete location."""
        properties = schema.get("properties") or {}
        out: list[Field] = []
        values = values if isinstance(values, Mapping) else {}
        for index, name in enumerate(names):
            made = self.field(
                resolve(properties[name], self.root),
                values.get(name),
                f"{pattern}/{name}",
                [*path, name],
                f"{id_prefix}{index}",
                name in required,
            )
            if made is not None:
                out.append(made)
        return out

    def field(
        self,
        prop: Mapping[str, Any],
        value: Any,
        pattern: str,
        path: list[str | int],
        field_id: str,
        required: bool,
    ) -> Field | None:
        hint = self.hint(pattern)
        label = (
            pick(hint.get("label"), self.lang)
            or schema_text(prop, "title", self.lang)
            or str(path[-1])
        )
        self.labels[pattern] = label
        f = Field(
            id=field_id,
            name=".".join(str(p) for p in path),
            label=label,
            widget="input",
            required=required,
            help=pick(hint.get("help"), self.lang) or schema_text(prop, "description", self.lang),
        )
        kind = json_type(prop)
        widget = str(hint.get("widget") or "")
        show_if = hint.get("show_if")
        if isinstance(show_if, Mapping):
            self.condition(f, show_if, path)
            # Required when shown: the schema says so in a condition, the hint plainly.
            f.required = required or bool(hint.get("required"))
        if kind == "object" or (kind is None and isinstance(prop.get("properties"), dict)):
            f.widget = "section"
            f.children = self.fields(
                prop,
                value,
                pattern,
                path,
                f"{field_id}-",
                set(prop.get("required") or []),
                self.order(prop, hint),
            )
            # An item whose answer repeats its own label ("签订率" > "签订率"): say it once.
            if any(c.label == f.label for c in f.children):
                f.legend_hidden = True
                f.help = "" if any(c.help == f.help for c in f.children) else f.help
        elif kind == "array":
            items = resolve(prop.get("items"), self.root)
            if json_type(items) == "object" or isinstance(items.get("properties"), dict):
                self.table(f, prop, items, hint, value, pattern, path)
            elif isinstance(items.get("enum"), list):
                picked = {as_text(v) for v in value} if isinstance(value, list) else set()
                f.widget = "checkboxes"
                f.options = [
                    Option(as_text(v), label, as_text(v) in picked)
                    for v, label in self.choices(items, hint)
                ]
            else:
                return None
        elif (isinstance(prop.get("enum"), list) and prop["enum"]) or kind == "boolean":
            chosen = as_text(value)
            f.options = [
                Option(as_text(v), t, as_text(v) == chosen) for v, t in self.choices(prop, hint)
            ]
            f.widget = "choice" if len(f.options) <= MAX_RADIOS else "select"
        elif kind == "integer" and widget not in ("number", "money") and self.is_scale(prop):
            f.widget = "choice"
            self.scale(f, prop, hint, as_text(value))
        elif kind == "string":
            f.value = as_text(value)
            limit = prop.get("maxLength")
            if isinstance(limit, int):
                f.attrs["maxlength"] = str(limit)
            shortest = prop.get("minLength")
            if isinstance(shortest, int) and shortest > 1:
                f.attrs["minlength"] = str(shortest)
            if isinstance(prop.get("pattern"), str):
                f.attrs["pattern"] = prop["pattern"]
            long_text = widget == "textarea" or hint.get("multiline")
            if long_text or (isinstance(limit, int) and limit > 200):
                f.widget = "textarea"
                rows = hint.get("rows")
                f.rows = rows if isinstance(rows, int) and 1 <= rows <= 20 else 4
            elif prop.get("format") == "date":
                f.input_type = "date"
                for key, attr in (("x-min-date", "min"), ("x-max-date", "max")):
                    if isinstance(prop.get(key), str):
                        f.attrs[attr] = prop[key]
        elif kind in ("integer", "number"):
            f.value = as_text(value) if not isinstance(value, bool) else ""
            f.input_type = "number"
            f.attrs["inputmode"] = "numeric" if kind == "integer" else "decimal"
            money = widget == "money" or prop.get("multipleOf") == 0.01
            f.attrs["step"] = "1" if kind == "integer" else ("0.01" if money else "any")
            for key, attr in (("minimum", "min"), ("maximum", "max")):
                if _number_text(prop.get(key)):
                    f.attrs[attr] = _number_text(prop.get(key))
            unit = hint.get("unit")
            f.unit = (
                pick(unit, self.lang) if unit else ("元" if money and self.lang == "zh" else "")
            )
            if money and not f.unit:
                f.unit = "yuan"
        else:
            return None
        if f.widget != "section" and f.widget != "table" and f.required and f.show_if_name:
            # Required only when shown: the browser must not insist on a hidden field.
            f.attrs["data-required"] = "1"
        self.by_pointer["".join(f"/{p}" for p in path)] = f
        return f

    def choices(self, prop: Mapping[str, Any], hint: Mapping[str, Any]) -> list[tuple[Any, str]]:
        listed = hint.get("choices")
        if isinstance(listed, list) and listed:
            return [
                (c.get("value"), pick(c.get("label"), self.lang) or as_text(c.get("value")))
                for c in listed
                if isinstance(c, Mapping)
            ]
        enum = prop.get("enum")
        if not isinstance(enum, list):
            return [(True, self.t("Yes")), (False, self.t("No"))]
        labels = prop.get("x-enum-labels") or {}
        return [(v, pick(labels.get(str(v)), self.lang) or as_text(v)) for v in enum]

    @staticmethod
    def is_scale(prop: Mapping[str, Any]) -> bool:
        low, high = prop.get("minimum"), prop.get("maximum")
        return isinstance(low, int) and isinstance(high, int) and 0 <= high - low <= 10

    def scale(
        self, f: Field, prop: Mapping[str, Any], hint: Mapping[str, Any], chosen: str
    ) -> None:
        """One radio button a point, named by the scale's label for it when there is one."""
        low, high = int(prop["minimum"]), int(prop["maximum"])
        likert = prop.get("x-likert") or {}
        labels = likert.get("labels") or {}
        for n in range(low, high + 1):
            text = pick(labels.get(str(n)), self.lang)
            f.options.append(Option(str(n), f"{n} {text}" if text else str(n), chosen == str(n)))
        nps = prop.get("x-nps") or {}
        low_label = pick(hint.get("low_label") or nps.get("low") or likert.get("low"), self.lang)
        high_label = pick(
            hint.get("high_label") or nps.get("high") or likert.get("high"), self.lang
        )
        if low_label and high_label and not labels and not f.help:
            sep = "，" if self.lang == "zh" else ", "
            f.scale_note = f"{low} = {low_label}{sep}{high} = {high_label}"

    def table(
        self,
        f: Field,
        prop: Mapping[str, Any],
        items: Mapping[str, Any],
        hint: Mapping[str, Any],
        value: Any,
        pattern: str,
        path: list[str | int],
    ) -> None:
        f.widget = "table"
        rows = [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []
        shown = rows[:MAX_TABLE_ROWS]
        f.more_rows = len(rows) - len(shown)
        limit = prop.get("maxItems")
        f.can_add_row = not f.more_rows and not (isinstance(limit, int) and len(shown) >= limit)
        # A blank row only when there is none: a saved table is amended as it stands (a
        # blank row with required cells would block it), rows are added by the button.
        count = max(1, len(shown) + (f.can_add_row and f.name == self.add_row))
        required = set(items.get("required") or [])
        # The required columns first, so a wide table shows them without scrolling.
        ordered = self.order(items, hint)
        names = [n for n in ordered if n in required] + [n for n in ordered if n not in required]
        for i in range(count):
            f.table_rows.append(
                self.fields(
                    items,
                    shown[i] if i < len(shown) else {},
                    f"{pattern}/*",
                    [*path, i],
                    f"{f.id}-r{i}-",
                    required,
                    names,
                )
            )
        f.template_row = self.fields(
            items, {}, f"{pattern}/*", [*path, ROW_PLACEHOLDER], f"{f.id}-r{ROW_PLACEHOLDER}-",
            required, names,
        )  # fmt: skip
        f.columns = f.template_row

    def condition(self, f: Field, show_if: Mapping[str, Any], path: list[str | int]) -> None:
        depends = dependency_pointer(show_if)
        if depends is None:
            return
        wanted = show_if.get("in") if "in" in show_if else [show_if.get("equals")]
        if not isinstance(wanted, list):
            return
        rows = iter(p for p in path if isinstance(p, int) or p == ROW_PLACEHOLDER)
        instance = [next(rows, 0) if p == "*" else p for p in depends.split("/")[1:]]
        f.show_if_name = ".".join(str(p) for p in instance)
        f.show_if_values = json.dumps([as_text(v) for v in wanted])
        dependency = self.by_pointer.get("".join(f"/{p}" for p in instance))
        names = []
        for v in wanted:
            text = as_text(v)
            if dependency is not None:
                text = next((o.label for o in dependency.options if o.value == text), text)
            names.append(f"“{text}”")
        subject = self.labels.get(depends, depends.rsplit("/", 1)[-1])
        f.show_if_note = self.t(
            "Answer only when “{field}” is {values}.",
            field=subject,
            values=self.t(" or ").join(names),
        )


def _error_text(error: Mapping[str, Any], target: Field | None, lang: Lang) -> str:
    """What a respondent is told: the validator's wording names fields and types, which
    the page does not show."""
    keyword = error.get("keyword")
    if target is not None and keyword == "required":
        return translate(lang, "This question needs an answer")
    if target is not None and target.widget in ("choice", "checkboxes", "select"):
        return translate(lang, "Choose one of the options")
    if lang == "zh":
        return str(error.get("message_zh") or error.get("message") or "")
    return str(error.get("message") or error.get("message_zh") or "")


def form_view(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any],
    values: Any,
    errors: list[dict[str, Any]],
    lang: Lang,
    *,
    add_row: str | None = None,
) -> FormView:
    """The form's widgets, grouped as the UI hints say (the rest after, in schema order),
    with the answers so far and the errors of a refused post; ``add_row`` names the table
    that gets a blank row (the round trip of a page without JavaScript)."""
    hints = ui.get("fields")
    renderer = _Renderer(
        root=schema,
        hints=hints if isinstance(hints, Mapping) else {},
        lang=lang,
        errors={},
        add_row=add_row,
    )
    top = resolve(schema, schema)
    names = renderer.order(top, {"order": ui.get("order")})
    fields = renderer.fields(top, values, "", [], "q", set(top.get("required") or []), names)
    by_name = {f.name: f for f in fields}
    lines = _attach_errors(renderer.by_pointer, errors, lang)
    sections: list[Section] = []
    placed: set[str] = set()
    for group in ui.get("groups") or []:
        if not isinstance(group, Mapping):
            continue
        listed = [str(p).lstrip("/") for p in group.get("fields") or []]
        members = [n for n in listed if n in by_name and n not in placed]
        if members:
            placed.update(members)
            title = pick(group.get("title"), lang)
            if len(members) == 1 and by_name[members[0]].label == title:
                by_name[members[0]].legend_hidden = True
            sections.append(
                Section(str(group.get("key") or ""), title, [by_name[n] for n in members])
            )
    rest = [f for f in fields if f.name not in placed]
    if rest:
        sections.append(Section("", "", rest))
    return FormView(
        title=schema_text(schema, "title", lang),
        description=schema_text(schema, "description", lang),
        sections=sections,
        errors=lines,
    )


def _attach_errors(
    by_pointer: Mapping[str, Field], errors: list[dict[str, Any]], lang: Lang
) -> list[ErrorLine]:
    """Each error on its field (or the nearest enclosing one), one line each for the summary."""
    lines: list[ErrorLine] = []
    for error in errors:
        pointer = str(error.get("path") or "")
        target = None
        probe = pointer
        while probe:
            target = by_pointer.get(probe)
            if target is not None:
                break
            probe = probe.rsplit("/", 1)[0]
        text = _error_text(error, target if probe == pointer else None, lang)
        if target is None:
            lines.append(ErrorLine(text, ""))
            continue
        target.error = target.error or text
        sep = "：" if lang == "zh" else ": "
        rows = [int(p) for p in probe.split("/") if p.isdigit()]
        where = translate(lang, "row {n}", n=rows[-1] + 1) + " " if rows else ""
        lines.append(ErrorLine(f"{text}{sep}{where}{target.label}", target.id))
    return lines
