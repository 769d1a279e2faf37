"""Poll answers through HTTP: responses per second and latency of
``POST /api/v1/polls/{link}/responses``, each acknowledged (201) only once it is durably
committed, beside the bare route of the core bench (``GET /bench/bare``) in the same run.

One uvicorn process (one worker, uvloop + httptools, no access log) serves
``bench.bare_app:create`` on a free 127.0.0.1 port with a fresh SQLite file in a temporary
directory (WAL, ``synchronous=FULL``; migrated, forms loaded and ``SURVEY_ADMIN_TOKEN``
registered with ``survey_service.__main__.prepare``). Through the admin API over HTTP the
bench registers an enterprise, opens a ``worker-satisfaction`` campaign now with
``settings: {"poll_rate_per_minute": 100000000}`` (so the per-link rate limit, 120 a
minute by default, never refuses an answer here) and issues the enterprise's poll link.

After a short warm-up of both URLs, ``wrk -t1 -c32 -d10s --latency`` POSTs one valid answer
per request (``bench/poll_post.lua``; wrk keeps no cookie, so the device cookie never makes
a request a 409), then the same wrk runs against ``/bench/bare``. Afterwards the rows in
``poll_responses`` are counted with ``sqlite3`` on the file and compared with the 201s wrk
saw: wrk stops at its deadline without reading the answers still in flight (at most one per
connection), and those are committed all the same, so the rows may exceed the 201s by up to
the connection count and never fall short of them. Anything else is reported loudly.

Target: >= 2,000 responses/s and p99 <= 25 ms, with no non-2xx answer. wrk shares the
machine's cores with the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.bare_app import BARE_PATH
from bench.common import PROJECT_ROOT, BenchResult, grouped
from bench.form_fetch import (
    CONNECTIONS,
    HOST,
    THREADS,
    WrkStats,
    free_port,
    parse_wrk,
    server_env,
    start_server,
    stop_server,
    wait_ready,
)
from survey_service.__main__ import prepare
from survey_service.settings import Settings
from tests.samples import enterprise, uscc

FORM_KEY = "worker-satisfaction"
RATE_PER_MINUTE = 100_000_000  # the campaign's poll_rate_per_minute: the limiter stays out
WARMUP_SECONDS, MEASURE_SECONDS = 2, 10
TARGET_RPS, TARGET_P99_MS = 2000.0, 25.0
LUA_SCRIPT = PROJECT_ROOT / "bench" / "poll_post.lua"
ENTERPRISE = 1

# One valid worker-satisfaction answer (every question, on its scale).
ANSWER: dict[str, Any] = {
    "contract_1": 5,
    "contract_2": 4,
    "wage_1": 4,
    "wage_2": 3,
    "insurance_1": 5,
    "insurance_2": 4,
    "safety_1": 4,
    "safety_2": 4,
    "democracy_1": 3,
    "democracy_2": 2,
    "rights_1": 4,
    "rights_2": 5,
    "overall_satisfaction": 4,
    "recommend": 9,
}


def wrk(url: str, seconds: int, *script: str) -> WrkStats:
    """``wrk -t1 -c32 --latency`` for ``seconds``; ``script`` is ``-s`` and its arguments."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", script[0], url, "--", *script[1:]]
    else:
        command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30)
    return parse_wrk(done.stdout)


def open_poll(base: str, admin_token: str) -> str:
    """Register an enterprise, open a campaign now and issue its poll link: the slug."""
    now = datetime.now(UTC)
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        registered = client.post("/api/v1/enterprises", json=enterprise(ENTERPRISE))
        registered.raise_for_status()
        campaign = client.post(
            "/api/v1/campaigns",
            json={
                "form_key": FORM_KEY,
                "title": "bench: poll answers",
                "year": now.year,
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=1)).isoformat(),
                "settings": {"poll_rate_per_minute": RATE_PER_MINUTE},
            },
        )
        if campaign.status_code != 201:
            raise RuntimeError(f"campaign not created: {campaign.status_code} {campaign.text}")
        link = client.post(
            f"/api/v1/campaigns/{campaign.json()['id']}/poll-links",
            json={"enterprise": uscc(ENTERPRISE)},
        )
        if link.status_code != 201:
            raise RuntimeError(f"poll link not issued: {link.status_code} {link.text}")
        slug: str = link.json()["link"]
        answer = client.post(f"/api/v1/polls/{slug}/responses", json={"data": ANSWER})
        if answer.status_code != 201:
            raise RuntimeError(f"the answer is refused: {answer.status_code} {answer.text}")
    return slug


def count_rows(db_path: Path) -> int:
    """Rows in ``poll_responses``, read with sqlite3 from the file (read-only)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        (n,) = conn.execute("SELECT count(*) FROM poll_responses").fetchone()
    finally:
        conn.close()
    return int(n)


def run() -> BenchResult:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (make system-deps, or apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as tmp:
        var_dir = Path(tmp)
        env = server_env(var_dir)
        admin_token = secrets.token_urlsafe(32)
        env["SURVEY_ADMIN_TOKEN"] = admin_token
        asyncio.run(prepare(Settings.from_env(env)))
        db_path = var_dir / "survey.db"
        port, log_path = free_port(), var_dir / "server.log"
        base = f"http://{HOST}:{port}"
        body = json.dumps({"data": ANSWER}, separators=(",", ":"))
        with log_path.open("wb") as log:
            process = start_server(env, port, log)
            try:
                wait_ready(process, base, log_path)
                post_url = f"{base}/api/v1/polls/{open_poll(base, admin_token)}/responses"
                wrk(post_url, WARMUP_SECONDS, str(LUA_SCRIPT), body)
                wrk(base + BARE_PATH, WARMUP_SECONDS)
                rows_before = count_rows(db_path)
                polls = wrk(post_url, MEASURE_SECONDS, str(LUA_SCRIPT), body)
                bare = wrk(base + BARE_PATH, MEASURE_SECONDS)
            finally:
                stop_server(process)  # lets the requests still in flight finish
        stored = count_rows(db_path) - rows_before
    return result(polls, bare, stored)


def result(polls: WrkStats, bare: WrkStats, stored: int) -> BenchResult:
    share = polls.requests_per_s / bare.requests_per_s
    errors = polls.non_2xx + polls.socket_errors + bare.non_2xx + bare.socket_errors
    acknowledged = polls.requests - polls.non_2xx  # every 2xx of this route is a 201
    unread = stored - acknowledged  # committed, but wrk stopped before reading the 201
    counts_ok = 0 <= unread <= CONNECTIONS
    met = (
        polls.requests_per_s >= TARGET_RPS
        and polls.p99_ms <= TARGET_P99_MS
        and errors == 0
        and counts_ok
    )
    target = f"≥ {grouped(TARGET_RPS)}/s, p99 ≤ {TARGET_P99_MS:.0f} ms"
    cores = os.cpu_count() or 0
    if counts_ok:
        check = (
            f"rows stored {stored:,} = 201s seen by wrk {acknowledged:,}"
            + (f" + {unread} in flight at wrk's deadline (≤ {CONNECTIONS})" if unread else "")
            + ": every acknowledged answer is stored"
        )
    else:
        check = (
            f"!!! COUNT MISMATCH: {stored:,} rows stored during the run, but wrk saw "
            f"{acknowledged:,} 201s (difference {unread:+,}; expected 0..{CONNECTIONS}) !!!"
        )
    lines = (
        f"polls       {polls.row('answers')}  POST /api/v1/polls/{{link}}/responses",
        f"            {bare.row('bare')}  GET {BARE_PATH}",
        f"            answers/s are {share:.1%} of bare (target {target}, no non-2xx)",
        f"            {check}",
        f"            the campaign sets poll_rate_per_minute={RATE_PER_MINUTE:,} so the "
        "per-link rate limit does not interfere; wrk keeps no cookie, so neither does the "
        "device cookie",
        f"            wrk -t{THREADS} -c{CONNECTIONS} -d{MEASURE_SECONDS}s after "
        f"{WARMUP_SECONDS}s warm-up; wrk shares the {cores} cores with the server "
        "(1 uvicorn worker, uvloop, httptools, SQLite WAL synchronous=FULL)",
    )
    return BenchResult(
        name="polls",
        figure=f"{grouped(polls.requests_per_s)} answers/s, p99 {polls.p99_ms:.2f} ms",
        baseline=f"{grouped(bare.requests_per_s)} req/s, p99 {bare.p99_ms:.2f} ms",
        ratio=f"{share:.0%} of bare",
        target=target,
        met=met,
        lines=lines,
        data={
            "answers": asdict(polls),
            "bare": {"path": BARE_PATH, **asdict(bare)},
            "share_of_bare": share,
            "rows_stored": stored,
            "acknowledged": acknowledged,
            "unread_at_deadline": unread,
            "counts_ok": counts_ok,
            "poll_rate_per_minute": RATE_PER_MINUTE,
            "target_rps": TARGET_RPS,
            "target_p99_ms": TARGET_P99_MS,
            "wrk": {
                "threads": THREADS,
                "connections": CONNECTIONS,
                "seconds": MEASURE_SECONDS,
                "warmup_seconds": WARMUP_SECONDS,
            },
            "cpu_count": cores,
        },
    )


if __name__ == "__main__":
    started = time.perf_counter()
    print("\n".join(run().lines))
    print(f"            ({time.perf_counter() - started:.0f} s)")
