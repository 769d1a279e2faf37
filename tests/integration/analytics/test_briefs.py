"""The negotiation brief through HTTP on SQLite and PostgreSQL: its own figures equal an
independent computation on what the test submitted, its reference figures equal the
release's tables as an analyst downloads them (hidden there, hidden here), the guideline's
lines applied to its median; who may read it: admins, the enterprise and its union's
negotiator for their own, never an analyst."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import update

from survey_service.db.models import AccessToken
from tests.conftest import Service
from tests.factories import bearer, invite
from tests.integration.analytics.release_helpers import release
from tests.integration.analytics.wage_helpers import two_years
from tests.integration.reports.report_helpers import (
    ask,
    pdf_of,
    release_table,
    released_campaign,
    text_of,
    wait_for,
)
from tests.samples import uscc

OWN = ("p25", "p50", "p75")
MIDDLE = "occupation_middle"


def own_figures(workers: list[dict[str, Any]], months: int) -> dict[str, dict[str, float]]:
    """Per middle occupation (the seeded codes are detailed ones): numpy's inverted-CDF
    quartiles and the mean of the full-year workers' annual pay."""
    pay: dict[str, list[float]] = defaultdict(list)
    for w in workers:
        if w["months_worked"] >= months:
            pay[w["occupation"][:4]].append(w["annual_pay"])
    return {
        code: {
            "n": len(values),
            **{name: float(np.percentile(values, int(name[1:]), method="inverted_cdf"))
               for name in OWN},
            "mean": float(np.mean(values)),
        }
        for code, values in pay.items()
    }  # fmt: skip


async def brief(service: Service, campaign_id: int, code: str, headers: dict[str, str]) -> Any:
    return await service.client.get(
        f"/api/v1/campaigns/{campaign_id}/briefs/{code}", headers=headers
    )


async def test_the_brief_holds_its_own_figures_and_the_releases_reference(
    service: Service,
) -> None:
    campaign_id, workers, made = await released_campaign(service)
    year = (
        await service.client.get(f"/api/v1/campaigns/{campaign_id}", headers=service.admin)
    ).json()["campaign_year"]
    await service.client.post(
        "/api/v1/wage-guidelines",
        json={"year": year, "region": "610200", "base_pct": 6.0, "upper_pct": 9.0,
              "lower_pct": 3.0, "source": "示例", "example": True},
        headers=service.admin,
    )  # fmt: skip
    response = await brief(service, campaign_id, uscc(0), service.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["release"]["number"] == made["number"]
    assert body["release"]["content_hash"] == made["content_hash"]
    assert (body["enterprise"]["industry_section"], body["enterprise"]["size_class"]) == (
        "C", "medium",
    )  # fmt: skip
    months = body["rules"]["annual_min_months"]
    expected = own_figures([w for w in workers if w["enterprise"] == 0], months)
    assert {o["occupation"] for o in body["occupations"]} == set(expected)
    few = body["rules"]["min_own_workers"]
    for occupation in body["occupations"]:
        mine = expected[occupation["occupation"]]
        own = occupation["own"]
        assert own["n"] == mine["n"]
        if mine["n"] < few:  # one colleague's pay is not printed, to either side
            assert own == {"n": mine["n"], "shown": False}
            assert occupation["guideline_applied"] == []
            continue
        for name in (*OWN, "mean"):
            assert own[name] == mine[name], (occupation["occupation"], name)
        assert [line["amount"] for line in occupation["guideline_applied"]] == [
            round(mine["p50"] * (1 + pct / 100)) for pct in (3.0, 6.0, 9.0)
        ]
    assert {o["own"]["shown"] for o in body["occupations"]} == {True, False}
    # Every figure of other enterprises is the release's, cell by cell.
    tables = {
        "city": await release_table(service, campaign_id, made["number"], by=MIDDLE),
        "industry": [r for r in await release_table(
            service, campaign_id, made["number"], by=f"{MIDDLE},industry"
        ) if r["industry"] == "C"],
        "size": [r for r in await release_table(
            service, campaign_id, made["number"], by=f"{MIDDLE},size_class"
        ) if r["size_class"] == "medium"],
    }  # fmt: skip
    published = hidden = 0
    for scope, rows in tables.items():
        by_code = {r[MIDDLE]: r for r in rows}
        for occupation in body["occupations"]:
            cell = by_code[occupation["occupation"]]
            quoted = occupation["reference"][scope]
            if cell["suppressed"]:
                hidden += 1
                assert quoted["published"] is False
                assert set(quoted) == {"published", "reason"}  # no figure of a hidden cell
            else:
                published += 1
                for name in ("n_enterprises", "n_workers", "p25", "p50", "p75", "mean"):
                    assert quoted[name] == cell[name], (scope, occupation["occupation"], name)
    assert published
    assert hidden, "the seeded campaign hides some of the enterprise's occupations"


async def test_the_brief_tells_the_enterprises_own_change_since_last_year(
    service: Service,
) -> None:
    earlier, later = await two_years(service)
    await release(service, earlier)
    await release(service, later)
    body = (await brief(service, later, uscc(0), service.admin)).json()
    (occupation,) = [o for o in body["occupations"] if o["occupation"] == "6-15"]
    before, now = occupation["previous_own"], occupation["own"]
    assert before["year"] == 2022
    # Everyone earns 1,000 less than the year before.
    assert now["p50"] == before["p50"] - 1000
    assert occupation["own_growth_pct"]["p50"] == round((now["p50"] / before["p50"] - 1) * 100, 1)
    assert occupation["own_growth_pct"]["p50"] < 0


async def test_who_may_read_a_brief(service: Service) -> None:
    campaign_id, _, _ = await released_campaign(service)
    other_campaign, _, _ = await released_campaign(service, title="另一次调查")
    tokens = await invite(service, campaign_id, 0, 1, reissue=True)
    issued = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/negotiator-tokens",
        json={"enterprise": uscc(0), "days": 30}, headers=service.admin,
    )  # fmt: skip
    assert issued.status_code == 201, issued.text
    negotiator = bearer(issued.json()["token"])
    own = await brief(service, campaign_id, uscc(0), negotiator)
    assert own.status_code == 200, own.text
    assert own.json() == (await brief(service, campaign_id, uscc(0), service.admin)).json()
    assert (await brief(service, campaign_id, uscc(1), negotiator)).status_code == 404
    assert (await brief(service, other_campaign, uscc(0), negotiator)).status_code == 404
    for path in ("/api/v1/enterprises", f"/api/v1/campaigns/{campaign_id}/benchmarks/wages",
                 f"/api/v1/campaigns/{campaign_id}"):  # fmt: skip
        assert (await service.client.get(path, headers=negotiator)).status_code == 403, path
    # The enterprise reads its own and issues a token for its own negotiator only.
    ent_a, ent_b = bearer(tokens[0]), bearer(tokens[1])
    assert (await brief(service, campaign_id, uscc(0), ent_a)).status_code == 200
    assert (await brief(service, campaign_id, uscc(0), ent_b)).status_code == 404
    for_itself = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/negotiator-tokens", json={}, headers=ent_b
    )
    assert for_itself.status_code == 201, for_itself.text
    assert for_itself.json()["enterprise"] == uscc(1)
    for_another = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/negotiator-tokens",
        json={"enterprise": uscc(0)}, headers=ent_b,
    )  # fmt: skip
    assert for_another.status_code == 404
    # Analysts and district staff never read an enterprise's own figures.
    analyst = bearer(await service.token("analyst"))
    district = bearer(await service.token("district", district="610202"))
    for headers in (analyst, district):
        assert (await brief(service, campaign_id, uscc(0), headers)).status_code == 403
        refused = await service.client.post(
            f"/api/v1/campaigns/{campaign_id}/negotiator-tokens",
            json={"enterprise": uscc(0)}, headers=headers,
        )  # fmt: skip
        assert refused.status_code == 403
    # An expired negotiator's token reads nothing.
    async with service.db.transaction() as session:
        await session.execute(
            update(AccessToken)
            .where(AccessToken.id == issued.json()["token_id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await brief(service, campaign_id, uscc(0), negotiator)).status_code == 401


async def test_the_brief_as_a_pdf_for_the_negotiator_and_never_for_an_analyst(
    service: Service,
) -> None:
    campaign_id, _, _ = await released_campaign(service)
    issued = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/negotiator-tokens",
        json={"enterprise": uscc(0)}, headers=service.admin,
    )  # fmt: skip
    negotiator = bearer(issued.json()["token"])
    asked = {"type": "negotiation-brief", "campaign_id": campaign_id, "enterprise": uscc(0)}
    status, body = await ask(service, negotiator, **asked)
    assert status == 202, body
    done = await wait_for(service, negotiator, body["id"])
    assert done["status"] == "done", done
    text = text_of(await pdf_of(service, negotiator, body["id"]))
    flat = re.sub(r"\s+", "", text)
    assert "年工资集体协商参考" in flat
    json_brief = (await brief(service, campaign_id, uscc(0), negotiator)).json()
    for occupation in json_brief["occupations"]:
        for name in ("p25", "p50", "p75", "mean"):
            if occupation["own"]["shown"]:
                assert f"{occupation['own'][name]:,.0f}" in flat, (occupation["occupation"], name)
        city = occupation["reference"]["city"]
        if city["published"]:
            assert f"{city['p50']:,.0f}" in flat
    assert "尚未录入" in flat  # no guideline recorded
    # The negotiator asks for nothing else, and an analyst never for a brief.
    other = await ask(service, negotiator, **(asked | {"enterprise": uscc(1)}))
    assert other[0] == 404
    report = await ask(service, negotiator, **(asked | {"type": "enterprise"}))
    assert report[0] == 403
    analyst = bearer(await service.token("analyst"))
    assert (await ask(service, analyst, **asked))[0] == 403
    read = await service.client.get(f"/api/v1/reports/{body['id']}/pdf", headers=analyst)
    assert read.status_code == 404
    ent_b = bearer((await invite(service, campaign_id, 1, reissue=True))[1])
    assert (
        await service.client.get(f"/api/v1/reports/{body['id']}", headers=ent_b)
    ).status_code == 404
