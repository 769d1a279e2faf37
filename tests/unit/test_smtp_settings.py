"""SURVEY_SMTP_* as the service reads them at start: no e-mail unless a host is named, a
host without a sender refused, STARTTLS on unless turned off."""

from __future__ import annotations

import pytest

from survey_service.settings import Settings, SmtpSettings


def test_no_host_no_email() -> None:
    assert Settings.from_env({}).smtp is None
    assert Settings.from_env({"SURVEY_SMTP_FROM": "survey@hrss.example.cn"}).smtp is None


def test_a_host_with_its_sender_login_and_port() -> None:
    settings = Settings.from_env(
        {
            "SURVEY_SMTP_HOST": "smtp.hrss.example.cn",
            "SURVEY_SMTP_PORT": "2525",
            "SURVEY_SMTP_USER": "survey",
            "SURVEY_SMTP_PASSWORD": "secret",
            "SURVEY_SMTP_FROM": "survey@hrss.example.cn",
        }
    )
    assert settings.smtp == SmtpSettings(
        host="smtp.hrss.example.cn", sender="survey@hrss.example.cn", port=2525,
        user="survey", password="secret", starttls=True,
    )  # fmt: skip


def test_starttls_is_turned_off_only_when_asked() -> None:
    env = {"SURVEY_SMTP_HOST": "127.0.0.1", "SURVEY_SMTP_FROM": "survey@localhost"}
    assert Settings.from_env(env).smtp == SmtpSettings("127.0.0.1", "survey@localhost")
    off = Settings.from_env(env | {"SURVEY_SMTP_STARTTLS": "false"}).smtp
    assert off is not None
    assert (off.starttls, off.port, off.user) == (False, 587, None)


@pytest.mark.parametrize("sender", ["", "survey", "a@b@c", "<x@y>"])
def test_a_host_without_a_sender_address_stops_the_start(sender: str) -> None:
    with pytest.raises(ValueError, match="SURVEY_SMTP_FROM"):
        Settings.from_env({"SURVEY_SMTP_HOST": "smtp.example.cn", "SURVEY_SMTP_FROM": sender})
