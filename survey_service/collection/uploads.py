"""Salary-survey spreadsheet uploads: one row per worker, checked against the same JSON
Schema as the JSON path, errors by row and column, all or nothing unless ``partial``."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import jsonschema_rs
import msgspec
from litestar.datastructures import UploadFile

from survey_service.collection.spreadsheets import (
    Records,
    SheetRows,
    SpreadsheetError,
    read_rows,
)
from survey_service.collection.submissions import EncodedDocument
from survey_service.db.engine import JSONText
from survey_service.db.models import Enterprise
from survey_service.errors import ServiceError
from survey_service.forms.validation import FieldError, compile_schema, validate_document

# The enterprise part of an upload comes from the invitation's enterprise (the registry),
# with the fields the salary survey requires of it.
_ENTERPRISE_FIELDS = ("uscc", "name", "district", "industry", "staff_count", "has_union")


def the_file(parts: dict[str, UploadFile]) -> UploadFile:
    upload = parts.get("file")
    if upload is None:
        raise ServiceError("unprocessable", "Send the spreadsheet as the multipart field `file`.")
    return upload


async def read_upload(upload: UploadFile, schema: dict[str, Any]) -> SheetRows:
    """Read an uploaded sheet off the event loop; a refused file is a 422 problem."""
    content = await upload.read()
    try:
        return await anyio.to_thread.run_sync(
            lambda: read_rows(content, upload.filename or "", schema)
        )
    except SpreadsheetError as exc:
        raise ServiceError(
            "spreadsheet-refused",
            exc.message,
            detail_zh=exc.message_zh,
            errors=[dict(c) for c in exc.cells],
        ) from None


def row_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema of one worker row of a salary-survey form (its `employees` items)."""
    items = (schema.get("properties") or {}).get("employees", {}).get("items")
    return items if isinstance(items, dict) else None


def enterprise_part(enterprise: Enterprise) -> dict[str, Any]:
    part = {name: getattr(enterprise, name) for name in _ENTERPRISE_FIELDS}
    if enterprise.size_class:
        part["size_class"] = enterprise.size_class
    part["above_designated_size"] = enterprise.above_designated_size
    part["has_collective_contract"] = enterprise.has_collective_contract
    return {k: v for k, v in part.items() if v is not None}


@dataclass(slots=True)
class UploadCheck:
    """The outcome of checking a sheet: the rows that passed and every cell error."""

    accepted: list[int] = field(default_factory=list)  # the index of each accepted row
    accepted_rows: list[int] = field(default_factory=list)  # the sheet row of each accepted
    rejected_rows: set[int] = field(default_factory=set)
    errors: list[dict[str, Any]] = field(default_factory=list)


def check_rows(sheet: SheetRows, validation_errors: list[FieldError]) -> UploadCheck:
    """Merge the reader's cell errors with the schema's, mapped from JSON Pointers
    (``/employees/5/annual_pay``) back to the sheet's row and column."""
    check = UploadCheck()
    for cell in sheet.errors:
        check.errors.append(dict(cell))
        check.rejected_rows.add(cell["row"])
    for error in validation_errors:
        parts = error["path"].split("/")
        if len(parts) >= 3 and parts[1] == "employees" and parts[2].isdigit():
            index = int(parts[2])
            row, column = sheet.locate(index, parts[3] if len(parts) > 3 else None)
            check.rejected_rows.add(row)
            check.errors.append(
                {
                    "row": row,
                    "column": column,
                    "message": error["message"],
                    "message_zh": error.get("message_zh", ""),
                }
            )
        elif error["path"] == "/employees" and error.get("keyword") == "minItems":
            check.errors.append(
                {"row": 0, "column": "", "message": "the sheet has no worker rows",
                 "message_zh": "表格中没有职工数据"}
            )  # fmt: skip
        else:
            check.errors.append(
                {
                    "row": 0,
                    "column": "",
                    "message": f"the enterprise record {error['path']}: {error['message']}",
                    "message_zh": "企业登记信息不完整，请联系人社局："
                    + error.get("message_zh", ""),
                }
            )
    rejected = check.rejected_rows
    check.accepted = [i for i, row in enumerate(sheet.numbers) if row not in rejected]
    check.accepted_rows = [sheet.numbers[i] for i in check.accepted]
    check.errors.sort(key=lambda e: (e["row"], e["column"]))
    return check


def struct_row_schema(
    struct: type[msgspec.Struct], columns: Mapping[str, tuple[str, str]]
) -> dict[str, Any]:
    """A sheet's row schema made from the request body ``struct`` (one definition of what a
    record may hold): each field with its Chinese header and its JSON type from ``columns``
    (key -> (label, type)), ``null`` dropped (a blank cell leaves the key out)."""
    made = msgspec.json.schema(struct)
    record = made["$defs"][struct.__name__]
    properties: dict[str, Any] = {}
    for key, prop in record["properties"].items():
        branch = next((b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"), prop)
        label, kind = columns[key]
        properties[key] = {**branch, "type": kind, "title": label}
    return {"type": "object", "properties": properties, "required": record.get("required", [])}


def sheet_validator(row_schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """A validator of ``{"employees": [row, ...]}`` for a sheet's rows of ``row_schema``:
    the shape ``check_rows`` maps errors back from."""
    return compile_schema(
        {"type": "object", "properties": {"employees": {"type": "array", "items": row_schema}}}
    )


def refuse_bad_rows(
    sheet: SheetRows, rows: list[dict[str, Any]], validator: jsonschema_rs.Draft202012Validator
) -> None:
    """A 422 naming every bad cell by row and column when any of ``rows`` (the sheet's
    records, as the caller prepared them) fails ``validator``, a schema of
    ``{"employees": [row, ...]}``: an import stores all its rows or none."""
    check = check_rows(sheet, validate_document(validator, {"employees": rows}))
    if check.errors:
        raise rows_refused(check.errors)


def rows_refused(errors: list[dict[str, Any]]) -> ServiceError:
    """The 422 of an import that stores nothing: ``errors`` by row and column."""
    return ServiceError(
        "rows-refused",
        "Some rows are not valid; nothing was stored.",
        detail_zh="部分行有错误，未保存任何数据；请按行和列改正后重新上传。",
        errors=sorted(errors, key=lambda e: (e["row"], e["column"])),
    )


def left_out(check: UploadCheck) -> list[dict[str, Any]]:
    """One warning per row a partial upload left out, with every reason, kept with the
    revision so the enterprise and the bureau see which rows are missing and why."""
    reasons: dict[int, list[dict[str, Any]]] = {}
    for error in check.errors:
        if error["row"] in check.rejected_rows:
            reasons.setdefault(error["row"], []).append(error)
    return [
        {
            "row": row,
            "column": "",
            "code": "row_left_out",
            "message": "row left out: "
            + "; ".join(
                f"{e['column']}: {e['message']}" if e["column"] else e["message"] for e in errors
            ),
            "message_zh": "此行未保存："
            + "；".join(
                f"{e['column']}：{e['message_zh'] or e['message']}"
                if e["column"]
                else e["message_zh"] or e["message"]
                for e in errors
            ),
        }
        for row, errors in sorted(reasons.items())
    ]


_ENCODE_SLICE = 5_000  # worker records made and encoded at a time


def encode_document(enterprise: dict[str, Any], employees: Records) -> EncodedDocument:
    """The upload's document ``{"employees": [...], "enterprise": {...}}`` encoded a slice
    of records at a time, so that it never exists as one tree of Python objects. The hash
    is ``submissions.data_hash``'s (keys sorted); the stored text is the same JSON with
    every non-ASCII character escaped, which keeps it one byte a character as a Python
    string and as the text the database driver is given."""
    digest = hashlib.sha256()
    parts: list[bytes] = []

    def add(piece: bytes) -> None:
        digest.update(piece)
        parts.append(piece if piece.isascii() else _escaped(piece))

    add(b'{"employees":[')
    for start in range(0, len(employees), _ENCODE_SLICE):
        encoded = msgspec.json.encode(employees[start : start + _ENCODE_SLICE], order="sorted")
        if start:
            add(b",")
        add(encoded[1:-1])
        del encoded
    add(b'],"enterprise":')
    add(msgspec.json.encode(enterprise, order="sorted"))
    add(b"}")
    text = JSONText(b"".join(parts).decode("ascii"))
    return EncodedDocument(text, digest.hexdigest(), enterprise, employees)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escaped(json: bytes) -> bytes:
    """JSON text with its non-ASCII characters (only ever inside strings) as \\u escapes."""
    return _NON_ASCII.sub(_escape, json.decode()).encode("ascii")
