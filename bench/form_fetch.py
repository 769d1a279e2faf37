"""Form fetch: requests per second and latency of ``GET /api/v1/forms/salary-survey/schema``
beside a bare route of the same app that sends the same bytes from memory.

One uvicorn process (one worker, uvloop + httptools, no access log) serves
``bench.bare_app:create`` on a free 127.0.0.1 port, with a fresh SQLite database in a
temporary directory (migrated and loaded with ``survey_service.__main__.prepare``). After a
warm-up, ``wrk -t1 -c32 -d10s --latency`` runs against each URL in turn, for three
interleaved rounds; req/s, p50 and p99 are read from wrk's report and the medians over the
rounds are reported (every round is in the JSON). wrk shares the machine's cores with the
server, so the absolute numbers are lower than on a dedicated client; the ratio is what the
target is about: project >= 50% of bare req/s, and project p99 <= 10 ms.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from bench.bare_app import BARE_PATH, FORM_KEY, MEDIA_TYPE
from bench.common import PROJECT_ROOT, BenchResult, grouped
from survey_service.db.engine import open_database
from survey_service.db.migrate import upgrade
from survey_service.forms.registry import load_shipped_forms
from survey_service.settings import Settings

HOST = "127.0.0.1"
PROJECT_PATH = f"/api/v1/forms/{FORM_KEY}/schema"
THREADS, CONNECTIONS = 1, 32
WARMUP_SECONDS, MEASURE_SECONDS, ROUNDS = 3, 10, 3
TARGET_SHARE, TARGET_P99_MS = 0.5, 10.0
START_TIMEOUT = 30.0

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_LATENCY = re.compile(r"^\s*(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True, slots=True)
class WrkStats:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    def row(self, label: str) -> str:
        return (
            f"{label:8s} {grouped(self.requests_per_s):>7s} req/s  "
            f"p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms"
            + (f"  non-2xx {self.non_2xx}" if self.non_2xx else "")
            + (f"  socket errors {self.socket_errors}" if self.socket_errors else "")
        )


def parse_wrk(output: str) -> WrkStats:
    """req/s, p50 and p99 (ms) and error counts from ``wrk --latency`` output."""
    rps, total = _RPS.search(output), _TOTAL.search(output)
    latency = {q: float(v) * _UNIT_MS[u] for q, v, u in _LATENCY.findall(output)}
    if rps is None or total is None or set(latency) != {"50", "99"}:
        raise ValueError(f"cannot read wrk's report:\n{output}")
    non_2xx = _NON_2XX.search(output)
    sockets = _SOCKET.search(output)
    return WrkStats(
        requests_per_s=float(rps[1]),
        p50_ms=latency["50"],
        p99_ms=latency["99"],
        requests=int(total[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(map(int, sockets.groups())) if sockets else 0,
    )


def wrk(url: str, seconds: int) -> WrkStats:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30)
    return parse_wrk(done.stdout)


def median_stats(rounds: list[WrkStats]) -> WrkStats:
    """The median of each figure over the rounds; the error counts are summed."""
    return WrkStats(
        requests_per_s=statistics.median(r.requests_per_s for r in rounds),
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        requests=sum(r.requests for r in rounds),
        non_2xx=sum(r.non_2xx for r in rounds),
        socket_errors=sum(r.socket_errors for r in rounds),
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    env["SURVEY_VAR_DIR"] = str(var_dir)
    env["SURVEY_DATABASE_URL"] = f"sqlite+aiosqlite:///{var_dir / 'survey.db'}"
    env["SURVEY_FORM_SCHEMAS"] = str(PROJECT_ROOT / "form_schemas")
    return env


def start_server(
    env: dict[str, str],
    port: int,
    log: IO[bytes],
    *,
    app: str = "bench.bare_app:create",
    workers: int = 1,
) -> subprocess.Popen[bytes]:
    """``uvicorn --factory app`` on ``HOST:port`` (``workers`` processes)."""
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app,
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers.get("content-type", ""), response.read()


def wait_ready(process: subprocess.Popen[bytes], base: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            if fetch(base + "/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {START_TIMEOUT:.0f}s")


def check_same_body(base: str) -> int:
    """Both URLs must send the same bytes and media type, or the comparison is moot."""
    project, bare = fetch(base + PROJECT_PATH), fetch(base + BARE_PATH)
    if project[0] != 200 or project[1:] != bare[1:] or not project[1].startswith(MEDIA_TYPE):
        raise RuntimeError(
            f"the bare route does not match the schema route: status {project[0]}, "
            f"types {project[1]!r} / {bare[1]!r}, {len(project[2])} / {len(bare[2])} bytes"
        )
    return len(project[2])


async def prepare_database(settings: Settings) -> None:
    """``python -m survey_service migrate`` then ``load-forms``, in this process."""
    db = open_database(settings.database_url)
    try:
        await upgrade(db.engine)
        await load_shipped_forms(db, settings.form_schemas_dir)
    finally:
        await db.dispose()


def measure(base: str) -> dict[str, list[WrkStats]]:
    """Warm both URLs up, then ``ROUNDS`` rounds of project, bare."""
    urls = {"project": base + PROJECT_PATH, "bare": base + BARE_PATH}
    for url in urls.values():
        wrk(url, WARMUP_SECONDS)
    rounds: dict[str, list[WrkStats]] = {name: [] for name in urls}
    for _ in range(ROUNDS):
        for name, url in urls.items():
            rounds[name].append(wrk(url, MEASURE_SECONDS))
    return rounds


def run() -> BenchResult:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (make system-deps, or apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="survey-bench-") as tmp:
        var_dir = Path(tmp)
        env = server_env(var_dir)
        asyncio.run(prepare_database(Settings.from_env(env)))
        port, log_path = free_port(), var_dir / "server.log"
        base = f"http://{HOST}:{port}"
        with log_path.open("wb") as log:
            process = start_server(env, port, log)
            try:
                wait_ready(process, base, log_path)
                size = check_same_body(base)
                rounds = measure(base)
            finally:
                stop_server(process)
    return result(rounds, size)


def result(rounds: dict[str, list[WrkStats]], size: int) -> BenchResult:
    project, bare = median_stats(rounds["project"]), median_stats(rounds["bare"])
    share = project.requests_per_s / bare.requests_per_s
    errors = project.non_2xx + project.socket_errors + bare.non_2xx + bare.socket_errors
    met = share >= TARGET_SHARE and project.p99_ms <= TARGET_P99_MS and errors == 0
    target = f"≥ {TARGET_SHARE:.0%} of bare, p99 ≤ {TARGET_P99_MS:.0f} ms"
    cores = os.cpu_count() or 0
    lines = (
        f"form fetch  {project.row('project')}  {PROJECT_PATH}",
        f"            {bare.row('bare')}  {BARE_PATH} (same {size:,} bytes from memory)",
        f"            ratio {share:.1%} of bare (target {target})",
        f"            medians of {ROUNDS} interleaved rounds of wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{MEASURE_SECONDS}s after {WARMUP_SECONDS}s warm-up; wrk shares the {cores} cores "
        "with the server (1 uvicorn worker, uvloop, httptools, SQLite)",
    )
    return BenchResult(
        name="form_fetch",
        figure=f"{grouped(project.requests_per_s)} req/s, p99 {project.p99_ms:.2f} ms",
        baseline=f"{grouped(bare.requests_per_s)} req/s, p99 {bare.p99_ms:.2f} ms",
        ratio=f"{share:.0%} of bare",
        target=target,
        met=met,
        lines=lines,
        data={
            "project": {
                "path": PROJECT_PATH,
                "median": asdict(project),
                "rounds": [asdict(r) for r in rounds["project"]],
            },
            "bare": {
                "path": BARE_PATH,
                "median": asdict(bare),
                "rounds": [asdict(r) for r in rounds["bare"]],
            },
            "share_of_bare": share,
            "body_bytes": size,
            "target_share": TARGET_SHARE,
            "target_p99_ms": TARGET_P99_MS,
            "wrk": {
                "threads": THREADS,
                "connections": CONNECTIONS,
                "seconds": MEASURE_SECONDS,
                "warmup_seconds": WARMUP_SECONDS,
                "rounds": ROUNDS,
            },
            "cpu_count": cores,
        },
    )


if __name__ == "__main__":
    print("\n".join(run().lines))
