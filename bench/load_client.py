"""The load generator of ``bench.load``, run as its own process on loopback:
``python -m bench.load_client PLAN.json RESULT.json``.

``clients`` tasks, each with its own keep-alive HTTP/1.1 connection (as a phone or a
browser holds one), send one request after another, each time drawing its kind by the
plan's weights: a poll answer to one of the links, a salary survey through a fresh
invitation (its token and its enterprise, used once: never a 409), or a wage-table
download (CSV or JSON). After ``warmup`` seconds, requests that start within the next
``seconds`` are measured; the ones still in flight at the end are awaited and counted.

The HTTP client is a few lines over asyncio streams on uvloop rather than httpx: this
process shares two cores with the server, and httpx spends about ten times the CPU per
request (it would take most of a core at these rates, and the figures would measure it).
It reads ``Content-Length`` and chunked bodies (the CSV download streams), nothing else.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import uvloop

TIMEOUT = 10.0  # seconds before a request counts as timed out
KINDS = ("poll", "salary", "download")


@dataclass
class Plan:
    host: str
    port: int
    clients: int
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


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    timeouts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # connection
    samples: dict[str, str] = field(default_factory=dict)  # one body of each error status
    exhausted: int = 0  # salary draws after the invitations ran out
    # Every 2xx, warm-up and all: what the database must hold afterwards.
    acknowledged: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 20
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


async def client(traffic: Traffic, plan: Plan, tally: Tally, window: tuple[float, float]) -> None:
    connection = Connection(plan.host, plan.port)
    start, end = window
    try:
        while time.perf_counter() < end:
            drawn = traffic.draw()
            if drawn is None:
                tally.exhausted += 1
                continue
            kind, head, body = drawn
            began = time.perf_counter()
            measured = start <= began < end
            try:
                async with asyncio.timeout(TIMEOUT):
                    status, content = await connection.send(head, body)
            except TimeoutError:
                connection.close()
                if measured:
                    tally.timeouts[kind] += 1
                continue
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                connection.close()
                if measured:
                    tally.failures[kind] += 1
                    tally.samples.setdefault(f"{kind} connection", repr(exc))
                continue
            if 200 <= status < 300:
                tally.acknowledged[kind] += 1
            if not measured:
                continue
            tally.latencies[kind].append(time.perf_counter() - began)
            tally.statuses[kind][status] += 1
            if status >= 300:
                tally.samples.setdefault(f"{kind} {status}", content[:300].decode(errors="replace"))
    finally:
        connection.close()


def percentile(sorted_values: list[float], p: float) -> float:
    """Inverted CDF: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def summary(tally: Tally, seconds: float) -> dict[str, Any]:
    def stats(values: list[float], ok: int, errors: int) -> dict[str, Any]:
        ordered = sorted(values)
        return {
            "requests": len(values) + errors,
            "ok": ok,
            "errors": errors,
            "per_s": len(values) / seconds,
            "p50_ms": percentile(ordered, 50) * 1000,
            "p99_ms": percentile(ordered, 99) * 1000,
            "max_ms": (ordered[-1] * 1000) if ordered else float("nan"),
        }

    kinds: dict[str, Any] = {}
    every: list[float] = []
    all_ok = all_errors = 0
    for kind in KINDS:
        values = tally.latencies.get(kind, [])
        statuses = tally.statuses.get(kind, {})
        ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
        non_2xx = sum(n for status, n in statuses.items() if not 200 <= status < 300)
        errors = non_2xx + tally.timeouts.get(kind, 0) + tally.failures.get(kind, 0)
        kinds[kind] = stats(values, ok, errors) | {
            "statuses": {str(s): n for s, n in sorted(statuses.items())},
            "non_2xx": non_2xx,
            "timeouts": tally.timeouts.get(kind, 0),
            "connection_errors": tally.failures.get(kind, 0),
        }
        every += values
        all_ok += ok
        all_errors += errors
    return {
        "kinds": kinds,
        "total": stats(every, all_ok, all_errors),
        "error_samples": tally.samples,
        "acknowledged": {kind: tally.acknowledged.get(kind, 0) for kind in KINDS},
        "invitations_exhausted": tally.exhausted,
    }


async def run(plan: Plan) -> dict[str, Any]:
    traffic = Traffic(plan, seed=7)
    tally = Tally()
    start = time.perf_counter() + plan.warmup
    end = start + plan.seconds
    await asyncio.gather(*(client(traffic, plan, tally, (start, end)) for _ in range(plan.clients)))
    return summary(tally, plan.seconds) | {
        "clients": plan.clients,
        "seconds": plan.seconds,
        "warmup": plan.warmup,
        "weights": plan.weights,
        "invitations_used": traffic.next_invitation,
        "invitations": len(plan.invitations),
    }


def main(argv: list[str]) -> int:
    raw = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    raw["invitations"] = [tuple(i) for i in raw["invitations"]]
    result = uvloop.run(run(Plan(**raw)))
    Path(argv[2]).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
