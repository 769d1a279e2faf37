"""The limits against ballot stuffing that need no database: the per-link rate limit (with
an injected clock), the campaign setting that tunes it, and the one-time codes' shape."""

from __future__ import annotations

import pytest

from survey_service.collection.polls import (
    CODE_ALPHABET,
    CODE_LENGTH,
    DEFAULT_RATE_PER_MINUTE,
    LinkRateLimiter,
    answers_from_form,
    code_digest,
    device_cookie_name,
    new_code,
    new_slug,
    rate_per_minute,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_up_to_the_rate_is_admitted_and_the_next_answer_waits() -> None:
    clock = Clock()
    limiter = LinkRateLimiter(clock=clock)
    assert [await limiter.acquire("link", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert await limiter.acquire("link", 3) == pytest.approx(20.0)  # one token every 60/3 s


async def test_tokens_come_back_with_time_but_never_beyond_the_rate() -> None:
    clock = Clock()
    limiter = LinkRateLimiter(clock=clock)
    for _ in range(2):
        await limiter.acquire("link", 2)
    clock.now += 30  # half a minute: one token back
    assert await limiter.acquire("link", 2) == 0.0
    assert await limiter.acquire("link", 2) == pytest.approx(30.0)
    clock.now += 3600  # a long pause does not bank more than the rate
    assert [await limiter.acquire("link", 2) for _ in range(3)][2] > 0


async def test_each_link_has_its_own_limit() -> None:
    limiter = LinkRateLimiter(clock=Clock())
    assert await limiter.acquire(1, 1) == 0.0
    assert await limiter.acquire(1, 1) > 0
    assert await limiter.acquire(2, 1) == 0.0


async def test_a_lowered_rate_applies_at_once() -> None:
    clock = Clock()
    limiter = LinkRateLimiter(clock=clock)
    assert await limiter.acquire("link", 120) == 0.0
    # The 119 tokens left are capped at the new rate of 1: one more answer, then a wait.
    assert await limiter.acquire("link", 1) == 0.0
    assert await limiter.acquire("link", 1) == pytest.approx(60.0)


async def test_refilled_links_are_forgotten_when_the_table_is_full() -> None:
    clock = Clock()
    limiter = LinkRateLimiter(clock=clock, max_links=2)
    await limiter.acquire("a", 60)
    await limiter.acquire("b", 60)
    clock.now += 2  # both refilled
    await limiter.acquire("c", 60)
    assert len(limiter) == 1


async def test_a_busy_link_is_not_forgotten() -> None:
    clock = Clock()
    limiter = LinkRateLimiter(clock=clock, max_links=1)
    await limiter.acquire("busy", 1)
    await limiter.acquire("other", 1)
    assert await limiter.acquire("busy", 1) > 0


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, DEFAULT_RATE_PER_MINUTE),
        ({"poll_rate_per_minute": 2}, 2),
        ({"poll_rate_per_minute": 0}, DEFAULT_RATE_PER_MINUTE),
        ({"poll_rate_per_minute": "5"}, DEFAULT_RATE_PER_MINUTE),
        ({"poll_rate_per_minute": True}, DEFAULT_RATE_PER_MINUTE),
        ({"poll_rate_per_minute": 2.5}, DEFAULT_RATE_PER_MINUTE),
    ],
)
def test_campaign_setting_tunes_the_rate(settings: dict[str, object], expected: int) -> None:
    assert rate_per_minute(settings) == expected


def test_codes_avoid_characters_that_are_easy_to_mix_up() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1I") & set(CODE_ALPHABET)


def test_a_code_is_read_as_typed_and_belongs_to_its_link() -> None:
    assert code_digest(7, "abcd-efgh") == code_digest(7, " ABCD EFGH ")
    assert code_digest(7, "ABCDEFGH") != code_digest(8, "ABCDEFGH")


def test_slugs_and_cookie_names_do_not_repeat_the_link() -> None:
    slug = new_slug()
    assert len(slug) == 22  # 16 random bytes, base64url
    assert slug not in device_cookie_name(slug)
    assert device_cookie_name(slug).startswith("poll_")


def test_form_fields_become_the_schema_types() -> None:
    schema = {
        "properties": {
            "score": {"type": "integer"},
            "share": {"type": "number"},
            "union": {"type": "boolean"},
            "topics": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "comment": {"type": "string"},
            "blank": {"type": "integer"},
        }
    }
    fields = {
        "score": ["4"],
        "share": ["0.5"],
        "union": ["true"],
        "topics": ["a", "b"],
        "comment": ["第一行\r\n第二行 "],
        "blank": [""],
        "unknown": ["x"],
    }
    assert answers_from_form(schema, fields) == {
        "score": 4,
        "share": 0.5,
        "union": True,
        "topics": ["a", "b"],
        "comment": "第一行\n第二行",
    }
    assert answers_from_form(schema, {"score": ["four"]}) == {"score": "four"}
