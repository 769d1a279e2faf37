"""The limits on what one request may carry, through HTTP on both databases: JSON nesting on
every body, body size, and the spreadsheet upload's own limits (rows, magic bytes, ZIP
bombs, member count, DTDs) checked before anything is unpacked; and the per-link poll rate
on the poll page as on the API."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from typing import Any

import httpx
import pytest

from survey_service.collection.spreadsheets import DEFAULT_LIMITS
from survey_service.json_depth import MAX_JSON_DEPTH
from tests.conftest import Service
from tests.factories import bearer, invited, open_poll, upload_salaries
from tests.integration.security.hostile_files import (
    STRINGS,
    expanding_shared_strings,
    one_text_in_every_cell,
    ten_million_empty_columns,
)
from tests.integration.security.test_access_matrix import ROWS, url_of
from tests.integration.security.world import ROLES, service_with, world
from tests.samples import POLL_ANSWER, form_fields
from tests.unit.test_spreadsheets import HEADER_ZH, SHEET, rewrite, workbook, zeros_member

PROBLEM_JSON = "application/problem+json"


def _deep(levels: int, inner: bytes = b"1") -> bytes:
    return b"[" * levels + inner + b"]" * levels


def _allowed_role(expect: tuple[Any, ...]) -> str:
    """A role the access matrix lets through (a success or a redirect that is not to the
    sign-in page; the admin where everyone is redirected, as on signing out): the one to
    send a hostile body as."""
    for role in ("admin", "ent_a", "respondent", "analyst", "ent_b", "none"):
        wanted = expect[ROLES.index(role)]
        if (isinstance(wanted, int) and wanted < 400) or (
            isinstance(wanted, str) and "signin" not in wanted
        ):
            return role
    # Everyone refused alike (signing out), or the admin let through and then refused for
    # another reason than access (a 409: no mail server to send through).
    assert len(set(expect)) == 1 or isinstance(expect[ROLES.index("admin")], int), expect
    return "admin"


async def test_a_deeply_nested_body_is_a_400_problem_on_every_endpoint_that_takes_a_body(
    service: Service,
) -> None:
    """10,000 nested arrays (which msgspec would give up on with a RecursionError) sent to
    every POST and PUT of the app as a role allowed to call it: a clear 400, never a 500."""
    bodies = [_deep(10_000), b'{"a":' * 10_000 + b"1" + b"}" * 10_000]
    async with world(service) as w:
        posts = [row for row in ROWS if row.method in ("POST", "PUT")]
        assert len(posts) > 20
        for row in posts:
            role = _allowed_role(row.expect)
            for body in bodies:
                response = await w.clients[role].request(
                    row.method,
                    url_of(row, w, role),
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                where = f"{row.method} {row.path} as {role}"
                assert response.status_code == 400, f"{where}: {response.text[:200]}"
                assert response.headers["content-type"].startswith(PROBLEM_JSON), where
                assert f"deeper than {MAX_JSON_DEPTH} levels" in response.json()["detail"]


FORM_TYPES = (
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
)


async def test_a_deep_body_claiming_to_be_a_form_is_refused_by_every_route_that_reads_json(
    service: Service,
) -> None:
    """Issue 12, item 16: 100,000 nested arrays sent with a form content type. A route that
    decodes JSON does so whatever the header claims, so the nesting check holds for it too:
    a 400 on validate, submissions, amendments, enterprises, forms, reports, poll answers,
    the builder preview and the rest; only the uploads and sheet imports, which Litestar
    reads as forms, never decode it (a 4xx problem of their own). Never a 500."""
    body = _deep(100_000)
    async with world(service) as w:
        posts = [row for row in ROWS if row.method in ("POST", "PUT")]
        named = {
            ("POST", "/api/v1/forms/{key:str}/validate"),
            ("POST", "/api/v1/campaigns/{campaign_id:int}/submissions"),
            ("PUT", "/api/v1/submissions/{submission_id:str}"),  # an amendment
            ("POST", "/api/v1/enterprises"),
            ("POST", "/api/v1/forms"),
            ("POST", "/api/v1/reports"),
            ("POST", "/api/v1/polls/{link:str}/responses"),
            ("POST", "/admin/builder/preview"),
        }
        assert named <= {(row.method, row.path) for row in posts}
        for row in posts:
            role = _allowed_role(row.expect)
            for content_type in FORM_TYPES:
                response = await w.clients[role].request(
                    row.method,
                    url_of(row, w, role),
                    content=body,
                    headers={"Content-Type": content_type},
                )
                where = f"{row.method} {row.path} as {role}, {content_type}"
                assert 400 <= response.status_code < 500, f"{where}: {response.text[:200]}"
                assert response.headers["content-type"].startswith(PROBLEM_JSON), where
                if row.path.endswith(("/salary-uploads", "/import")):
                    continue
                assert response.status_code == 400, f"{where}: {response.text[:200]}"
                assert f"deeper than {MAX_JSON_DEPTH} levels" in response.json()["detail"]


async def test_nesting_up_to_the_limit_is_taken_and_one_level_more_is_not(
    service: Service,
) -> None:
    url = "/api/v1/forms/salary-survey/validate"
    at_limit = b'{"employees":' + _deep(MAX_JSON_DEPTH - 1) + b"}"
    response = await service.client.post(url, content=at_limit)
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is False  # taken, and judged by the schema
    over = b'{"employees":' + _deep(MAX_JSON_DEPTH) + b"}"
    assert (await service.client.post(url, content=over)).status_code == 400


async def test_brackets_in_strings_and_escaped_quotes_do_not_count(service: Service) -> None:
    url = "/api/v1/forms/salary-survey/validate"
    text = '\\"' + "[{" * 5_000
    body = ('{"note": "' + text + '", "more": ["]]]]", "\\\\", "[[["]}').encode()
    response = await service.client.post(url, content=body)
    assert response.status_code == 200, response.text


async def test_a_deep_form_post_is_not_json_and_is_read_as_a_form(service: Service) -> None:
    """The poll page's form post takes field names, not JSON: brackets there are text."""
    async with world(service) as w:
        fields = form_fields(POLL_ANSWER) | {"note": "[" * 10_000}
        response = await w.clients["respondent"].post(f"/p/{w.slug_a}", data=fields)
        assert response.status_code == 303, response.text


# --- body size ---------------------------------------------------------------------------


async def test_bodies_over_the_limit_are_413_on_uploads_and_json_alike(service: Service) -> None:
    campaign_id, token = await invited(service, campaign_year=None)
    async with service_with(service, max_body_bytes=64 * 1024) as small:
        big = b"a,b\n" + b"1,2\n" * 20_000  # 80 KB
        response = await upload_salaries(small, campaign_id, token, big, "工资.csv")
        assert response.status_code == 413
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        padded = {"data": {"note": "x" * 70_000}}
        response = await small.client.post(
            f"/api/v1/campaigns/{campaign_id}/submissions", json=padded, headers=bearer(token)
        )
        assert response.status_code == 413


# --- the spreadsheet upload's limits -----------------------------------------------------


def _refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["title"] == "Spreadsheet refused"
    assert words in body["detail"], body["detail"]
    assert body["detail_zh"]


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


async def test_a_picture_renamed_xlsx_is_refused_by_its_magic_bytes(service: Service) -> None:
    campaign_id, token = await invited(service, campaign_year=None)
    _refused(
        await upload_salaries(service, campaign_id, token, _png(), "工资.xlsx"), "not an Excel"
    )
    workbook_named_png = workbook([HEADER_ZH])
    _refused(
        await upload_salaries(service, campaign_id, token, workbook_named_png, "工资.png"),
        "Unsupported file type",
    )


@pytest.fixture
def no_unpacking(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if the server decompresses any ZIP member (the reader runs in a thread of this
    process, so the patch reaches it)."""
    open_member = zipfile.ZipFile.open

    def guarded(archive: zipfile.ZipFile, name: Any, mode: str = "r", **kwargs: Any) -> Any:
        if mode == "r":
            raise AssertionError(f"{name} was decompressed")
        return open_member(archive, name, mode, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", guarded)


async def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    service: Service, no_unpacking: None
) -> None:
    campaign_id, token = await invited(service, campaign_year=None)
    bomb = zeros_member(300 << 20, level=1)  # 300 MiB of zeros in about 1 MB
    _refused(await upload_salaries(service, campaign_id, token, bomb, "工资.xlsx"), "refused")


async def test_a_workbook_of_too_many_parts_is_refused_before_it_is_unpacked(
    service: Service, no_unpacking: None
) -> None:
    campaign_id, token = await invited(service, campaign_year=None)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for number in range(DEFAULT_LIMITS.max_members + 1):
            archive.writestr(f"xl/media/{number}.bin", b"")
    response = await upload_salaries(service, campaign_id, token, out.getvalue(), "工资.xlsx")
    _refused(response, f"{DEFAULT_LIMITS.max_members:,} parts")


async def test_a_sheet_declaring_entities_is_refused(service: Service) -> None:
    campaign_id, token = await invited(service, campaign_year=None)
    laughs = b'<!DOCTYPE x [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><worksheet'
    content = rewrite(
        workbook([HEADER_ZH]), SHEET, lambda xml: xml.replace(b"<worksheet", laughs, 1)
    )
    _refused(await upload_salaries(service, campaign_id, token, content, "工资.xlsx"), "DOCTYPE")


XML_PARTS = (
    "[Content_Types].xml",
    "_rels/.rels",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    STRINGS,
    SHEET,
)
DTDS = {
    "external entity": b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    "billion laughs": b'<!DOCTYPE x [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    "bare DOCTYPE": b"<!DOCTYPE x>",
}


@pytest.mark.parametrize("part", XML_PARTS)
async def test_a_dtd_in_any_xml_part_of_a_workbook_is_refused(service: Service, part: str) -> None:
    """Issue 12, item 17: a DOCTYPE (an external entity, a billion laughs, or a bare one)
    after the XML declaration of any part the reader or calamine parses is refused and
    named; the part unchanged is taken."""
    campaign_id, token = await invited(service, campaign_year=None)
    sheet = workbook([HEADER_ZH, ["6-01-02-03", "本科", "女", "是", 12, 68000]])
    assert part in zipfile.ZipFile(io.BytesIO(sheet)).namelist()
    for what, dtd in DTDS.items():

        def declare(xml: bytes, dtd: bytes = dtd) -> bytes:
            return xml.replace(b"?>", b"?>" + dtd, 1)

        content = rewrite(sheet, part, declare)
        response = await upload_salaries(service, campaign_id, token, content, "工资.xlsx")
        _refused(response, f"{part}: a DOCTYPE or entity declaration is not allowed")
        assert "passwd" not in response.text, what
    taken = await upload_salaries(service, campaign_id, token, sheet, "工资.xlsx")
    assert taken.status_code == 201, taken.text


async def test_a_sheet_with_more_rows_than_the_limit_is_refused(service: Service) -> None:
    campaign_id, token = await invited(service, campaign_year=None)
    rows = "".join(f"6-01-02-03,12,{60000 + n % 1000},本科\n" for n in range(100_001))
    content = ("职业代码,工作月数,年度应发工资,学历\n" + rows).encode()
    assert DEFAULT_LIMITS.max_rows == 100_000
    response = await upload_salaries(service, campaign_id, token, content, "工资.csv")
    _refused(response, "more than 100,000 data rows")


async def test_a_csv_line_of_ten_million_empty_columns_is_refused_before_it_is_split(
    service: Service,
) -> None:
    """Issue 12, item 18: the columns of a CSV line are bounded (empty ones included)
    before the line is split, and so is its length; the line is named."""
    campaign_id, token = await invited(service, campaign_year=None)
    huge = ten_million_empty_columns()
    response = await upload_salaries(service, campaign_id, token, huge, "工资.csv")
    _refused(response, f"Line 1 is longer than {DEFAULT_LIMITS.max_line_chars:,} characters")
    fields = DEFAULT_LIMITS.max_line_fields
    wide = ("职业代码,学历\n6-01-02-03,本科" + "," * fields + "\n").encode()
    response = await upload_salaries(service, campaign_id, token, wide, "工资.csv")
    _refused(response, f"Line 2 has more than {fields:,} columns (empty ones included)")
    padded = ("职业代码,学历,工作月数,年度应发工资" + "," * 300 + "\n"
              + "6-01-02-03,本科,12,68000" + "," * 300 + "\n").encode()  # fmt: skip
    response = await upload_salaries(service, campaign_id, token, padded, "工资.csv")
    assert response.status_code == 201, response.text  # Excel's padding is still read


async def test_shared_strings_beyond_a_payrolls_are_refused_while_they_stream(
    service: Service,
) -> None:
    """Issue 12, item 18: shared strings of 173 MiB in a 1.4 MB workbook, and a million and
    one short ones, are refused by the limit they break, named."""
    campaign_id, token = await invited(service, campaign_year=None)
    chars = DEFAULT_LIMITS.max_shared_string_chars
    response = await upload_salaries(
        service, campaign_id, token, expanding_shared_strings(90_000, 2_000), "工资.xlsx"
    )
    _refused(response, f"shared strings hold more than {chars:,} characters")
    count = DEFAULT_LIMITS.max_shared_strings
    response = await upload_salaries(
        service, campaign_id, token, expanding_shared_strings(count + 1, 0), "工资.xlsx"
    )
    _refused(response, f"shared strings hold more than {count:,} texts")


@pytest.mark.parametrize("reader", ["fast scan", "parser"])
async def test_a_shared_string_counts_in_every_cell_that_shows_it(
    service: Service, reader: str
) -> None:
    """Issue 12, item 18 (the cells): the text calamine would hold, each cell's shared
    string counted where it is shown, is bounded before calamine reads the sheet, by the
    fast scan and by the parser it hands odd sheets to (attributes in another order)."""
    campaign_id, token = await invited(service, campaign_year=None)
    content = one_text_in_every_cell()
    if reader == "parser":
        content = rewrite(
            content,
            SHEET,
            lambda xml: re.sub(rb'<c r="([A-Z0-9]+)" t="s">', rb'<c t="s" r="\1">', xml),
        )
    response = await upload_salaries(service, campaign_id, token, content, "工资.xlsx")
    chars = DEFAULT_LIMITS.max_text_chars
    _refused(response, f"text cells hold more than {chars:,} characters")


# --- the poll link's rate, on the page as on the API ----------------------------------------


async def test_the_poll_page_shares_its_links_rate_and_says_when_to_come_back(
    service: Service,
) -> None:
    _, slug = await open_poll(
        service, title="满意度", campaign_year=None, settings={"poll_rate_per_minute": 2}
    )
    statuses = []
    for path in (f"/api/v1/polls/{slug}/responses", f"/p/{slug}", f"/p/{slug}"):
        service.client.cookies.clear()
        if path.startswith("/p/"):
            response = await service.client.post(path, data=form_fields(POLL_ANSWER))
        else:
            response = await service.client.post(path, json={"data": POLL_ANSWER})
        statuses.append(response.status_code)
    assert statuses == [201, 303, 429]
    assert 1 <= int(response.headers["retry-after"]) <= 30
    assert "请稍后再试" in response.text
