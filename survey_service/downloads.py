"""A table as an HTTP download: the format asked for (``format=``, else the Accept header),
CSV streamed as it is written, XLSX written to a temporary file off the event loop and
streamed from it (the file removed once sent).

Typed as ``Response[Any]`` so that a route documented as JSON (``Response[SomeOut]``)
may answer with a file too."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

import anyio
from litestar import Request
from litestar.response import Response, Stream

from survey_service.tabular import XLSX, Sheet, csv_chunks, write_xlsx

Format = Literal["json", "csv", "xlsx"]


def chosen_format(request: Request[Any, Any, Any], asked: Format | None) -> Format:
    if asked is not None:
        return asked
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return "csv"
    return "xlsx" if XLSX in accept else "json"


ZIP = "application/zip"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def _chunks(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def csv_response(name: str, chunks: Iterable[bytes]) -> Response[Any]:
    """``chunks`` (CSV with its BOM) as ``name``.csv."""
    # Litestar adds "; charset=utf-8" to a text type.
    return Stream(_chunks(chunks), media_type="text/csv", headers=_attachment(f"{name}.csv"))


def sheet_csv_response(name: str, sheet: Sheet) -> Response[Any]:
    return csv_response(name, csv_chunks(sheet))


async def _file_chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    with handle:
        while chunk := await anyio.to_thread.run_sync(handle.read, 64 * 1024):
            yield chunk


async def file_response(
    name: str, suffix: str, media_type: str, write: Callable[[Path], None]
) -> Response[Any]:
    """What ``write`` writes to a temporary file (in a worker thread), streamed as
    ``name`` + ``suffix`` and removed once sent or when writing fails."""
    handle, raw = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    path = Path(raw)
    try:
        await anyio.to_thread.run_sync(write, path)
    except BaseException:
        await anyio.Path(path).unlink(missing_ok=True)
        raise
    return file_stream(path, name + suffix, media_type)


def file_stream(path: Path, name: str, media_type: str) -> Response[Any]:
    """The file at ``path`` (a temporary one) as the download ``name``. Its name is removed
    at once and the open file streamed: its space is freed when the stream ends, or when
    the stream is dropped unread (a client gone before the body)."""
    handle = path.open("rb")
    path.unlink()
    return Stream(_file_chunks(handle), media_type=media_type, headers=_attachment(name))


async def xlsx_response(
    name: str, sheets: Sequence[Sheet], notes: Sequence[tuple[str, str]]
) -> Response[Any]:
    return await file_response(name, ".xlsx", XLSX, lambda path: write_xlsx(path, sheets, notes))
