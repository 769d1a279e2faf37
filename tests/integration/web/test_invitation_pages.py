"""A campaign's invitations from the bureau's pages through HTTP on SQLite and PostgreSQL:
issue for a selection or the whole audience, sign in as the enterprise with a code read
from the codes workbook, re-issue (the page warns that the old code stops working, and it
does), revoke, and the letters PDF (one page per enterprise, its name and code on it); the
codes exist only in the issuing page and are refused once replaced."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from tests.conftest import Service
from tests.factories import create_campaign
from tests.integration.other_settings import client_with
from tests.integration.security.world import client_at
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in
from tests.samples import enterprise, uscc

PUBLIC = "https://survey.tongchuan.example"
CONTACT = "市人社局劳动关系科 0919-3185123"


async def _setup(service: Service) -> int:
    registered = await service.client.post(
        "/api/v1/enterprises",
        json=[
            enterprise(1, contact_name="张会计", contact_email="a@example.cn"),
            enterprise(2, district="610204", name="耀州示例企业"),
            enterprise(3, district="610204", has_union=False, name="未建会企业"),
        ],
        headers=service.admin,
    )
    assert registered.status_code == 201, registered.text
    campaign_id = await create_campaign(service)
    signed = await sign_in(service, service.admin_token, admin=True)
    assert signed.status_code == 303
    return campaign_id


def _codes_in(html: str) -> dict[str, str]:
    """uscc -> code, from the hidden fields of the issuing page's download forms."""
    return dict(re.findall(r'name="code" value="([0-9A-Z]{18}):([^"]+)"', html))


async def _issue(service: Service, campaign_id: int, **fields: Any) -> httpx.Response:
    csrf = await page_csrf(service, f"/admin/campaigns/{campaign_id}/invitations")
    return await service.client.post(
        f"/admin/campaigns/{campaign_id}/invitations", data={"_csrf": csrf, **fields}
    )


async def _download(service: Service, campaign_id: int, what: str, html: str,
                    **extra: str) -> httpx.Response:  # fmt: skip
    fields: dict[str, Any] = {
        "_csrf": csrf_of(html),
        "code": [f"{u}:{c}" for u, c in _codes_in(html).items()],
    }
    return await service.client.post(
        f"/admin/campaigns/{campaign_id}/invitations/{what}", data=fields | extra
    )


async def _enterprise_signs_in(service: Service, code: str) -> int:
    async with client_at(service, "10.0.0.42") as browser:
        form = await browser.get("/e/signin")
        response = await browser.post(
            "/e/signin", data={"token": code, "_csrf": csrf_of(form.text)}
        )
        return response.status_code


async def test_codes_issued_from_the_page_sign_the_enterprise_in(service: Service) -> None:
    campaign_id = await _setup(service)
    listed = await service.client.get(f"/admin/campaigns/{campaign_id}/invitations")
    assert listed.status_code == 200
    assert_well_formed(listed.text)
    assert "受众 3 家企业，已邀请 0 家，未邀请 3 家" in listed.text

    issued = await _issue(service, campaign_id, enterprise=[uscc(1), uscc(2)],
                          _action="selected")  # fmt: skip
    assert issued.status_code == 200, issued.text
    assert_well_formed(issued.text)
    assert "邀请码只显示这一次" in issued.text
    assert issued.headers["cache-control"] == "no-store"
    shown = _codes_in(issued.text)
    assert set(shown) == {uscc(1), uscc(2)}

    sheet = await _download(service, campaign_id, "codes.xlsx", issued.text)
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["cache-control"] == "private, no-store"
    header, *rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(sheet.content)).get_sheet_by_index(0).to_python()
    )
    assert header[:8] == ["企业名称", "统一社会信用代码", "区县", "联系人", "联系电话",
                          "电子邮箱", "登录地址", "邀请码"]  # fmt: skip
    records = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(records) == {uscc(1), uscc(2)}
    first = records[uscc(1)]
    assert (first["区县"], first["联系人"], first["电子邮箱"]) == (
        "王益区",
        "张会计",
        "a@example.cn",
    )
    assert first["登录地址"] == "http://testserver/e/signin"
    assert first["邀请码"] == shown[uscc(1)]

    # The enterprise signs in with the code the workbook holds.
    assert await _enterprise_signs_in(service, str(first["邀请码"])) == 303

    again = await service.client.get(f"/admin/campaigns/{campaign_id}/invitations")
    assert "已邀请 2 家，未邀请 1 家" in again.text
    # The whole audience: only the one not yet invited gets a code.
    rest = await _issue(service, campaign_id, _action="audience")
    assert rest.status_code == 200
    assert set(_codes_in(rest.text)) == {uscc(3)}
    nobody = await _issue(service, campaign_id, _action="audience")
    assert nobody.status_code == 422
    assert "都已有有效的邀请码" in nobody.text


async def test_reissue_warns_and_the_old_code_stops_working(service: Service) -> None:
    campaign_id = await _setup(service)
    first = await _issue(service, campaign_id, enterprise=[uscc(1)], _action="selected")
    old = _codes_in(first.text)[uscc(1)]
    kept = await _issue(service, campaign_id, enterprise=[uscc(1)], _action="selected")
    assert kept.status_code == 200
    assert _codes_in(kept.text) == {}  # invited already: the code sent then still works
    assert "之前发出的邀请码仍然有效" in kept.text

    replaced = await _issue(service, campaign_id, enterprise=[uscc(1)], reissue="true",
                            _action="selected")  # fmt: skip
    assert replaced.status_code == 200
    warning = replaced.text.split('id="reissued"', 1)[1].split("</div>", 1)[0]
    assert "已重新生成邀请码，之前发出的邀请码已失效" in warning
    new = _codes_in(replaced.text)[uscc(1)]
    assert new != old
    english = await service.client.post(
        f"/admin/campaigns/{campaign_id}/invitations?lang=en",
        data={"_csrf": csrf_of(replaced.text), "enterprise": uscc(1), "reissue": "true",
              "_action": "selected"},
    )  # fmt: skip
    assert "A new code replaces the one sent before, which no longer works." in english.text
    newest = _codes_in(english.text)[uscc(1)]
    assert await _enterprise_signs_in(service, old) == 401
    assert await _enterprise_signs_in(service, new) == 401
    assert await _enterprise_signs_in(service, newest) == 303
    # The earlier page's downloads refuse the code it carries: it no longer works.
    stale = await _download(service, campaign_id, "codes.xlsx", replaced.text)
    assert stale.status_code == 409
    assert "no longer work" in stale.text  # the page is in English since ?lang=en


async def test_a_revoked_code_stops_working(service: Service) -> None:
    campaign_id = await _setup(service)
    issued = await _issue(service, campaign_id, enterprise=[uscc(2)], _action="selected")
    code = _codes_in(issued.text)[uscc(2)]
    csrf = await page_csrf(service, f"/admin/campaigns/{campaign_id}/invitations")
    revoked = await service.client.post(
        f"/admin/campaigns/{campaign_id}/invitations/{uscc(2)}/revoke", data={"_csrf": csrf}
    )
    assert revoked.status_code == 303
    shown = await service.client.get(revoked.headers["location"])
    assert "该码已失效" in shown.text
    assert "已收回" in shown.text
    assert await _enterprise_signs_in(service, code) == 401
    forged = await service.client.post(
        f"/admin/campaigns/{campaign_id}/invitations/{uscc(1)}/revoke", data={"_csrf": "x"}
    )
    assert forged.status_code == 403
    unknown = await service.client.post(
        f"/admin/campaigns/{campaign_id}/invitations/{uscc(9)}/revoke", data={"_csrf": csrf}
    )
    assert unknown.status_code == 422


async def test_the_letters_are_one_page_per_enterprise_with_its_code(service: Service) -> None:
    campaign_id = await _setup(service)
    async with client_with(service, public_base_url=PUBLIC) as client:
        form = await client.get("/admin/signin")
        signed = await client.post(
            "/admin/signin", data={"token": service.admin_token, "_csrf": csrf_of(form.text)}
        )
        assert signed.status_code == 303
        listed = await client.get(f"/admin/campaigns/{campaign_id}/invitations")
        issued = await client.post(
            f"/admin/campaigns/{campaign_id}/invitations",
            data={"_csrf": csrf_of(listed.text), "_action": "audience"},
        )
        codes = _codes_in(issued.text)
        assert len(codes) == 3
        fields = {"_csrf": csrf_of(issued.text), "code": [f"{u}:{c}" for u, c in codes.items()]}
        url = f"/admin/campaigns/{campaign_id}/invitations/letters.pdf"
        no_contact = await client.post(url, data=fields)
        assert no_contact.status_code == 422
        response = await client.post(url, data=fields | {"contact": CONTACT})
        # A code changed on the way back is not printed; no code, nothing to print.
        tampered = fields | {"contact": CONTACT, "code": [f"{uscc(1)}:{codes[uscc(2)]}"]}
        assert (await client.post(url, data=tampered)).status_code == 409
        assert (await client.post(url, data={"_csrf": fields["_csrf"]})).status_code == 422
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 3
    names = {uscc(1): enterprise(1)["name"], uscc(2): "耀州示例企业", uscc(3): "未建会企业"}
    by_name = {}
    for pdf_page in reader.pages:
        text = pdf_page.extract_text()
        found = [u for u, name in names.items() if name in text]
        assert len(found) == 1, text
        by_name[found[0]] = text.replace("\n", "")
    for code_uscc, text in by_name.items():
        assert codes[code_uscc] in text
        assert f"{PUBLIC}/e/signin" in text
        assert CONTACT in text
        assert "2023年企业薪酬调查" in text
