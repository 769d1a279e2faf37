"""The forms pages and the builder on a reopened form, through HTTP on SQLite and
PostgreSQL: a published form is reopened as a new draft version, its fields come back in
the builder, a label is changed (as the builder's script saves it, through the API with the
session), previewed, published, and the API then serves version 2 while version 1 stays as
it was; the form's description is stored and shown."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import Service
from tests.integration.web.helpers import assert_well_formed, csrf_of, page_csrf, sign_in

FIELDS: list[dict[str, Any]] = [
    {
        "type": "single_choice",
        "name": "has_union",
        "label": {"zh": "企业有工会吗？", "en": "Is there a union?"},
        "required": True,
        "choices": [
            {"value": "yes", "label": {"zh": "有"}},
            {"value": "no", "label": {"zh": "没有"}},
        ],
    },
    {
        "type": "text",
        "name": "union_name",
        "label": {"zh": "</script><script>alert(1)</script>工会名称"},
        "required": True,
        "show_if": {"field": "has_union", "equals": "yes"},
    },
    {"type": "likert", "name": "mood", "label": {"zh": "满意程度"}, "scale": 7},
]
DESCRIPTION = {
    "zh": "了解职工之家建设情况，约需一分钟。",
    "en": "About the union home, one minute.",
}


async def _admin_session(service: Service) -> None:
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303


async def _published_form(service: Service, key: str = "union-home") -> None:
    body = {"key": key, "kind": "poll", "title": {"zh": "职工之家问卷"}, "fields": FIELDS}
    created = await service.client.post(
        "/api/v1/forms", json=body | {"description": DESCRIPTION}, headers=service.admin
    )
    assert created.status_code == 201, created.text
    published = await service.client.post(
        f"/api/v1/forms/{key}/versions/1/publish", headers=service.admin
    )
    assert published.status_code == 200


def _state(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="builder-state">(.*?)</script>', html)
    assert found is not None
    state: dict[str, Any] = json.loads(found.group(1))
    return state


async def test_a_published_form_is_reopened_edited_and_published_as_version_2(
    service: Service,
) -> None:
    await _published_form(service)
    await _admin_session(service)
    listing = await service.client.get("/admin/forms")
    assert_well_formed(listing.text)
    row = listing.text.split('data-form="union-home"', 1)[1].split("</tr>", 1)[0]
    assert DESCRIPTION["zh"] in row
    detail = await service.client.get("/admin/forms/union-home")
    assert_well_formed(detail.text)
    assert DESCRIPTION["zh"] in detail.text.split('id="form-description"', 1)[1]
    assert DESCRIPTION["zh"] in detail.text.split('id="preview-description"', 1)[1]
    reopened = await service.client.post(
        "/admin/forms/union-home/reopen", data={"_csrf": csrf_of(detail.text)}
    )
    assert reopened.status_code == 303, reopened.text
    builder_url = "/admin/forms/union-home/versions/2/builder"
    assert reopened.headers["location"] == builder_url
    # Reopening again while the draft is open gives the same draft, not another version.
    again = await service.client.post(
        "/admin/forms/union-home/reopen", data={"_csrf": csrf_of(detail.text)}
    )
    assert again.headers["location"] == builder_url
    builder = await service.client.get(builder_url)
    assert builder.status_code == 200
    assert_well_formed(builder.text)
    assert "</script><script>alert(1)" not in builder.text
    state = _state(builder.text)
    assert (state["key"], state["version"], state["kind"]) == ("union-home", 2, "poll")
    assert state["description"] == DESCRIPTION
    assert state["fields"][1]["label"]["zh"] == FIELDS[1]["label"]["zh"]
    assert [f["name"] for f in state["fields"]] == ["has_union", "union_name", "mood"]
    assert state["fields"][2]["scale"] == 7
    # The builder's script saves the draft through the API with the session's CSRF token.
    state["fields"][2]["label"] = {"zh": "您对职工之家满意吗"}
    saved = await service.client.put(
        "/api/v1/forms/union-home/versions/2",
        json={"fields": state["fields"], "description": {"zh": "新的说明"}},
        headers={"X-CSRF-Token": csrf_of(builder.text)},
    )
    assert saved.status_code == 200, saved.text
    preview = await service.client.get("/admin/forms/union-home?version=2")
    assert "您对职工之家满意吗" in preview.text
    assert "新的说明" in preview.text
    published = await service.client.post(
        "/admin/forms/union-home/versions/2/publish", data={"_csrf": csrf_of(preview.text)}
    )
    assert published.headers["location"] == "/admin/forms/union-home?done=published"
    form = (await service.client.get("/api/v1/forms/union-home")).json()
    assert form["current_version"] == 2
    assert [(v["number"], v["status"]) for v in form["versions"]] == [
        (1, "published"),
        (2, "published"),
    ]
    assert form["schema"]["properties"]["mood"]["title"] == "您对职工之家满意吗"
    assert (form["description"], form["description_en"]) == ("新的说明", None)
    first = await service.client.get("/api/v1/forms/union-home/schema?version=1")
    assert first.json()["properties"]["mood"]["title"] == "满意程度"
    assert first.json()["description"] == DESCRIPTION["zh"]
    # A published version is not edited in the builder.
    closed = await service.client.get("/admin/forms/union-home/versions/1/builder")
    assert closed.status_code == 409


async def test_the_description_is_stored_with_a_schema_and_shown_in_english(
    service: Service,
) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string", "title": "名称"}}}
    created = await service.client.post(
        "/api/v1/forms",
        json={"key": "plain", "title": {"zh": "普通表单"}, "schema": schema,
              "description": DESCRIPTION},
        headers=service.admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert (created.json()["description"], created.json()["description_en"]) == (
        DESCRIPTION["zh"],
        DESCRIPTION["en"],
    )
    listed = {f["key"]: f for f in (await service.client.get("/api/v1/forms")).json()}
    assert listed["plain"]["description"] == DESCRIPTION["zh"]
    assert listed["salary-survey"]["description"].startswith("按年度调查企业")
    await _admin_session(service)
    english = await service.client.get("/admin/forms/plain?lang=en")
    assert DESCRIPTION["en"] in english.text
    too_long = await service.client.post(
        "/api/v1/forms",
        json={"key": "long", "title": {"zh": "长"}, "schema": schema,
              "description": {"zh": "长" * 2001}},
        headers=service.admin,
    )  # fmt: skip
    assert too_long.status_code == 422


async def test_a_form_written_as_a_schema_is_not_opened_in_the_builder(service: Service) -> None:
    await _admin_session(service)
    csrf = await page_csrf(service, "/admin/forms/salary-survey")
    reopened = await service.client.post("/admin/forms/salary-survey/reopen", data={"_csrf": csrf})
    assert reopened.status_code == 303
    refused = await service.client.get(reopened.headers["location"])
    assert refused.status_code == 409
    assert "PUT /api/v1/forms/salary-survey/versions/" in refused.text


async def test_the_forms_pages_need_an_admins_session_and_the_pages_token(
    service: Service,
) -> None:
    await _published_form(service)
    assert (await service.client.get("/admin/forms")).headers["location"] == "/admin/signin"
    refused = await service.client.post("/admin/forms/union-home/reopen", data={"_csrf": "x"})
    assert refused.headers["location"] == "/admin/signin"
    await _admin_session(service)
    forged = await service.client.post("/admin/forms/union-home/reopen", data={"_csrf": "x"})
    assert forged.status_code == 403
    form = (await service.client.get("/api/v1/forms/union-home")).json()
    assert len(form["versions"]) == 1
    missing = await service.client.get("/admin/forms/no-such-form")
    assert missing.status_code == 404
