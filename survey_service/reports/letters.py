"""What the bureau prints to hand out: invitation letters (one A4 page per enterprise: the
campaign, the sign-in address, the code and its QR, the deadline, a contact) and poll
posters (one A4 page per link: the QR, the link, the anonymity promise). Templates in
``reports/letters/``, set in Noto Sans/Serif CJK like the reports, by WeasyPrint."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import segno

from survey_service.local_time import local_time, zone_label
from survey_service.reports.render import TEMPLATES, environment, render_section

# WeasyPrint lays out these plain pages at about 20 a second (one core): a bound on what
# one request renders (a whole city's audience is a few hundred enterprises).
MAX_PAGES = 2000


@dataclass(frozen=True, slots=True)
class Letter:
    enterprise_name: str
    uscc: str
    district_name: str
    code: str


@dataclass(frozen=True, slots=True)
class Poster:
    enterprise_name: str
    url: str


def deadline_text(closes_at: datetime, zone: ZoneInfo) -> str:
    """When a campaign closes, as a letter says it: a close at midnight is the end of the
    day before (``2026-12-31 24:00``), else the minute."""
    here = closes_at.astimezone(zone)
    if (here.hour, here.minute, here.second) == (0, 0, 0):
        return local_time(closes_at, zone, "last_day") + " 24:00"
    return local_time(closes_at, zone)


def zone_text(zone: ZoneInfo) -> str:
    return zone_label(zone, "zh")


def qr_data_uri(text: str) -> str:
    """``text`` as a QR code (SVG) to put in an ``<img>``."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def _html(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def pdf_of(html: str) -> bytes:
    """The letters' or posters' HTML as a PDF (in a worker process when there is a pool)."""
    return render_section(html, str(TEMPLATES))


def letters_html(
    letters: list[Letter],
    *,
    campaign_title: str,
    organisers: str,
    signin_url: str,
    deadline: str,
    zone: str,
    contact: str,
) -> str:
    return _html(
        "letters/invitation.html",
        title=f"{campaign_title} 填报邀请函",
        letters=[
            {
                "enterprise_name": letter.enterprise_name,
                "uscc": letter.uscc,
                "district_name": letter.district_name,
                "code": letter.code,
                "code_qr": qr_data_uri(letter.code),
            }
            for letter in letters
        ],
        campaign_title=campaign_title,
        organisers=organisers,
        signin_url=signin_url,
        signin_qr=qr_data_uri(signin_url),
        deadline=deadline,
        zone=zone,
        contact=contact,
    )


def posters_html(
    posters: list[Poster],
    *,
    campaign_title: str,
    organisers: str,
    promise: str,
    promise_en: str,
    deadline: str,
    zone: str,
) -> str:
    return _html(
        "letters/poster.html",
        title=f"{campaign_title} 问卷海报",
        posters=[
            {"enterprise_name": p.enterprise_name, "url": p.url, "qr": qr_data_uri(p.url)}
            for p in posters
        ],
        campaign_title=campaign_title,
        organisers=organisers,
        promise=promise,
        promise_en=promise_en,
        deadline=deadline,
        zone=zone,
    )
