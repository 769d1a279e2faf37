"""Load: mixed traffic from ``CLIENTS`` concurrent clients for ``SECONDS`` s, on SQLite
with one server process and on PostgreSQL with ``PG_WORKERS`` processes, in the same run.

The clients (``bench.load_client``, a second process on loopback) each hold a keep-alive
connection and send one request after another, no pause, each drawing its kind by
``WEIGHTS``: a poll answer (``POST /api/v1/polls/{link}/responses``, one of ``LINKS``
enterprises' links), a salary survey of 20 to 200 employees (``POST
/api/v1/campaigns/{id}/submissions`` as JSON, each through a fresh invitation: never a
409), or a download of last year's wage table by occupation (``GET .../benchmarks/wages``,
CSV or JSON, as an analyst). The weights follow a campaign's proportions: answers from
workers far outnumber surveys from HR staff and downloads by analysts. The downloads read
the previous year's closed campaign (``PREVIOUS`` enterprises, about 20,000 workers), as
analysts read a published table while this year's surveys come in.

Before the clock, through the admin API: the enterprises, both salary campaigns, the
previous year's surveys, ``INVITATIONS`` invitations to this year's, the poll campaign
with ``settings.poll_rate_per_minute`` high enough that the per-link limit never answers
429 (as ``bench.polls``), its links, an analyst token. Then ``WARMUP`` s of traffic not
measured, then ``SECONDS`` s measured (requests started in that window, awaited to the
end). Reported per kind and in all: requests/s, p50/p99 latency, errors (non-2xx,
timeouts after 10 s, broken connections). Afterwards the stored poll answers and surveys
are counted and compared with the 2xx the clients saw (every acknowledged write is there).

Target: no error; p99 of all requests under 200 ms on SQLite with one process; more
requests/s on PostgreSQL with several processes than on SQLite with one. The server
processes, PostgreSQL and the load generator share the machine's cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench.common import PROJECT_ROOT, BenchResult, grouped
from bench.data import make_rng, salary_document
from bench.form_fetch import HOST, free_port, server_env, start_server, stop_server, wait_ready
from bench.polls import ANSWER
from survey_service.__main__ import prepare
from survey_service.settings import Settings
from tests.samples import enterprise, uscc

CLIENTS = 200
SECONDS = 60.0
WARMUP = 5.0
# A campaign's proportions: workers' answers outnumber their enterprises' surveys by tens
# to one, and a published table is read about as often as a survey is sent.
WEIGHTS = {"poll": 0.94, "salary": 0.03, "download": 0.03}
LINKS = 100
PREVIOUS = 200  # enterprises in last year's campaign (20-200 workers each)
INVITATIONS = 6000  # this year's: one survey each (about 3,000 are used at 1,500 req/s)
TEMPLATES = 50  # distinct surveys the clients send (each under its invitation's code)
ROWS = (20, 200)
PG_WORKERS = max(2, min(4, os.cpu_count() or 2))
TARGET_P99_MS = 200.0
PG_URL = os.environ.get("SURVEY_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
YEAR = datetime.now(UTC).year


@dataclass(frozen=True)
class Outcome:
    backend: str
    workers: int
    result: dict[str, Any]
    stored: dict[str, int]  # rows counted afterwards
    acknowledged: dict[str, int]  # 2xx the clients saw, warm-up included
    prepare_seconds: float

    @property
    def total(self) -> dict[str, Any]:
        total: dict[str, Any] = self.result["total"]
        return total

    @property
    def writes_ok(self) -> bool:
        return all(self.stored[k] == self.acknowledged[k] for k in ("poll", "salary"))


# --- the data, through the admin API --------------------------------------------------------


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=1)).isoformat(),
    }


def _ok(response: httpx.Response) -> Any:
    if response.status_code not in {200, 201}:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return response.json()


def _campaign(client: httpx.Client, form_key: str, year: int, **extra: Any) -> int:
    body = {"form_key": form_key, "title": f"bench load {form_key} {year}", "year": year}
    return int(_ok(client.post("/api/v1/campaigns", json=body | _window() | extra))["id"])


def _invite(client: httpx.Client, campaign_id: int, numbers: range) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    for start in range(numbers.start, numbers.stop, 1000):
        chunk = [uscc(n) for n in range(start, min(start + 1000, numbers.stop))]
        invited = _ok(
            client.post(f"/api/v1/campaigns/{campaign_id}/invitations", json={"enterprises": chunk})
        )
        tokens += [(i["token"], i["uscc"]) for i in invited]
    return tokens


def fill(base: str, admin: str) -> dict[str, Any]:
    """Everything the traffic needs; the load generator's plan (without host and port)."""
    rng = make_rng(11)
    last = INVITATIONS + PREVIOUS + LINKS
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=120
    ) as client:
        for start in range(1, last + 1, 1000):
            chunk = [enterprise(n) for n in range(start, min(start + 1000, last + 1))]
            _ok(client.post("/api/v1/enterprises", json=chunk))
        previous = _campaign(client, "salary-survey", YEAR - 1)
        previous_numbers = range(INVITATIONS + 1, INVITATIONS + PREVIOUS + 1)
        for token, code in _invite(client, previous, previous_numbers):
            document = salary_document(rng, rng.randint(*ROWS), uscc=code)
            _ok(
                client.post(
                    f"/api/v1/campaigns/{previous}/submissions",
                    json={"data": document, "status": "submitted"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
        # Analysts read releases: last year's campaign is released once, as the bureau does.
        _ok(client.post(f"/api/v1/campaigns/{previous}/releases",
                        json={"during_collection": True, "note": "load"}))  # fmt: skip
        current = _campaign(client, "salary-survey", YEAR)
        invitations = _invite(client, current, range(1, INVITATIONS + 1))
        poll = _campaign(
            client, "worker-satisfaction", YEAR, settings={"poll_rate_per_minute": 100_000_000}
        )
        links = [
            _ok(client.post(f"/api/v1/campaigns/{poll}/poll-links", json={"enterprise": uscc(n)}))[
                "link"
            ]
            for n in range(INVITATIONS + PREVIOUS + 1, last + 1)
        ]
        analyst = _ok(client.post("/api/v1/tokens", json={"role": "analyst", "label": "load"}))
    table = f"/api/v1/campaigns/{previous}/benchmarks/wages?by=occupation"
    return {
        "weights": WEIGHTS,
        "links": links,
        "answer": ANSWER,
        "invitations": invitations,
        "documents": [salary_document(rng, rng.randint(*ROWS)) for _ in range(TEMPLATES)],
        "downloads": [f"{table}&format=csv", f"{table}&format=json"],
        "analyst": analyst["token"],
        "salary_campaign": current,
        "poll_campaign": poll,
    }


# --- PostgreSQL: a database of this run's own -------------------------------------------------


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with asyncio.timeout(10), engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def _pg_database() -> tuple[str, str] | None:
    name = f"bench_load_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception:
        return None
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


# --- one backend ------------------------------------------------------------------------------


async def _count(url: str, salary: int, poll: int) -> dict[str, int]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            surveys = await conn.scalar(
                text("SELECT count(*) FROM submissions WHERE campaign_id = :c"), {"c": salary}
            )
            answers = await conn.scalar(
                text("SELECT count(*) FROM poll_responses WHERE campaign_id = :c"), {"c": poll}
            )
    finally:
        await engine.dispose()
    return {"salary": int(surveys or 0), "poll": int(answers or 0)}


def run_backend(backend: str, database_url: str | None, workers: int) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="survey-load-") as tmp:
        var_dir = Path(tmp)
        env = server_env(var_dir)
        if database_url is not None:
            env["SURVEY_DATABASE_URL"] = database_url
        env["SURVEY_ADMIN_TOKEN"] = admin = secrets.token_urlsafe(32)
        env["SURVEY_REPORT_WORKERS"] = "1"
        settings = Settings.from_env(env)
        asyncio.run(prepare(settings))
        port, log_path = free_port(), var_dir / "server.log"
        base = f"http://{HOST}:{port}"
        with log_path.open("wb") as log:
            process = start_server(
                env, port, log, app="survey_service.app:app_from_env", workers=workers
            )
            try:
                wait_ready(process, base, log_path)
                started = time.perf_counter()
                plan = fill(base, admin)
                prepared = time.perf_counter() - started
                poll = plan.pop("poll_campaign")
                plan |= {"host": HOST, "port": port, "clients": CLIENTS,
                         "seconds": SECONDS, "warmup": WARMUP}  # fmt: skip
                plan_path, out_path = var_dir / "plan.json", var_dir / "result.json"
                plan_path.write_text(json.dumps(plan), encoding="utf-8")
                subprocess.run(
                    [sys.executable, "-m", "bench.load_client", str(plan_path), str(out_path)],
                    cwd=PROJECT_ROOT, check=True, timeout=WARMUP + SECONDS + 120,
                )  # fmt: skip
                result = json.loads(out_path.read_text(encoding="utf-8"))
            finally:
                stop_server(process)  # lets the requests still in flight finish
        stored = asyncio.run(_count(settings.database_url, plan["salary_campaign"], poll))
    return Outcome(backend, workers, result, stored, result["acknowledged"], prepared)


def run() -> BenchResult:
    sqlite = run_backend("SQLite", None, 1)
    postgres: Outcome | None = None
    database = _pg_database()
    if database is not None:
        name, url = database
        try:
            postgres = run_backend("PostgreSQL", url, PG_WORKERS)
        finally:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return result(sqlite, postgres)


# --- the report -------------------------------------------------------------------------------


def _row(label: str, stats: dict[str, Any]) -> str:
    return (
        f"{label:10s} {grouped(stats['per_s']):>6s}/s  p50 {stats['p50_ms']:7.1f} ms  "
        f"p99 {stats['p99_ms']:7.1f} ms  errors {stats['errors']}"
    )


def _lines(outcome: Outcome) -> list[str]:
    result = outcome.result
    processes = "process" if outcome.workers == 1 else "processes"
    lines = [f"{outcome.backend}, {outcome.workers} server {processes}:"]
    for kind in ("poll", "salary", "download"):
        stats = result["kinds"][kind]
        extra = ""
        if stats["errors"]:
            extra = (
                f"  (non-2xx {stats['statuses']}, timeouts {stats['timeouts']}, "
                f"connections {stats['connection_errors']})"
            )
        lines.append("  " + _row(kind, stats) + extra)
    lines.append("  " + _row("all", result["total"]))
    check = ", ".join(
        f"{k} stored {outcome.stored[k]:,} / acknowledged {outcome.acknowledged[k]:,}"
        for k in ("poll", "salary")
    )
    lines.append(f"  {check}" + ("" if outcome.writes_ok else "  !!! MISMATCH !!!"))
    if result["invitations_exhausted"]:
        lines.append(f"  !!! the invitations ran out ({result['invitations']:,}) !!!")
    for what, sample in result["error_samples"].items():
        lines.append(f"  e.g. {what}: {sample[:160]}")
    lines.append(f"  (data prepared in {outcome.prepare_seconds:.0f} s, before the clock)")
    return lines


def result(sqlite: Outcome, postgres: Outcome | None) -> BenchResult:
    errors = sqlite.total["errors"] + (postgres.total["errors"] if postgres else 0)
    p99 = sqlite.total["p99_ms"]
    faster = postgres is not None and postgres.total["per_s"] > sqlite.total["per_s"]
    writes_ok = sqlite.writes_ok and (postgres is None or postgres.writes_ok)
    met = errors == 0 and p99 <= TARGET_P99_MS and faster and writes_ok
    target = f"0 errors, SQLite p99 ≤ {TARGET_P99_MS:.0f} ms, PostgreSQL ×{PG_WORKERS} > SQLite"
    mix = ", ".join(f"{k} {w:.0%}" for k, w in WEIGHTS.items())
    lines = [
        f"load        {CLIENTS} clients for {SECONDS:.0f} s after {WARMUP:.0f} s warm-up "
        f"({mix}); the load generator is a second process on loopback"
    ]
    lines += ["            " + line for line in _lines(sqlite)]
    if postgres is not None:
        lines += ["            " + line for line in _lines(postgres)]
        ratio = postgres.total["per_s"] / sqlite.total["per_s"]
        lines.append(f"            PostgreSQL ×{PG_WORKERS} / SQLite ×1 throughput: {ratio:.2f}")
    else:
        ratio = float("nan")
        lines.append("            PostgreSQL not reachable: its half was not run")
    cores = os.cpu_count() or 0
    lines.append(
        f"            target: {target}; the servers, PostgreSQL and the clients share "
        f"the {cores} cores"
    )
    figure = (
        f"{grouped(sqlite.total['per_s'])} req/s, p99 {p99:.0f} ms, {sqlite.total['errors']} errors"
    )
    baseline = (
        f"PG ×{PG_WORKERS}: {grouped(postgres.total['per_s'])} req/s, "
        f"p99 {postgres.total['p99_ms']:.0f} ms, {postgres.total['errors']} errors"
        if postgres
        else "PostgreSQL not reachable"
    )
    return BenchResult(
        name="load",
        figure=figure,
        baseline=baseline,
        ratio=f"{ratio:.2f}x" if postgres else "n/a",
        target=target,
        met=met,
        lines=tuple(lines),
        data={
            "clients": CLIENTS,
            "seconds": SECONDS,
            "warmup": WARMUP,
            "weights": WEIGHTS,
            "sqlite": _data(sqlite),
            "postgresql": _data(postgres) if postgres else None,
            "target_p99_ms": TARGET_P99_MS,
            "cpu_count": cores,
        },
    )


def _data(outcome: Outcome) -> dict[str, Any]:
    return {
        "workers": outcome.workers,
        "result": outcome.result,
        "stored": outcome.stored,
        "acknowledged": outcome.acknowledged,
        "prepare_seconds": outcome.prepare_seconds,
    }


if __name__ == "__main__":
    print("\n".join(run().lines))
