"""Reports follow the form's kind, not its key: a salary survey published under another
key (a bureau's own edition of the form) collects wage rows, is released, and gets its
wage guide and enterprise reports like the shipped one (issue 12, item 19)."""

from __future__ import annotations

import re

from tests.conftest import Service
from tests.integration.reports.report_helpers import (
    ask,
    pdf_of,
    released_campaign,
    text_of,
    wait_for,
)
from tests.samples import uscc

OWN_KEY = "tongchuan-salary-2023"


async def _own_salary_form(service: Service) -> None:
    """The shipped salary survey's content as a new form of kind salary-survey."""
    response = await service.client.get("/api/v1/forms/salary-survey", headers=service.admin)
    shipped = response.json()
    created = await service.client.post(
        "/api/v1/forms",
        json={
            "key": OWN_KEY,
            "kind": "salary-survey",
            "title": {"zh": "铜川市企业薪酬调查表（本地版）"},
            "schema": shipped["schema"],
            "ui": shipped["ui"],
            "rules": shipped["rules"],
        },
        headers=service.admin,
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        f"/api/v1/forms/{OWN_KEY}/versions/1/publish", headers=service.admin
    )
    assert published.status_code in (200, 201), published.text


async def test_a_salary_survey_under_another_key_has_its_wage_guide_and_enterprise_report(
    service: Service,
) -> None:
    await _own_salary_form(service)
    campaign_id, _, made = await released_campaign(service, form_key=OWN_KEY)
    for body in (
        {"type": "wage-benchmark", "campaign_id": campaign_id},
        {"type": "enterprise", "campaign_id": campaign_id, "enterprise": uscc(0)},
    ):
        status, asked = await ask(service, service.admin, **body)
        assert status == 202, asked
        done = await wait_for(service, service.admin, asked["id"])
        assert done["status"] == "done", done
        text = re.sub(r"\s+", "", text_of(await pdf_of(service, service.admin, asked["id"])))
        assert f"第{made['number']}次数据发布" in text
