"""The per-process cache of the poll behind each public link (an injected clock)."""

from __future__ import annotations

from typing import cast

from survey_service.collection.polls import Poll, PollCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def poll(name: str) -> Poll:
    return cast(Poll, name)  # the cache never looks inside


def test_a_poll_is_trusted_for_the_ttl() -> None:
    clock = Clock()
    cache = PollCache(1.0, clock=clock)
    assert cache.get("a") is None
    cache.put("a", poll("A"))
    clock.now += 0.9
    assert cache.get("a") == "A"


def test_an_expired_poll_is_reloaded_by_one_request_while_the_others_keep_it() -> None:
    clock = Clock()
    cache = PollCache(1.0, clock=clock)
    cache.put("a", poll("A"))
    clock.now += 1.5
    assert cache.get("a") is None  # this request reads it again
    assert cache.get("a") == "A"  # the next ones meanwhile use what there was
    cache.put("a", poll("A2"))
    assert cache.get("a") == "A2"


def test_a_ttl_of_zero_keeps_nothing() -> None:
    cache = PollCache(0.0)
    cache.put("a", poll("A"))
    assert cache.get("a") is None
    assert len(cache) == 0


def test_forget_and_clear() -> None:
    cache = PollCache(60.0)
    cache.put("a", poll("A"))
    cache.put("b", poll("B"))
    cache.forget("a")
    assert cache.get("a") is None
    assert cache.get("b") == "B"
    cache.clear()
    assert len(cache) == 0


def test_a_full_cache_drops_expired_entries_then_everything() -> None:
    clock = Clock()
    cache = PollCache(1.0, clock=clock, max_links=2)
    cache.put("a", poll("A"))
    clock.now += 2
    cache.put("b", poll("B"))
    cache.put("c", poll("C"))  # full: "a" has expired and goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "B", "C")
    cache.put("d", poll("D"))  # full of live entries: start again
    assert len(cache) == 1
    assert cache.get("d") == "D"
