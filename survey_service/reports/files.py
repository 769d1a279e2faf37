"""The file a report is downloaded as: named by report, campaign (or year), enterprise and
the day it was made, with an ASCII fallback for the ``filename`` of Content-Disposition
(RFC 6266; the full name goes in ``filename*``, RFC 5987)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.db.models import Campaign

FILE_NAMES = {
    "wage-benchmark": "工资价位表",
    "enterprise": "企业报告",
    "participation": "参与情况通报",
}
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|\s]+')


async def file_names(
    session: AsyncSession, kind: str, params: dict[str, Any], made: datetime, zone: ZoneInfo
) -> tuple[str, str]:
    """The PDF's file name by report, campaign (its year unless its title has it) or year,
    enterprise and the day it was made (工资价位表-2023年企业薪酬调查-2026-12-04.pdf), and
    its ASCII fallback (wage-benchmark-2023-c7-2026-12-04.pdf); neither holds a path
    character."""
    names, ascii_names = [FILE_NAMES.get(kind, kind)], [kind]
    campaign = (
        await session.get(Campaign, params["campaign_id"]) if "campaign_id" in params else None
    )
    if campaign is not None:
        year = [] if str(campaign.year) in campaign.title else [str(campaign.year)]
        names += [*year, campaign.title]
        ascii_names += [str(campaign.year), f"c{campaign.id}"]
    elif "year" in params:
        names.append(str(params["year"]))
        ascii_names.append(str(params["year"]))
    if "enterprise" in params:
        names.append(params["enterprise"])
        ascii_names.append(params["enterprise"])
    day = made.astimezone(zone).date().isoformat()  # the day in the city's zone
    name = "-".join(_safe(part) for part in [*names, day])
    fallback = "-".join(_safe(part) for part in [*ascii_names, day])
    fallback = fallback.encode("ascii", "replace").decode().replace("?", "_")
    return f"{name}.pdf", f"{fallback}.pdf"


def _safe(part: str) -> str:
    """A part of a file name without path characters, quotes or spaces, nor dots at its
    ends ("../2023/调查" -> "2023_调查")."""
    return _UNSAFE_IN_NAMES.sub("_", part).strip("._") or "_"


def content_disposition(name: str, fallback: str) -> str:
    """An attachment named ``name`` (UTF-8, percent-encoded), ``fallback`` for old clients."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
