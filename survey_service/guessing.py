"""Token guessing, slowed: failed bearer tokens and failed sign-ins counted per client
address, in a throttle of their own.

Each address may fail ``per_minute`` times at once, then once every ``60 / per_minute``
seconds (a token bucket that only failures take from). While its bucket is empty, a token
from that address is refused with 429 before it is even looked up, unless this process
saw the same token succeed in the last hour: so a flood of bad tokens from an address
(a shared NAT, a proxy) does not lock out the admin working from it, and guesses are not
checked faster than the bucket refills. Nothing a valid token does touches the bucket: a
success neither refills nor resets it, so a guesser holding one real token cannot use it
to buy more guesses. The throttle is apart from each token's own request rate
(``settings.token_rate_per_minute``): bad tokens cost no valid token any of its rate.

The address is the peer the server sees, or behind a proxy named in
``SURVEY_TRUSTED_PROXIES`` the client it forwards for (``app.proxy_middleware``); a header
from anyone else is ignored. The state is per process, like every bucket here.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from survey_service.ratelimit import TokenBuckets

REMEMBER_SECONDS = 3600.0  # how long a token that succeeded passes a throttled address
REPORT_SECONDS = 60.0  # at most one audit row a minute per address for refused attempts


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
        self._refused: dict[str, tuple[int, float]] = {}  # address -> (unreported, reported at)

    def wait(self, address: str, digest: str) -> float:
        """Seconds before an attempt from ``address`` with the token of ``digest`` may be
        looked up; 0.0 when it may be now."""
        if self.per_minute <= 0:
            return 0.0
        seen = self._known.get(digest)
        if seen is not None and self._clock() - seen < REMEMBER_SECONDS:
            return 0.0
        return self._failures.wait(address, self.per_minute)

    def failed(self, address: str) -> None:
        if self.per_minute > 0:
            self._failures.acquire(address, self.per_minute)

    def succeeded(self, digest: str) -> None:
        self._known[digest] = self._clock()
        self._known.move_to_end(digest)
        while len(self._known) > self._max_entries:
            self._known.popitem(last=False)

    def refused(self, address: str) -> int:
        """Count an attempt refused unseen; the number refused since the address's last
        report when it is time for another (at most one a minute), else 0."""
        now = self._clock()
        count, reported_at = self._refused.get(address, (0, float("-inf")))
        count += 1
        if now - reported_at < REPORT_SECONDS:
            self._refused[address] = (count, reported_at)
            return 0
        if len(self._refused) >= self._max_entries:
            self._refused = {
                a: entry for a, entry in self._refused.items() if now - entry[1] < REPORT_SECONDS
            }
        self._refused[address] = (0, now)
        return count
