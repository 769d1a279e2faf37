"""The open-loop load generator of ``bench.load``, run as its own process on loopback:
``python -m bench.load_client PLAN.json RESULT.json``.

Requests arrive at a fixed rate whatever the server answers: the gaps between arrivals are
exponential (Poisson arrivals) from a seeded RNG, and each arrival draws its kind by the
plan's weights: a poll answer to one of the links, a salary survey through a fresh
invitation (its token and its enterprise, used once: never a 409), or a wage-table
download (CSV or JSON). An arrival takes an idle keep-alive connection from a pool and
opens a new one when every one is busy (as many phones and browsers would), so a slow
server meets more connections rather than fewer requests; ``MAX_CONNECTIONS`` only bounds
file descriptors, and the number of connections opened is reported. Latency runs from the
arrival's scheduled time, not from when it was sent, so a request that waited behind the
generator's own delay or for a connection counts that wait (no coordinated omission).

The phases, in order: ``warmup`` s at ``rate`` (not measured), then ``seconds`` s at
``rate`` measured (requests that arrive in the window, awaited to the end). Then, if
``steps`` is set, the saturation search: steps of ``steps.seconds`` s, each after the
previous one's requests have all been answered, going up by ``steps.delta`` from ``rate``
while a step keeps up (and down from it while the measured phase did not), until a step
gives the other answer or ``steps.count`` steps have run, then one step half a delta
between the last two. A phase keeps up when its achieved rate (2xx completed within it, per
second) is at least ``KEEP_UP`` of its offered rate (arrivals per second), its p99 is at
most ``MAX_P99_MS`` and it has no error; the saturation rate is the highest rate asked of a
phase that kept up. A keep-alive connection the server closed while idle is replaced
before use, and a request that meets such a close before any byte of an answer is sent
again once on a new connection, as HTTP clients do (counted; a request stored twice would
show in the stored-vs-acknowledged check).

Per phase and per kind: offered and achieved rate, p50/p99/max latency, errors (non-2xx,
timeouts after ``TIMEOUT`` s, broken connections), connections opened, and the CPU seconds
spent within the phase's window (from ``/proc``) by the processes named in ``cpu_pids``
and their children, by those whose command line holds a ``cpu_titles`` entry, and by this
process (it shares the cores); beside them what else the machine's cores did (their busy
time beyond those processes, and the time a hypervisor gave to other machines), so that a
run slowed by neighbours says so. Every 2xx of every phase is counted for the
stored-vs-acknowledged check, and every request left unanswered (timed out or broken),
which the server may have stored or not.

The HTTP client is a few lines over asyncio streams on uvloop rather than httpx: this
process shares two cores with the server, and httpx spends about ten times the CPU per
request (it would take most of a core at these rates, and the figures would measure it).
It reads ``Content-Length`` and chunked bodies (the CSV download streams), nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import uvloop

TIMEOUT = 10.0  # seconds from sending before a request counts as timed out
KINDS = ("poll", "salary", "download")
MAX_CONNECTIONS = 4000
KEEP_UP = 0.95
MAX_P99_MS = 1000.0
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Steps:
    seconds: float
    delta: float
    count: int


@dataclass
class Plan:
    host: str
    port: int
    rate: float
    seconds: float
    warmup: float
    weights: dict[str, float]
    links: list[str]
    answer: dict[str, Any]
    invitations: list[tuple[str, str]]  # (token, uscc), one salary survey each
    documents: list[dict[str, Any]]  # salary surveys whose enterprise gets the uscc
    downloads: list[str]  # paths of wage tables (CSV and JSON)
    analyst: str
    salary_campaign: int
    steps: Steps | None = None
    cpu_pids: dict[str, list[int]] = field(default_factory=dict)  # group -> process ids
    cpu_titles: dict[str, str] = field(default_factory=dict)  # group -> command-line part
    seed: int = 7


@dataclass
class Outcome:
    """One request: its kind, when it was due, and how it ended."""

    kind: str
    due: float
    finished: float
    status: int | None = None  # None: timed out or broken
    timed_out: bool = False
    sample: str = ""


@dataclass
class Phase:
    name: str
    rate: float
    seconds: float
    measured: bool
    start: float = 0.0
    arrivals: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0  # CPU seconds of every process on the machine
    steal: float = 0.0  # CPU seconds the hypervisor gave to other machines
    connections_opened: int = 0
    peak_connections: int = 0

    @property
    def end(self) -> float:
        return self.start + self.seconds


class Connection:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.reader is not None and self.reader.at_eof():
            self.close()  # the server closed it while idle (its keep-alive timeout)
        reused = self.reader is not None
        try:
            return await self._send(head, body)
        except asyncio.IncompleteReadError as exc:
            if not reused or exc.partial:
                raise
        # Closed by the server as the request went out, before any byte of an answer: sent
        # again on a new connection, as HTTP clients do with a stale keep-alive connection
        # (a request that was stored all the same would show in the stored-vs-acknowledged
        # check).
        self.close()
        self.pool.resent += 1
        return await self._send(head, body)

    async def _send(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.pool.opened += 1
            self.reader, self.writer = await asyncio.open_connection(
                self.pool.host, self.pool.port, limit=1 << 20
            )
        self.writer.write(head + body)
        status_line_and_headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(status_line_and_headers[9:12])
        headers = status_line_and_headers.lower()
        if b"transfer-encoding: chunked" in headers:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            content = b"".join(parts)
        else:
            start = headers.find(b"content-length:")
            length = int(headers[start + 15 : headers.find(b"\r\n", start)]) if start >= 0 else 0
            content = await self.reader.readexactly(length)
        if b"connection: close" in headers:
            self.close()
        return status, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Pool:
    """Idle keep-alive connections, last used first; a new one when all are busy."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.busy = 0
        self.peak = 0
        self.opened = 0  # TCP connections opened, reconnections included
        self.resent = 0  # requests sent again after a stale keep-alive connection
        self.waiters: asyncio.Queue[Connection] = asyncio.Queue()
        self.waiting = 0

    async def acquire(self) -> Connection:
        if self.idle:
            connection = self.idle.pop()
        elif self.busy < MAX_CONNECTIONS:
            connection = Connection(self)
        else:
            self.waiting += 1
            try:
                connection = await self.waiters.get()
            finally:
                self.waiting -= 1
            self.busy -= 1  # handed over by release(), still counted busy there
        self.busy += 1
        self.peak = max(self.peak, self.busy)
        return connection

    def release(self, connection: Connection) -> None:
        if self.waiting:
            self.waiters.put_nowait(connection)
            return
        self.busy -= 1
        self.idle.append(connection)

    def close(self) -> None:
        for connection in self.idle:
            connection.close()


def _head(method: str, path: str, host: str, token: str | None, body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Traffic:
    """Draws the requests: kinds by weight, links and downloads at random, each
    invitation once."""

    def __init__(self, plan: Plan, seed: int) -> None:
        self.plan = plan
        self.rng = random.Random(seed)
        self.kinds = list(plan.weights)
        self.cumulative = [plan.weights[k] for k in self.kinds]
        self.next_invitation = 0
        self.exhausted = 0  # salary draws after the invitations ran out
        self.answer = msgspec.json.encode({"data": plan.answer})
        self.host = f"{plan.host}:{plan.port}"

    def draw(self) -> tuple[str, bytes, bytes] | None:
        kind = self.rng.choices(self.kinds, weights=self.cumulative)[0]
        if kind == "poll":
            link = self.rng.choice(self.plan.links)
            path = f"/api/v1/polls/{link}/responses"
            return kind, _head("POST", path, self.host, None, self.answer), self.answer
        if kind == "salary":
            if self.next_invitation >= len(self.plan.invitations):
                self.exhausted += 1
                return None
            token, uscc = self.plan.invitations[self.next_invitation]
            self.next_invitation += 1
            document = self.rng.choice(self.plan.documents)
            data = {**document, "enterprise": {**document["enterprise"], "uscc": uscc}}
            body = msgspec.json.encode({"data": data, "status": "submitted"})
            path = f"/api/v1/campaigns/{self.plan.salary_campaign}/submissions"
            return kind, _head("POST", path, self.host, token, body), body
        path = self.rng.choice(self.plan.downloads)
        return kind, _head("GET", path, self.host, self.plan.analyst, b""), b""


# --- CPU of the server processes, from /proc ----------------------------------------------


def _tree(pid: int) -> list[int]:
    found = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found += _tree(int(child))
    return found


def _ticks(pid: int) -> int:
    """User and system CPU of ``pid`` and of the children it has reaped."""
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return 0


def _titled(title: str) -> list[int]:
    """Processes whose command line holds ``title`` (a PostgreSQL backend's names its
    database)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if title.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def cpu_ticks(groups: dict[str, list[int]], titles: dict[str, str]) -> dict[str, dict[int, int]]:
    """CPU ticks so far of each process of each group: the processes named and their
    descendants, or the processes whose command line holds the group's title."""
    found = {name: [p for pid in pids for p in _tree(pid)] for name, pids in groups.items()}
    found |= {name: _titled(title) for name, title in titles.items()}
    return {name: {pid: _ticks(pid) for pid in pids} for name, pids in found.items()}


def machine_ticks() -> tuple[int, int]:
    """All cores' busy ticks so far (user, nice, system, irq, softirq) and the ticks the
    hypervisor gave to other machines (steal), from /proc/stat."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, steal


def cpu_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    """A group's CPU seconds between two readings: each process's growth, a new process's
    whole time. A process that ended in between is missed (a PostgreSQL backend whose
    connection was closed): an undercount, never a negative figure."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICK


# --- the arrivals -----------------------------------------------------------------------------


class Generator:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.traffic = Traffic(plan, seed=plan.seed)
        self.arrivals = random.Random(plan.seed + 1)
        self.pool = Pool(plan.host, plan.port)
        # Every 2xx, warm-up and all: what the database must hold afterwards.
        self.acknowledged: dict[str, int] = defaultdict(int)
        self.done: list[Outcome] = []  # every phase's, for the rates achieved in a window
        # Timed out or broken: the server may have stored them or not.
        self.unanswered: dict[str, int] = defaultdict(int)

    async def request(self, phase: Phase, kind: str, head: bytes, body: bytes, due: float) -> None:
        connection = await self.pool.acquire()
        outcome = Outcome(kind, due, 0.0)
        try:
            async with asyncio.timeout(TIMEOUT):
                outcome.status, content = await connection.send(head, body)
        except TimeoutError:
            connection.close()
            outcome.timed_out = True
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            connection.close()
            outcome.sample = repr(exc)
        else:
            if outcome.status >= 300:
                outcome.sample = content[:300].decode(errors="replace")
        finally:
            self.pool.release(connection)
        outcome.finished = time.perf_counter()
        if outcome.status is None:
            self.unanswered[kind] += 1
        elif 200 <= outcome.status < 300:
            self.acknowledged[kind] += 1
        phase.outcomes.append(outcome)
        self.done.append(outcome)

    async def run_phase(self, phase: Phase, start: float) -> None:
        """Arrivals from ``start`` for the phase's seconds; returns when the last has been
        sent (not answered)."""
        phase.start = start
        opened = self.pool.opened
        self.pool.peak = self.pool.busy
        groups = self.plan.cpu_pids | {"generator": [os.getpid()]}
        before = cpu_ticks(groups, self.plan.cpu_titles)
        busy, steal = machine_ticks()
        due = start + self.arrivals.expovariate(phase.rate)
        while due < phase.end:
            delay = due - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
            drawn = self.traffic.draw()
            if drawn is not None:
                phase.arrivals += 1
                task = asyncio.create_task(self.request(phase, *drawn, due))
                phase.tasks.add(task)
                task.add_done_callback(phase.tasks.discard)
            due += self.arrivals.expovariate(phase.rate)
        await asyncio.sleep(max(0.0, phase.end - time.perf_counter()))
        after = cpu_ticks(groups, self.plan.cpu_titles)
        phase.cpu = {name: cpu_seconds(before[name], after[name]) for name in after}
        busy_after, steal_after = machine_ticks()
        phase.machine_busy = (busy_after - busy) / TICK
        phase.steal = (steal_after - steal) / TICK
        phase.connections_opened = self.pool.opened - opened
        phase.peak_connections = self.pool.peak

    async def run(self) -> list[Phase]:
        plan = self.plan
        warmup = Phase("warm-up", plan.rate, plan.warmup, measured=False)
        fixed = Phase("fixed", plan.rate, plan.seconds, measured=True)
        await self.run_phase(warmup, time.perf_counter())
        await self.run_phase(fixed, warmup.end)
        phases = [warmup, fixed]
        await drain(phases)
        if plan.steps is not None:
            phases += await self.search(plan.steps, keeps_up(summary(fixed, self.done)))
        self.pool.close()
        return phases

    async def step(self, rate: float, seconds: float, n: int) -> tuple[Phase, bool]:
        step = Phase(f"step {n}", rate, seconds, measured=True)
        await self.run_phase(step, time.perf_counter())
        await drain([step])
        return step, keeps_up(summary(step, self.done))

    async def search(self, steps: Steps, fixed_kept_up: bool) -> list[Phase]:
        """Steps of ``steps.delta`` away from the fixed rate (up if it kept up, down if
        not) until one changes the answer, then one step of half a delta between the
        last two: the saturation rate to within half a delta."""
        done: list[Phase] = []
        direction = 1 if fixed_kept_up else -1
        rate = self.plan.rate
        while len(done) < steps.count:
            rate += direction * steps.delta
            if rate <= 0:
                return done
            step, kept_up = await self.step(rate, steps.seconds, len(done) + 1)
            done.append(step)
            if kept_up != fixed_kept_up:
                break
        else:
            return done
        # Between the last step that kept up and the first that did not.
        between = rate - direction * steps.delta / 2
        step, _ = await self.step(between, steps.seconds, len(done) + 1)
        return [*done, step]


async def drain(phases: list[Phase]) -> None:
    for phase in phases:
        while phase.tasks:
            await asyncio.gather(*list(phase.tasks))


# --- the figures ----------------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Inverted CDF: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def _stats(outcomes: list[Outcome], completed_ok: int, phase: Phase) -> dict[str, Any]:
    answered = sorted(o.finished - o.due for o in outcomes if o.status is not None)
    statuses: dict[int, int] = defaultdict(int)
    for o in outcomes:
        if o.status is not None:
            statuses[o.status] += 1
    non_2xx = sum(n for status, n in statuses.items() if not 200 <= status < 300)
    timeouts = sum(o.timed_out for o in outcomes)
    broken = sum(o.status is None and not o.timed_out for o in outcomes)
    return {
        "requests": len(outcomes),
        "ok": len(outcomes) - non_2xx - timeouts - broken,
        "offered_per_s": len(outcomes) / phase.seconds,
        "achieved_per_s": completed_ok / phase.seconds,
        "p50_ms": percentile(answered, 50) * 1000,
        "p99_ms": percentile(answered, 99) * 1000,
        "max_ms": answered[-1] * 1000 if answered else float("nan"),
        "errors": non_2xx + timeouts + broken,
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
        "non_2xx": non_2xx,
        "timeouts": timeouts,
        "connection_errors": broken,
    }


def summary(phase: Phase, done: list[Outcome]) -> dict[str, Any]:
    """The phase's figures: latency and errors of the requests that arrived in its window
    (answered whenever); as its achieved rate the 2xx answered within the window, whenever
    they arrived; CPU per response answered within the window."""
    within = [o for o in done if phase.start <= o.finished < phase.end]

    def ok_within(kind: str | None) -> int:
        return sum(
            1
            for o in within
            if (kind is None or o.kind == kind) and o.status is not None and 200 <= o.status < 300
        )

    arrived = phase.outcomes
    kinds = {k: _stats([o for o in arrived if o.kind == k], ok_within(k), phase) for k in KINDS}
    total = _stats(arrived, ok_within(None), phase)
    samples: dict[str, str] = {}
    for o in arrived:
        if o.timed_out:
            continue
        if o.status is None or o.status >= 300:
            samples.setdefault(f"{o.kind} {o.status or 'connection'}", o.sample)
    answered = sum(o.status is not None for o in within)
    return {
        "name": phase.name,
        "rate": phase.rate,
        "seconds": phase.seconds,
        "kinds": kinds,
        "total": total,
        "error_samples": samples,
        "connections_opened": phase.connections_opened,
        "peak_connections": phase.peak_connections,
        "answered_within": answered,
        "cpu_seconds": phase.cpu,
        # What else ran: the machine's busy time beyond the groups above, and steal.
        "other_cpu_seconds": phase.machine_busy - sum(phase.cpu.values()),
        "steal_seconds": phase.steal,
        "cores": os.cpu_count(),
        "cpu_ms_per_request": {
            name: (seconds * 1000 / answered if answered else float("nan"))
            for name, seconds in phase.cpu.items()
        },
    }


def keeps_up(stats: dict[str, Any]) -> bool:
    total = stats["total"]
    return bool(
        total["achieved_per_s"] >= KEEP_UP * total["offered_per_s"]
        and total["p99_ms"] <= MAX_P99_MS
        and total["errors"] == 0
    )


def saturation(steps: list[dict[str, Any]], fixed: dict[str, Any]) -> float | None:
    """The highest rate asked of a phase that kept up, the fixed phase included (its arrivals
    per second are ``total.offered_per_s``); None if none did."""
    good = [s["rate"] for s in [fixed, *steps] if keeps_up(s)]
    return max(good) if good else None


async def run(plan: Plan) -> dict[str, Any]:
    generator = Generator(plan)
    phases = await generator.run()
    fixed, *steps = [summary(p, generator.done) for p in phases[1:]]
    return {
        "fixed": fixed,
        "steps": steps,
        "saturation_per_s": saturation(steps, fixed),
        "acknowledged": {kind: generator.acknowledged.get(kind, 0) for kind in KINDS},
        "unanswered": {kind: generator.unanswered.get(kind, 0) for kind in KINDS},
        "connections_opened": generator.pool.opened,
        "peak_connections": max([p.peak_connections for p in phases]),
        "resent_on_stale_connections": generator.pool.resent,
        "invitations_used": generator.traffic.next_invitation,
        "invitations": len(plan.invitations),
        "invitations_exhausted": generator.traffic.exhausted,
        "rate": plan.rate,
        "seconds": plan.seconds,
        "warmup": plan.warmup,
        "weights": plan.weights,
    }


def main(argv: list[str]) -> int:
    raw = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    raw["invitations"] = [tuple(i) for i in raw["invitations"]]
    if raw.get("steps") is not None:
        raw["steps"] = Steps(**raw["steps"])
    result = uvloop.run(run(Plan(**raw)))
    Path(argv[2]).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
