"""Token guessing, slowed: failed bearer tokens and failed sign-ins counted per client
address, in a throttle of their own.

Each address may fail ``per_minute`` times at once, then once every ``60 / per_minute``
seconds (a token bucket that only failures take from). While its bucket is empty, a token
from that address is refused with 429 before it is even looked up, unless the service saw
the same token succeed in the last hour: so a flood of bad tokens from an address
(a shared NAT, a proxy) does not lock out the admin working from it, and guesses are not
checked faster than the bucket refills. Nothing a valid token does touches the bucket: a
success neither refills nor resets it, so a guesser holding one real token cannot use it
to buy more guesses. The throttle is apart from each token's own request rate
(``settings.token_rate_per_minute``): bad tokens cost no valid token any of its rate.

The address is the peer the server sees, or behind a proxy named in
``SURVEY_TRUSTED_PROXIES`` the client it forwards for (``app.proxy_middleware``); a header
from anyone else is ignored.

On SQLite (one server process) all of this is kept in the process. On PostgreSQL the
failures of an address, the tokens seen to succeed and the once-a-minute report are kept in
the shared ``rate_limits`` table (``survey_service.shared_rates``), so that N processes
throttle an address as one does and a token that worked through one process passes a
throttled address in every other: a failure is one upsert (``auth:<address>``); a
success writes a mark (``known:<token digest>``, the digest the token table holds anyway)
at most every ``MARK_SECONDS`` per token and process; an attempt with a token this process
has not seen succeed reads the address's and the token's rows in one query (a token this
process has seen costs none); a refused attempt asks for the report's turn
(``reported:<address>``, one a minute) at most once a minute per process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from survey_service.db.engine import Database
from survey_service.ratelimit import TokenBuckets
from survey_service.shared_rates import WINDOW, SharedRates, emission_interval

REMEMBER_SECONDS = 3600.0  # how long a token that succeeded passes a throttled address
REPORT_SECONDS = 60.0  # at most one audit row a minute per address for refused attempts
MARK_SECONDS = 600.0  # how often a process renews a known token's shared mark


class GuessingThrottle:
    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._max_entries = max_entries
        self._failures = TokenBuckets(clock=clock, max_keys=max_entries)
        self._known: OrderedDict[str, float] = OrderedDict()  # token digest -> last success
        self._marked: OrderedDict[str, float] = OrderedDict()  # token digest -> mark written
        self._refused: dict[str, tuple[int, float]] = {}  # address -> (unreported, next report)
        self._shared: SharedRates | None = None

    def attach(self, db: Database) -> None:
        """Keep the throttle in ``db`` when it is PostgreSQL (see the module)."""
        self._shared = None if db.is_sqlite else SharedRates(db, clock=self._clock)

    async def wait(self, address: str, digest: str) -> float:
        """Seconds before an attempt from ``address`` with the token of ``digest`` may be
        looked up; 0.0 when it may be now."""
        if self.per_minute <= 0:
            return 0.0
        seen = self._known.get(digest)
        if seen is not None and self._clock() - seen < REMEMBER_SECONDS:
            return 0.0
        if self._shared is None:
            return self._failures.wait(address, self.per_minute)
        ahead = await self._shared.ahead(f"auth:{address}", f"known:{digest}")
        if ahead.get(f"known:{digest}", 0.0) > 0:
            return 0.0
        failures = ahead.get(f"auth:{address}")
        if failures is None:
            return 0.0
        tolerance = (WINDOW - emission_interval(self.per_minute)).total_seconds()
        return max(0.0, failures - tolerance)

    async def failed(self, address: str) -> None:
        if self.per_minute <= 0:
            return
        if self._shared is None:
            self._failures.acquire(address, self.per_minute)
        else:
            await self._shared.acquire(f"auth:{address}", self.per_minute)

    async def succeeded(self, digest: str) -> None:
        now = self._clock()
        _remember(self._known, digest, now, self._max_entries)
        if self._shared is None or self.per_minute <= 0:
            return
        marked = self._marked.get(digest)
        if marked is None or now - marked >= MARK_SECONDS:
            await self._shared.mark(f"known:{digest}", REMEMBER_SECONDS)
            _remember(self._marked, digest, now, self._max_entries)

    async def refused(self, address: str) -> int:
        """Count an attempt refused unseen; the number refused since the address's last
        report when it is time for another (at most one a minute), else 0."""
        now = self._clock()
        count, next_report = self._refused.get(address, (0, float("-inf")))
        count += 1
        if now < next_report:
            self._refused[address] = (count, next_report)
            return 0
        if self._shared is not None:
            # Another process may have reported this minute: then this one waits its turn.
            wait = await self._shared.acquire(f"reported:{address}", 1)
            if wait > 0:
                self._refused[address] = (count, now + wait)
                return 0
        if len(self._refused) >= self._max_entries:
            self._refused = {a: entry for a, entry in self._refused.items() if now < entry[1]}
        self._refused[address] = (0, now + REPORT_SECONDS)
        return count


def _remember(entries: OrderedDict[str, float], digest: str, now: float, most: int) -> None:
    entries[digest] = now
    entries.move_to_end(digest)
    while len(entries) > most:
        entries.popitem(last=False)
