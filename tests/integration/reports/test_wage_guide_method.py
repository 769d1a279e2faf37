"""The wage guide as its readers take it, read back from the PDF (issue 12, items 12 and
15): the method page counts the rows the tables print; every sentence is Chinese (the
XLSX download's notes too); a guide of a campaign still collecting says 征求意见稿 on the
cover and in every page's header; without a prior year there is a line in the method, not
a page; the header's rule runs unbroken across every page after the cover."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import quote

import pypdfium2
import pypdfium2.raw as pdfium_raw
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from tests.conftest import Service
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.wage_helpers import close_campaign, seeded_campaign
from tests.integration.reports.report_helpers import (
    ENGLISH,
    ask,
    pdf_of,
    release_table,
    released_campaign,
    wait_for,
)
from tests.samples import local_day

TOP_MARGIN_PT = 20 / 25.4 * 72  # the pages' top margin (20 mm)
LEFT, RIGHT = 15 / 25.4 * 72, (210 - 15) / 25.4 * 72  # the text block's edges (A4, 15 mm)


async def _guide(service: Service) -> tuple[PdfReader, bytes, int, dict[str, Any]]:
    campaign_id, _, made = await released_campaign(service)
    status, asked = await ask(
        service, service.admin, type="wage-benchmark", campaign_id=campaign_id
    )
    assert status == 202, asked
    done = await wait_for(service, service.admin, asked["id"])
    assert done["status"] == "done", done
    response = await service.client.get(f"/api/v1/reports/{asked['id']}/pdf", headers=service.admin)
    return PdfReader(io.BytesIO(response.content)), response.content, campaign_id, made


def _pages(reader: PdfReader) -> list[str]:
    return [re.sub(r"\s+", "", page.extract_text() or "") for page in reader.pages]


async def test_the_method_counts_the_rows_the_tables_print(service: Service) -> None:
    reader, _, campaign_id, made = await _guide(service)
    rows = await release_table(service, campaign_id, made["number"], by="occupation,district")
    printed = [r for r in rows if r["occupation"] != "*"]
    published = [r for r in printed if not r["suppressed"]]
    assert published, "the table publishes some rows"
    city = [r for r in printed if r["district"] == "*"]
    method = next(p for p in _pages(reader) if "本表内容" in p)
    assert f"表中共{len(printed)}行，其中公布{len(published)}行" in method
    city_published = sum(1 for r in city if not r["suppressed"])
    assert f"职业（全市）{len(city)}行，其中公布{city_published}行" in method


async def test_every_sentence_of_the_guide_and_of_the_xlsx_notes_is_chinese(
    service: Service,
) -> None:
    reader, _, campaign_id, made = await _guide(service)
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text() or ""
        assert ENGLISH.findall(text) == [], number
    response = await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/benchmarks/wages",
        params={"by": "occupation,district", "format": "xlsx", "release": str(made["number"])},
        headers=service.admin,
    )
    assert response.status_code == 200, response.text
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    notes = {r[0]: str(r[1]) for r in book.get_sheet_by_name("说明").to_python()[1:]}
    assert notes["统计口径"] == "全年在岗（工作满12个月）的职工；年度应发工资"
    assert [n for n, text in notes.items() if ENGLISH.search(text)] == []
    words = {
        word
        for name, text in notes.items()
        if name != "内容校验值(SHA-256)"  # hexadecimal
        for word in re.findall(r"[A-Za-z_]{3,}", text)
    }
    assert words <= {"inverted", "CDF", "max"}  # the definition's name and formula


async def test_a_guide_of_a_campaign_still_collecting_is_marked_on_every_page(
    service: Service,
) -> None:
    reader, _, _, _ = await _guide(service)
    pages = _pages(reader)
    assert "征求意见稿" in pages[0]
    for number, page in enumerate(reader.pages[1:], start=2):
        header = [line for line in (page.extract_text() or "").splitlines() if "征求意见稿" in line]
        assert header, number


async def test_without_a_prior_year_a_line_in_the_method_and_no_page(service: Service) -> None:
    reader, _, _, _ = await _guide(service)
    pages = _pages(reader)
    method = next(p for p in pages if "本表内容" in p)
    assert "没有上一年度的企业薪酬调查数据发布，本表不作同比。" in method
    assert [p for p in pages if "与上年相比" in p and p is not method] == []


async def test_the_running_headers_rule_runs_across_every_page_after_the_cover(
    service: Service,
) -> None:
    _, pdf, _, _ = await _guide(service)
    document = pypdfium2.PdfDocument(pdf)
    assert len(document) >= 3
    for number in range(1, len(document)):
        page = document[number]
        height = page.get_height()
        spans = sorted(
            (left, right)
            for obj in page.get_objects()
            if obj.type == pdfium_raw.FPDF_PAGEOBJ_PATH
            for left, bottom, right, top in [obj.get_bounds()]
            if height - bottom < TOP_MARGIN_PT  # in the top margin: the header's
        )
        assert spans, number + 1
        reach = spans[0][0]
        assert reach <= LEFT + 1
        for left, right in spans:
            assert left <= reach + 0.5, (number + 1, "the rule breaks at", reach)
            reach = max(reach, right)
        assert reach >= RIGHT - 1, number + 1


async def test_the_pdf_is_named_by_report_campaign_and_day(service: Service) -> None:
    campaign_id, _, _ = await released_campaign(service)
    _, asked = await ask(service, service.admin, type="wage-benchmark", campaign_id=campaign_id)
    done = await wait_for(service, service.admin, asked["id"])
    response = await service.client.get(f"/api/v1/reports/{asked['id']}/pdf", headers=service.admin)
    disposition = response.headers["content-disposition"]
    day = local_day(done["finished_at"], service.settings.zone)
    name = f"工资价位表-2023年企业薪酬调查-{day}.pdf"
    assert disposition == (
        f'attachment; filename="wage-benchmark-2023-c{campaign_id}-{day}.pdf"; '
        f"filename*=UTF-8''{quote(name)}"
    )


async def test_two_occupations_of_one_group_are_named_apart(service: Service) -> None:
    """2-02-01-01 and 2-02-03-04 are both in the middle group 工程技术人员, the finest
    level of the code list: each is named by its code and the group it belongs to."""
    reader, _, _, _ = await _guide(service)
    text = "".join(_pages(reader))
    for code in ("2-02-01-01", "2-02-03-04"):
        assert f"{code}（属“工程技术人员”中类）" in text
    assert "工程技术人员（2-02" not in text


async def test_once_closed_and_released_again_the_guide_is_final_and_unmarked(
    service: Service,
) -> None:
    campaign_id, _ = await seeded_campaign(service)
    await close_campaign(service, campaign_id)
    final = await release(service, campaign_id, during_collection=False)
    assert final["during_collection"] is False
    _, asked = await ask(service, service.admin, type="wage-benchmark", campaign_id=campaign_id)
    done = await wait_for(service, service.admin, asked["id"])
    assert done["status"] == "done", done
    pages = _pages(await pdf_of(service, service.admin, asked["id"]))
    assert [n for n, page in enumerate(pages, start=1) if "征求意见稿" in page] == []
    assert "正式（调查已截止）" in next(p for p in pages if "本表内容" in p)


async def test_a_campaign_title_with_path_characters_gives_a_safe_file_name(
    service: Service,
) -> None:
    campaign_id, _, _ = await released_campaign(service, title='../2023/薪酬"调查"\\ 一期')
    _, asked = await ask(service, service.admin, type="wage-benchmark", campaign_id=campaign_id)
    done = await wait_for(service, service.admin, asked["id"])
    response = await service.client.get(f"/api/v1/reports/{asked['id']}/pdf", headers=service.admin)
    day = local_day(done["finished_at"], service.settings.zone)
    name = f"工资价位表-2023_薪酬_调查_一期-{day}.pdf"
    assert response.headers["content-disposition"].endswith(f"filename*=UTF-8''{quote(name)}")
