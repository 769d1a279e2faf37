"""Whether WeasyPrint can subset fonts with HarfBuzz's subsetter.

Without ``libharfbuzz-subset0`` WeasyPrint falls back to fontTools in Python, which walks
all ~65,000 glyphs of a CJK font for every face of every section: a one-page report then
takes 15-20 s instead of well under one. Nothing fails, so the service says so at start-up
and on ``/health`` rather than staying silently slow. ``make run`` installs the library.
"""

from __future__ import annotations

import logging
from functools import cache

log = logging.getLogger(__name__)

# WeasyPrint uses the subsetter only from this HarfBuzz version on.
HARFBUZZ_AT_LEAST = (4, 1, 0)
SLOW_SUBSETTING = (
    "WeasyPrint found no HarfBuzz subsetter (libharfbuzz-subset0): PDF reports fall back "
    "to fontTools and render 20-50x slower. Install it (`make run` does) and restart."
)


@cache
def harfbuzz_subsetting() -> bool:
    """True when WeasyPrint will subset fonts with HarfBuzz (checked once per process)."""
    from weasyprint.text import ffi  # loads the shared libraries once

    if ffi.harfbuzz_subset is None:
        return False
    return bool(ffi.harfbuzz.hb_version_atleast(*HARFBUZZ_AT_LEAST))


def report_warnings() -> list[str]:
    """What an operator should know about report rendering on this machine."""
    return [] if harfbuzz_subsetting() else [SLOW_SUBSETTING]


def warn_when_slow() -> None:
    for warning in report_warnings():
        log.warning(warning)
