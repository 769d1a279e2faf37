"""Load, open-loop: the mixed traffic of a campaign arriving at a fixed rate whatever the
server answers, on SQLite with one server process and on PostgreSQL with one and then two
server processes behind nginx, in the same run.

The load generator (``bench.load_client``, a second process on loopback) sends Poisson
arrivals (exponential gaps from a seeded RNG) over a pool of keep-alive connections that
grows when every connection is busy, and measures each request's latency from its scheduled
arrival, so that a slow answer cannot hold back the requests behind it (closed-loop clients
would make latency equal clients / throughput, and a p99 target unreachable). Each arrival
draws its kind by ``WEIGHTS``: a poll answer (``POST /api/v1/polls/{link}/responses``, one
of ``LINKS`` enterprises' links), a salary survey of 20 to 200 employees (``POST
/api/v1/campaigns/{id}/submissions`` as JSON, each through a fresh invitation: never a
409), or a download of last year's wage table by occupation (``GET .../benchmarks/wages``,
CSV or JSON, as an analyst). The weights follow a campaign's proportions: answers from
workers far outnumber surveys from HR staff and downloads by analysts. The downloads read
the previous year's released campaign (``PREVIOUS`` enterprises, about 20,000 workers).

Before the clock, through the admin API: the enterprises, both salary campaigns, the
previous year's surveys, ``INVITATIONS`` invitations to this year's, the poll campaign with
``settings.poll_rate_per_minute`` high enough that the per-link limit never answers 429 (as
``bench.polls``), its links, an analyst token.

SQLite, one uvicorn process (uvloop, httptools) served directly: ``WARMUP`` s at ``RATE``
requests/s not measured, then ``SECONDS`` s measured, then the saturation search: steps of
``STEP_SECONDS`` s, each ``STEP_DELTA`` requests/s above the last, until one does not keep
up (achieved < 95% of offered, p99 > 1 s or any error); the saturation rate is the last
step that kept up. PostgreSQL, the deployment's shape: server processes of one worker each
behind Debian's nginx running ``docs/deploy/nginx.conf`` (``tests.deployment``, as
``tests/integration/test_nginx.py`` runs it); one process, then a second one started beside
it on the same database, each at ``PG_RATE`` for ``PG_SECONDS`` s after ``PG_WARMUP`` s and
then its own saturation search. For each, the CPU seconds of the server processes (and of
nginx) within the measured window, from ``/proc``, per response answered in it: the cost
that tells how the service scales on a machine with more cores.

Reported per kind and in all: offered and achieved requests/s, p50/p99/max latency from
the scheduled arrival, errors (non-2xx, timeouts after 10 s, broken connections) and the
connections opened. Afterwards the stored poll answers and surveys are counted and
compared with the 2xx the generator saw: every acknowledged write is there, and nothing
more than the requests left unanswered (timed out or broken) could account for.

Target: on SQLite with one process at ``RATE``/s, p99 ≤ ``TARGET_P99_MS`` ms and no error;
every acknowledged write stored everywhere; on PostgreSQL two processes not slower than one
(a saturation rate at least as high). The server processes, PostgreSQL, nginx and the load
generator share the machine's cores.
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
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench.common import PROJECT_ROOT, BenchResult
from bench.data import make_rng, salary_document
from bench.form_fetch import HOST, free_port, server_env, start_server, stop_server, wait_ready
from bench.load_client import keeps_up
from bench.polls import ANSWER
from survey_service.__main__ import prepare
from survey_service.settings import Settings
from tests.deployment import NGINX_INSTALLED, nginx_site, start_nginx
from tests.samples import enterprise, uscc

RATE = 400.0  # requests/s on SQLite with one process
SECONDS = 60.0
WARMUP = 10.0
STEP_SECONDS = 10.0
STEP_DELTA = 100.0  # then one step of half of it: the saturation rate to within 50/s
STEPS = 8  # at most, each way, before the half step
PG_RATE = 400.0
PG_SECONDS = 30.0
PG_WARMUP = 10.0  # the second process starts cold
PG_STEPS = 6
# A campaign's proportions: workers' answers outnumber their enterprises' surveys by tens
# to one, and a published table is read about as often as a survey is sent.
WEIGHTS = {"poll": 0.94, "salary": 0.03, "download": 0.03}
LINKS = 100
PREVIOUS = 200  # enterprises in last year's campaign (20-200 workers each)
INVITATIONS = 6000  # this year's: one survey each (3% of the requests; halved on PostgreSQL)
TEMPLATES = 50  # distinct surveys the clients send (each under its invitation's code)
ROWS = (20, 200)
TARGET_P99_MS = 150.0
NGINX_CONNECTIONS = 8192  # nginx's worker_connections: the generator's pool and upstreams
PG_URL = os.environ.get("SURVEY_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
YEAR = datetime.now(UTC).year


@dataclass(frozen=True)
class Outcome:
    backend: str
    workers: int
    through: str  # "directly" or "behind nginx"
    result: dict[str, Any]  # bench.load_client's
    stored: dict[str, int]  # rows this run added, counted afterwards
    prepare_seconds: float

    @property
    def fixed(self) -> dict[str, Any]:
        fixed: dict[str, Any] = self.result["fixed"]["total"]
        return fixed

    @property
    def acknowledged(self) -> dict[str, int]:
        acknowledged: dict[str, int] = self.result["acknowledged"]  # warm-up and steps too
        return acknowledged

    @property
    def saturation(self) -> float | None:
        rate: float | None = self.result["saturation_per_s"]
        return rate

    @property
    def unanswered(self) -> dict[str, int]:
        unanswered: dict[str, int] = self.result["unanswered"]  # timed out or broken
        return unanswered

    @property
    def writes_ok(self) -> bool:
        """Every acknowledged write stored, and nothing stored beyond the requests that
        were left unanswered (which the server may or may not have stored)."""
        return all(
            self.acknowledged[k] <= self.stored[k] <= self.acknowledged[k] + self.unanswered[k]
            for k in ("poll", "salary")
        )


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


# --- one run of the load generator ----------------------------------------------------------


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


def generate(plan: dict[str, Any], folder: Path, timeout: float) -> dict[str, Any]:
    """``bench.load_client`` on ``plan`` in its own process; its result."""
    plan_path, out_path = folder / "plan.json", folder / "result.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "bench.load_client", str(plan_path), str(out_path)],
        cwd=PROJECT_ROOT, check=True, timeout=timeout,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    return result


def _schedule(rate: float, seconds: float, warmup: float, steps: int) -> dict[str, Any]:
    return {
        "rate": rate,
        "seconds": seconds,
        "warmup": warmup,
        "steps": {"seconds": STEP_SECONDS, "delta": STEP_DELTA, "count": steps},
    }


def _budget(schedule: dict[str, Any]) -> float:
    """The generator's longest run: its phases, a drain of each, and a margin."""
    steps: int = schedule["steps"]["count"]
    seconds: float = schedule["warmup"] + schedule["seconds"]
    return seconds + (steps + 1) * (STEP_SECONDS + 10) + 60


class Counter:
    """The rows of this year's surveys and answers: before and after a run."""

    def __init__(self, url: str, plan: dict[str, Any]) -> None:
        """Takes the poll campaign out of ``plan`` (the generator has no use for it)."""
        self.url, self.salary, self.poll = url, plan["salary_campaign"], plan.pop("poll_campaign")

    def __call__(self) -> dict[str, int]:
        return asyncio.run(_count(self.url, self.salary, self.poll))


def _environment(var_dir: Path, database_url: str | None) -> tuple[dict[str, str], str]:
    env = server_env(var_dir)
    if database_url is not None:
        env["SURVEY_DATABASE_URL"] = database_url
    env["SURVEY_ADMIN_TOKEN"] = admin = secrets.token_urlsafe(32)
    env["SURVEY_REPORT_WORKERS"] = "1"
    env["SURVEY_TRUSTED_PROXIES"] = HOST  # nginx's, on PostgreSQL
    return env, admin


# --- SQLite: one process, directly ----------------------------------------------------------


def run_sqlite() -> Outcome:
    with tempfile.TemporaryDirectory(prefix="survey-load-") as tmp:
        var_dir = Path(tmp)
        env, admin = _environment(var_dir, None)
        settings = Settings.from_env(env)
        asyncio.run(prepare(settings))
        port, log_path = free_port(), var_dir / "server.log"
        base = f"http://{HOST}:{port}"
        with log_path.open("wb") as log:
            process = start_server(env, port, log, app="survey_service.app:app_from_env", workers=1)
            try:
                wait_ready(process, base, log_path)
                started = time.perf_counter()
                plan = fill(base, admin)
                prepared = time.perf_counter() - started
                counter = Counter(settings.database_url, plan)
                schedule = _schedule(RATE, SECONDS, WARMUP, STEPS)
                result = generate(
                    plan | schedule | {"host": HOST, "port": port,
                                       "cpu_pids": {"server": [process.pid]}},
                    var_dir, _budget(schedule),
                )  # fmt: skip
            finally:
                stop_server(process)  # lets the requests still in flight finish
        stored = counter()
    return Outcome("SQLite", 1, "directly", result, stored, prepared)


# --- PostgreSQL: one process, then two, behind nginx ----------------------------------------


def _behind_nginx(
    ports: list[int], pids: list[int], plan: dict[str, Any], folder: Path, counter: Counter
) -> tuple[dict[str, Any], dict[str, int]]:
    """One generator run through nginx in front of ``ports``: its result and the rows it
    added."""
    folder.mkdir()
    listen = free_port()
    nginx = start_nginx(
        folder, nginx_site(ports, listen, folder), worker_connections=NGINX_CONNECTIONS
    )
    try:
        wait_ready(nginx, f"http://{HOST}:{listen}", folder / "error.log")
        before = counter()
        schedule = _schedule(PG_RATE, PG_SECONDS, PG_WARMUP, PG_STEPS)
        result = generate(
            plan | schedule | {"host": HOST, "port": listen,
                               "cpu_pids": {"servers": pids, "nginx": [nginx.pid]},
                               "cpu_titles": {"postgres": make_url(counter.url).database}},
            folder, _budget(schedule),
        )  # fmt: skip
        after = counter()
    finally:
        stop_server(nginx)
    return result, {k: after[k] - before[k] for k in after}


def run_postgres(database_url: str) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="survey-load-pg-") as tmp, ExitStack() as stack:
        var_dir = Path(tmp)
        env, admin = _environment(var_dir, database_url)
        asyncio.run(prepare(Settings.from_env(env)))
        ports: list[int] = []
        pids: list[int] = []

        def start() -> None:
            port, log_path = free_port(), var_dir / f"server-{len(ports) + 1}.log"
            log = stack.enter_context(log_path.open("wb"))
            process = start_server(env, port, log, app="survey_service.app:app_from_env")
            stack.callback(stop_server, process)
            wait_ready(process, f"http://{HOST}:{port}", log_path)
            ports.append(port)
            pids.append(process.pid)

        start()
        started = time.perf_counter()
        plan = fill(f"http://{HOST}:{ports[0]}", admin)
        prepared = time.perf_counter() - started
        counter = Counter(database_url, plan)
        invitations = plan.pop("invitations")
        half = len(invitations) // 2
        for workers, share in ((1, invitations[:half]), (2, invitations[half:])):
            if workers == 2:
                start()
            result, stored = _behind_nginx(
                ports, pids, plan | {"invitations": share}, var_dir / f"nginx-{workers}", counter
            )
            outcomes.append(
                Outcome("PostgreSQL", workers, "behind nginx", result, stored, prepared)
            )
    return outcomes


def run() -> BenchResult:
    sqlite = run_sqlite()
    postgres: list[Outcome] = []
    database = _pg_database()
    if database is not None and NGINX_INSTALLED:
        name, url = database
        try:
            postgres = run_postgres(url)
        finally:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    elif database is not None:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database[0]}" WITH (FORCE)'))
    return result(sqlite, postgres)


# --- the report -------------------------------------------------------------------------------


def _row(label: str, stats: dict[str, Any]) -> str:
    return (
        f"{label:9s} offered {stats['offered_per_s']:6.1f}/s  achieved "
        f"{stats['achieved_per_s']:6.1f}/s  p50 {stats['p50_ms']:7.1f} ms  "
        f"p99 {stats['p99_ms']:7.1f} ms  max {stats['max_ms']:7.1f} ms  errors {stats['errors']}"
    )


def _cpu(phase: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {phase['cpu_seconds'][name]:.1f} CPU s = {per:.2f} ms/request"
        for name, per in phase["cpu_ms_per_request"].items()
    )


def _others(phase: dict[str, Any]) -> str:
    """What else the cores did in the window: the machine is shared."""
    available = phase["seconds"] * (phase["cores"] or 1)
    return (
        f"other processes {phase['other_cpu_seconds']:.1f} CPU s and steal "
        f"{phase['steal_seconds']:.1f} s of the {available:.0f} s the cores had"
    )


def _step(step: dict[str, Any]) -> str:
    total = step["total"]
    kept = "kept up" if keeps_up(step) else "did NOT keep up"
    return (
        f"{step['rate']:.0f}/s: achieved {total['achieved_per_s']:.0f}/s, "
        f"p99 {total['p99_ms']:,.0f} ms, {total['errors']} errors, {kept}"
    )


def _lines(outcome: Outcome, seconds: float) -> list[str]:
    result = outcome.result
    fixed = result["fixed"]
    processes = "process" if outcome.workers == 1 else "processes"
    lines = [
        f"{outcome.backend}, {outcome.workers} server {processes} {outcome.through}, "
        f"{result['rate']:.0f} requests/s for {seconds:.0f} s after {result['warmup']:.0f} s:"
    ]
    for kind in ("poll", "salary", "download"):
        stats = fixed["kinds"][kind]
        extra = ""
        if stats["errors"]:
            extra = (
                f"  (statuses {stats['statuses']}, timeouts {stats['timeouts']}, "
                f"connections {stats['connection_errors']})"
            )
        lines.append("  " + _row(kind, stats) + extra)
    lines.append("  " + _row("all", fixed["total"]))
    lines.append(
        f"  connections opened {result['connections_opened']} in all; at most "
        f"{fixed['peak_connections']} busy at once in the window "
        f"({result['peak_connections']} in any phase); {result['resent_on_stale_connections']} "
        f"requests sent again on a stale keep-alive connection"
    )
    lines.append(f"  CPU within the window: {_cpu(fixed)}")
    lines.append(f"  {_others(fixed)}")
    for what, sample in fixed["error_samples"].items():
        lines.append(f"  e.g. {what}: {sample[:160]}")
    for step in result["steps"]:
        lines.append(f"  step {_step(step)}; {_cpu(step)}; {_others(step)}")
    saturation = outcome.saturation
    lines.append(
        "  saturation: "
        + (f"{saturation:.0f} requests/s offered and kept up" if saturation else "none kept up")
    )
    check = ", ".join(
        f"{k} stored {outcome.stored[k]:,} / acknowledged {outcome.acknowledged[k]:,}"
        + (f" (+{outcome.unanswered[k]:,} unanswered)" if outcome.unanswered[k] else "")
        for k in ("poll", "salary")
    )
    lines.append(f"  {check}" + ("" if outcome.writes_ok else "  !!! MISMATCH !!!"))
    if result["invitations_exhausted"]:
        lines.append(f"  !!! the invitations ran out ({result['invitations']:,}) !!!")
    lines.append(f"  (data prepared in {outcome.prepare_seconds:.0f} s, before the clock)")
    return lines


def _rate(value: float | None) -> str:
    return "none" if value is None else f"{value:,.0f}/s"


def result(sqlite: Outcome, postgres: list[Outcome]) -> BenchResult:
    fixed = sqlite.fixed
    p99 = fixed["p99_ms"]
    writes_ok = all(o.writes_ok for o in [sqlite, *postgres])
    not_slower = False
    if len(postgres) == 2:
        one, two = postgres
        not_slower = (two.saturation or 0.0) >= (one.saturation or 0.0)
        if one.saturation and two.saturation:
            ratio = f"{two.saturation / one.saturation:.2f}x"
        else:
            ratio = "n/a"
        baseline = f"PG behind nginx at {PG_RATE:.0f}/s: " + "; ".join(
            f"×{o.workers} p99 {o.fixed['p99_ms']:,.0f} ms, {o.fixed['errors']} errors, "
            f"saturation {_rate(o.saturation)}, "
            f"{o.result['fixed']['cpu_ms_per_request']['servers']:.2f} CPU ms/request"
            for o in postgres
        )
    else:
        ratio, baseline = "n/a", "PostgreSQL or nginx not available"
    met = fixed["errors"] == 0 and p99 <= TARGET_P99_MS and writes_ok and not_slower
    target = (
        f"SQLite ×1 at {RATE:.0f}/s: p99 ≤ {TARGET_P99_MS:.0f} ms, 0 errors; "
        "every acknowledged write stored; PG ×2 saturation ≥ ×1"
    )
    mix = ", ".join(f"{k} {w:.0%}" for k, w in WEIGHTS.items())
    lines = [
        f"load        open-loop Poisson arrivals ({mix}) from a second process on loopback; "
        "latency from the scheduled arrival"
    ]
    lines += ["            " + line for line in _lines(sqlite, SECONDS)]
    for outcome in postgres:
        lines += ["            " + line for line in _lines(outcome, PG_SECONDS)]
    if len(postgres) == 2:
        lines.append(f"            PostgreSQL ×2 / ×1 saturation rate: {ratio}")
    else:
        lines.append("            PostgreSQL or nginx not available: its half was not run")
    cores = os.cpu_count() or 0
    lines.append(
        f"            target: {target}; the servers, PostgreSQL, nginx and the generator share "
        f"the {cores} cores"
    )
    figure = (
        f"{RATE:.0f}/s: p99 {p99:,.0f} ms, {fixed['errors']} errors; saturation "
        f"{_rate(sqlite.saturation)}; "
        f"{sqlite.result['fixed']['cpu_ms_per_request']['server']:.2f} CPU ms/request"
    )
    return BenchResult(
        name="load",
        figure=figure,
        baseline=baseline,
        ratio=ratio,
        target=target,
        met=met,
        lines=tuple(lines),
        data={
            "rate": RATE,
            "seconds": SECONDS,
            "warmup": WARMUP,
            "pg_rate": PG_RATE,
            "pg_seconds": PG_SECONDS,
            "weights": WEIGHTS,
            "sqlite": _data(sqlite),
            "postgresql": [_data(o) for o in postgres],
            "target_p99_ms": TARGET_P99_MS,
            "cpu_count": cores,
        },
    )


def _data(outcome: Outcome) -> dict[str, Any]:
    return {
        "workers": outcome.workers,
        "through": outcome.through,
        "result": outcome.result,
        "stored": outcome.stored,
        "acknowledged": outcome.acknowledged,
        "prepare_seconds": outcome.prepare_seconds,
    }


if __name__ == "__main__":
    print("\n".join(run().lines))
