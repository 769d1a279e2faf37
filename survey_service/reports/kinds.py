"""The three reports: what each gathers from the analytics and how it is cut into sections.

Each kind has ``gather`` (figures from the same functions the API answers with, so a PDF
never says other than the API) and ``sections`` (the HTML of each part, rendered apart).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics import participation
from survey_service.reports import charts
from survey_service.reports.render import Section
from survey_service.settings import Settings

ISSUER = "铜川市协调劳动关系三方委员会办公室"


class ReportError(Exception):
    """A report that cannot be made from the data (a clear reason for its requester)."""


def svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _plain(value: Any) -> Any:
    """msgspec structs (the API's answers) as plain dicts for the templates."""
    return msgspec.to_builtins(value)


Gather = Callable[[AsyncSession, dict[str, Any], Settings], Awaitable[dict[str, Any]]]
Sections = Callable[[jinja2.Environment, dict[str, Any]], list[Section]]


@dataclass(frozen=True, slots=True)
class Kind:
    gather: Gather
    sections: Sections
    title: Callable[[dict[str, Any]], str]
    cover: bool = False  # a cover page carries no running header and no number


# --- the participation circular ---------------------------------------------------------------


async def gather_participation(
    session: AsyncSession, params: dict[str, Any], settings: Settings
) -> dict[str, Any]:
    year = int(params["year"])
    try:
        targets = participation.load_targets(settings.participation_targets)
    except (OSError, msgspec.DecodeError) as exc:
        raise ReportError(f"the participation targets cannot be read: {exc}") from None
    out = await participation.year_participation(
        session, year, targets, with_lists=bool(params.get("annex"))
    )
    if not out.campaigns:
        raise ReportError(f"there is no campaign in {year}")
    data: dict[str, Any] = _plain(out)
    return data | {"annex": bool(params.get("annex")), "as_of": _today()}


def participation_sections(env: jinja2.Environment, ctx: dict[str, Any]) -> list[Section]:
    districts = [d for d in ctx["districts"] if d["enterprises"]]
    names = [d["name"] or d["district"] for d in districts]
    targets = ctx["targets"]
    chart_list = [
        {
            "title": "各区县参与率",
            "uri": svg_uri(
                charts.rate_bars(
                    names,
                    [d["participation_rate"] or 0 for d in districts],
                    targets["participation"],
                )
            ),
        },
        {
            "title": f"{targets['collective_contract_min_staff']} 人以上建会企业集体合同签订率",
            "uri": svg_uri(
                charts.rate_bars(
                    names,
                    [d["collective_contract_rate"] or 0 for d in districts],
                    targets["collective_contract_signing"],
                )
            ),
        },
    ]
    title = participation_title(ctx)
    main = env.get_template("participation/circular.html").render(
        title=title, issuer=ISSUER, data_as_of=ctx["as_of"], charts=chart_list, **ctx
    )
    sections = [Section("通报", main)]
    if ctx["annex"]:
        annex = env.get_template("participation/annex.html").render(
            title=title, missing=ctx["missing"] or [],
            without_contract=ctx["without_collective_contract"] or [],
        )  # fmt: skip
        sections.append(Section("附件", annex))
    return sections


def participation_title(ctx: dict[str, Any]) -> str:
    return f"{ctx['year']}年度“双爱”活动参与情况通报"


def report_params(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters for ``kind``, checked and in one canonical form (they
    name the stored PDF)."""
    if kind not in KINDS:
        raise ReportError(f"unknown report type {kind!r}; one of {', '.join(sorted(KINDS))}")
    params: dict[str, Any] = {}
    for name in NEEDS[kind]:
        value = raw.get(name)
        if name in ("campaign_id", "year"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ReportError(f"a {kind} report needs {name} (a positive whole number)")
        elif name == "enterprise":
            if not isinstance(value, str) or not value.strip():
                raise ReportError("an enterprise report needs enterprise (a credit code)")
            value = value.strip().upper()
        elif name == "annex":
            value = bool(value)
        params[name] = value
    return params


NEEDS: dict[str, tuple[str, ...]] = {
    "wage-benchmark": ("campaign_id",),
    "enterprise": ("campaign_id", "enterprise"),
    "participation": ("year", "annex"),
}

KINDS: dict[str, Kind] = {
    "participation": Kind(gather_participation, participation_sections, participation_title),
}
