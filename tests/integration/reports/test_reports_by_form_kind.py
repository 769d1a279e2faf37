"""Reports follow the form's kind, not its key: a salary survey published under another
key (a bureau's own edition of the form) collects wage rows, is released, and gets its
wage guide and enterprise reports like the shipped one; an enterprise's report finds the
year's self-assessment under another key too (issue 12, item 19)."""

from __future__ import annotations

import re

from tests.conftest import Service
from tests.factories import create_campaign, invite, submit
from tests.integration.analytics.score_helpers import assessment_document
from tests.integration.reports.report_helpers import (
    ask,
    pdf_of,
    released_campaign,
    text_of,
    wait_for,
)
from tests.samples import uscc

OWN_SALARY = "tongchuan-salary-2023"
OWN_ASSESSMENT = "tongchuan-assessment-2023"


async def _own_form(service: Service, shipped_key: str, key: str, kind: str) -> None:
    """The shipped form's content as a new form of ``kind`` under ``key``, published."""
    response = await service.client.get(f"/api/v1/forms/{shipped_key}", headers=service.admin)
    shipped = response.json()
    created = await service.client.post(
        "/api/v1/forms",
        json={
            "key": key,
            "kind": kind,
            "title": {"zh": f"{shipped['title']}（本地版）"},
            "schema": shipped["schema"],
            "ui": shipped["ui"],
            "rules": shipped["rules"],
        },
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        f"/api/v1/forms/{key}/versions/1/publish", headers=service.admin
    )
    assert published.status_code in (200, 201), published.text


async def _done_text(service: Service, **body: object) -> str:
    status, asked = await ask(service, service.admin, **body)
    assert status == 202, asked
    done = await wait_for(service, service.admin, asked["id"])
    assert done["status"] == "done", done
    return re.sub(r"\s+", "", text_of(await pdf_of(service, service.admin, asked["id"])))


async def test_a_salary_survey_under_another_key_has_its_wage_guide_and_enterprise_report(
    service: Service,
) -> None:
    await _own_form(service, "salary-survey", OWN_SALARY, "salary-survey")
    await _own_form(service, "enterprise-self-assessment", OWN_ASSESSMENT, "self-assessment")
    campaign_id, _, made = await released_campaign(service, form_key=OWN_SALARY)
    assessment = await create_campaign(service, OWN_ASSESSMENT, year=2023)
    tokens = await invite(service, assessment, 0)
    await submit(service, assessment, tokens[0], assessment_document(0))
    guide = await _done_text(service, type="wage-benchmark", campaign_id=campaign_id)
    assert f"第{made['number']}次数据发布" in guide
    own = await _done_text(service, type="enterprise", campaign_id=campaign_id, enterprise=uscc(0))
    assert f"第{made['number']}次数据发布" in own
    assert "总分" in own  # the assessment of the form under its own key
    assert "本企业未提交本年度自评" not in own
