"""The forms API driven through HTTP, on SQLite and on PostgreSQL: reading the shipped forms and
their schemas, building forms (from a JSON Schema or builder fields), the version life cycle
(draft, publish, retire), validating documents, and the audit trail of every admin write."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from survey_service.db.models import AccessToken, AuditEntry
from tests.conftest import Service
from tests.unit.test_shipped_forms import salary_document, with_uscc_check

PROBLEM_JSON = "application/problem+json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
CJK = re.compile(r"[\u4e00-\u9fff]")

SHIPPED = {
    "enterprise-self-assessment": "self-assessment",
    "salary-survey": "salary-survey",
    "worker-commitments": "poll",
    "worker-satisfaction": "poll",
}

SCHEMA_V1: dict[str, Any] = {
    "$schema": DIALECT,
    "title": "职工之家建设情况",
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1}},
    "required": ["name"],
    "additionalProperties": False,
}
SCHEMA_V2: dict[str, Any] = {
    **SCHEMA_V1,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "members": {"type": "integer", "minimum": 0},
    },
    "required": ["name", "members"],
}


def lbl(zh: str, en: str | None = None) -> dict[str, str]:
    return {"zh": zh} if en is None else {"zh": zh, "en": en}


BUILDER_FIELDS: list[dict[str, Any]] = [
    {"type": "text", "name": "company", "label": lbl("单位名称", "Company"), "required": True},
    {"type": "money", "name": "monthly_pay", "label": lbl("月平均工资"), "required": True},
    {
        "type": "single_choice",
        "name": "has_union",
        "label": lbl("是否建立工会", "Has a union"),
        "required": True,
        "choices": [
            {"value": "yes", "label": lbl("是", "Yes")},
            {"value": "no", "label": lbl("否", "No")},
        ],
    },
    {
        "type": "text",
        "name": "union_chair",
        "label": lbl("工会主席姓名"),
        "required": True,
        "show_if": {"field": "has_union", "equals": "yes"},
    },
    {"type": "likert", "name": "satisfaction", "label": lbl("总体满意度"), "scale": 5},
    {
        "type": "table",
        "name": "staff",
        "label": lbl("职工工资"),
        "required": True,
        "columns": [
            {"type": "text", "name": "occupation", "label": lbl("职业"), "required": True},
            {"type": "money", "name": "annual_pay", "label": lbl("年收入"), "required": True},
        ],
    },
]

BUILDER_VALID: dict[str, Any] = {
    "company": "铜川市王益区便民超市",
    "monthly_pay": 4500.5,
    "has_union": "yes",
    "union_chair": "张桂兰",
    "satisfaction": 4,
    "staff": [{"occupation": "4-01", "annual_pay": 54000}],
}


# ---------------------------------------------------------------- helpers


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def places(errors: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["path"], e["keyword"]) for e in errors}


async def create_form(service: Service, key: str = "union-home", **content: Any) -> dict[str, Any]:
    body = {"key": key, "title": lbl("职工之家", "Workers' home"), **content}
    if "schema" not in content and "fields" not in content:
        body["schema"] = SCHEMA_V1
    response = await service.client.post("/api/v1/forms", json=body, headers=service.admin)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def publish(service: Service, key: str, number: int) -> httpx.Response:
    return await service.client.post(
        f"/api/v1/forms/{key}/versions/{number}/publish", headers=service.admin
    )


async def retire(service: Service, key: str, number: int) -> httpx.Response:
    return await service.client.post(
        f"/api/v1/forms/{key}/versions/{number}/retire", headers=service.admin
    )


async def add_version(service: Service, key: str, schema: dict[str, Any]) -> httpx.Response:
    return await service.client.post(
        f"/api/v1/forms/{key}/versions", json={"schema": schema}, headers=service.admin
    )


async def form_with_two_published_versions(service: Service, key: str = "union-home") -> None:
    await create_form(service, key)
    assert (await publish(service, key, 1)).status_code == 200
    assert (await add_version(service, key, SCHEMA_V2)).status_code == 201
    assert (await publish(service, key, 2)).status_code == 200


async def validate(service: Service, key: str, document: Any, **params: Any) -> httpx.Response:
    return await service.client.post(f"/api/v1/forms/{key}/validate", json=document, params=params)


async def audit_trail(service: Service) -> list[tuple[str, str | None, str | None, int | None]]:
    async with service.db.read() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.action, r.target, r.actor_role, r.actor_token_id) for r in rows]


async def admin_token_id(service: Service) -> int:
    async with service.db.read() as session:
        token_id = await session.scalar(
            select(AccessToken.id).where(AccessToken.label == "test admin")
        )
    assert token_id is not None
    return token_id


# ---------------------------------------------------------------- reading forms


async def test_form_list_shows_the_three_shipped_forms_published(service: Service) -> None:
    response = await service.client.get("/api/v1/forms")
    assert response.status_code == 200
    forms = {f["key"]: f for f in response.json()}
    assert set(forms) == set(SHIPPED)
    for key, form in forms.items():
        assert form["kind"] == SHIPPED[key]
        assert CJK.search(form["title"]), form
        assert form["title_en"], form
        assert not CJK.search(form["title_en"]), form
        assert form["current_version"] == 1
        assert form["status"] == "published"


async def test_form_detail_has_versions_and_the_current_schema_ui_and_rules(
    service: Service,
) -> None:
    response = await service.client.get("/api/v1/forms/salary-survey")
    assert response.status_code == 200
    form = response.json()
    shipped = json.loads((service.settings.form_schemas_dir / "salary-survey.json").read_text())
    assert form["key"] == "salary-survey"
    assert form["title"] == shipped["title"]["zh"]
    assert form["current_version"] == 1
    assert [(v["number"], v["status"]) for v in form["versions"]] == [(1, "published")]
    assert form["versions"][0]["published_at"].endswith("Z")
    assert form["schema"] == shipped["schema"]
    assert form["schema"]["$schema"] == DIALECT
    assert form["ui"] == shipped["ui"]
    assert form["rules"] == shipped["rules"]


async def test_unknown_form_is_a_404_problem(service: Service) -> None:
    body = assert_problem(await service.client.get("/api/v1/forms/no-such-form"), 404)
    assert "no-such-form" in body["detail"]


async def test_schema_is_served_as_schema_json_with_an_etag(service: Service) -> None:
    response = await service.client.get("/api/v1/forms/worker-satisfaction/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/schema+json")
    shipped = json.loads(
        (service.settings.form_schemas_dir / "worker-satisfaction.json").read_text()
    )
    assert response.json() == shipped["schema"]
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)


async def test_schema_with_a_matching_if_none_match_is_304_without_body(
    service: Service,
) -> None:
    url = "/api/v1/forms/salary-survey/schema"
    etag = (await service.client.get(url)).headers["etag"]
    response = await service.client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    # a list of tags (as caches send) and the weak form of the same tag match too
    for header in (f'"0000", {etag}', f"W/{etag}", "*"):
        again = await service.client.get(url, headers={"If-None-Match": header})
        assert again.status_code == 304, header
    stale = await service.client.get(url, headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200
    assert stale.json()["$schema"] == DIALECT


async def test_schema_of_a_given_published_version(service: Service) -> None:
    await form_with_two_published_versions(service)
    old = await service.client.get("/api/v1/forms/union-home/schema", params={"version": 1})
    assert old.status_code == 200
    assert old.json() == SCHEMA_V1
    current = await service.client.get("/api/v1/forms/union-home/schema")
    assert current.json() == SCHEMA_V2
    assert old.headers["etag"] != current.headers["etag"]


async def test_schema_of_a_draft_or_missing_version_is_404(service: Service) -> None:
    await create_form(service)
    draft = await service.client.get("/api/v1/forms/union-home/schema", params={"version": 1})
    assert_problem(draft, 404)
    # no published version at all yet
    assert_problem(await service.client.get("/api/v1/forms/union-home/schema"), 404)
    missing = await service.client.get("/api/v1/forms/salary-survey/schema", params={"version": 7})
    assert_problem(missing, 404)
    assert_problem(await service.client.get("/api/v1/forms/no-such-form/schema"), 404)


@pytest.mark.parametrize("version", ["0", "-1", "abc"])
async def test_schema_version_that_is_not_a_positive_number_is_refused(
    service: Service, version: str
) -> None:
    response = await service.client.get(
        "/api/v1/forms/salary-survey/schema", params={"version": version}
    )
    assert response.status_code in {400, 422}
    body = assert_problem(response, response.status_code)
    if response.status_code == 422:
        assert any(e["path"] == "/version" for e in body["errors"])


# ---------------------------------------------------------------- creating forms


async def test_creating_a_form_needs_a_token(service: Service) -> None:
    body = {"key": "union-home", "title": lbl("职工之家"), "schema": SCHEMA_V1}
    response = await service.client.post("/api/v1/forms", json=body)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_an_analyst_may_not_create_a_form(service: Service) -> None:
    analyst = await service.token("analyst", label="x")
    body = {"key": "union-home", "title": lbl("职工之家"), "schema": SCHEMA_V1}
    response = await service.client.post(
        "/api/v1/forms", json=body, headers={"Authorization": f"Bearer {analyst}"}
    )
    assert_problem(response, 403)
    listed = await service.client.get("/api/v1/forms")
    assert "union-home" not in {f["key"] for f in listed.json()}


async def test_admin_creates_a_form_as_a_draft(service: Service) -> None:
    created = await create_form(service, rules={"threshold": 3})
    assert created["key"] == "union-home"
    assert created["kind"] == "custom"
    assert created["title"] == "职工之家"
    assert created["title_en"] == "Workers' home"
    assert created["status"] == "draft"
    assert created["current_version"] is None
    assert created["schema"] is None  # nothing published yet
    [version] = created["versions"]
    assert (version["number"], version["status"], version["published_at"]) == (1, "draft", None)
    listed = {f["key"]: f for f in (await service.client.get("/api/v1/forms")).json()}
    assert listed["union-home"]["status"] == "draft"
    assert listed["union-home"]["current_version"] is None


async def test_creating_an_existing_key_is_a_conflict(service: Service) -> None:
    await create_form(service)
    again = await service.client.post(
        "/api/v1/forms",
        json={"key": "union-home", "title": lbl("另一个"), "schema": SCHEMA_V2},
        headers=service.admin,
    )
    assert_problem(again, 409)
    shipped = await service.client.post(
        "/api/v1/forms",
        json={"key": "salary-survey", "title": lbl("工资"), "schema": SCHEMA_V1},
        headers=service.admin,
    )
    assert_problem(shipped, 409)
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert detail["title"] == "职工之家"
    assert len(detail["versions"]) == 1


async def test_concurrent_creates_of_one_key_give_one_form_and_one_conflict(
    service: Service,
) -> None:
    body = {"key": "union-home", "title": lbl("职工之家"), "schema": SCHEMA_V1}
    responses = await asyncio.gather(
        *(service.client.post("/api/v1/forms", json=body, headers=service.admin) for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)


async def test_form_built_from_fields_validates_documents_as_designed(
    service: Service,
) -> None:
    created = await create_form(service, "union-check", fields=BUILDER_FIELDS)
    assert created["status"] == "draft"
    assert (await publish(service, "union-check", 1)).status_code == 200

    detail = (await service.client.get("/api/v1/forms/union-check")).json()
    assert detail["schema"]["$schema"] == DIALECT
    assert detail["schema"]["title"] == "职工之家"
    assert detail["ui"]["order"] == [f["name"] for f in BUILDER_FIELDS]
    assert detail["ui"]["fields"]["/union_chair"]["show_if"]["field"] == "has_union"
    assert detail["ui"]["fields"]["/staff/*/annual_pay"]["widget"] == "money"

    ok = await validate(service, "union-check", BUILDER_VALID)
    assert ok.status_code == 200
    assert ok.json() == {"valid": True, "errors": []}

    no_union = {k: v for k, v in BUILDER_VALID.items() if k != "union_chair"}
    no_union["has_union"] = "no"
    assert (await validate(service, "union-check", no_union)).json()["valid"] is True

    cases: list[tuple[dict[str, Any], set[tuple[str, str]]]] = [
        # shown and required: the chair's name is needed
        (
            {k: v for k, v in BUILDER_VALID.items() if k != "union_chair"},
            {("/union_chair", "required")},
        ),
        # hidden: an answer to the hidden question is refused
        ({**BUILDER_VALID, "has_union": "no"}, {("/union_chair", "falseSchema")}),
        # not "yes": the chair's question stays hidden
        (
            {**BUILDER_VALID, "has_union": "maybe"},
            {("/has_union", "enum"), ("/union_chair", "falseSchema")},
        ),
        ({**BUILDER_VALID, "monthly_pay": -1}, {("/monthly_pay", "minimum")}),
        ({**BUILDER_VALID, "monthly_pay": 10.005}, {("/monthly_pay", "multipleOf")}),
        ({**BUILDER_VALID, "satisfaction": 6}, {("/satisfaction", "maximum")}),
        ({**BUILDER_VALID, "company": ""}, {("/company", "minLength")}),
        ({**BUILDER_VALID, "staff": []}, {("/staff", "minItems")}),
        (
            {**BUILDER_VALID, "staff": [{"occupation": "4-01"}]},
            {("/staff/0/annual_pay", "required")},
        ),
        (
            {**BUILDER_VALID, "staff": [{"occupation": "4-01", "annual_pay": "很多"}]},
            {("/staff/0/annual_pay", "type")},
        ),
        ({**BUILDER_VALID, "extra": 1}, {("", "additionalProperties")}),
    ]
    for document, expected in cases:
        result = (await validate(service, "union-check", document)).json()
        assert result["valid"] is False, document
        assert places(result["errors"]) == expected, document


async def test_form_created_from_a_json_schema_keeps_it_verbatim(service: Service) -> None:
    ui = {"order": ["name"]}
    await create_form(service, kind="poll", ui=ui, rules={"anonymity": {"min_group": 5}})
    assert (await publish(service, "union-home", 1)).status_code == 200
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert detail["kind"] == "poll"
    assert detail["schema"] == SCHEMA_V1
    assert detail["ui"] == ui
    assert detail["rules"] == {"anonymity": {"min_group": 5}}
    schema = await service.client.get("/api/v1/forms/union-home/schema")
    assert schema.json() == SCHEMA_V1
    assert (await validate(service, "union-home", {"name": "x"})).json()["valid"] is True


@pytest.mark.parametrize(
    "content",
    [
        pytest.param({"schema": SCHEMA_V1, "fields": BUILDER_FIELDS}, id="both"),
        pytest.param({}, id="neither"),
    ],
)
async def test_form_needs_exactly_one_of_schema_and_fields(
    service: Service, content: dict[str, Any]
) -> None:
    response = await service.client.post(
        "/api/v1/forms",
        json={"key": "union-home", "title": lbl("职工之家"), **content},
        headers=service.admin,
    )
    body = assert_problem(response, 422)
    assert "schema" in body["detail"]
    assert "fields" in body["detail"]
    assert_problem(await service.client.get("/api/v1/forms/union-home"), 404)


async def test_an_invalid_json_schema_is_refused_with_the_reason(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/forms",
        json={"key": "union-home", "title": lbl("职工之家"), "schema": {"type": 12}},
        headers=service.admin,
    )
    body = assert_problem(response, 422)
    [error] = body["errors"]
    assert error["path"] == "/schema/type"
    assert "12" in error["message"]
    assert_problem(await service.client.get("/api/v1/forms/union-home"), 404)


async def test_a_schema_of_another_draft_is_refused(service: Service) -> None:
    schema = {**SCHEMA_V1, "$schema": "http://json-schema.org/draft-07/schema#"}
    response = await service.client.post(
        "/api/v1/forms",
        json={"key": "union-home", "title": lbl("职工之家"), "schema": schema},
        headers=service.admin,
    )
    body = assert_problem(response, 422)
    assert "2020-12" in body["errors"][0]["message"]


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request made to it."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/schema+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("where", ["root", "nested"])
async def test_a_schema_with_a_remote_ref_is_refused_without_fetching_it(
    service: Service, http_server: tuple[str, list[str]], where: str
) -> None:
    base, requests = http_server
    for url in ("https://example.com/x.json", f"{base}/x.json"):
        schema: dict[str, Any] = (
            {"$schema": DIALECT, "$ref": url}
            if where == "root"
            else {"type": "object", "properties": {"a": {"$ref": url}}}
        )
        response = await service.client.post(
            "/api/v1/forms",
            json={"key": "union-home", "title": lbl("职工之家"), "schema": schema},
            headers=service.admin,
        )
        body = assert_problem(response, 422)
        assert "remote $ref" in json.dumps(body["errors"]), body
    assert requests == []
    assert_problem(await service.client.get("/api/v1/forms/union-home"), 404)


async def test_a_schema_with_a_local_ref_is_accepted(service: Service) -> None:
    schema = {
        "$schema": DIALECT,
        "type": "object",
        "$defs": {"pay": {"type": "number", "minimum": 0}},
        "properties": {"pay": {"$ref": "#/$defs/pay"}},
    }
    await create_form(service, schema=schema)
    assert (await publish(service, "union-home", 1)).status_code == 200
    result = (await validate(service, "union-home", {"pay": -1})).json()
    assert places(result["errors"]) == {("/pay", "minimum")}


async def test_a_malformed_json_body_is_a_400_problem(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/forms",
        content=b'{"key": "union-home", "title": ',
        headers={**service.admin, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


async def test_wrong_types_in_the_body_are_reported_by_json_pointer(service: Service) -> None:
    response = await service.client.post(
        "/api/v1/forms",
        json={"key": 5, "title": lbl("职工之家"), "schema": SCHEMA_V1},
        headers=service.admin,
    )
    body = assert_problem(response, 422)
    assert [e["path"] for e in body["errors"]] == ["/key"]
    assert body["errors"][0]["message"]
    nested = await service.client.post(
        "/api/v1/forms",
        json={"key": "union-home", "title": {"zh": 7}, "schema": SCHEMA_V1},
        headers=service.admin,
    )
    assert [e["path"] for e in assert_problem(nested, 422)["errors"]] == ["/title/zh"]


async def test_bad_builder_fields_are_reported_at_their_place(service: Service) -> None:
    fields = [
        {"type": "text", "name": "a", "label": lbl("甲")},
        {
            "type": "text",
            "name": "b",
            "label": lbl("乙"),
            "show_if": {"field": "nowhere", "equals": "x"},
        },
    ]
    response = await service.client.post(
        "/api/v1/forms",
        json={"key": "union-home", "title": lbl("职工之家"), "fields": fields},
        headers=service.admin,
    )
    body = assert_problem(response, 422)
    assert places(body["errors"]) == {("/fields/1/show_if/field", "show-if-unknown")}
    unknown_type = await service.client.post(
        "/api/v1/forms",
        json={
            "key": "union-home",
            "title": lbl("职工之家"),
            "fields": [{"type": "slider", "name": "a", "label": lbl("甲")}],
        },
        headers=service.admin,
    )
    assert [e["path"] for e in assert_problem(unknown_type, 422)["errors"]] == ["/fields/0/type"]
    bad_column = await service.client.post(
        "/api/v1/forms",
        json={
            "key": "union-home",
            "title": lbl("职工之家"),
            "fields": [
                {
                    "type": "table",
                    "name": "staff",
                    "label": lbl("职工"),
                    "columns": [{"type": "text", "name": "Bad Name", "label": lbl("甲")}],
                }
            ],
        },
        headers=service.admin,
    )
    assert [e["path"] for e in assert_problem(bad_column, 422)["errors"]] == [
        "/fields/0/columns/0/name"
    ]


# ---------------------------------------------------------------- versions


async def test_a_new_version_is_draft_number_two_and_leaves_the_current_alone(
    service: Service,
) -> None:
    await create_form(service)
    assert (await publish(service, "union-home", 1)).status_code == 200
    response = await add_version(service, "union-home", SCHEMA_V2)
    assert response.status_code == 201
    version = response.json()
    assert (version["number"], version["status"], version["published_at"]) == (2, "draft", None)
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert detail["current_version"] == 1
    assert detail["schema"] == SCHEMA_V1
    assert [(v["number"], v["status"]) for v in detail["versions"]] == [
        (1, "published"),
        (2, "draft"),
    ]
    schema = await service.client.get("/api/v1/forms/union-home/schema")
    assert schema.json() == SCHEMA_V1


async def test_concurrent_new_versions_get_distinct_numbers(service: Service) -> None:
    await create_form(service)
    responses = await asyncio.gather(
        *(add_version(service, "union-home", SCHEMA_V2) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [201, 201, 201], [r.text for r in responses]
    assert sorted(r.json()["number"] for r in responses) == [2, 3, 4]


async def test_an_edit_racing_a_publish_never_changes_the_published_version(
    service: Service,
) -> None:
    for round_ in range(6):
        key = f"race-{round_}"
        await create_form(service, key)
        put, published = await asyncio.gather(
            service.client.put(
                f"/api/v1/forms/{key}/versions/1", json={"schema": SCHEMA_V2}, headers=service.admin
            ),
            publish(service, key, 1),
        )
        assert published.status_code == 200
        assert put.status_code in {200, 409}
        detail = (await service.client.get(f"/api/v1/forms/{key}")).json()
        [version] = detail["versions"]
        # what publish reported is what is published, and an accepted edit came before it
        assert version["content_hash"] == published.json()["content_hash"]
        assert detail["schema"] == (SCHEMA_V2 if put.status_code == 200 else SCHEMA_V1)


async def test_a_draft_version_can_be_edited(service: Service) -> None:
    await create_form(service)
    before = (await service.client.get("/api/v1/forms/union-home")).json()["versions"][0]
    response = await service.client.put(
        "/api/v1/forms/union-home/versions/1",
        json={"schema": SCHEMA_V2, "rules": {"note": "edited"}},
        headers=service.admin,
    )
    assert response.status_code == 200
    edited = response.json()
    assert (edited["number"], edited["status"]) == (1, "draft")
    assert edited["content_hash"] != before["content_hash"]
    assert (await publish(service, "union-home", 1)).status_code == 200
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert detail["schema"] == SCHEMA_V2
    assert detail["rules"] == {"note": "edited"}


async def test_a_draft_can_be_rebuilt_from_fields(service: Service) -> None:
    await create_form(service)
    response = await service.client.put(
        "/api/v1/forms/union-home/versions/1",
        json={"fields": BUILDER_FIELDS},
        headers=service.admin,
    )
    assert response.status_code == 200
    assert (await publish(service, "union-home", 1)).status_code == 200
    assert (await validate(service, "union-home", BUILDER_VALID)).json()["valid"] is True


async def test_published_version_never_changes(service: Service) -> None:
    await create_form(service)
    published = (await publish(service, "union-home", 1)).json()
    before = await service.client.get("/api/v1/forms/union-home/schema", params={"version": 1})
    response = await service.client.put(
        "/api/v1/forms/union-home/versions/1",
        json={"schema": SCHEMA_V2},
        headers=service.admin,
    )
    body = assert_problem(response, 409)
    assert "published" in body["detail"]
    after = await service.client.get("/api/v1/forms/union-home/schema", params={"version": 1})
    assert after.json() == before.json() == SCHEMA_V1
    assert after.headers["etag"] == before.headers["etag"]
    [version] = (await service.client.get("/api/v1/forms/union-home")).json()["versions"]
    assert version["content_hash"] == published["content_hash"]


async def test_an_invalid_edit_of_a_draft_is_refused_and_leaves_it(service: Service) -> None:
    created = await create_form(service)
    response = await service.client.put(
        "/api/v1/forms/union-home/versions/1",
        json={"schema": {"type": 12}},
        headers=service.admin,
    )
    assert_problem(response, 422)
    [version] = (await service.client.get("/api/v1/forms/union-home")).json()["versions"]
    assert version["content_hash"] == created["versions"][0]["content_hash"]


async def test_publishing_moves_the_current_version_and_the_served_schema(
    service: Service,
) -> None:
    await create_form(service)
    first = await publish(service, "union-home", 1)
    assert first.status_code == 200
    assert first.json()["status"] == "published"
    assert first.json()["published_at"].endswith("Z")
    v1 = await service.client.get("/api/v1/forms/union-home/schema")
    assert v1.json() == SCHEMA_V1

    await add_version(service, "union-home", SCHEMA_V2)
    response = await publish(service, "union-home", 2)
    assert response.status_code == 200
    assert (response.json()["number"], response.json()["status"]) == (2, "published")
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert (detail["current_version"], detail["status"]) == (2, "published")
    assert detail["schema"] == SCHEMA_V2
    v2 = await service.client.get(
        "/api/v1/forms/union-home/schema", headers={"If-None-Match": v1.headers["etag"]}
    )
    assert v2.status_code == 200
    assert v2.json() == SCHEMA_V2
    listed = {f["key"]: f for f in (await service.client.get("/api/v1/forms")).json()}
    assert listed["union-home"]["current_version"] == 2


async def test_publishing_twice_is_idempotent(service: Service) -> None:
    await create_form(service)
    first = await publish(service, "union-home", 1)
    second = await publish(service, "union-home", 1)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()


async def test_retiring_falls_back_to_the_previous_published_version(service: Service) -> None:
    await form_with_two_published_versions(service)
    response = await retire(service, "union-home", 2)
    assert response.status_code == 200
    assert response.json()["status"] == "retired"
    assert response.json()["retired_at"].endswith("Z")
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert (detail["current_version"], detail["status"]) == (1, "published")
    assert detail["schema"] == SCHEMA_V1
    assert [(v["number"], v["status"]) for v in detail["versions"]] == [
        (1, "published"),
        (2, "retired"),
    ]
    schema = await service.client.get("/api/v1/forms/union-home/schema")
    assert schema.json() == SCHEMA_V1
    assert (await validate(service, "union-home", {"name": "x"})).json()["valid"] is True
    # retiring again changes nothing
    again = await retire(service, "union-home", 2)
    assert again.status_code == 200
    assert again.json() == response.json()


async def test_retiring_the_last_published_version_leaves_no_current(service: Service) -> None:
    await create_form(service)
    await publish(service, "union-home", 1)
    assert (await retire(service, "union-home", 1)).status_code == 200
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert (detail["current_version"], detail["status"], detail["schema"]) == (
        None,
        "retired",
        None,
    )
    assert_problem(await service.client.get("/api/v1/forms/union-home/schema"), 404)
    assert_problem(await validate(service, "union-home", {"name": "x"}), 404)


async def test_retiring_a_draft_is_a_conflict(service: Service) -> None:
    await create_form(service)
    assert_problem(await retire(service, "union-home", 1), 409)
    [version] = (await service.client.get("/api/v1/forms/union-home")).json()["versions"]
    assert version["status"] == "draft"


async def test_a_retired_version_cannot_be_published_again(service: Service) -> None:
    await form_with_two_published_versions(service)
    await retire(service, "union-home", 2)
    assert_problem(await publish(service, "union-home", 2), 409)
    detail = (await service.client.get("/api/v1/forms/union-home")).json()
    assert detail["current_version"] == 1


async def test_an_unknown_version_is_404(service: Service) -> None:
    await create_form(service)
    assert_problem(await publish(service, "union-home", 9), 404)
    assert_problem(await retire(service, "union-home", 9), 404)
    put = await service.client.put(
        "/api/v1/forms/union-home/versions/9", json={"schema": SCHEMA_V2}, headers=service.admin
    )
    assert_problem(put, 404)
    assert_problem(await publish(service, "no-such-form", 1), 404)
    assert_problem(await add_version(service, "no-such-form", SCHEMA_V2), 404)


async def test_version_writes_need_an_admin_token(service: Service) -> None:
    await create_form(service)
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='x')}"}
    for headers, status in (({}, 401), (analyst, 403)):
        calls = [
            service.client.post(
                "/api/v1/forms/union-home/versions", json={"schema": SCHEMA_V2}, headers=headers
            ),
            service.client.put(
                "/api/v1/forms/union-home/versions/1", json={"schema": SCHEMA_V2}, headers=headers
            ),
            service.client.post("/api/v1/forms/union-home/versions/1/publish", headers=headers),
            service.client.post("/api/v1/forms/union-home/versions/1/retire", headers=headers),
        ]
        for call in calls:
            assert_problem(await call, status)
    [version] = (await service.client.get("/api/v1/forms/union-home")).json()["versions"]
    assert version["status"] == "draft"


async def test_every_admin_write_on_forms_is_audited(service: Service) -> None:
    admin_id = await admin_token_id(service)
    await create_form(service)
    await service.client.put(
        "/api/v1/forms/union-home/versions/1", json={"schema": SCHEMA_V1}, headers=service.admin
    )
    await publish(service, "union-home", 1)
    await add_version(service, "union-home", SCHEMA_V2)
    await publish(service, "union-home", 2)
    await retire(service, "union-home", 2)
    # refused writes leave no trace
    assert_problem(await retire(service, "union-home", 9), 404)
    assert_problem(
        await service.client.post(
            "/api/v1/forms",
            json={"key": "union-home", "title": lbl("x"), "schema": SCHEMA_V1},
            headers=service.admin,
        ),
        409,
    )
    assert await audit_trail(service) == [
        ("form.create", "form:union-home", "admin", admin_id),
        ("form.edit", "form:union-home:1", "admin", admin_id),
        ("form.publish", "form:union-home:1", "admin", admin_id),
        ("form.version", "form:union-home:2", "admin", admin_id),
        ("form.publish", "form:union-home:2", "admin", admin_id),
        ("form.retire", "form:union-home:2", "admin", admin_id),
    ]


async def test_reads_and_validation_are_not_audited(service: Service) -> None:
    await service.client.get("/api/v1/forms")
    await service.client.get("/api/v1/forms/salary-survey/schema")
    await validate(service, "salary-survey", salary_document())
    assert await audit_trail(service) == []


# ---------------------------------------------------------------- validation


async def test_a_valid_salary_survey_document_is_valid(service: Service) -> None:
    response = await validate(service, "salary-survey", salary_document())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"valid": True, "errors": []}


async def test_an_invalid_salary_survey_document_is_explained_field_by_field(
    service: Service,
) -> None:
    document = salary_document()
    document["employees"][0]["months_worked"] = 13
    document["employees"][2]["annual_pay"] = -5
    del document["enterprise"]["name"]
    document["enterprise"]["staff_count"] = "230"
    response = await validate(service, "salary-survey", document)
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    found = places(result["errors"])
    for place in [
        ("/employees/0/months_worked", "maximum"),
        ("/employees/2/annual_pay", "minimum"),
        ("/enterprise/name", "required"),
        ("/enterprise/staff_count", "type"),
    ]:
        assert place in found, (place, result["errors"])
    for error in result["errors"]:
        assert set(error) >= {"path", "message", "message_zh", "keyword"}
        assert error["message"], error
        assert not CJK.search(error["message"]), error
        assert CJK.search(error["message_zh"]), error
    months = next(e for e in result["errors"] if e["path"] == "/employees/0/months_worked")
    assert "12" in months["message"]
    assert months["message_zh"] == "不能大于 12"


async def test_a_draft_document_skips_required_but_not_types(service: Service) -> None:
    document = {
        "enterprise": {"name": "铜川市王益区便民超市", "staff_count": "three"},
        "employees": [{"occupation": "4-01", "months_worked": 13}],
    }
    draft = (await validate(service, "salary-survey", document, draft="true")).json()
    assert draft["valid"] is False
    assert places(draft["errors"]) == {
        ("/enterprise/staff_count", "type"),
        ("/employees/0/months_worked", "maximum"),
    }
    full = (await validate(service, "salary-survey", document)).json()
    assert ("/enterprise/uscc", "required") in places(full["errors"])
    assert ("/employees/0/annual_pay", "required") in places(full["errors"])
    partial = {"enterprise": {"name": "铜川市王益区便民超市"}}
    assert (await validate(service, "salary-survey", partial, draft="true")).json() == {
        "valid": True,
        "errors": [],
    }


async def test_a_uscc_with_a_wrong_check_character_is_a_format_error(service: Service) -> None:
    good = with_uscc_check("91610200MA6Y2A3X2")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    document = salary_document()
    document["enterprise"]["uscc"] = wrong
    result = (await validate(service, "salary-survey", document)).json()
    assert result["valid"] is False
    assert places(result["errors"]) == {("/enterprise/uscc", "format")}
    assert "统一社会信用代码" in result["errors"][0]["message_zh"]
    assert wrong in result["errors"][0]["message_zh"]


async def test_validating_malformed_json_is_a_400_problem(service: Service) -> None:
    for content in (b'{"enterprise": ', b"", b"\xff\xfe"):
        response = await service.client.post(
            "/api/v1/forms/salary-survey/validate",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        assert_problem(response, 400)


async def test_validating_against_an_unknown_form_is_404(service: Service) -> None:
    assert_problem(await validate(service, "no-such-form", {}), 404)


async def test_any_json_document_gets_an_answer(service: Service) -> None:
    for document in (b"[]", b'"text"', b"3", b"null"):
        response = await service.client.post(
            "/api/v1/forms/salary-survey/validate",
            content=document,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200
        result = response.json()
        assert result["valid"] is False
        assert places(result["errors"]) == {("", "type")}


async def test_validating_against_a_given_version(service: Service) -> None:
    await form_with_two_published_versions(service)
    document = {"name": "铜川市总工会"}
    v1 = (await validate(service, "union-home", document, version=1)).json()
    assert v1 == {"valid": True, "errors": []}
    current = (await validate(service, "union-home", document)).json()
    assert places(current["errors"]) == {("/members", "required")}
    assert (await validate(service, "union-home", document, version=2)).json() == current
    await add_version(service, "union-home", SCHEMA_V1)
    assert_problem(await validate(service, "union-home", document, version=3), 404)
    assert_problem(await validate(service, "union-home", document, version=4), 404)
    response = await validate(service, "union-home", document, version=0)
    assert_problem(response, response.status_code)
    assert response.status_code in {400, 422}


async def test_validation_errors_are_capped_but_stay_a_200(service: Service) -> None:
    document = copy.deepcopy(salary_document())
    document["employees"] = [{"months_worked": 99}] * 600
    response = await validate(service, "salary-survey", document)
    assert response.status_code == 200
    result = response.json()
    assert result["valid"] is False
    assert 0 < len(result["errors"]) <= 1000
