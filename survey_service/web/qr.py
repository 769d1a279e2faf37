"""QR codes of poll links (admin only), for the notice board or the chat group: SVG to
print at any size, PNG to paste. The code holds the poll's full URL on the public address
(``SURVEY_PUBLIC_BASE_URL``), and the enterprise's name is written under it, so that a
printed sheet says whose workers it is for."""

from __future__ import annotations

import io
from functools import cache
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import segno
from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from survey_service.auth import require
from survey_service.collection import campaigns, polls
from survey_service.deps import DB, PathId
from survey_service.openapi import BEARER, problems
from survey_service.web.pages import public_base_url

SVG_SCALE, PNG_SCALE, BORDER = 4, 8, 2
# The caption's font: Debian's Noto Sans CJK (``make fonts``; index 2 of the collection
# is Simplified Chinese), else Pillow's own font.
CAPTION_FONTS = (("NotoSansCJK-Regular.ttc", 2), ("NotoSansCJK-Bold.ttc", 2))
CAPTION_FONT_FAMILY = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif'


async def _link(
    request: Request[Any, Any, Any], db: DB, campaign_id: int, link: str
) -> tuple[str, str]:
    """The poll's full URL and the enterprise's name."""
    async with db.read() as session:
        campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
        slug, name = await polls.link_to_print(session, campaign, link)
    return public_base_url(request) + polls.poll_url(slug), name


def poll_qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def captioned_svg(qr: segno.QRCode, caption: str) -> bytes:
    """The code with ``caption`` centred under it, on white."""
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=SVG_SCALE, border=BORDER, xmldecl=False, svgclass="qr")
    size = qr.symbol_size(scale=SVG_SCALE, border=BORDER)[0]
    font_size = 14
    height = size + font_size * 2
    # A long name is squeezed to the code's width rather than cut.
    fit = (
        f' textLength="{size - 8}" lengthAdjust="spacingAndGlyphs"'
        if len(caption) * font_size > size - 8
        else ""
    )
    text = (
        f'<text x="{size / 2}" y="{size + font_size}" text-anchor="middle" '
        f'font-family={quoteattr(CAPTION_FONT_FAMILY)} font-size="{font_size}"{fit}>'
        f"{escape(caption)}</text>"
    )
    return (
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{height}" '
            f'viewBox="0 0 {size} {height}" class="qr"><title>{escape(caption)}</title>'
            f'<rect width="100%" height="100%" fill="#fff"/>'
        ).encode()
        + out.getvalue()
        + text.encode()
        + b"</svg>"
    )


@cache
def _caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for name, index in CAPTION_FONTS:
        try:
            return ImageFont.truetype(name, size, index=index)
        except OSError:
            continue
    return ImageFont.load_default(size)


def captioned_png(qr: segno.QRCode, caption: str) -> bytes:
    """The code with ``caption`` drawn under it; the caption is also the PNG's Title."""
    out = io.BytesIO()
    qr.save(out, kind="png", scale=PNG_SCALE, border=BORDER)
    code = Image.open(io.BytesIO(out.getvalue())).convert("L")
    width = code.width
    font_size = 28
    font = _caption_font(font_size)
    while font_size > 10 and ImageDraw.Draw(code).textlength(caption, font=font) > width - 16:
        font_size -= 2
        font = _caption_font(font_size)
    sheet = Image.new("L", (width, code.height + font_size * 2), 255)
    sheet.paste(code, (0, 0))
    ImageDraw.Draw(sheet).text(
        (width / 2, code.height + font_size), caption, fill=0, font=font, anchor="mm"
    )
    info = PngInfo()
    info.add_itxt("Title", caption)
    png = io.BytesIO()
    sheet.save(png, format="PNG", optimize=True, pnginfo=info)
    return png.getvalue()


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
        """The link's QR code as SVG, the enterprise's name under it."""
        url, name = await _link(request, db, campaign_id, link)
        return Response(
            captioned_svg(poll_qr(url), name),
            media_type="image/svg+xml",
            headers=_headers(link, "svg"),
        )

    @get("/qr.png", media_type="image/png", responses=problems(400, 401, 403, 404, 410, 422))
    async def png(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        link: FromPath[str],
    ) -> Response[bytes]:
        """The link's QR code as PNG (8 pixels a module), the enterprise's name under it."""
        url, name = await _link(request, db, campaign_id, link)
        return Response(
            captioned_png(poll_qr(url), name), media_type="image/png", headers=_headers(link, "png")
        )


def _headers(link: str, ext: str) -> dict[str, str]:
    return {
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
        "Content-Disposition": f'inline; filename="poll-{link[:8]}.{ext}"',
    }
