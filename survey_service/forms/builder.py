"""The form builder: palette fields (as an admin composes them) -> JSON Schema 2020-12 + UI hints.

Pure functions, no I/O. ``decode_builder_fields`` (or any msgspec decode to
``list[BuilderField]``) checks the shape; ``check_builder_fields`` checks what msgspec cannot
(names, show-if references, ranges, choices); ``build_schema`` turns valid fields into a
``BuiltForm`` and raises ``BuilderError`` otherwise.

What the produced schema means:

- ``required`` asks for a non-empty answer: a required text gets ``minLength: 1`` and a
  required multiple choice or table ``minItems: 1``, unless the field sets its own minimum.
- Money is gross yuan, non-negative, in whole fen (``multipleOf: 0.01``). jsonschema-rs decides
  this on the decimal value (0.3 and 0.07 pass); naive validators divide in binary floating
  point and reject some whole-fen amounts (python-jsonschema rejects 0.07), so clients should
  check the 2 decimals (UI hint ``decimals``) on the text the user typed. A client-side sum
  such as 0.1 + 0.2 arrives as 0.30000000000000004 and is rejected: round before sending.
- JSON Schema has no date-range keyword: date limits are kept in ``x-min-date``/``x-max-date``
  (and in the UI hints) and checked by ``check_date_limits`` after schema validation.
- A field with ``show_if`` is shown only when the named earlier field (a sibling, or a
  top-level field) has one of the given values. Shown: its ``required`` applies. Hidden: its
  value is REJECTED (``{"properties": {name: false}}``, reported at the field's own path), not
  ignored, so stored data never holds an answer the respondent could not see and analytics
  never has to re-apply the conditions; the UI hints carry the condition so that clients drop
  hidden answers before sending.
- Every field is declared in its object's ``properties``, so ``additionalProperties: false``
  closes the objects; the conditions in ``allOf`` only add ``required`` and ``false`` schemas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Protocol

import jsonschema_rs
import msgspec

from survey_service.structs import Body

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

FieldName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Count = Annotated[int, msgspec.Meta(ge=0)]
Yuan = Annotated[int, msgspec.Meta(ge=0)] | Annotated[float, msgspec.Meta(ge=0)]
ShowIfValue = str | int | float | bool

BuilderIssue = dict[str, str]

_FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Bilingual(Protocol):
    """Anything with a Chinese text and an optional English one (``Label``, an API title)."""

    @property
    def zh(self) -> str: ...

    @property
    def en(self) -> str | None: ...


class Label(Body):
    zh: Text
    en: Text | None = None


class Choice(Body):
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    label: Label


class ShowIf(Body):
    """Show the field when ``field`` equals ``equals`` or one of ``in`` (exactly one given).
    For a multiple-choice ``field``: when any of the values is selected."""

    field: FieldName
    equals: ShowIfValue | None = None
    in_: Annotated[list[ShowIfValue], msgspec.Meta(min_length=1)] | None = msgspec.field(
        default=None, name="in"
    )


# A tagged union (one Struct per palette type, tag "type") rather than one struct with every
# option: msgspec then reports an unknown type, an option that does not belong to the type
# ("choices" on a text field) or a missing one by its exact path, and the code reads each
# type's options without None checks for options it cannot have.
class _Field(Body, tag_field="type", kw_only=True):
    name: FieldName
    label: Label
    help: Label | None = None
    required: bool = False
    show_if: ShowIf | None = None


class TextField(_Field, tag="text"):
    min_length: Count | None = None
    max_length: Count | None = None
    pattern: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    multiline: bool = False


class NumberField(_Field, tag="number"):
    minimum: int | float | None = None
    maximum: int | float | None = None
    integer: bool = False


class MoneyField(_Field, tag="money"):
    minimum: Yuan | None = None
    maximum: Yuan | None = None


class DateField(_Field, tag="date"):
    min_date: date | None = None
    max_date: date | None = None


class SingleChoiceField(_Field, tag="single_choice"):
    choices: Annotated[list[Choice], msgspec.Meta(min_length=1)]


class MultipleChoiceField(_Field, tag="multiple_choice"):
    choices: Annotated[list[Choice], msgspec.Meta(min_length=1)]
    min_selected: Count | None = None
    max_selected: Count | None = None


class LikertField(_Field, tag="likert"):
    scale: Annotated[int, msgspec.Meta(ge=2, le=11)] = 5
    low_label: Label | None = None
    high_label: Label | None = None


class TableField(_Field, tag="table"):
    columns: Annotated[list[BuilderField], msgspec.Meta(min_length=1)]
    min_rows: Count | None = None
    max_rows: Count | None = None


class SectionField(_Field, tag="section"):
    fields: Annotated[list[BuilderField], msgspec.Meta(min_length=1)]


BuilderField = (
    TextField
    | NumberField
    | MoneyField
    | DateField
    | SingleChoiceField
    | MultipleChoiceField
    | LikertField
    | TableField
    | SectionField
)

_FIELDS_DECODER = msgspec.json.Decoder(list[BuilderField])


def decode_builder_fields(body: bytes | str) -> list[BuilderField]:
    """Decode builder fields from JSON; raises ``msgspec.ValidationError`` on a bad shape."""
    return _FIELDS_DECODER.decode(body)


def field_type(field: BuilderField) -> str:
    """The palette type of ``field`` (``"text"``, ``"table"``, ...), which is also its widget."""
    return str(field.__struct_config__.tag)


class BuiltForm(msgspec.Struct, kw_only=True):
    schema: dict[str, Any]
    ui: dict[str, Any]


class BuilderError(ValueError):
    """Builder fields that cannot make a form; ``errors`` holds one issue per problem."""

    def __init__(self, errors: list[BuilderIssue]) -> None:
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


# --- semantic checks ---------------------------------------------------------------------


def _issue(path: str, keyword: str, message: str, message_zh: str) -> BuilderIssue:
    return {"path": path, "message": message, "message_zh": message_zh, "keyword": keyword}


def _msgspec_path(message: str, prefix: str) -> tuple[str, str]:
    """Split msgspec's "... - at `$[0].name`" into (JSON Pointer, message)."""
    text, sep, location = message.rpartition(" - at `$")
    if not sep:
        return prefix, message
    parts: list[str] = []
    for chunk in location.rstrip("`").replace("[", ".").replace("]", "").split("."):
        if chunk:
            parts.append(chunk)
    return prefix + "".join("/" + p for p in parts), text


def _range_issue(
    path: str, low_name: str, low: object, high_name: str, high: object
) -> BuilderIssue:
    return _issue(
        f"{path}/{low_name}",
        "range",
        f"{low_name} ({low}) is greater than {high_name} ({high})",
        f"{low_name}（{low}）大于 {high_name}（{high}）",
    )


def _parse_date(text: str) -> date | None:
    """A JSON Schema ``date`` (YYYY-MM-DD only: ``fromisoformat`` alone takes 20230101 too)."""
    if _FULL_DATE.fullmatch(text) is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _whole_fen(value: float) -> bool:
    exponent = Decimal(repr(value)).normalize().as_tuple().exponent
    return not isinstance(exponent, int) or exponent >= -2


def _pattern_compiles(pattern: str) -> bool:
    try:
        jsonschema_rs.Draft202012Validator({"type": "string", "pattern": pattern})
    except (jsonschema_rs.ValidationError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class _Dependency:
    field: BuilderField
    at_root: bool  # a top-level field named from inside a section or table


def _resolve(
    show_if: ShowIf,
    own_name: str,
    index: int,
    siblings: Sequence[BuilderField],
    top_fields: Sequence[BuilderField],
    top_index: int | None,
) -> _Dependency | BuilderIssue:
    """The field ``show_if`` names (an earlier sibling, else an earlier top-level field)."""
    name = show_if.field
    where = "show_if/field"
    if name == own_name:
        return _issue(
            where, "show-if-order", "show_if cannot name the field itself", "显示条件不能引用本题"
        )
    for i, sibling in enumerate(siblings):
        if sibling.name == name:
            if i > index:
                return _issue(
                    where,
                    "show-if-order",
                    f"show_if names {name!r}, which comes after this field",
                    f"显示条件引用的 {name} 位于本题之后",
                )
            return _Dependency(sibling, at_root=False)
    if top_index is not None:
        for i, top in enumerate(top_fields):
            if top.name == name:
                if i >= top_index:
                    return _issue(
                        where,
                        "show-if-order",
                        f"show_if names {name!r}, which does not come before this field",
                        f"显示条件引用的 {name} 不在本题之前",
                    )
                return _Dependency(top, at_root=True)
    return _issue(
        where,
        "show-if-unknown",
        f"show_if names {name!r}, which is neither an earlier field at this level "
        "nor a top-level field",
        f"显示条件引用的 {name} 不存在",
    )


def _show_if_values(show_if: ShowIf) -> list[ShowIfValue]:
    if show_if.in_ is not None:
        return list(show_if.in_)
    return [] if show_if.equals is None else [show_if.equals]


def _value_problem(dependency: BuilderField, value: ShowIfValue) -> str | None:
    """Why ``value`` can never be the dependency's answer, or None."""
    if isinstance(dependency, TableField | SectionField):
        return f"a {field_type(dependency)} has no single value to compare"
    if isinstance(dependency, SingleChoiceField | MultipleChoiceField):
        if not isinstance(value, str) or value not in {c.value for c in dependency.choices}:
            return f"{value!r} is not one of {dependency.name!r}'s choices"
        return None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(dependency, TextField):
        return None if isinstance(value, str) else f"{value!r} is not a text"
    if isinstance(dependency, DateField):
        if isinstance(value, str) and _parse_date(value) is not None:
            return None
        return f"{value!r} is not a date (YYYY-MM-DD)"
    if isinstance(dependency, LikertField):
        if is_number and value in range(1, dependency.scale + 1):
            return None
        return f"{value!r} is not a point of the 1..{dependency.scale} scale"
    return None if is_number else f"{value!r} is not a number"


def _check_show_if(
    field: BuilderField,
    path: str,
    index: int,
    siblings: Sequence[BuilderField],
    top_fields: Sequence[BuilderField],
    top_index: int | None,
) -> list[BuilderIssue]:
    show_if = field.show_if
    if show_if is None:
        return []
    if (show_if.equals is None) == (show_if.in_ is None):
        return [
            _issue(
                f"{path}/show_if",
                "show-if-value",
                'show_if needs exactly one of "equals" and "in"',
                "显示条件须且只能给出 equals 或 in 之一",
            )
        ]
    found = _resolve(show_if, field.name, index, siblings, top_fields, top_index)
    if isinstance(found, dict):
        return [{**found, "path": f"{path}/{found['path']}"}]
    where = f"{path}/show_if/" + ("in" if show_if.in_ is not None else "equals")
    for value in _show_if_values(show_if):
        problem = _value_problem(found.field, value)
        if problem is not None:
            return [_issue(where, "show-if-value", problem, f"显示条件的取值 {value!r} 无效")]
    return []


def _check_own(field: BuilderField, path: str) -> list[BuilderIssue]:
    """Issues of one field's own options (not of its children)."""
    issues: list[BuilderIssue] = []
    if isinstance(field, TextField):
        lo, hi = field.min_length, field.max_length
        if lo is not None and hi is not None and lo > hi:
            issues.append(_range_issue(path, "min_length", lo, "max_length", hi))
        if field.pattern is not None and not _pattern_compiles(field.pattern):
            issues.append(
                _issue(
                    f"{path}/pattern",
                    "pattern",
                    "pattern is not a valid regular expression",
                    "pattern 不是有效的正则表达式",
                )
            )
    elif isinstance(field, NumberField | MoneyField):
        lo_number, hi_number = field.minimum, field.maximum
        if lo_number is not None and hi_number is not None and lo_number > hi_number:
            issues.append(_range_issue(path, "minimum", lo_number, "maximum", hi_number))
        if isinstance(field, MoneyField):
            for key, limit in (("minimum", field.minimum), ("maximum", field.maximum)):
                if limit is not None and not _whole_fen(limit):
                    issues.append(
                        _issue(
                            f"{path}/{key}",
                            "decimals",
                            f"a money {key} has at most 2 decimal places",
                            f"金额{key}最多两位小数",
                        )
                    )
    elif isinstance(field, DateField):
        lo_date, hi_date = field.min_date, field.max_date
        if lo_date is not None and hi_date is not None and lo_date > hi_date:
            issues.append(_range_issue(path, "min_date", lo_date, "max_date", hi_date))
    elif isinstance(field, SingleChoiceField | MultipleChoiceField):
        issues.extend(_check_choices(field.choices, f"{path}/choices"))
        if isinstance(field, MultipleChoiceField):
            lo, hi = field.min_selected, field.max_selected
            if lo is not None and hi is not None and lo > hi:
                issues.append(_range_issue(path, "min_selected", lo, "max_selected", hi))
            if lo is not None and lo > len(field.choices):
                issues.append(
                    _issue(
                        f"{path}/min_selected",
                        "range",
                        f"min_selected ({lo}) is more than the {len(field.choices)} choices",
                        f"min_selected（{lo}）超过选项数（{len(field.choices)}）",
                    )
                )
    elif isinstance(field, TableField):
        lo, hi = field.min_rows, field.max_rows
        if lo is not None and hi is not None and lo > hi:
            issues.append(_range_issue(path, "min_rows", lo, "max_rows", hi))
        if not field.columns:
            issues.append(
                _issue(
                    f"{path}/columns",
                    "empty",
                    "a table needs at least one column",
                    "表格至少需要一列",
                )
            )
    elif isinstance(field, SectionField) and not field.fields:
        issues.append(
            _issue(
                f"{path}/fields", "empty", "a section needs at least one field", "分组至少需要一题"
            )
        )
    return issues


def _check_choices(choices: Sequence[Choice], path: str) -> list[BuilderIssue]:
    if not choices:
        return [_issue(path, "empty", "at least one choice is needed", "至少需要一个选项")]
    issues: list[BuilderIssue] = []
    seen: set[str] = set()
    for i, choice in enumerate(choices):
        if choice.value in seen:
            issues.append(
                _issue(
                    f"{path}/{i}/value",
                    "duplicate-choice",
                    f"the choice value {choice.value!r} is used twice",
                    f"选项取值 {choice.value} 重复",
                )
            )
        seen.add(choice.value)
    return issues


def _check_level(
    fields: Sequence[BuilderField],
    prefix: str,
    top_fields: Sequence[BuilderField],
    top_index: int | None,
) -> list[BuilderIssue]:
    issues: list[BuilderIssue] = []
    seen: set[str] = set()
    for i, field in enumerate(fields):
        path = f"{prefix}/{i}"
        if field.name in seen:
            issues.append(
                _issue(
                    f"{path}/name",
                    "duplicate-name",
                    f"the name {field.name!r} is used twice at this level",
                    f"同一层级中名称 {field.name} 重复",
                )
            )
        seen.add(field.name)
        issues.extend(_check_own(field, path))
        issues.extend(_check_show_if(field, path, i, fields, top_fields, top_index))
        ancestor = i if top_index is None else top_index
        if isinstance(field, TableField):
            issues.extend(_check_level(field.columns, f"{path}/columns", top_fields, ancestor))
        elif isinstance(field, SectionField):
            issues.extend(_check_level(field.fields, f"{path}/fields", top_fields, ancestor))
    return issues


def check_builder_fields(
    fields: Sequence[BuilderField], *, prefix: str = "/fields"
) -> list[BuilderIssue]:
    """Every problem msgspec cannot see, as ``{"path", "message", "message_zh", "keyword"}``.

    ``path`` is a JSON Pointer into the request (``prefix`` is where ``fields`` sits in it).
    Fields built in Python rather than decoded are first re-checked against the declared
    constraints (name pattern, ranges), which msgspec only applies when decoding.
    """
    issues: list[BuilderIssue] = []
    try:
        _FIELDS_DECODER.decode(msgspec.json.encode(fields))
    except msgspec.ValidationError as exc:
        path, message = _msgspec_path(str(exc), prefix)
        issues.append(_issue(path, "shape", message, "字段定义不符合要求"))
    issues.extend(_check_level(fields, prefix, fields, None))
    return issues


# --- schema + UI hints -------------------------------------------------------------------


def _label(text: Bilingual) -> dict[str, str]:
    return {"zh": text.zh} if text.en is None else {"zh": text.zh, "en": text.en}


def _annotations(title: Bilingual, description: Bilingual | None) -> dict[str, Any]:
    out: dict[str, Any] = {"title": title.zh}
    english: dict[str, str] = {}
    if title.en is not None:
        english["title"] = title.en
    if description is not None:
        out["description"] = description.zh
        if description.en is not None:
            english["description"] = description.en
    if english:
        out["x-en"] = english
    return out


def _choices_schema(choices: Sequence[Choice]) -> dict[str, Any]:
    return {
        "type": "string",
        "enum": [c.value for c in choices],
        "x-enum-labels": {c.value: _label(c.label) for c in choices},
    }


def _put(schema: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        schema[key] = value


@dataclass
class _Builder:
    top_fields: Sequence[BuilderField]
    ui_fields: dict[str, Any]
    root_conditions: list[dict[str, Any]]

    def object_schema(
        self,
        fields: Sequence[BuilderField],
        pointer: str,
        containers: tuple[tuple[str, str], ...],
        top_index: int | None,
    ) -> dict[str, Any]:
        """``containers`` are the (type, name) steps from the root to this object."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        conditions: list[dict[str, Any]] = []
        for i, field in enumerate(fields):
            field_pointer = f"{pointer}/{field.name}"
            hint = self.hint(field)
            self.ui_fields[field_pointer] = hint
            ancestor = i if top_index is None else top_index
            properties[field.name] = self.field_schema(
                field, field_pointer, (*containers, (field_type(field), field.name)), ancestor
            )
            if field.show_if is None:
                if field.required:
                    required.append(field.name)
                continue
            found = _resolve(field.show_if, field.name, i, fields, self.top_fields, top_index)
            assert isinstance(found, _Dependency), "check_builder_fields ran first"
            dependency = found.field
            values = _show_if_values(field.show_if)
            test: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": values}
            if isinstance(dependency, MultipleChoiceField):
                test = {"contains": test}
            condition: dict[str, Any] = {
                "if": {"properties": {dependency.name: test}, "required": [dependency.name]}
            }
            if field.required:
                condition["then"] = {"required": [field.name]}
            condition["else"] = {"properties": {field.name: False}}
            dependency_pointer = f"{pointer}/{dependency.name}"
            if found.at_root:
                for key in ("then", "else"):
                    if key in condition:
                        condition[key] = _wrap(containers, condition[key])
                self.root_conditions.append(condition)
                dependency_pointer = f"/{dependency.name}"
            else:
                conditions.append(condition)
            shown: dict[str, Any] = {"field": dependency.name, "path": dependency_pointer}
            if field.show_if.in_ is not None:
                shown["in"] = values
            else:
                shown["equals"] = values[0]
            hint["show_if"] = shown
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        if conditions:
            schema["allOf"] = conditions
        return schema

    def field_schema(
        self,
        field: BuilderField,
        pointer: str,
        containers: tuple[tuple[str, str], ...],
        top_index: int,
    ) -> dict[str, Any]:
        schema = _annotations(field.label, field.help)
        if isinstance(field, TextField):
            schema["type"] = "string"
            min_length = field.min_length
            if min_length is None and field.required:
                min_length = 1
            _put(schema, "minLength", min_length)
            _put(schema, "maxLength", field.max_length)
            _put(schema, "pattern", field.pattern)
        elif isinstance(field, NumberField):
            schema["type"] = "integer" if field.integer else "number"
            _put(schema, "minimum", field.minimum)
            _put(schema, "maximum", field.maximum)
        elif isinstance(field, MoneyField):
            schema["type"] = "number"
            schema["minimum"] = 0 if field.minimum is None else field.minimum
            _put(schema, "maximum", field.maximum)
            schema["multipleOf"] = 0.01
        elif isinstance(field, DateField):
            schema["type"] = "string"
            schema["format"] = "date"
            if field.min_date is not None:
                schema["x-min-date"] = field.min_date.isoformat()
            if field.max_date is not None:
                schema["x-max-date"] = field.max_date.isoformat()
        elif isinstance(field, SingleChoiceField):
            schema.update(_choices_schema(field.choices))
        elif isinstance(field, MultipleChoiceField):
            schema["type"] = "array"
            schema["items"] = _choices_schema(field.choices)
            schema["uniqueItems"] = True
            min_selected = field.min_selected
            if min_selected is None and field.required:
                min_selected = 1
            _put(schema, "minItems", min_selected)
            _put(schema, "maxItems", field.max_selected)
        elif isinstance(field, LikertField):
            schema.update({"type": "integer", "minimum": 1, "maximum": field.scale})
        elif isinstance(field, TableField):
            schema["type"] = "array"
            schema["items"] = self.object_schema(
                field.columns, f"{pointer}/*", containers, top_index
            )
            min_rows = field.min_rows
            if min_rows is None and field.required:
                min_rows = 1
            _put(schema, "minItems", min_rows)
            _put(schema, "maxItems", field.max_rows)
        else:
            schema.update(self.object_schema(field.fields, pointer, containers, top_index))
        return schema

    @staticmethod
    def hint(field: BuilderField) -> dict[str, Any]:
        hint: dict[str, Any] = {"widget": field_type(field), "label": _label(field.label)}
        if field.help is not None:
            hint["help"] = _label(field.help)
        if field.required:
            hint["required"] = True
        if isinstance(field, TextField) and field.multiline:
            hint["multiline"] = True
        elif isinstance(field, MoneyField):
            hint["decimals"] = 2
            hint["unit"] = {"zh": "元", "en": "yuan"}
        elif isinstance(field, DateField):
            if field.min_date is not None:
                hint["min_date"] = field.min_date.isoformat()
            if field.max_date is not None:
                hint["max_date"] = field.max_date.isoformat()
        elif isinstance(field, LikertField):
            hint["scale"] = field.scale
            if field.low_label is not None:
                hint["low_label"] = _label(field.low_label)
            if field.high_label is not None:
                hint["high_label"] = _label(field.high_label)
        elif isinstance(field, TableField):
            hint["order"] = [c.name for c in field.columns]
        elif isinstance(field, SectionField):
            hint["order"] = [f.name for f in field.fields]
        return hint


def _wrap(containers: Iterable[tuple[str, str]], inner: dict[str, Any]) -> dict[str, Any]:
    """Move ``inner`` (a schema for an object nested in ``containers``) to the root."""
    for kind, name in reversed(tuple(containers)):
        inner = {"properties": {name: {"items": inner} if kind == "table" else inner}}
    return inner


def build_schema(
    fields: Sequence[BuilderField],
    *,
    title: Bilingual,
    description: Bilingual | None = None,
) -> BuiltForm:
    """The JSON Schema 2020-12 document and UI hints for ``fields``, or ``BuilderError``.

    UI hints: ``{"order": [top-level names], "fields": {"/a/*/b": {"widget", "label", ...}}}``
    keyed by the JSON Pointer of the answer, ``*`` standing for any table row.
    """
    issues = check_builder_fields(fields)
    if issues:
        raise BuilderError(issues)
    builder = _Builder(top_fields=fields, ui_fields={}, root_conditions=[])
    body = builder.object_schema(fields, "", (), None)
    if builder.root_conditions:
        body["allOf"] = [*body.get("allOf", []), *builder.root_conditions]
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    schema.update(_annotations(title, description))
    schema.update(body)
    ui = {"order": [f.name for f in fields], "fields": builder.ui_fields}
    return BuiltForm(schema=schema, ui=ui)


# --- date limits -------------------------------------------------------------------------


def _pointer(parts: Sequence[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _date_errors(
    schema: Any, instance: Any, parts: list[str | int], errors: list[dict[str, Any]]
) -> None:
    if not isinstance(schema, Mapping):
        return
    if isinstance(instance, str) and ("x-min-date" in schema or "x-max-date" in schema):
        value = _parse_date(instance)  # None: a malformed date is the "format" keyword's error
        low, high = schema.get("x-min-date"), schema.get("x-max-date")
        if value is not None and isinstance(low, str) and value < date.fromisoformat(low):
            errors.append(
                {
                    "path": _pointer(parts),
                    "message": f"{instance} is earlier than {low}",
                    "message_zh": f"不能早于 {low}",
                    "keyword": "x-min-date",
                }
            )
        if value is not None and isinstance(high, str) and value > date.fromisoformat(high):
            errors.append(
                {
                    "path": _pointer(parts),
                    "message": f"{instance} is later than {high}",
                    "message_zh": f"不能晚于 {high}",
                    "keyword": "x-max-date",
                }
            )
    properties = schema.get("properties")
    if isinstance(instance, dict) and isinstance(properties, Mapping):
        for key, value_ in instance.items():
            if key in properties:
                _date_errors(properties[key], value_, [*parts, key], errors)
    items = schema.get("items")
    if isinstance(instance, list) and isinstance(items, Mapping):
        for index, item in enumerate(instance):
            _date_errors(items, item, [*parts, index], errors)


def check_date_limits(schema: Mapping[str, Any], document: Any) -> list[dict[str, Any]]:
    """Dates in ``document`` outside their ``x-min-date``/``x-max-date`` (inclusive limits),
    as ``{"path", "message", "message_zh", "keyword"}`` like the schema validator's errors.
    Follows ``properties`` and ``items`` (where the builder puts dates), not ``$ref``."""
    errors: list[dict[str, Any]] = []
    _date_errors(schema, document, [], errors)
    return errors
