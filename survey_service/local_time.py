"""Times as people read and type them: in the configured zone (``SURVEY_TIME_ZONE``,
Beijing time by default), while the database and the API's output keep UTC instants.

``local_time`` is the one formatter every page uses (the ``local`` Jinja filter);
``instant_from_text`` reads the API's ``opens_at``/``closes_at``, which may be a whole day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

Style = Literal["minute", "day", "last_day"]

# Names of the zone for the people of this service; another zone is shown by its IANA name.
_ZONE_LABELS = {"Asia/Shanghai": {"zh": "北京时间", "en": "Beijing time"}}

# The description of a field that takes ``instant_from_text``'s text (OpenAPI).
INSTANT_OR_DAY = (
    "An RFC 3339 date-time with its offset (`2026-12-01T09:00:00+08:00`), or a date alone "
    "(`2026-12-01`): that day in the service's time zone (`SURVEY_TIME_ZONE`, Beijing time "
    "by default)."
)


def local_time(moment: datetime, zone: ZoneInfo, style: Style = "minute") -> str:
    """``2026-12-01 09:00`` (``minute``) or ``2026-12-01`` (``day``) in ``zone``.

    ``last_day`` is for the end of a window, which is exclusive: a campaign closing at
    midnight starting 2027-01-01 is open through 2026-12-31, and shows that day.
    """
    if style == "last_day":
        moment = moment - timedelta(microseconds=1)
    here = moment.astimezone(zone)
    return f"{here:%Y-%m-%d}" if style != "minute" else f"{here:%Y-%m-%d %H:%M}"


def local_today(zone: ZoneInfo) -> date:
    """Today's date in ``zone``."""
    return datetime.now(zone).date()


def zone_label(zone: ZoneInfo, lang: str) -> str:
    """What to write after a time: 北京时间 / Beijing time, or the zone's IANA name."""
    labels = _ZONE_LABELS.get(zone.key)
    return labels.get(lang, labels["en"]) if labels else zone.key


class NotAnInstant(ValueError):
    """Text that is neither an RFC 3339 date-time with an offset nor a date."""


def instant_from_text(text: str, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """The UTC instant ``text`` names. A date alone is the start of that day in ``zone``,
    or with ``end_of_day`` its end (the start of the next day: windows end exclusively)."""
    text = text.strip()
    if len(text) == 10:
        try:
            day = msgspec.convert(text, date)
        except (msgspec.ValidationError, UnicodeEncodeError):
            raise NotAnInstant(f"{text!r} is not a date (YYYY-MM-DD)") from None
        try:
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        except OverflowError:
            raise NotAnInstant(f"{text!r} is out of range") from None
    try:
        moment = msgspec.convert(text, datetime)
    except (msgspec.ValidationError, UnicodeEncodeError):
        raise NotAnInstant(
            f"{text!r} is neither an RFC 3339 date-time nor a date (YYYY-MM-DD)"
        ) from None
    if moment.tzinfo is None:
        raise NotAnInstant(f"{text!r} has no offset (write +08:00 or Z, or give a date alone)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise NotAnInstant(f"{text!r} is out of range") from None
