"""QR codes of poll links (admin only), for the notice board or the chat group: SVG to
print at any size, PNG to paste. The code holds the poll's full URL."""

from __future__ import annotations

import io
from typing import Any

import segno
from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from sqlalchemy import select

from survey_service.auth import require
from survey_service.collection import campaigns, polls
from survey_service.db.models import PollLink
from survey_service.deps import DB, PathId
from survey_service.errors import problem
from survey_service.openapi import BEARER, problems


async def _poll_url(request: Request[Any, Any, Any], db: DB, campaign_id: int, link: str) -> str:
    async with db.read() as session:
        campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
        found = await session.scalar(
            select(PollLink).where(PollLink.campaign_id == campaign.id, PollLink.slug == link)
        )
    if found is None:
        raise problem(404, "Poll link not found")
    if found.revoked_at is not None:
        raise problem(410, "This link was withdrawn.", title="Poll link withdrawn")
    return str(request.base_url).rstrip("/") + polls.poll_url(found.slug)


def poll_qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


class PollLinkQRController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/poll-links/{link:str}"
    tags = ["poll links"]
    guards = [require("admin")]
    security = BEARER

    @get("/qr.svg", media_type="image/svg+xml", responses=problems(400, 401, 403, 404, 410, 422))
    async def svg(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        link: FromPath[str],
    ) -> Response[bytes]:
        """The link's QR code as SVG."""
        out = io.BytesIO()
        poll_qr(await _poll_url(request, db, campaign_id, link)).save(
            out, kind="svg", scale=4, border=2, xmldecl=False, svgclass="qr"
        )
        return Response(out.getvalue(), media_type="image/svg+xml", headers=_headers(link, "svg"))

    @get("/qr.png", media_type="image/png", responses=problems(400, 401, 403, 404, 410, 422))
    async def png(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        link: FromPath[str],
    ) -> Response[bytes]:
        """The link's QR code as PNG (8 pixels a module)."""
        out = io.BytesIO()
        poll_qr(await _poll_url(request, db, campaign_id, link)).save(
            out, kind="png", scale=8, border=2
        )
        return Response(out.getvalue(), media_type="image/png", headers=_headers(link, "png"))


def _headers(link: str, ext: str) -> dict[str, str]:
    return {
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
        "Content-Disposition": f'inline; filename="poll-{link[:8]}.{ext}"',
    }
