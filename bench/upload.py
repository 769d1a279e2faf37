"""Salary upload: a 100,000-row XLSX through ``POST /api/v1/campaigns/{id}/salary-uploads``,
rows per second persisted (read, validation, wage table) and the server's peak memory,
beside Python's ``sqlite3`` ``executemany`` of the same rows (same pragmas, one transaction)
in the same run. Target: >= 20% of the raw rate; peak server memory under 400 MB.

Beside them, the ceiling the reader sets: the same workbook read by python-calamine alone
(the best of three, every row handed to Python) plus the raw executemany, as a share of
the raw rate: what an upload over calamine could reach with no file checks, no validation,
no HTTP and no stored document.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import python_calamine
import xlsxwriter

from bench.common import BenchResult, grouped
from bench.data import make_rng, salary_document
from bench.form_fetch import (
    HOST,
    free_port,
    server_env,
    start_server,
    stop_server,
    wait_ready,
)
from survey_service.__main__ import prepare
from survey_service.collection.wages import WAGE_COLUMNS, wage_rows
from survey_service.db.models import Enterprise
from survey_service.forms.formats import uscc_check_character
from survey_service.settings import Settings

ROWS = 100_000
TARGET_SHARE, TARGET_MB = 0.20, 400.0
ADMIN = "bench-admin-" + uuid.uuid4().hex
COLUMNS = (
    "occupation", "education", "skill_level", "job_level", "months_worked", "weekly_hours",
    "annual_pay", "base_pay", "bonus", "allowances", "overtime_pay",
)  # fmt: skip


def workbook(employees: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("payroll")
    sheet.write_row(0, 0, COLUMNS)
    for r, row in enumerate(employees, start=1):
        sheet.write_row(r, 0, [row.get(c) for c in COLUMNS])
    book.close()
    return out.getvalue()


def call(base: str, method: str, path: str, body: Any = None, token: str = ADMIN) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read() or b"null")


def upload(base: str, path: str, token: str, content: bytes) -> tuple[int, Any]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="pay.xlsx"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(base + path, data=body, method="POST")
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(request, timeout=600) as response:
        return response.status, json.loads(response.read())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def raw_sqlite(path: Path, records: list[tuple[Any, ...]]) -> float:
    """Seconds for sqlite3 executemany of the rows into a wage_rows-shaped table."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    columns = WAGE_COLUMNS
    connection.execute(f"CREATE TABLE wage_rows (id INTEGER PRIMARY KEY, {', '.join(columns)})")
    sql = f"INSERT INTO wage_rows ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    values = records
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(sql, values)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def calamine_seconds(content: bytes, repeats: int = 3) -> float:
    """The best of ``repeats`` reads of the sheet by calamine alone, every row handed to
    Python: what any upload over this reader spends before its own work begins."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)) as book:
            rows = sum(1 for _ in book.get_sheet_by_index(0).iter_rows())
        best = min(best, time.perf_counter() - started)
    if rows != ROWS + 1:
        raise RuntimeError(f"calamine read {rows} rows")
    return best


def run() -> BenchResult:
    first17 = "91610200MA0000001"
    uscc = first17 + uscc_check_character(first17)
    document = salary_document(make_rng(), ROWS, uscc=uscc)
    content = workbook(document["employees"])
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as tmp:
        var_dir = Path(tmp)
        env = server_env(var_dir) | {"SURVEY_ADMIN_TOKEN": ADMIN}
        asyncio.run(prepare(Settings.from_env(env)))
        port, log_path = free_port(), var_dir / "server.log"
        base = f"http://{HOST}:{port}"
        with log_path.open("wb") as log:
            process = start_server(env, port, log)
            try:
                wait_ready(process, base, log_path)
                head = document["enterprise"]
                call(base, "POST", "/api/v1/enterprises", {
                    "uscc": uscc, "name": head["name"], "district": "610202",
                    "industry": head["industry"], "staff_count": ROWS,
                })  # fmt: skip
                now = time.time()
                campaign = call(base, "POST", "/api/v1/campaigns", {
                    "form_key": "salary-survey", "title": "bench", "year": 2023,
                    "opens_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
                    "closes_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86400)),
                })  # fmt: skip
                token = call(
                    base, "POST", f"/api/v1/campaigns/{campaign['id']}/invitations",
                    {"enterprises": [uscc]},
                )[0]["token"]  # fmt: skip
                baseline_rss = peak_rss_mb(process.pid)
                started = time.perf_counter()
                status, body = upload(
                    base, f"/api/v1/campaigns/{campaign['id']}/salary-uploads", token, content
                )
                elapsed = time.perf_counter() - started
                peak = peak_rss_mb(process.pid)
            finally:
                stop_server(process)
        if status != 201 or body["rows_accepted"] != ROWS:
            raise RuntimeError(f"upload refused: {status} {str(body)[:500]}")
        fake = Enterprise(id=1, industry=head["industry"], district="610202")
        records = wage_rows(document["employees"], fake, submission_id="x", campaign_id=1)
        raw = raw_sqlite(var_dir / "raw.db", records)
    reader = calamine_seconds(content)
    mine, theirs = ROWS / elapsed, ROWS / raw
    share = mine / theirs
    ceiling = ROWS / (reader + raw) / theirs
    met = share >= TARGET_SHARE and peak < TARGET_MB
    lines = (
        f"upload      project {grouped(mine)} rows/s ({elapsed:.2f} s for {ROWS:,} rows, "
        f"{len(content) / 2**20:.1f} MiB .xlsx) | raw sqlite3 executemany {grouped(theirs)} "
        f"rows/s | {share:.1%} of raw (target ≥ {TARGET_SHARE:.0%})",
        f"            server peak RSS {peak:.0f} MB (before the upload {baseline_rss:.0f} MB; "
        f"target < {TARGET_MB:.0f} MB)",
        f"            ceiling: calamine alone reads the sheet in {reader:.2f} s; with the raw "
        f"executemany that is {ceiling:.1%} of raw, before the file checks, validation and HTTP",
    )
    return BenchResult(
        name="upload",
        figure=f"{grouped(mine)} rows/s, peak {peak:.0f} MB",
        baseline=f"{grouped(theirs)} rows/s",
        ratio=f"{share:.0%} of raw",
        target=f"≥ {TARGET_SHARE:.0%} of raw, < {TARGET_MB:.0f} MB",
        met=met,
        lines=lines,
        data={"rows": ROWS, "seconds": elapsed, "raw_seconds": raw, "peak_rss_mb": peak,
              "rss_before_mb": baseline_rss, "xlsx_bytes": len(content),
              "calamine_seconds": reader, "ceiling_share_of_raw": ceiling},
    )  # fmt: skip


if __name__ == "__main__":
    print("\n".join(run().lines))
