"""What an admin prints and hands out for a poll, through HTTP on SQLite and PostgreSQL: the
QR codes encode the public address (``SURVEY_PUBLIC_BASE_URL``), not the host the admin
happened to use, and carry the enterprise's name; link lists name the enterprise."""

from __future__ import annotations

import io
import re
from xml.etree import ElementTree

import segno
from PIL import Image

from tests.conftest import Service
from tests.factories import create_campaign, open_poll, poll_link, register_enterprises
from tests.integration.other_settings import client_with
from tests.integration.web.helpers import csrf_of
from tests.samples import enterprise, uscc

PUBLIC = "https://survey.tongchuan.example"
SVG = "{http://www.w3.org/2000/svg}"
NAME = enterprise(1)["name"]  # 铜川示例企业1有限公司


def _modules(svg: bytes) -> str:
    """The QR code's drawing (its path), to compare with the code of a known URL."""
    path = ElementTree.fromstring(svg).find(f"{SVG}svg/{SVG}path")
    assert path is not None, svg[:200]
    return str(path.get("d"))


def _expected_modules(url: str) -> str:
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return _modules(b"<svg xmlns='http://www.w3.org/2000/svg'>" + out.getvalue() + b"</svg>")


async def test_qr_codes_encode_the_public_address_not_the_admins_host(service: Service) -> None:
    campaign_id, slug = await open_poll(service)
    qr = f"/api/v1/campaigns/{campaign_id}/poll-links/{slug}/qr.svg"
    async with client_with(service, public_base_url=PUBLIC) as client:  # asked on localhost
        svg = await client.get(qr, headers=service.admin)
    assert svg.status_code == 200, svg.text
    assert _modules(svg.content) == _expected_modules(f"{PUBLIC}/p/{slug}")
    assert _modules(svg.content) != _expected_modules(f"http://localhost/p/{slug}")
    # Without the setting, the address the request came to (as before).
    plain = await service.client.get(qr, headers=service.admin)
    assert _modules(plain.content) == _expected_modules(f"http://testserver/p/{slug}")


async def test_the_svg_qr_code_has_the_enterprises_name_under_it(service: Service) -> None:
    campaign_id, slug = await open_poll(service)
    svg = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links/{slug}/qr.svg", headers=service.admin
    )
    assert svg.status_code == 200
    root = ElementTree.fromstring(svg.content)
    caption = root.find(f"{SVG}text")
    assert caption is not None
    assert caption.text == NAME
    code = root.find(f"{SVG}svg")
    assert code is not None
    # The name sits under the code, inside the image.
    assert float(str(caption.get("y"))) > float(str(code.get("height")))
    assert float(str(root.get("height"))) > float(str(caption.get("y")))


async def test_the_png_qr_code_has_the_enterprises_name_drawn_under_it(service: Service) -> None:
    campaign_id, slug = await open_poll(service)
    png = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links/{slug}/qr.png", headers=service.admin
    )
    assert png.status_code == 200
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.text["Title"] == NAME  # type: ignore[attr-defined]
        pixels = image.convert("L")
        size = segno.make(f"http://testserver/p/{slug}", error="m").symbol_size(scale=8, border=2)
        assert pixels.width == size[0]
        assert pixels.height > size[1]
        band = pixels.crop((0, size[1], pixels.width, pixels.height))
        dark = sum(1 for value in band.tobytes() if value < 128)
        assert dark > 100, "nothing is written under the code"


async def test_link_lists_name_the_enterprise_beside_its_credit_code(service: Service) -> None:
    campaign_id = await create_campaign(service, "worker-satisfaction")
    await register_enterprises(service, 1)
    issued = await poll_link(service, campaign_id)
    assert (issued["enterprise"], issued["enterprise_name"]) == (uscc(1), NAME)
    listed = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/poll-links", headers=service.admin
    )
    [item] = listed.json()["items"]
    assert (item["enterprise"], item["enterprise_name"]) == (uscc(1), NAME)


async def test_the_campaign_page_lists_names_and_public_links(service: Service) -> None:
    campaign_id, slug = await open_poll(service)
    async with client_with(service, public_base_url=PUBLIC) as client:
        form = await client.get("/admin/signin")
        signed = await client.post(
            "/admin/signin", data={"token": service.admin_token, "_csrf": csrf_of(form.text)}
        )
        assert signed.status_code == 303, signed.text
        page = await client.get(f"/admin/campaigns/{campaign_id}")
    assert page.status_code == 200, page.text
    row = re.search(r"<tr>\s*<td>(.*?)</tr>", page.text, re.S)
    assert row is not None
    assert NAME in row.group(1)
    assert uscc(1) in row.group(1)
    assert f"{PUBLIC}/p/{slug}" in row.group(1)
    assert "localhost" not in page.text
    assert f'alt="{NAME} 的问卷二维码"' in page.text
