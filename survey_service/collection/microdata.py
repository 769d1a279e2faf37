"""Microdata: a campaign's enterprise surveys as the tables statisticians load, one row per
survey (its current revision, with the enterprise as the registry has it and the review
state) and one table per repeating group of the form (the salary survey's employees), joined
by ``submission_id``.

The tables' variables come from the form's JSON Schema: nested objects are flattened
(``enterprise_staff_count``), an array of objects becomes its own table, a list of values
one text cell; each variable keeps its Chinese title as its label, and a choice its codes
with their Chinese labels. Names are ASCII and at most 31 characters (Stata: 32, and 31 for
the value labels named after a variable).

Files (``TableWriter``): a zip of CSV files (codes as the form stores them), an XLSX
workbook (one sheet per table, the choices' Chinese labels), SPSS ``.sav`` or Stata ``.dta``
files in a zip (choices as numbers 1..k and booleans as 0/1, each with its value labels;
via pyreadstat, which writes a whole file from one dataframe). So that an export's memory
does not grow with the campaign, a table of more than ``PART_ROWS`` rows is written as
parts of ``PART_ROWS`` rows (``employees_part1.sav``, ``employees_part2.sav``, ...; SPSS's
ADD FILES or Stata's append joins them), each written as soon as it is full.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from survey_service.tabular import Column, CsvZipWriter, Kind, XlsxWriter

Format = Literal["csv", "xlsx", "sav", "dta"]
VarKind = Literal["text", "number", "integer", "boolean", "choice"]
MAX_NAME = 31  # Stata allows 32, but a value label set (named as its variable) only 31
YES_NO = {True: "是", False: "否"}


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # ASCII, unique in its table
    path: tuple[str, ...]  # where the value is, in the document or in a repeated item
    label: str  # the form's Chinese title (a nested one under its parent's)
    kind: VarKind = "text"
    choices: tuple[tuple[str, str], ...] = ()  # (code, Chinese label), in the form's order


@dataclass(slots=True)
class Table:
    name: str
    label: str
    variables: list[Variable] = field(default_factory=list)
    path: tuple[str, ...] = ()  # a repeated group's array in the document


# Who the survey is from and where it stands: the first columns of the main table.
SURVEY_COLUMNS: tuple[Variable, ...] = (
    Variable("submission_id", ("_", "id"), "问卷编号"),
    Variable("reg_uscc", ("_", "uscc"), "统一社会信用代码（名录）"),
    Variable("reg_name", ("_", "name"), "企业名称（名录）"),
    Variable("reg_district", ("_", "district"), "所在区县代码（名录）"),
    Variable("reg_industry", ("_", "industry"), "行业代码（名录）"),
    Variable("reg_size_class", ("_", "size_class"), "企业规模（名录）"),
    Variable("status", ("_", "status"), "填报状态"),
    Variable("review_state", ("_", "review_state"), "审核状态"),
    Variable("revision", ("_", "revision"), "版本号", "integer"),
    Variable("updated_at", ("_", "updated_at"), "最后提交时间"),
)
REPEAT_KEYS: tuple[Variable, ...] = (
    Variable("submission_id", ("_", "id"), "问卷编号"),
    Variable("row", ("_", "row"), "行号", "integer"),
)


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
    """A schema node with a local ``$ref`` merged under its own keywords."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return dict(node)
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, Mapping) else {}
    return _resolve(target, root) | {k: v for k, v in node.items() if k != "$ref"}


def code_of(value: Any) -> str:
    """A choice's code as text, the same for the numbers JSON holds as 2 or 2.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _choices(node: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    labels = node.get("x-enum-labels") or {}
    if isinstance(node.get("enum"), list):
        return tuple(
            (code_of(code), str((labels.get(str(code)) or {}).get("zh", code)))
            for code in node["enum"]
        )
    options = node.get("oneOf") or node.get("anyOf") or []
    if options and all(isinstance(o, Mapping) and "const" in o for o in options):
        return tuple((code_of(o["const"]), str(o.get("title", o["const"]))) for o in options)
    return ()


def _kind(node: Mapping[str, Any]) -> VarKind:
    if _choices(node):
        return "choice"
    types = node.get("type")
    kinds = set(types) if isinstance(types, list) else {types}
    kinds.discard("null")
    if kinds == {"boolean"}:
        return "boolean"
    if kinds == {"integer"}:
        return "integer"
    if kinds <= {"number", "integer"} and kinds:
        return "number"
    return "text"


# Words Stata or SPSS refuse as a variable's name (compared in lower case).
RESERVED = frozenset(
    {"byte", "double", "float", "if", "in", "int", "long", "using", "with", "strl"}  # Stata
    | {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to"}  # SPSS
)
STATA_LABEL = 80  # characters in a Stata variable or file label
PART_ROWS = 250_000  # rows of an SPSS or Stata file; a larger table comes in parts


def _name(path: Sequence[str], taken: set[str]) -> str:
    """An ASCII name for the variable at ``path``, not reserved and told apart from the
    ``taken`` ones without regard to case (SPSS does not tell ``Age`` from ``age``)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", "_".join(path)).strip("_") or "v"
    if not base[0].isalpha():
        base = "v_" + base
    if base.lower() in RESERVED or re.fullmatch(r"str\d+", base.lower()):
        base += "_v"
    lowered = {t.lower() for t in taken}
    name, n = base[:MAX_NAME], 1
    while name.lower() in lowered:
        n += 1
        name = f"{base[: MAX_NAME - len(str(n)) - 1]}_{n}"
    taken.add(name)
    return name


def layout(schema: Mapping[str, Any]) -> list[Table]:
    """The tables of a form: the surveys', then one per repeating group."""
    main = Table("submissions", "问卷", list(SURVEY_COLUMNS))
    tables = [main]
    taken = {v.name for v in SURVEY_COLUMNS}

    def walk(node: Mapping[str, Any], path: tuple[str, ...], parents: tuple[str, ...],
             table: Table, names: set[str], inside: tuple[str, ...]) -> None:  # fmt: skip
        node = _resolve(node, schema)
        title = str(node.get("title") or (path[-1] if path else ""))
        if node.get("type") == "object" or "properties" in node:
            below = (*parents, title) if len(path) > len(inside) else parents
            for key, child in (node.get("properties") or {}).items():
                walk(child, (*path, key), below, table, names, inside)
            return
        items = node.get("items")
        if node.get("type") == "array" and isinstance(items, Mapping) and table is main:
            item = _resolve(items, schema)
            if item.get("type") == "object" or "properties" in item:
                name = _name(path, {t.name for t in tables})
                repeat = Table(name, title, list(REPEAT_KEYS), path=path)
                tables.append(repeat)
                walk(item, path, (), repeat, {v.name for v in REPEAT_KEYS}, path)
                return
        own = path[len(inside) :]
        label = " - ".join((*parents[-1:], title))
        table.variables.append(Variable(_name(own, names), own, label, _kind(node), _choices(node)))

    walk(schema, (), (), main, taken, ())
    return tables


def _at(document: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def _value(variable: Variable, raw: Any) -> Any:
    if isinstance(raw, list):
        return ";".join(str(v) for v in raw)
    if isinstance(raw, dict):
        return None
    return raw


def rows_of(
    tables: Sequence[Table], survey: Mapping[str, Any], document: Mapping[str, Any]
) -> Iterator[tuple[int, list[Any]]]:
    """(table index, row) for one survey: its row of the main table, then its repeated
    items' rows. ``survey``: the ``_`` values (id, registry fields, status...)."""
    own = {"_": survey}
    main = tables[0]
    yield 0, [_value(v, _at(own if v.path[0] == "_" else document, v.path)) for v in main.variables]
    for index, table in enumerate(tables[1:], start=1):
        items = _at(document, table.path)
        for n, item in enumerate(items if isinstance(items, list) else [], start=1):
            keys = {"_": {"id": survey["id"], "row": n}}
            yield (
                index,
                [
                    _value(v, _at(keys if v.path[0] == "_" else item, v.path))
                    for v in table.variables
                ],
            )


# --- the files ---------------------------------------------------------------------------------


def _column_kind(variable: Variable) -> Kind:
    if variable.kind == "integer":
        return "integer"
    return "number" if variable.kind == "number" else "text"


class TableWriter:
    """Rows of the tables, as they come, into one of the four formats at ``path``."""

    def __init__(self, path: Path, fmt: Format, tables: Sequence[Table]) -> None:
        self.path, self.fmt, self.tables = path, fmt, tables
        names = [t.name for t in tables] if fmt == "csv" else sheet_names(tables)
        specs = [
            (name, [Column(f"{v.label}（{v.name}）", _column_kind(v)) for v in t.variables])
            for name, t in zip(names, tables, strict=True)
        ]
        self.out: CsvZipWriter | XlsxWriter | None = None
        self.frames: list[list[Any]] = []  # SPSS, Stata: each table's batches, columnar
        self.parts: list[list[Path]] = [[] for _ in tables]  # and its files written
        self.held = [0] * len(tables)  # rows in each table's batches
        if fmt == "csv":
            self.out = CsvZipWriter(path, specs)
        elif fmt == "xlsx":
            notes = [
                (f"{t.label}（{t.name}）", "、".join(v.name for v in t.variables)) for t in tables
            ]
            self.out = XlsxWriter(path, specs, [("说明", _XLSX_NOTE), *notes])
        else:
            self.frames = [[] for _ in tables]
        # Each column's cell maker, made once (its choices' lookup with it), not per cell.
        self.cells = [[_cell_maker(v, fmt) for v in t.variables] for t in tables]

    def add(self, table: int, rows: Sequence[list[Any]]) -> None:
        makers = self.cells[table]
        if self.out is not None:
            self.out.add(table, ([make(x) for make, x in zip(makers, row, strict=True)]
                                 for row in rows))  # fmt: skip
        else:
            self.frames[table].append(_frame(self.tables[table].variables, makers, rows))
            self.held[table] += len(rows)
            while self.held[table] >= PART_ROWS:
                self._write_part(table)

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
            return
        try:
            for table, parts in enumerate(self.parts):
                if self.frames[table] or not parts:  # the rest, or an empty table
                    self._write_part(table)
            with zipfile.ZipFile(self.path, "w", zipfile.ZIP_DEFLATED) as archive:
                for spec, parts in zip(self.tables, self.parts, strict=True):
                    for n, part in enumerate(parts, start=1):
                        name = spec.name if len(parts) == 1 else f"{spec.name}_part{n}"
                        archive.write(part, f"{name}.{self.fmt}")
        finally:
            self.discard()

    def discard(self) -> None:
        """Give up: every file written so far deleted but ``path`` (the caller's)."""
        if self.out is not None:
            self.out.abort()
        for parts in self.parts:
            for part in parts:
                part.unlink(missing_ok=True)
        self.frames = [[] for _ in self.tables]
        self.held = [0] * len(self.tables)

    def _write_part(self, table: int) -> None:
        """The table's next ``PART_ROWS`` rows (or all it holds) as one file."""
        import polars as pl

        batches = self.frames[table]
        spec = self.tables[table]
        frame = pl.concat(batches) if batches else _frame(spec.variables, self.cells[table], [])
        rest = frame.slice(PART_ROWS) if frame.height > PART_ROWS else None
        frame = frame.slice(0, PART_ROWS)
        self.frames[table] = [rest] if rest is not None else []
        self.held[table] = 0 if rest is None else rest.height
        del batches  # the batches go before the file is written: the part alone is held
        part = self.path.with_suffix(f".{spec.name}.{len(self.parts[table]) + 1}.{self.fmt}")
        self.parts[table].append(part)
        _write_stat_file(part, self.fmt, spec, frame)


def _cut(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 code units (how Excel counts a sheet
    name's 31: a character outside the basic plane is two)."""
    while len(text.encode("utf-16-le")) > units * 2:
        text = text[:-1]
    return text


def sheet_names(tables: Sequence[Table]) -> list[str]:
    """Each table's sheet name: its Chinese label without the characters Excel refuses in a
    name, at most 31 characters, and told apart (Excel ignores case) from the others and
    from the notes sheet."""
    taken = {"说明"}
    names = []
    for table in tables:
        base = re.sub(r"[\[\]:*?/\\']", "_", table.label).strip() or table.name
        name, n = _cut(base, 31), 1
        while name.lower() in taken:
            n += 1
            name = f"{_cut(base, 31 - len(str(n)) - 1)}_{n}"
        taken.add(name.lower())
        names.append(name)
    return names


_XLSX_NOTE = (
    "每个工作表一张表：问卷表每份问卷一行；重复组（如职工明细）各成一表，以问卷编号（submission_id）"
    "和行号（row）与问卷表关联。列名为表单中的中文名称及变量名；选项显示为中文标签。"
)


def _cell_maker(variable: Variable, fmt: Format) -> Callable[[Any], Any]:
    """How a value of ``variable`` is written: CSV the codes as the form stores them (a
    boolean as true/false); XLSX a choice's Chinese label (a boolean 是/否); SPSS and Stata
    a choice as its number 1..k, a boolean 0/1, a number as a float, the rest as text."""
    if fmt == "csv":
        return lambda value: ("true" if value else "false") if isinstance(value, bool) else value
    if fmt == "xlsx":
        labels = dict(variable.choices)

        def labelled(value: Any) -> Any:
            if isinstance(value, bool):
                return YES_NO[value]
            if labels and value is not None:
                return labels.get(code_of(value), str(value))
            return value

        return labelled
    numbers = {code: n for n, (code, _) in enumerate(variable.choices, start=1)}
    kind = variable.kind

    def coded(value: Any) -> Any:
        if value is None:
            return None
        if kind == "choice":
            return numbers.get(code_of(value))
        if kind == "boolean":
            return int(bool(value))
        if kind in ("integer", "number"):
            return float(value) if isinstance(value, int | float) else None
        return str(value)

    return coded


def value_labels(variable: Variable) -> dict[int | float, str] | None:
    if variable.kind == "choice":
        return {n: label for n, (_, label) in enumerate(variable.choices, start=1)}
    if variable.kind == "boolean":
        return {int(yes): label for yes, label in YES_NO.items()}
    return None


def _frame(
    variables: Sequence[Variable],
    makers: Sequence[Callable[[Any], Any]],
    rows: Sequence[list[Any]],
) -> Any:
    """A batch of rows as a polars dataframe, coded (held as columns, not Python objects)."""
    import polars as pl

    return pl.DataFrame(
        {v.name: pl.Series(v.name, [make(row[i]) for row in rows], dtype=_dtype(v),
                           strict=False)
         for i, (v, make) in enumerate(zip(variables, makers, strict=True))}
    )  # fmt: skip


def _write_stat_file(path: Path, fmt: Format, table: Table, frame: Any) -> None:
    import pyreadstat

    labels: dict[str, dict[int | float, str]] = {
        v.name: found for v in table.variables if (found := value_labels(v))
    }
    column_labels: list[str | None] = [v.label for v in table.variables]
    if fmt == "sav":
        pyreadstat.write_sav(
            frame, str(path), column_labels=column_labels,
            variable_value_labels=labels, file_label=table.label,
        )  # fmt: skip
    else:  # Stata refuses a label over 80 characters: cut, marked with "…"
        pyreadstat.write_dta(
            frame, str(path), column_labels=[_label80(x) for x in column_labels],
            variable_value_labels=labels, file_label=_label80(table.label) or "",
            version=15,
        )  # fmt: skip


def _label80(label: str | None) -> str | None:
    if label is None or len(label) <= STATA_LABEL:
        return label
    return label[: STATA_LABEL - 1] + "…"


def _dtype(variable: Variable) -> Any:
    import polars as pl

    if variable.kind in ("choice", "boolean", "integer", "number"):
        return pl.Float64
    return pl.String
