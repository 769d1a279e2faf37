"""Salary ingest through HTTP: rows per second persisted (validation + wage table) of
1,000-row JSON submissions, beside raw ``sqlite3`` ``executemany`` of the same rows.

Project: one uvicorn process (one worker, uvloop + httptools, no access log) serves the real
app (``survey_service.app:app_from_env``) on a free 127.0.0.1 port with a fresh SQLite file
in a temporary directory (migrated, forms loaded and admin token set by
``survey_service.__main__.prepare``). ``DOCUMENTS`` enterprises are registered, each with
one seeded 1,000-row document (``bench.data.salary_document``). Each round opens two
salary-survey campaigns and invites everyone; the documents are POSTed to the first one
after the other ("sequential") and to the second by ``CONCURRENCY`` clients at once. A
figure is the rows of a pass over the time from its first request to its last 201 (a 201
means the submission, its first revision and its wage rows are committed); the bodies are
encoded before the clock starts, and the client shares the machine with the server.

Baseline, in every round: Python's ``sqlite3`` on a fresh file with the service's pragmas
(WAL, ``synchronous=FULL``), the service's own ``wage_rows`` table and indexes (the DDL
copied from the migrated database), ``executemany`` of the same rows (built beforehand),
one transaction per document, committed per document like the service. Figures are
medians over ``ROUNDS`` rounds; the target is sequential ingest >= 40% of the raw rate.
The server's peak RSS (``VmHWM``) is reported, and the wage rows in the service's database
are counted at the end (every acknowledged row must be there).

The outlier warning compares with a published release's medians (none here: the
campaigns have no release), so a document's cost does not grow as a campaign fills.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import msgspec

from bench.common import PROJECT_ROOT, SALARY_FORM, BenchResult, grouped
from bench.data import SURVEY_YEAR, make_rng, salary_document
from bench.form_fetch import HOST, free_port, server_env, stop_server, wait_ready
from survey_service.__main__ import prepare
from survey_service.collection.wages import WAGE_COLUMNS, wage_rows
from survey_service.db.models import Enterprise
from survey_service.forms.validation import compile_schema
from survey_service.settings import Settings

ROWS = 1000
DOCUMENTS = 20  # per pass
CONCURRENCY = 4
ROUNDS = 3
TARGET_SHARE = 0.4

REGISTRY_KEYS = (
    "uscc", "name", "district", "industry", "size_class", "ownership", "staff_count",
    "has_union", "above_designated_size", "has_collective_contract",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Pass:
    """One campaign's worth of POSTs: how many documents, how many clients, how long."""

    name: str
    clients: int
    documents: int
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


# --- the server ---------------------------------------------------------------------------


def start_server(env: dict[str, str], port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "survey_service.app:app_from_env",
        "--host", HOST, "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set size (``VmHWM``) in MiB, from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --- the data -----------------------------------------------------------------------------


def documents() -> list[dict[str, Any]]:
    """``DOCUMENTS`` seeded documents of distinct enterprises (cement, glass, ceramics)."""
    rng = make_rng()
    return [salary_document(rng, ROWS, industry="C30") for _ in range(DOCUMENTS)]


def registry_record(document: dict[str, Any]) -> dict[str, Any]:
    head = document["enterprise"]
    return {key: head[key] for key in REGISTRY_KEYS if key in head}


def wage_tuples(document: dict[str, Any], submission_id: str) -> list[tuple[Any, ...]]:
    """The document's rows exactly as the service stores them (``wages.wage_rows``, the
    enterprise's attributes as registered), as tuples in ``WAGE_COLUMNS`` order."""
    head = document["enterprise"]
    registered = Enterprise(
        id=1,
        industry=head["industry"],
        district=head["district"],
        size_class=head.get("size_class"),
        ownership=head.get("ownership"),
    )
    return wage_rows(document["employees"], registered, submission_id=submission_id, campaign_id=1)


# --- the baseline -------------------------------------------------------------------------


def wage_table_ddl(service_db: Path) -> list[str]:
    """The service's own ``CREATE TABLE wage_rows`` and its indexes (the foreign keys are
    declared but not enforced: the raw file has no parent tables)."""
    conn = sqlite3.connect(service_db)
    try:
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'wage_rows' AND sql IS NOT NULL "
            "ORDER BY type DESC"  # the table before its indexes
        ).fetchall()
    finally:
        conn.close()
    if not rows:
        raise RuntimeError("the migrated database has no wage_rows table")
    return [sql for (sql,) in rows]


def raw_sqlite_seconds(path: Path, ddl: list[str], batches: list[list[tuple[Any, ...]]]) -> float:
    """``executemany`` of every batch into a fresh file, one committed transaction each."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        for sql in ddl:
            conn.execute(sql)
        insert = (
            f"INSERT INTO wage_rows ({', '.join(WAGE_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(WAGE_COLUMNS))})"
        )
        start = time.perf_counter()
        for batch in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, batch)
            conn.execute("COMMIT")
        seconds = time.perf_counter() - start
        stored = conn.execute("SELECT count(*) FROM wage_rows").fetchone()[0]
    finally:
        conn.close()
    if stored != sum(map(len, batches)):
        raise RuntimeError(f"the baseline stored {stored} rows")
    return seconds


# --- the project --------------------------------------------------------------------------


async def register(client: httpx.AsyncClient, docs: list[dict[str, Any]]) -> None:
    response = await client.post("/api/v1/enterprises", json=[registry_record(d) for d in docs])
    if response.status_code not in (200, 201):
        raise RuntimeError(f"registering the enterprises: {response.text[:500]}")


async def open_campaign(
    client: httpx.AsyncClient, title: str, codes: list[str]
) -> tuple[str, dict[str, str]]:
    """A salary-survey campaign with everyone invited: its submissions URL and the tokens."""
    now = datetime.now(UTC)
    response = await client.post(
        "/api/v1/campaigns",
        json={
            "form_key": "salary-survey",
            "title": title,
            "year": SURVEY_YEAR,
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(),
        },
    )
    response.raise_for_status()
    campaign_id = response.json()["id"]
    response = await client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations", json={"enterprises": codes}
    )
    response.raise_for_status()
    tokens = {item["uscc"]: item["token"] for item in response.json()}
    return f"/api/v1/campaigns/{campaign_id}/submissions", tokens


async def post_all(
    client: httpx.AsyncClient, name: str, url: str, bodies: list[tuple[bytes, str]], clients: int
) -> Pass:
    """POST every (body, token) with ``clients`` at once; every answer must be 201."""
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body, token = queue.pop()
            response = await client.post(
                url,
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            if response.status_code != 201:
                raise RuntimeError(f"{name}: {response.status_code} {response.text[:500]}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    seconds = time.perf_counter() - start
    return Pass(name, clients, len(bodies), len(bodies) * ROWS, seconds)


def encoded(docs: list[dict[str, Any]], tokens: dict[str, str]) -> list[tuple[bytes, str]]:
    return [
        (
            msgspec.json.encode({"id": str(uuid.uuid4()), "data": doc, "status": "submitted"}),
            tokens[doc["enterprise"]["uscc"]],
        )
        for doc in docs
    ]


async def one_round(
    client: httpx.AsyncClient, docs: list[dict[str, Any]], round_no: int
) -> list[Pass]:
    codes = [d["enterprise"]["uscc"] for d in docs]
    passes = []
    for name, clients in (("sequential", 1), ("concurrent", CONCURRENCY)):
        url, tokens = await open_campaign(client, f"ingest bench {round_no} {name}", codes)
        passes.append(await post_all(client, name, url, encoded(docs, tokens), clients))
    return passes


async def check_documents_valid(client: httpx.AsyncClient, docs: list[dict[str, Any]]) -> None:
    """The documents must be valid, or the bench measures refusals (this also warms up
    the form cache and the validator)."""
    response = await client.post("/api/v1/forms/salary-survey/validate", json=docs[0])
    response.raise_for_status()
    if not response.json()["valid"]:
        raise RuntimeError(f"the generated document is not valid: {response.json()['errors'][:3]}")


def stored_rows(service_db: Path) -> int:
    conn = sqlite3.connect(f"file:{service_db}?mode=ro", uri=True)
    try:
        count: int = conn.execute("SELECT count(*) FROM wage_rows").fetchone()[0]
    finally:
        conn.close()
    return count


def decode_and_validate_seconds(docs: list[dict[str, Any]]) -> float:
    """Seconds per document to decode its request body (msgspec) and validate it against
    the salary form (jsonschema-rs), in this process: the work no server can skip."""
    form = msgspec.json.decode(SALARY_FORM.read_bytes())
    validator = compile_schema(form["schema"])
    bodies = [msgspec.json.encode({"data": doc, "status": "submitted"}) for doc in docs]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for body in bodies:
            if not validator.is_valid(msgspec.json.decode(body)["data"]):
                raise RuntimeError("the generated document is not valid")
        best = min(best, time.perf_counter() - started)
    return best / len(bodies)


# --- the run ------------------------------------------------------------------------------


def run() -> BenchResult:
    docs = documents()
    with tempfile.TemporaryDirectory(prefix="survey-bench-ingest-") as tmp:
        var_dir = Path(tmp)
        admin_token = secrets.token_urlsafe(32)
        env = server_env(var_dir) | {"SURVEY_ADMIN_TOKEN": admin_token}
        service_db = var_dir / "survey.db"
        asyncio.run(prepare(Settings.from_env(env)))
        ddl = wage_table_ddl(service_db)
        batches = [wage_tuples(doc, str(uuid.uuid4())) for doc in docs]

        port, log_path = free_port(), var_dir / "server.log"
        base = f"http://{HOST}:{port}"
        raw_seconds: list[float] = []
        passes: list[Pass] = []

        async def drive() -> None:
            headers = {"Authorization": f"Bearer {admin_token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
                await check_documents_valid(client, docs)
                await register(client, docs)
                for n in range(ROUNDS):
                    raw_seconds.append(raw_sqlite_seconds(var_dir / f"raw-{n}.db", ddl, batches))
                    passes.extend(await one_round(client, docs, n))

        with log_path.open("wb") as log:
            process = start_server(env, port, log)
            try:
                wait_ready(process, base, log_path)
                asyncio.run(drive())
                rss = peak_rss_mib(process.pid)
            finally:
                stop_server(process)
        persisted = stored_rows(service_db)
    expected = sum(p.rows for p in passes)
    if persisted != expected:
        raise RuntimeError(f"{persisted:,} wage rows persisted, {expected:,} acknowledged")
    return result(passes, raw_seconds, rss, persisted, decode_and_validate_seconds(docs))


def result(
    passes: list[Pass],
    raw_seconds: list[float],
    rss: float | None,
    persisted: int,
    checked_s: float,
) -> BenchResult:
    raw_rates = [DOCUMENTS * ROWS / s for s in raw_seconds]
    raw = statistics.median(raw_rates)
    rates = {
        name: statistics.median(p.rows_per_s for p in passes if p.name == name)
        for name in ("sequential", "concurrent")
    }
    share = rates["sequential"] / raw
    target = f"≥ {TARGET_SHARE:.0%} of raw sqlite3"
    rss_text = f"{rss:.0f} MiB" if rss is not None else "n/a"
    ms_per_doc = ROWS / rates["sequential"] * 1000
    raw_ms = ROWS / raw * 1000
    ceiling = raw_ms / (raw_ms + checked_s * 1000)
    lines = (
        f"ingest      sequential {grouped(rates['sequential']):>8s} rows/s  "
        f"({DOCUMENTS} x {ROWS}-row JSON submissions per pass, {ms_per_doc:.0f} ms each)",
        f"            {CONCURRENCY} clients  {grouped(rates['concurrent']):>8s} rows/s  "
        f"({rates['concurrent'] / raw:.1%} of raw)",
        f"            raw sqlite3 {grouped(raw):>8s} rows/s  executemany into the service's "
        "wage_rows DDL, WAL + synchronous=FULL, one commit per document",
        f"            ratio {share:.1%} of raw (target {target}); medians of {ROUNDS} rounds; "
        f"{persisted:,} wage rows persisted, as acknowledged",
        f"            server peak RSS {rss_text} (VmHWM); 1 uvicorn worker, uvloop, httptools, "
        "SQLite; the client shares the machine",
        f"            per survey: {ms_per_doc:.1f} ms served; raw {raw_ms:.1f} ms + decode and "
        f"validation {checked_s * 1000:.1f} ms = {ceiling:.0%} of raw, the ceiling before HTTP, "
        "the ORM, hashing and the warnings",
    )
    return BenchResult(
        name="ingest",
        figure=f"{grouped(rates['sequential'])} rows/s "
        f"({grouped(rates['concurrent'])} with {CONCURRENCY} clients)",
        baseline=f"{grouped(raw)} rows/s raw sqlite3",
        ratio=f"{share:.0%} of raw",
        target=target,
        met=share >= TARGET_SHARE,
        lines=lines,
        data={
            "rows_per_document": ROWS,
            "documents_per_pass": DOCUMENTS,
            "rows_per_s": rates,
            "share_of_raw": {name: rate / raw for name, rate in rates.items()},
            "raw_sqlite_rows_per_s": raw,
            "raw_sqlite_rounds_rows_per_s": raw_rates,
            "passes": [asdict(p) | {"rows_per_s": p.rows_per_s} for p in passes],
            "wage_rows_persisted": persisted,
            "server_peak_rss_mib": rss,
            "target_share": TARGET_SHARE,
            "decode_and_validate_ms": checked_s * 1000,
            "ceiling_share_of_raw": ceiling,
        },
    )


if __name__ == "__main__":
    print("\n".join(run().lines))
