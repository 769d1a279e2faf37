"""Compiled JSON Schema validators (jsonschema-rs), cached per form version, and the
translation of their errors into ``{"path", "message", "message_zh", "keyword"}``.

Remote ``$ref``s are never fetched: the retriever refuses every URI that the schema does
not define itself, so such a schema fails to compile and is refused with the reason.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema_rs
import msgspec

from survey_service.forms.builder import check_date_limits
from survey_service.forms.formats import FORMAT_CHECKERS, FORMAT_HELP

FieldError = dict[str, Any]

_CACHE_SIZE = 64


class SchemaError(ValueError):
    """A JSON Schema that cannot be used: invalid under the meta-schema, or a remote $ref."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


# The same few codes repeat across thousands of rows: remember each checker's verdicts.
_CACHED_FORMATS: dict[str, Callable[[str], bool]] = {
    name: functools.lru_cache(maxsize=8192)(check) for name, check in FORMAT_CHECKERS.items()
}


def _refuse_remote(uri: str) -> Any:
    raise ValueError(f"remote $ref is not allowed (the service never fetches {uri})")


def _pointer(parts: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def compile_schema(schema: Any) -> jsonschema_rs.Draft202012Validator:
    """Check ``schema`` against the 2020-12 meta-schema and compile it, or raise SchemaError."""
    if not isinstance(schema, dict | bool):
        raise SchemaError("a JSON Schema must be an object or a boolean")
    if isinstance(schema, dict):
        declared = schema.get("$schema")
        if declared is not None and declared != "https://json-schema.org/draft/2020-12/schema":
            raise SchemaError(f"only JSON Schema draft 2020-12 is supported, not {declared}")
    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as exc:
        raise SchemaError(
            f"not a valid JSON Schema: {exc.message}", _pointer(exc.instance_path)
        ) from None
    except jsonschema_rs.ReferencingError as exc:
        raise SchemaError(f"not a valid JSON Schema: {exc}") from None
    try:
        return jsonschema_rs.Draft202012Validator(
            schema,
            formats=_CACHED_FORMATS,
            validate_formats=True,
            ignore_unknown_formats=True,
            retriever=_refuse_remote,
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        text = getattr(exc, "message", None) or str(exc).split("\n", 1)[0]
        raise SchemaError(f"the schema cannot be compiled: {text}") from None


_ZH: dict[str, str] = {
    "required": "缺少必填项 {property}",
    "type": "类型不符，应为 {types}",
    "minimum": "不能小于 {limit}",
    "maximum": "不能大于 {limit}",
    "exclusiveMinimum": "必须大于 {limit}",
    "exclusiveMaximum": "必须小于 {limit}",
    "minLength": "长度不能少于 {limit} 个字符",
    "maxLength": "长度不能超过 {limit} 个字符",
    "minItems": "至少需要 {limit} 项",
    "maxItems": "最多允许 {limit} 项",
    "enum": "不是允许的取值",
    "const": "不是允许的取值",
    "format": "格式不正确（{format}）",
    "pattern": "格式不正确",
    "additionalProperties": "不允许的字段：{unexpected}",
    "unevaluatedProperties": "不允许的字段：{unexpected}",
    "multipleOf": "必须是 {multiple_of} 的整数倍",
    "uniqueItems": "存在重复项",
    "falseSchema": "该题未显示，不应作答",
    "x-min-date": "日期早于允许的最早日期",
    "x-max-date": "日期晚于允许的最晚日期",
}


def _message_zh(keyword: str, details: dict[str, Any]) -> str:
    template = _ZH.get(keyword)
    if template is None:
        return "不符合表单要求"
    values = {k: ("、".join(map(str, v)) if isinstance(v, list) else v) for k, v in details.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template.split("{", 1)[0].rstrip("：（ ")


def translate(error: jsonschema_rs.ValidationError) -> FieldError:
    keyword = error.kind.name
    details = error.kind.as_dict()
    path_parts: list[str | int] = list(error.instance_path)
    # A missing property is reported at its parent; point at the property itself.
    if keyword == "required" and "property" in details:
        path_parts.append(details["property"])
    message, message_zh = error.message, _message_zh(keyword, details)
    if keyword == "format":
        message, message_zh = _format_messages(str(details.get("format", "")), error.instance)
    return {
        "path": _pointer(path_parts),
        "message": message,
        "message_zh": message_zh,
        "keyword": keyword,
    }


def _format_messages(name: str, value: Any) -> tuple[str, str]:
    """The value as given, what it should be and an example, in English and Chinese."""
    shown = str(value)
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    zh, en, example = FORMAT_HELP.get(name, (name, name, ""))
    if not example:
        return f"{shown!r} is not a valid {en}", f"“{shown}”格式不正确（{zh}）"
    return (
        f"{shown!r} is not a valid {en}, e.g. {example}",
        f"“{shown}”不是有效的{zh}，应如 {example}",
    )


class ValidatorCache:
    """Compiled validators by form-version id; published versions never change."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._items: OrderedDict[int, jsonschema_rs.Draft202012Validator] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version_id: int, schema: Any) -> jsonschema_rs.Draft202012Validator:
        with self._lock:
            validator = self._items.get(version_id)
            if validator is not None:
                self._items.move_to_end(version_id)
                return validator
        validator = compile_schema(schema)
        with self._lock:
            self._items[version_id] = validator
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return validator


# Schemas are long-lived (held by the form caches): the answer is kept per schema object.
# Encoding a poll's schema to look for the keys was a tenth of each poll answer's time.
_DATE_LIMITS: dict[int, tuple[dict[str, Any], bool]] = {}


def _has_date_limits(schema: dict[str, Any]) -> bool:
    hit = _DATE_LIMITS.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    encoded = msgspec.json.encode(schema)
    found = b'"x-min-date"' in encoded or b'"x-max-date"' in encoded
    if len(_DATE_LIMITS) >= 256:
        _DATE_LIMITS.clear()
    _DATE_LIMITS[id(schema)] = (schema, found)
    return found


def validate_document(
    validator: jsonschema_rs.Draft202012Validator,
    document: Any,
    *,
    schema: Any = None,
    draft: bool = False,
    limit: int = 1000,
) -> list[FieldError]:
    """Every error (up to ``limit``) as pointer + message; a draft skips ``required``.

    ``schema`` (the validator's own) adds the builder's date limits, which JSON Schema
    has no keyword for."""
    errors: list[FieldError] = []
    if isinstance(schema, dict) and _has_date_limits(schema):
        errors.extend(check_date_limits(schema, document))
    if validator.is_valid(document):
        return errors
    for error in validator.iter_errors(document):
        if draft and error.kind.name == "required":
            continue
        errors.append(translate(error))
        if len(errors) >= limit:
            break
    return errors
