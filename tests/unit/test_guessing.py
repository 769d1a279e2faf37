"""The guessing throttle as kept in the process (SQLite), with an injected clock: failures
alone empty an address's bucket, a success never refills it, a token that succeeded lately
passes a throttled address, and refused attempts are reported at most once a minute per
address."""

from __future__ import annotations

import pytest

from survey_service.guessing import REMEMBER_SECONDS, GuessingThrottle
from survey_service.ratelimit import TokenBuckets, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_address_may_fail_its_rate_at_once_then_waits() -> None:
    throttle = GuessingThrottle(3, clock=Clock())
    for _ in range(3):
        assert await throttle.wait("10.0.0.1", "guess") == 0.0
        await throttle.failed("10.0.0.1")
    assert await throttle.wait("10.0.0.1", "guess") == pytest.approx(20.0)
    assert await throttle.wait("10.0.0.2", "guess") == 0.0  # another address


async def test_successes_neither_refill_nor_reset_the_failures() -> None:
    clock = Clock()
    throttle = GuessingThrottle(2, clock=clock)
    await throttle.failed("a")
    await throttle.failed("a")
    for _ in range(100):
        await throttle.succeeded("real")
    assert await throttle.wait("a", "guess") == pytest.approx(30.0)
    clock.now += 30
    assert await throttle.wait("a", "guess") == 0.0  # only time gives a failure back


async def test_a_token_that_succeeded_lately_passes_a_throttled_address() -> None:
    clock = Clock()
    throttle = GuessingThrottle(1, clock=clock)
    await throttle.succeeded("admin")
    await throttle.failed("shared")
    assert await throttle.wait("shared", "guess") > 0
    assert await throttle.wait("shared", "admin") == 0.0
    clock.now += REMEMBER_SECONDS + 1
    await throttle.failed("shared")
    assert await throttle.wait("shared", "admin") > 0  # not seen for an hour: waits like a guess


async def test_remembered_tokens_are_bounded() -> None:
    throttle = GuessingThrottle(1, clock=Clock(), max_entries=2)
    for digest in ("a", "b", "c"):
        await throttle.succeeded(digest)
    await throttle.failed("x")
    assert [await throttle.wait("x", d) == 0.0 for d in ("a", "b", "c")] == [False, True, True]


async def test_refusals_are_reported_at_most_once_a_minute_with_their_count() -> None:
    clock = Clock()
    throttle = GuessingThrottle(1, clock=clock)
    assert [await throttle.refused("a") for _ in range(4)] == [1, 0, 0, 0]
    clock.now += 60
    assert await throttle.refused("a") == 4  # the three held back and this one
    assert await throttle.refused("b") == 1


async def test_no_throttle_when_switched_off() -> None:
    throttle = GuessingThrottle(0, clock=Clock())
    for _ in range(100):
        await throttle.failed("a")
    assert await throttle.wait("a", "guess") == 0.0


def test_waiting_takes_no_token() -> None:
    buckets = TokenBuckets(clock=Clock())
    assert buckets.wait("k", 1) == 0.0
    assert buckets.wait("k", 1) == 0.0
    assert buckets.acquire("k", 1) == 0.0
    assert buckets.wait("k", 1) == pytest.approx(60.0)


@pytest.mark.parametrize(("wait", "header"), [(0.01, 1), (1.0, 1), (1.2, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_never_zero(wait: float, header: int) -> None:
    assert retry_after(wait) == header
