"""SURVEY_TIME_ZONE and SURVEY_PUBLIC_BASE_URL as the service reads them at start: defaults,
a trailing slash dropped, and a clear refusal of a zone or an address that is not one."""

from __future__ import annotations

import pytest

from survey_service.settings import Settings


def test_beijing_time_and_the_requests_own_address_by_default() -> None:
    settings = Settings.from_env({})
    assert (settings.time_zone, settings.public_base_url) == ("Asia/Shanghai", None)


def test_the_public_address_is_kept_without_its_trailing_slash() -> None:
    settings = Settings.from_env(
        {"SURVEY_PUBLIC_BASE_URL": "https://survey.tongchuan.example/", "SURVEY_TIME_ZONE": "UTC"}
    )
    assert (settings.public_base_url, settings.zone.key) == (
        "https://survey.tongchuan.example",
        "UTC",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SURVEY_TIME_ZONE", "Beijing"),
        ("SURVEY_TIME_ZONE", "../../etc/passwd"),
        ("SURVEY_PUBLIC_BASE_URL", "survey.tongchuan.example"),
        ("SURVEY_PUBLIC_BASE_URL", "https://survey.tongchuan.example/p?x=1"),
        ("SURVEY_LOG_FORMAT", "xml"),
        ("SURVEY_WEBHOOK_RETRY_SCALE", "0"),  # every retry at once, for ever
        ("SURVEY_WEBHOOK_RETRY_SCALE", "-1"),
        ("SURVEY_WEBHOOK_RETRY_SCALE", "nan"),
    ],
)
def test_a_zone_or_address_that_is_not_one_stops_the_start(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
