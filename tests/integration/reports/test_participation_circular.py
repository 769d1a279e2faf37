"""The participation circular through HTTP on SQLite and PostgreSQL: 202 at once, rendered
by the worker, the PDF read back (its Chinese title, the API's exact figures, the annex for
admins only, fonts embedded); the same request on unchanged data is the same PDF; new data
gives a new one; a report that cannot be made fails with a reason."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from tests.conftest import Service
from tests.factories import (
    bearer,
    create_campaign,
    invite,
    record_contract,
    register_enterprises,
    submit,
)
from tests.integration.analytics.score_helpers import assessment_document
from tests.integration.reports.report_helpers import (
    ENGLISH,
    ask,
    embedded_fonts,
    pdf_of,
    text_of,
    wait_for,
)
from tests.samples import enterprise, local_day, uscc


async def _year(service: Service) -> dict[int, str]:
    await register_enterprises(
        service,
        enterprise(1, "610202", has_union=True, staff_count=150, has_collective_contract=True),
        enterprise(2, "610202", has_union=True, staff_count=120),
        enterprise(3, "610203", above_designated_size=True),
    )
    await record_contract(service, 1)
    assessment = await create_campaign(service, "enterprise-self-assessment", year=2023)
    tokens = await invite(service, assessment, 1, 2, 3)
    await submit(service, assessment, tokens[1], assessment_document(1))
    return tokens


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


async def test_the_circular_is_rendered_by_the_worker_and_says_what_the_api_says(
    service: Service,
) -> None:
    await _year(service)
    status, body = await ask(service, service.admin, type="participation", year=2023, annex=True)
    assert status == 202, body
    assert body["status"] in ("queued", "rendering", "done")
    done = await wait_for(service, service.admin, body["id"])
    assert done["status"] == "done", done
    assert done["pages"] >= 2
    reader = await pdf_of(service, service.admin, body["id"])
    text = text_of(reader)
    assert "2023年度“双爱”活动参与情况通报" in text
    api = (
        await service.client.get("/api/v1/participation?year=2023", headers=service.admin)
    ).json()
    city = api["city"]
    assert f"全市登记企业 {city['enterprises']} 家" in text
    assert f"{city['participating']} 家参加" in text
    assert _pct(city["participation_rate"]) in text
    for row in api["districts"]:
        if row["enterprises"]:
            assert re.search(
                rf"{row['name']}\s*{row['enterprises']}\s*{re.escape(_pct(row['participation_rate']))}",
                text,
            ), row["name"]
    # The annex names the enterprises still missing (admins asked for it).
    assert "尚未参加的企业" in text
    for missing in api["missing"]:
        assert missing["uscc"] in text
    assert uscc(1) not in text  # it took part
    assert any("NotoSansCJK" in name or "Noto" in name for name in embedded_fonts(reader))
    assert "第 1 页" in text
    assert ENGLISH.findall(text) == []  # every sentence for the reader is Chinese


async def test_the_same_request_on_unchanged_data_is_the_stored_pdf_and_new_data_a_new_one(
    service: Service,
) -> None:
    tokens = await _year(service)
    _, first = await ask(service, service.admin, type="participation", year=2023)
    await wait_for(service, service.admin, first["id"])
    status, again = await ask(service, service.admin, type="participation", year=2023)
    assert (status, again["id"], again["status"]) == (200, first["id"], "done")
    # Enterprise 2 hands in its assessment: the figures change, so does the report.
    assessment = (await service.client.get("/api/v1/campaigns", headers=service.admin)).json()
    campaign_id = (
        assessment[0]["id"] if isinstance(assessment, list) else assessment["items"][0]["id"]
    )
    await submit(service, campaign_id, tokens[2], assessment_document(2))
    status, fresh = await ask(service, service.admin, type="participation", year=2023)
    assert status == 202
    assert fresh["id"] != first["id"]
    done = await wait_for(service, service.admin, fresh["id"])
    assert "家参加" in text_of(await pdf_of(service, service.admin, done["id"]))


async def test_a_report_that_cannot_be_made_fails_with_a_reason(service: Service) -> None:
    status, body = await ask(service, service.admin, type="participation", year=1999)
    assert status == 202
    failed = await wait_for(service, service.admin, body["id"])
    assert failed["status"] == "failed"
    assert "no campaign in 1999" in failed["reason"]
    response = await service.client.get(f"/api/v1/reports/{body['id']}/pdf", headers=service.admin)
    assert response.status_code == 409
    assert "no campaign in 1999" in response.json()["detail"]


async def test_roles_asking_for_and_reading_reports(service: Service) -> None:
    tokens = await _year(service)
    analyst = bearer(await service.token("analyst", label="analyst"))
    status, body = await ask(service, analyst, type="participation", year=2023, annex=True)
    assert status == 403  # the annex names enterprises: admins only
    status, body = await ask(service, analyst, type="participation", year=2023)
    assert status == 202
    own = bearer(tokens[1])
    status, _ = await ask(service, own, type="participation", year=2023)
    assert status == 403
    response = await service.client.get(f"/api/v1/reports/{body['id']}", headers=own)
    assert response.status_code == 404  # not its report
    status, problem = await ask(service, service.admin, type="participation")
    assert status == 422
    assert "year" in problem["detail"]
    status, problem = await ask(service, service.admin, type="horoscope", year=2023)
    assert status == 422
    response = await service.client.post(
        "/api/v1/reports", json={"type": "participation", "year": 2023}
    )
    assert response.status_code == 401
    missing = await service.client.get("/api/v1/reports/not-a-uuid", headers=service.admin)
    assert missing.status_code == 404


async def test_asked_by_campaign_a_rate_with_no_enterprise_is_a_dash_in_text_and_chart(
    service: Service,
) -> None:
    """No enterprise above designated size, and a district without a large unionized
    enterprise: the circular says "—" and why, and its chart draws no 0% bar where the
    table has "—". Asked with the campaign's id, it is the report of the campaign's year,
    downloaded under a name saying what it is."""
    await register_enterprises(
        service,
        enterprise(1, "610202", has_union=True, staff_count=150, has_collective_contract=True,
                   above_designated_size=False),
        enterprise(2, "610203", has_union=False, above_designated_size=False),
    )  # fmt: skip
    await record_contract(service, 1)
    assessment = await create_campaign(service, "enterprise-self-assessment", year=2023)
    tokens = await invite(service, assessment, 1, 2)
    await submit(service, assessment, tokens[1], assessment_document(1))
    status, body = await ask(service, service.admin, type="participation", campaign_id=assessment)
    assert status == 202, body
    assert body["params"]["year"] == 2023
    done = await wait_for(service, service.admin, body["id"])
    assert done["status"] == "done", done
    response = await service.client.get(f"/api/v1/reports/{body['id']}/pdf", headers=service.admin)
    disposition = response.headers["content-disposition"]
    day = local_day(done["finished_at"], service.settings.zone)
    assert f"filename*=UTF-8''{quote(f'参与情况通报-2023-{day}.pdf')}" in disposition
    assert f'filename="participation-2023-{day}.pdf"' in disposition
    text = text_of(await pdf_of(service, service.admin, body["id"]))
    flat = re.sub(r"\s+", "", text)
    assert "规模以上企业参与率—（没有登记的规模以上企业" in flat
    chart = text[text.rindex("建会企业集体合同签订率") :]
    assert "100%" in chart  # 610202: its large unionized enterprise has a contract
    assert re.findall(r"(?<![0-9])0%", chart) == []  # 610203 has none: no 0% bar
    assert "—" in chart
    status, problem = await ask(
        service, service.admin, type="participation", campaign_id=assessment, year=2022
    )
    assert status == 422, problem
    status, _ = await ask(service, service.admin, type="participation", campaign_id=99999)
    assert status == 404


def _without_creation_date(pdf: bytes) -> bytes:
    return re.sub(rb"/CreationDate \(D[^)]*\)", b"/CreationDate ()", pdf)


async def _pdf_bytes(service: Service, report_id: str) -> bytes:
    response = await service.client.get(f"/api/v1/reports/{report_id}/pdf", headers=service.admin)
    assert response.status_code == 200, response.text
    return response.content


async def test_a_circular_made_again_as_of_its_instant_is_the_same_pdf(service: Service) -> None:
    """The circular of an instant, made again after the registry, the surveys and the
    campaigns changed, is the same PDF byte for byte but its creation date; made as of now
    it tells the new figures. The API counts the same way; a day is its last moment, and
    what is not yet known cannot be asked for."""
    tokens = await _year(service)
    then = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    await asyncio.sleep((then - datetime.now(UTC)).total_seconds() + 0.05)
    as_of = then.strftime("%Y-%m-%dT%H:%M:%SZ")
    _, first = await ask(
        service, service.admin, type="participation", year=2023, annex=True, as_of=as_of
    )
    assert (await wait_for(service, service.admin, first["id"]))["status"] == "done"
    made_then = await _pdf_bytes(service, first["id"])
    api_then = (
        await service.client.get(
            f"/api/v1/participation?year=2023&as_of={quote(as_of)}", headers=service.admin
        )
    ).json()

    # Everything that counts changes: a survey handed in, an enterprise renamed, joined by
    # a union and grown, another registered, a new campaign of the year.
    campaign_id = (await service.client.get("/api/v1/campaigns", headers=service.admin)).json()
    campaign_id = (campaign_id if isinstance(campaign_id, list) else campaign_id["items"])[0]["id"]
    await submit(service, campaign_id, tokens[2], assessment_document(2))
    await register_enterprises(
        service,
        enterprise(3, "610203", name="改名后的企业", has_union=True, staff_count=300,
                   above_designated_size=True, has_collective_contract=True),
        enterprise(4, "610204"),
    )  # fmt: skip
    await record_contract(service, 3)
    await record_contract(service, 1, signed_on=None, note="the contract was recorded in error")
    await create_campaign(service, "salary-survey", year=2023)

    _, again = await ask(
        service, service.admin, type="participation", year=2023, annex=True, as_of=as_of
    )
    assert again["id"] != first["id"]  # the data changed: made again, not the stored one
    assert (await wait_for(service, service.admin, again["id"]))["status"] == "done"
    made_again = await _pdf_bytes(service, again["id"])
    assert _without_creation_date(made_again) == _without_creation_date(made_then)
    local = then.astimezone(service.settings.zone).strftime("%Y-%m-%d %H:%M:%S")
    assert f"截至 {local}" in text_of(await pdf_of(service, service.admin, again["id"]))
    api_again = (
        await service.client.get(
            f"/api/v1/participation?year=2023&as_of={quote(as_of)}", headers=service.admin
        )
    ).json()
    assert api_again == api_then
    assert (api_then["city"]["enterprises"], api_then["city"]["participating"]) == (3, 1)

    _, now = await ask(service, service.admin, type="participation", year=2023, annex=True)
    assert (await wait_for(service, service.admin, now["id"]))["status"] == "done"
    text_now = text_of(await pdf_of(service, service.admin, now["id"]))
    assert "全市登记企业 4 家，2 家参加" in text_now
    assert "改名后的企业" not in text_of(await pdf_of(service, service.admin, first["id"]))
    api_now = (
        await service.client.get("/api/v1/participation?year=2023", headers=service.admin)
    ).json()
    assert (api_now["city"]["enterprises"], api_now["city"]["participating"]) == (4, 2)
    # The contracts as the records known then and now had them: 1's then, 3's now.
    contracts = ("unionized_large", "collective_contracts")
    assert tuple(api_then["city"][k] for k in contracts) == (3, 1)
    assert tuple(api_now["city"][k] for k in contracts) == (4, 1)
    assert [m["uscc"] for m in api_then["without_collective_contract"]] == [uscc(2), uscc(3)]
    assert [m["uscc"] for m in api_now["without_collective_contract"]] == [
        uscc(1),
        uscc(2),
        uscc(4),
    ]
    assert len(api_now["campaigns"]) == len(api_then["campaigns"]) + 1

    # A date is the end of that day: the day before everything was registered had nothing.
    yesterday = (datetime.now(service.settings.zone) - timedelta(days=1)).date().isoformat()
    before = (
        await service.client.get(
            f"/api/v1/participation?year=2023&as_of={yesterday}", headers=service.admin
        )
    ).json()
    assert (before["city"]["enterprises"], before["campaigns"]) == (0, [])
    tomorrow = (datetime.now(service.settings.zone) + timedelta(days=1)).date().isoformat()
    for bad in (tomorrow, "2023-13-01", "yesterday"):
        response = await service.client.get(
            f"/api/v1/participation?year=2023&as_of={bad}", headers=service.admin
        )
        assert response.status_code == 422, bad
        status, _ = await ask(service, service.admin, type="participation", year=2023, as_of=bad)
        assert status == 422, bad
