"""What the service writes out is text, whatever the text: spreadsheet downloads never hold
a formula (CSV cells that a spreadsheet would run are quoted with an apostrophe; XLSX cells
are strings), pages escape every form, campaign and enterprise text, and PDFs print it as it
was typed. On both databases."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import httpx
import markupsafe
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, poll_link
from tests.integration.analytics.release_helpers import release
from tests.integration.security.world import client_at, wait_for_report
from tests.integration.web.helpers import csrf_of
from tests.samples import enterprise, salary_document, uscc

# What a spreadsheet would run: text starting with = + - @, a tab or a carriage return.
FORMULAS = (
    '=HYPERLINK("http://x.test","a")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|'/C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'
SVG = "<svg onload=alert(3)>"
HOSTILE = (SCRIPT, IMG, SVG)


def escaped(text: str) -> str:
    return str(markupsafe.escape(text))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sheets(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {
            name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        }


def _assert_no_cell_formula(content: bytes) -> None:
    for name, xml in _sheets(content).items():
        assert re.search(rb"<f[ >/]", xml) is None, f"{name} holds a formula"


# --- spreadsheets ------------------------------------------------------------------------


async def test_wage_downloads_hold_no_formula_whatever_the_registry_says(
    service: Service,
) -> None:
    """Enterprises whose registration type (free text in the registry) reads like a formula,
    grouped by it: in the CSV each such cell starts with an apostrophe, in the XLSX each is
    a string that reads back as typed; the campaign title in the notes sheet too."""
    campaign_id = await create_campaign(
        service, "salary-survey", title="=1+1 薪酬调查", campaign_year=None
    )
    for n, ownership in enumerate(FORMULAS, start=1):
        registered = await service.client.post(
            "/api/v1/enterprises", json=enterprise(n, ownership=ownership), headers=service.admin
        )
        assert registered.status_code == 201, registered.text
        token = (await invite(service, campaign_id, n))[n]
        submitted = await service.client.post(
            f"/api/v1/campaigns/{campaign_id}/submissions",
            json={"data": salary_document(uscc(n)), "status": "submitted"},
            headers=bearer(token),
        )
        assert submitted.status_code == 201, submitted.text
    url = f"/api/v1/campaigns/{campaign_id}/benchmarks/wages"
    table = await service.client.get(url, params={"by": "ownership"}, headers=service.admin)
    shown = {row["ownership"] for row in table.json()["rows"]}
    assert set(FORMULAS) <= shown  # every value is a group of the table

    response = await service.client.get(
        url, params={"by": "ownership", "format": "csv"}, headers=service.admin
    )
    assert response.status_code == 200
    cells = [c for line in csv.reader(io.StringIO(response.text.lstrip("\ufeff"))) for c in line]
    assert all(f"'{value}" in cells for value in FORMULAS)
    risky = [c for c in cells if c.startswith(DANGEROUS_START) and not _is_number(c)]
    assert risky == []

    response = await service.client.get(
        url, params={"by": "ownership", "format": "xlsx"}, headers=service.admin
    )
    assert response.status_code == 200
    _assert_no_cell_formula(response.content)
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    values = {v for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
              for v in row}  # fmt: skip
    assert set(FORMULAS) <= values  # strings, as typed
    assert "=1+1 薪酬调查（2023年）" in values


async def test_the_upload_template_holds_no_formula_whatever_the_form_says(
    service: Service,
) -> None:
    row = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "title": FORMULAS[0], "description": FORMULAS[1]},
            "grade": {
                "type": "string",
                "title": "@grade",
                "enum": ["a", "b"],
                "x-enum-labels": {"a": {"zh": FORMULAS[2]}, "b": {"zh": FORMULAS[3]}},
            },
        },
        "required": ["code"],
    }
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"employees": {"type": "array", "title": "=SUM(1)", "items": row}},
    }
    created = await service.client.post(
        "/api/v1/forms",
        json={"key": "formula-form", "title": {"zh": "=cmd|' /C calc'!A0"}, "schema": schema},
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    await service.client.post(
        "/api/v1/forms/formula-form/versions/1/publish", headers=service.admin
    )
    response = await service.client.get("/api/v1/forms/formula-form/template.xlsx")
    assert response.status_code == 200
    _assert_no_cell_formula(response.content)
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    values = {v for name in book.sheet_names for row in book.get_sheet_by_name(name).to_python()
              for v in row}  # fmt: skip
    assert {FORMULAS[0], FORMULAS[2], FORMULAS[3]} <= values


# --- pages -------------------------------------------------------------------------------

HOSTILE_FIELDS: list[dict[str, Any]] = [
    {
        "type": "single_choice",
        "name": "choice",
        "label": {"zh": SVG + "选择"},
        "required": True,
        "choices": [
            {"value": "a", "label": {"zh": IMG + "甲"}},
            {"value": "b", "label": {"zh": SCRIPT + "乙"}},
        ],
    },
    {"type": "text", "name": "note", "label": {"zh": SCRIPT + "说明"}},
]


async def _hostile_form(service: Service, key: str, kind: str) -> None:
    created = await service.client.post(
        "/api/v1/forms",
        json={"key": key, "kind": kind, "title": {"zh": SCRIPT + "表单"}, "fields": HOSTILE_FIELDS},
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        f"/api/v1/forms/{key}/versions/1/publish", headers=service.admin
    )
    assert published.status_code == 200, published.text


def _assert_text_only(html: str, where: str, *shown: str) -> None:
    for raw in HOSTILE:
        assert raw not in html, f"{where} lets {raw} through"
    for text in shown:
        assert escaped(text) in html, f"{where} does not show {text!r} as text"


async def _sign_in(client: httpx.AsyncClient, base: str, token: str) -> None:
    form = await client.get(f"{base}/signin")
    response = await client.post(
        f"{base}/signin", data={"token": token, "_csrf": csrf_of(form.text)}
    )
    assert response.status_code == 303, response.text


async def test_form_campaign_and_enterprise_text_stays_text_on_every_page(
    service: Service,
) -> None:
    name = SCRIPT + "铜川有限公司"
    registered = await service.client.post(
        "/api/v1/enterprises", json=enterprise(1, name=name), headers=service.admin
    )
    assert registered.status_code == 201
    await _hostile_form(service, "hostile-poll", "poll")
    await _hostile_form(service, "hostile-form", "custom")
    poll_id = await create_campaign(
        service, "hostile-poll", title=IMG + "问卷活动", campaign_year=None
    )
    survey_id = await create_campaign(
        service, "hostile-form", title=SVG + "填报活动", campaign_year=None
    )
    slug = (await poll_link(service, poll_id))["link"]
    token = (await invite(service, survey_id, 1))[1]

    worker = client_at(service, "10.1.0.1")
    page = await worker.get(f"/p/{slug}")
    assert page.status_code == 200
    _assert_text_only(page.text, "the poll page", SCRIPT + "表单", IMG + "甲", SCRIPT + "乙")
    refused = await worker.post(f"/p/{slug}", data={"note": SCRIPT})  # the page comes back
    assert refused.status_code == 422
    _assert_text_only(refused.text, "the poll page with errors", SCRIPT + "说明")

    firm = client_at(service, "10.1.0.2")
    await _sign_in(firm, "/e", token)
    for path in ("/e", "/e/form"):
        html = (await firm.get(path)).text
        _assert_text_only(html, path, SVG + "填报活动")
    form = (await firm.get("/e/form")).text
    _assert_text_only(form, "/e/form", IMG + "甲", SCRIPT + "乙", SVG + "选择")
    saved = await firm.post(
        "/e/form", data={"_csrf": csrf_of(form), "choice": "b", "note": IMG, "_action": "draft"}
    )
    assert saved.status_code == 303, saved.text
    _assert_text_only((await firm.get("/e/form")).text, "/e/form with a saved answer", IMG)

    bureau = client_at(service, "10.1.0.3")
    await _sign_in(bureau, "/admin", service.admin_token)
    dashboard = (await bureau.get("/admin")).text
    _assert_text_only(dashboard, "the dashboard", IMG + "问卷活动", SVG + "填报活动")
    campaign_page = (await bureau.get(f"/admin/campaigns/{poll_id}")).text
    _assert_text_only(campaign_page, "the campaign page", IMG + "问卷活动")
    preview = await bureau.post(
        "/admin/builder/preview",
        json={"title": {"zh": SCRIPT + "预览"}, "fields": HOSTILE_FIELDS},
        headers={"X-CSRF-Token": csrf_of(dashboard)},
    )
    assert preview.status_code == 200, preview.text
    _assert_text_only(preview.json()["html"], "the builder preview", IMG + "甲", SCRIPT + "乙")
    for client in (worker, firm, bureau):
        await client.aclose()


# --- PDFs --------------------------------------------------------------------------------


async def test_a_report_prints_markup_in_names_as_it_was_typed(service: Service) -> None:
    """An enterprise named with markup, quotes, an ampersand and a backslash: its report
    prints the name as typed, in the body and in every page's running header."""
    name = "<b>铜川</b>" + SCRIPT + ' "A&B" \\ 有限公司'
    await service.client.post(
        "/api/v1/enterprises", json=enterprise(1, name=name), headers=service.admin
    )
    campaign_id = await create_campaign(
        service, "salary-survey", title="<i>2023</i> 薪酬调查", campaign_year=None
    )
    token = (await invite(service, campaign_id, 1))[1]
    await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1)), "status": "submitted"},
        headers=bearer(token),
    )
    await release(service, campaign_id)  # reports read releases
    asked = await service.client.post(
        "/api/v1/reports",
        json={"type": "enterprise", "campaign_id": campaign_id, "enterprise": uscc(1)},
        headers=service.admin,
    )
    admin = client_at(service, "10.2.0.1", service.admin)
    report = await wait_for_report(admin, asked.json()["id"])
    assert report["status"] == "done", report
    response = await admin.get(f"/api/v1/reports/{asked.json()['id']}/pdf")
    await admin.aclose()
    reader = PdfReader(io.BytesIO(response.content))
    pages = [page.extract_text() or "" for page in reader.pages]
    for number, text in enumerate(pages, start=1):
        flat = text.replace("\n", "")
        assert name in flat, f"page {number} does not print the name as typed"
        assert "&lt;" not in flat
        assert "&amp;" not in flat
