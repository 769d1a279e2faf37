"""The backup archive's format: a zip of one JSON Lines file per table and a manifest.

::

    manifest.json          format, schema revision, source backend, when, and per table
                           its file, columns, row count and the file's sha256
    tables/<table>.jsonl   one JSON object per row, keys the column names

Values are plain JSON: numbers, strings, booleans, null, the JSON columns as they are;
timestamps as RFC 3339 UTC, days as ``YYYY-MM-DD``, binary (the reports' PDFs) as
base64. Any zip tool opens it, any JSON reader reads it, and either backend restores it.

Reading checks before anything is written: the format, each table's file against the
manifest's sha256 and row count, and each row against the table's columns and types.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import msgspec
from sqlalchemy import JSON, Column, LargeBinary, Table

from survey_service.db.models import UTCDateTime

FORMAT = "survey_service-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
LEFT_OUT = [
    "procrastinate_* (PostgreSQL only: the report job queue; a report unfinished at backup "
    "time is given a new job by the worker's sweep after a restore)"
]
CHUNK = 1 << 20


class ArchiveError(Exception):
    """Why an archive is refused."""


class TableEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    file: str
    columns: list[str]
    rows: int
    sha256: str


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    format: str
    format_version: int
    schema_revision: str
    created_at: datetime
    source_backend: str
    service_version: str
    left_out: list[str]
    tables: list[TableEntry]


def table_file(table: Table) -> str:
    return f"tables/{table.name}.jsonl"


def _python_type(column: Column[Any]) -> Any:
    if isinstance(column.type, JSON):
        kind: Any = Any
    elif isinstance(column.type, UTCDateTime):
        kind = datetime
    else:
        kind = column.type.python_type
    return kind | None if column.nullable else kind


def row_decoder(table: Table) -> msgspec.json.Decoder[Any]:
    """Decodes one line into a struct of the table's columns, with their types: a value of
    the wrong type, a missing column or an unknown one is an error."""
    fields = [(c.name, _python_type(c)) for c in table.columns]
    struct = msgspec.defstruct(
        f"{table.name}_row", fields, kw_only=True, forbid_unknown_fields=True
    )
    return msgspec.json.Decoder(struct)


def has_large_values(table: Table) -> bool:
    """Rows that may hold megabytes (a whole survey, a PDF): fetched a few at a time."""
    return any(isinstance(c.type, JSON | LargeBinary) for c in table.columns)


class TableWriter:
    """Writes one table's rows into the archive as they come, hashing and counting them."""

    def __init__(self, archive: zipfile.ZipFile, table: Table) -> None:
        self.table = table
        info = zipfile.ZipInfo(table_file(table), date_time=_zip_time())
        info.compress_type = zipfile.ZIP_DEFLATED
        self._out: IO[bytes] = archive.open(info, "w", force_zip64=True)
        self._hash = hashlib.sha256()
        self._encoder = msgspec.json.Encoder()
        self._buffer = bytearray()
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        self._encoder.encode_into(row, self._buffer, -1)
        self._buffer.extend(b"\n")
        self.rows += 1
        if len(self._buffer) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        self._hash.update(self._buffer)
        self._out.write(self._buffer)
        self._buffer.clear()

    def close(self) -> TableEntry:
        self._flush()
        self._out.close()
        return TableEntry(
            name=str(self.table.name),  # not SQLAlchemy's quoted_name: plain JSON
            file=table_file(self.table),
            columns=[str(c.name) for c in self.table.columns],
            rows=self.rows,
            sha256=self._hash.hexdigest(),
        )


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def write_manifest(archive: zipfile.ZipFile, manifest: Manifest) -> None:
    info = zipfile.ZipInfo(MANIFEST, date_time=_zip_time())
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, msgspec.json.format(msgspec.json.encode(manifest), indent=2))


def read_manifest(archive: zipfile.ZipFile) -> Manifest:
    try:
        raw = archive.read(MANIFEST)
    except KeyError:
        raise ArchiveError(f"no {MANIFEST} in the archive: not a survey_service backup") from None
    try:
        manifest = msgspec.json.decode(raw, type=Manifest)
    except msgspec.DecodeError as exc:
        raise ArchiveError(f"{MANIFEST} is not a valid manifest: {exc}") from None
    if manifest.format != FORMAT or manifest.format_version != FORMAT_VERSION:
        raise ArchiveError(
            f"the archive is {manifest.format} version {manifest.format_version}; "
            f"this service reads {FORMAT} version {FORMAT_VERSION}"
        )
    return manifest


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{path} cannot be read as a zip archive: {exc}") from None


def check_tables(manifest: Manifest, tables: list[Table]) -> None:
    """The manifest lists exactly the model's tables, each with the model's columns."""
    listed = {entry.name: entry for entry in manifest.tables}
    expected = {table.name: table for table in tables}
    if set(listed) != set(expected):
        missing = sorted(set(expected) - set(listed))
        unknown = sorted(set(listed) - set(expected))
        raise ArchiveError(f"the archive's tables differ: missing {missing}, unknown {unknown}")
    for name, entry in listed.items():
        columns = [c.name for c in expected[name].columns]
        if sorted(entry.columns) != sorted(columns):
            raise ArchiveError(f"table {name}: columns {entry.columns}, expected {columns}")
        if entry.file != table_file(expected[name]):
            raise ArchiveError(
                f"table {name}: file {entry.file!r}, expected {table_file(expected[name])!r}"
            )


def verify_files(archive: zipfile.ZipFile, manifest: Manifest) -> None:
    """Each table's file is there, with the sha256 and the row count of the manifest."""
    for entry in manifest.tables:
        digest = hashlib.sha256()
        lines = 0
        try:
            with archive.open(entry.file) as member:
                while chunk := member.read(CHUNK):
                    digest.update(chunk)
                    lines += chunk.count(b"\n")
        except KeyError:
            raise ArchiveError(f"{entry.file} is missing from the archive") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ArchiveError(f"{entry.file} cannot be read: {exc}") from None
        if digest.hexdigest() != entry.sha256:
            raise ArchiveError(f"{entry.file} does not match its sha256 in the manifest")
        if lines != entry.rows:
            raise ArchiveError(f"{entry.file} has {lines} rows, the manifest says {entry.rows}")


def read_rows(
    archive: zipfile.ZipFile, entry: TableEntry, table: Table
) -> Iterator[tuple[dict[str, Any], int]]:
    """The table's rows, one at a time: column -> value with the column's type, and the
    size of its line (to bound what is held at once)."""
    decoder = row_decoder(table)
    with archive.open(entry.file) as member:
        for number, line in enumerate(member, start=1):
            try:
                row = decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise ArchiveError(f"{entry.file}, row {number}: {exc}") from None
            yield msgspec.structs.asdict(row), len(line)
