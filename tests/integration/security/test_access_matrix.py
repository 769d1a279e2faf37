"""The access-control matrix: every endpoint of the app (read from its route table at test
time, every method, the pages and the OpenAPI document included) against every role, each
answered with the status the table below expects, on SQLite and PostgreSQL.

Roles: ``none`` (no credentials and no link), ``respondent`` (no credentials, but the poll
link of enterprise A), ``ent_a`` and ``ent_b`` (the invitation tokens of two enterprises of
one salary survey; on the pages, their signed-in sessions), ``analyst`` and ``admin`` (on
the pages, the admin's session), and ``district``, a district's staff of a district none of
the world's enterprises is in (on the pages, its session at /admin; its column follows the
analyst's unless a row names it). The path parameters name real objects (A's submission,
A's rendered report, A's poll link, ...), so a 404 means "hidden from this role", not
"there is nothing there". Rows run in the table's order: writes come after the reads, and
the sign-outs last. A new route without a row, or a row whose route is gone, fails
``test_every_route_has_a_row``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from survey_service.web.pages import STATIC_URLS
from tests.conftest import Service
from tests.integration.security.world import ROLES, World, unknown_slug, world
from tests.samples import POLL_ANSWER, enterprise, form_fields, salary_document, uscc

# A redirect is written "303 <where>": the status and the start of its Location.
E_SIGNIN = "303 /e/signin"
A_SIGNIN = "303 /admin/signin"
AN_SIGNIN = "303 /analyst/signin"
Expect = int | str
Kwargs = dict[str, Any]
BodyOf = Callable[[World, str], Awaitable[Kwargs]]

ADMIN_ONLY = (401, 401, 403, 403, 403)  # + the admin's own status
STAFF_ONLY = (401, 401, 403, 403)  # + the analyst's and the admin's
FIELDS = [{"type": "text", "name": "name", "label": {"zh": "名称"}}]
CSV_ROWS = (
    "职业代码,工作月数,年度应发工资,学历\n6-01-02-03,12,60000,本科\n6-01-02-03,12,61000,本科\n"
)


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as the route table writes it
    expect: tuple[Expect, ...]  # one per role, in ROLES order (district's staff apart)
    params: tuple[tuple[str, str], ...] = ()  # path parameter -> which object of the world
    body: BodyOf | None = None
    query: tuple[tuple[str, str], ...] = ()
    district: Expect | None = None  # a district's staff: None, as the analyst


def expectations(row: Row) -> tuple[Expect, ...]:
    """The row's expectation for every role: a district's staff (of a district with none of
    the world's enterprises) as an analyst unless the row says otherwise."""
    district = row.district if row.district is not None else row.expect[ROLES.index("analyst")]
    return (*row.expect, district)


def json_body(value: Any) -> BodyOf:
    async def body(w: World, role: str) -> Kwargs:
        return {"json": value(w, role) if callable(value) else value}

    return body


def page_post(fields: Callable[[World, str], dict[str, str]] | None = None, **extra: Any) -> BodyOf:
    """A form post from the role's browser, with its session's CSRF token."""

    async def body(w: World, role: str) -> Kwargs:
        data = {"_csrf": await w.csrf(role)} | (fields(w, role) if fields else {})
        return {"data": data} | extra

    return body


def own_token(w: World, role: str) -> dict[str, str]:
    return {"token": w.tokens.get(role, "")}


async def preview(w: World, role: str) -> Kwargs:
    return {
        "json": {"title": {"zh": "预览"}, "fields": FIELDS},
        "headers": {"X-CSRF-Token": await w.csrf(role)},
    }


async def upload(w: World, role: str) -> Kwargs:
    return {"files": {"file": ("工资.csv", CSV_ROWS.encode())}}


async def page_upload(w: World, role: str) -> Kwargs:
    return {"data": {"_csrf": await w.csrf(role)}} | await upload(w, role)


def submission(w: World, role: str) -> dict[str, Any]:
    if role == "ent_a":  # the same id and data again: a retry
        return {"id": w.submission_a, "data": salary_document(w.uscc["A"])}
    return {"data": salary_document(w.uscc["B"])}


def report_of_a(w: World, role: str) -> dict[str, Any]:
    return {"type": "enterprise", "campaign_id": w.salary, "enterprise": w.uscc["A"]}


def a_form_post(w: World, role: str) -> dict[str, str]:
    return form_fields(POLL_ANSWER)


async def enterprises_sheet(w: World, role: str) -> Kwargs:
    row = enterprise(9)
    header = ",".join(k for k in row if k != "size_class")
    values = ",".join(str(v).lower() if isinstance(v, bool) else str(v)
                      for k, v in row.items() if k != "size_class")  # fmt: skip
    return {"files": {"file": ("企业.csv", f"{header}\n{values}\n".encode())}}


GUIDELINE = {"year": 2024, "region": "610000", "base_pct": 6, "upper_pct": 9, "lower_pct": 3,
             "source": "示例"}  # fmt: skip


async def guideline_sheet(w: World, role: str) -> Kwargs:
    rows = "年度,地区代码,基准线(%),上线(%),下线(%),来源\n2023,610000,5,8,3,示例\n"
    return {"files": {"file": ("指导线.csv", rows.encode())}}


async def page_guideline_sheet(w: World, role: str) -> Kwargs:
    return {"data": {"_csrf": await w.csrf(role)}} | await guideline_sheet(w, role)


def guideline_fields(w: World, role: str) -> dict[str, str]:
    return {k: str(v) for k, v in GUIDELINE.items()} | {"year": "2025", "region": "610200"}


def registry_record(n: int) -> Callable[[World, str], dict[str, str]]:
    """Enterprise ``n``'s record as the registry's form posts it."""

    def fields(w: World, role: str) -> dict[str, str]:
        record = enterprise(n)
        return {k: ("true" if v is True else str(v)) for k, v in record.items() if v is not False}

    return fields


async def page_sheet(w: World, role: str) -> Kwargs:
    return {"data": {"_csrf": await w.csrf(role)}} | await enterprises_sheet(w, role)


def a_code(w: World, role: str) -> dict[str, str]:
    """A's working code, as the issuing page hands it back for the downloads."""
    return {"code": f"{w.uscc['A']}:{w.tokens['ent_a']}", "contact": "0919-3185123"}


def _days(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).date().isoformat()


def assessment_campaign(w: World, role: str) -> dict[str, Any]:
    """The self-assessment campaign as it was made, kept open (for the edit rows)."""
    return {"form_key": "enterprise-self-assessment", "title": "2023年自评", "year": 2023,
            "opens_at": _days(-1), "closes_at": _days(30)}  # fmt: skip


def campaign_form(w: World, role: str) -> dict[str, str]:
    """The campaign page's form for the self-assessment campaign, kept open."""
    return {"form": "enterprise-self-assessment@1", "title": "2023年自评", "year": "2023",
            "opens_at": _days(-1), "closes_at": _days(30)}  # fmt: skip


ROWS: tuple[Row, ...] = (
    # --- the service, its documentation and static files: public
    Row("GET", "/", (200,) * 6),
    Row("GET", "/health", (200,) * 6),
    Row("GET", "/schema", (200,) * 6),
    Row("GET", "/schema/openapi.json", (200,) * 6),
    Row("GET", "/schema/{path:str}", (404,) * 6),  # no other rendering of the document
    Row("GET", "/problems", (200,) * 6),  # the problem types a problem's `type` names
    Row("GET", "/problems/{slug:str}", (200,) * 6),
    Row("GET", "/static/{file_path:path}", (200,) * 6),
    Row("HEAD", "/static/{file_path:path}", (200,) * 6),
    # --- reports first, while the data is as it was when A's report was rendered
    Row("POST", "/api/v1/reports", (401, 401, 200, 404, 403, 200), body=json_body(report_of_a)),
    Row("GET", "/api/v1/reports/{report_id:str}", (401, 401, 200, 404, 404, 200), district=403),
    Row("GET", "/api/v1/reports/{report_id:str}/pdf", (401, 401, 200, 404, 404, 200), district=403),
    # --- reads
    Row("GET", "/api/v1/forms", (200,) * 6),
    Row("GET", "/api/v1/forms/{key:str}", (200,) * 6),
    Row("GET", "/api/v1/forms/{key:str}/schema", (200,) * 6),
    Row("GET", "/api/v1/forms/{key:str}/template.xlsx", (200,) * 6),
    Row("HEAD", "/api/v1/forms/{key:str}/template.xlsx", (200,) * 6),
    Row("POST", "/api/v1/forms/{key:str}/validate", (200,) * 6, body=json_body({"x": 1})),
    Row("GET", "/api/v1/tokens", (*ADMIN_ONLY, 200)),
    Row("GET", "/api/v1/audit", (*ADMIN_ONLY, 200)),
    Row("GET", "/metrics", (*ADMIN_ONLY, 200), district=403),  # operators' figures
    Row("GET", "/api/v1/enterprises", (*ADMIN_ONLY, 200)),
    Row("GET", "/api/v1/wage-guidelines", (401, 401, 200, 200, 200, 200)),  # public figures
    Row(  # A's own figures: A and admins, never analysts
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/briefs/{uscc:str}",
        (401, 401, 200, 404, 403, 200),
        params=(("uscc", uscc(1)),),
        district=403,
    ),
    Row("GET", "/api/v1/campaigns", (*STAFF_ONLY, 200, 200), district=403),
    Row("GET", "/api/v1/campaigns/{campaign_id:int}", (401, 401, 200, 200, 200, 200), district=403),
    Row("GET", "/api/v1/campaigns/{campaign_id:int}/submissions", (*ADMIN_ONLY, 200)),
    Row("GET", "/api/v1/campaigns/{campaign_id:int}/progress", (*STAFF_ONLY, 200, 200)),
    Row("GET", "/api/v1/campaigns/{campaign_id:int}/roster", (*ADMIN_ONLY, 200)),
    Row("GET", "/api/v1/submissions/{submission_id:str}", (401, 401, 200, 404, 403, 200)),
    Row("GET", "/api/v1/submissions/{submission_id:str}/reviews", (401, 401, 200, 404, 403, 200)),
    Row("GET", "/api/v1/campaigns/{campaign_id:int}/benchmarks/wages", (*STAFF_ONLY, 200, 200)),
    # The bureau and a district's staff (of a district with none of the world's surveys:
    # an export of headers only); never analysts, who read only released figures.
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/national-layout",
        (*ADMIN_ONLY, 200),
        district=200,
    ),
    Row("GET", "/api/v1/campaigns/{campaign_id:int}/releases", (*STAFF_ONLY, 200, 200)),
    Row(
        "GET", "/api/v1/campaigns/{campaign_id:int}/releases/{number:int}", (*STAFF_ONLY, 200, 200)
    ),
    # Analysts read releases: allowed, and told (409) that the campaign has none yet.
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/satisfaction",
        (*STAFF_ONLY, 409, 200),
        (("campaign_id", "poll"),),
        district=403,
    ),
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/assessments",  # not the enterprises' campaign
        (401, 401, 404, 404, 409, 200),
        (("campaign_id", "assessment"),),
        district=403,
    ),
    Row(
        "GET",
        "/api/v1/participation",
        (*STAFF_ONLY, 200, 200),
        query=(("year", "2023"),),
        district=403,
    ),
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/poll-links",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "poll"),),
    ),
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/poll-links/{link:str}/qr.svg",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "poll"),),
    ),
    Row(
        "GET",
        "/api/v1/campaigns/{campaign_id:int}/poll-links/{link:str}/qr.png",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "poll"),),
    ),
    # --- writes by the enterprises
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/submissions",
        (401, 401, 200, 201, 403, 403),
        body=json_body(submission),
    ),
    Row(
        "PUT",
        "/api/v1/submissions/{submission_id:str}",
        (401, 401, 200, 404, 403, 403),
        body=json_body(lambda w, role: {"data": salary_document(w.uscc["A"])}),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/salary-uploads",
        (401, 401, 201, 201, 403, 403),
        body=upload,
    ),
    # --- writes by the admin
    Row(
        "POST",
        "/api/v1/submissions/{submission_id:str}/review",
        (*ADMIN_ONLY, 200),
        body=json_body({"state": "accepted"}),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/releases",
        (*ADMIN_ONLY, 201),
        body=json_body({"during_collection": True}),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/invitations",
        (*ADMIN_ONLY, 201),
        body=json_body(lambda w, role: {"enterprises": [w.uscc["D"]]}),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/invitations/{uscc:str}/revoke",
        (*ADMIN_ONLY, 204),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/poll-links",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "poll"),),
        body=json_body(lambda w, role: {"enterprise": w.uscc["A"]}),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/poll-links/{link:str}/revoke",
        (*ADMIN_ONLY, 204),
        (("campaign_id", "poll"), ("link", "spare")),
    ),
    Row(
        "POST",
        "/api/v1/tokens",
        (*ADMIN_ONLY, 201),
        body=json_body({"role": "analyst", "label": "new"}),
    ),
    # Expiry before revocation: a revoked token cannot be given an expiry (409).
    Row(
        "POST",
        "/api/v1/tokens/{token_id:int}/expire",
        (*ADMIN_ONLY, 200),
        body=json_body({"expires_at": "2099-01-01T00:00:00Z"}),
    ),
    Row(
        "POST",
        "/admin/tokens/{token_id:int}/expire",
        (A_SIGNIN,) * 5 + ("303 /admin/tokens?done=expired",),
        body=page_post(lambda w, role: {"expires_on": "2099-01-01"}),
    ),
    Row(
        "POST",
        "/admin/tokens",
        (A_SIGNIN,) * 5 + (201,),
        body=page_post(lambda w, role: {"role": "analyst", "label": "page"}),
    ),
    Row("POST", "/api/v1/tokens/{token_id:int}/revoke", (*ADMIN_ONLY, 200)),
    Row(
        "POST",
        "/admin/tokens/{token_id:int}/revoke",
        (A_SIGNIN,) * 5 + ("303 /admin/tokens?done=revoked",),
        body=page_post(),
    ),
    Row("POST", "/api/v1/enterprises", (*ADMIN_ONLY, 201), body=json_body(enterprise(8))),
    Row("POST", "/api/v1/enterprises/import", (*ADMIN_ONLY, 200), body=enterprises_sheet),
    Row("GET", "/api/v1/enterprises/template.xlsx", (*ADMIN_ONLY, 200)),
    Row(
        "GET",
        "/api/v1/enterprises/{uscc:str}/history",
        (*ADMIN_ONLY, 200),
        params=(("uscc", uscc(1)),),
    ),
    Row("POST", "/api/v1/wage-guidelines", (*ADMIN_ONLY, 201), body=json_body(GUIDELINE)),
    Row(  # a negotiator's token: the bureau for any enterprise, an enterprise for itself
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/negotiator-tokens",
        (401, 401, 201, 201, 403, 201),
        body=json_body(lambda w, role: {"enterprise": w.uscc["A"]} if role == "admin" else {}),
        district=403,
    ),
    Row("POST", "/api/v1/wage-guidelines/import", (*ADMIN_ONLY, 200), body=guideline_sheet),
    # Contract records: the bureau and a district's staff (for its district; the world's
    # enterprises are in none of theirs).
    # Webhooks: admins only. The world's service allows no private target, so the admin's
    # registration of a loopback address is refused (422) and there is no webhook to read
    # (tests/integration/test_webhooks.py registers and delivers).
    Row("GET", "/api/v1/webhooks", (*ADMIN_ONLY, 200)),
    Row(
        "POST",
        "/api/v1/webhooks",
        (*ADMIN_ONLY, 422),
        body=json_body({"url": "https://127.0.0.1:9/hook", "events": ["report.done"]}),
    ),
    Row(
        "GET",
        "/api/v1/webhooks/{webhook_id:int}",
        (*ADMIN_ONLY, 404),
        params=(("webhook_id", "1"),),
    ),
    Row(
        "GET",
        "/api/v1/webhooks/{webhook_id:int}/deliveries",
        (*ADMIN_ONLY, 404),
        params=(("webhook_id", "1"),),
    ),
    Row(
        "POST",
        "/api/v1/webhooks/{webhook_id:int}/deliveries/{delivery_id:str}/replay",
        (*ADMIN_ONLY, 404),
        params=(("webhook_id", "1"), ("delivery_id", "msg_0")),
    ),
    Row(
        "DELETE",
        "/api/v1/webhooks/{webhook_id:int}",
        (*ADMIN_ONLY, 404),
        params=(("webhook_id", "1"),),
    ),
    # Microdata exports: the bureau (the city) and a district's staff (their district's).
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/exports",
        (*ADMIN_ONLY, 202),
        body=json_body({"format": "csv"}),
        district=202,
    ),
    Row("GET", "/api/v1/exports/{export_id:str}", (*ADMIN_ONLY, 404), district=404),
    Row("GET", "/api/v1/exports/{export_id:str}/file", (*ADMIN_ONLY, 404), district=404),
    Row("GET", "/api/v1/collective-contracts", (*ADMIN_ONLY, 200), district=200),
    Row(
        "POST",
        "/api/v1/collective-contracts",
        (*ADMIN_ONLY, 201),
        body=json_body(lambda w, role: {"uscc": w.uscc["A"], "has_mechanism": True}),
        district=404,
    ),
    Row("GET", "/api/v1/collective-contracts/expiring", (*ADMIN_ONLY, 200), district=200),
    Row(
        "GET",
        "/api/v1/collective-contracts/mismatches",
        (*ADMIN_ONLY, 200),
        query=(("year", "2023"),),
        district=200,
    ),
    Row(
        "GET",
        "/api/v1/collective-contracts/{uscc:str}",
        (*ADMIN_ONLY, 200),
        params=(("uscc", uscc(1)),),
        district=404,
    ),
    Row(  # A's record, made by the row above
        "DELETE",
        "/api/v1/collective-contracts/{uscc:str}",
        (*ADMIN_ONLY, 204),
        params=(("uscc", uscc(1)),),
        district=404,
    ),
    Row(
        "DELETE",
        "/api/v1/wage-guidelines/{year:int}/{region:str}",
        (*ADMIN_ONLY, 204),
    ),
    Row(
        "POST",
        "/api/v1/campaigns",
        (*ADMIN_ONLY, 201),
        body=json_body(
            {
                "form_key": "salary-survey",
                "title": "新活动",
                "year": 2024,
                "opens_at": "2024-01-01T00:00:00Z",
                "closes_at": "2024-12-31T00:00:00Z",
            }
        ),
    ),
    Row(
        "PUT",
        "/api/v1/campaigns/{campaign_id:int}",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "assessment"),),
        body=json_body(assessment_campaign),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/close",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "assessment"),),
    ),
    Row(
        "POST",
        "/api/v1/campaigns/{campaign_id:int}/reopen",
        (*ADMIN_ONLY, 200),
        (("campaign_id", "assessment"),),
        body=json_body(lambda w, role: {"closes_at": _days(30)}),
    ),
    Row(
        "POST",
        "/api/v1/forms",
        (*ADMIN_ONLY, 201),
        body=json_body({"key": "matrix-new", "title": {"zh": "新表单"}, "fields": FIELDS}),
    ),
    Row(
        "POST",
        "/api/v1/forms/{key:str}/versions",
        (*ADMIN_ONLY, 201),
        (("key", "matrix-form"),),
        body=json_body({"fields": FIELDS}),
    ),
    Row(
        "PUT",
        "/api/v1/forms/{key:str}/versions/{number:int}",
        (*ADMIN_ONLY, 200),
        (("key", "matrix-form"),),
        body=json_body({"fields": FIELDS}),
    ),
    Row(
        "POST",
        "/api/v1/forms/{key:str}/versions/{number:int}/publish",
        (*ADMIN_ONLY, 200),
        (("key", "matrix-form"),),
    ),
    Row(
        "POST",
        "/api/v1/forms/{key:str}/versions/{number:int}/retire",
        (*ADMIN_ONLY, 200),
        (("key", "matrix-form"),),
    ),
    # --- the public poll: whoever holds the link (a stranger's made-up link is unknown)
    Row("GET", "/p/{link:str}", (404, 200, 200, 200, 200, 200)),
    Row("POST", "/p/{link:str}", (404, 303, 303, 303, 303, 303), body=page_post(a_form_post)),
    Row("GET", "/p/{link:str}/thanks", (200,) * 6),
    Row("GET", "/api/v1/polls/{link:str}", (404, 200, 200, 200, 200, 200)),
    Row(
        "POST",
        "/api/v1/polls/{link:str}/responses",
        (404, 201, 201, 201, 201, 201),
        body=json_body({"data": POLL_ANSWER}),
    ),
    # --- the enterprise pages (the bearer token counts for nothing there: the session does)
    Row("GET", "/e", (E_SIGNIN, E_SIGNIN, 200, 200, E_SIGNIN, E_SIGNIN)),
    Row("GET", "/e/signin", (200, 200, "303 /e", "303 /e", 200, 200)),
    Row("GET", "/e/form", (E_SIGNIN, E_SIGNIN, 200, 200, E_SIGNIN, E_SIGNIN)),
    Row(
        "POST",
        "/e/form",  # a row added: the form comes back, nothing is stored
        (E_SIGNIN, E_SIGNIN, 200, 200, E_SIGNIN, E_SIGNIN),
        body=page_post(lambda w, role: {"_action": "add_row:employees"}),
    ),
    Row(
        "POST",
        "/e/upload",
        (E_SIGNIN, E_SIGNIN, "303 /e?done=uploaded", "303 /e?done=uploaded", E_SIGNIN, E_SIGNIN),
        body=page_upload,
    ),
    Row("GET", "/e/submission", (E_SIGNIN, E_SIGNIN, 200, 200, E_SIGNIN, E_SIGNIN)),
    # The brief in the browser: an enterprise its own, its negotiator (none in the world:
    # every token here is refused at /n), the bureau any.
    Row("GET", "/e/brief", (E_SIGNIN, E_SIGNIN, 200, 200, E_SIGNIN, E_SIGNIN)),
    Row("GET", "/e/brief/pdf", (E_SIGNIN, E_SIGNIN, 202, 202, E_SIGNIN, E_SIGNIN)),
    Row(
        "POST",
        "/e/brief/negotiator",
        (E_SIGNIN, E_SIGNIN, 201, 201, E_SIGNIN, E_SIGNIN),
        body=page_post(),
    ),
    Row("GET", "/n/signin", (200,) * 6, district=200),
    Row("POST", "/n/signin", (401,) * 6, body=page_post(own_token), district=401),
    Row("GET", "/n", ("303 /n/signin",) * 6, district="303 /n/signin"),
    Row("GET", "/n/pdf", ("303 /n/signin",) * 6, district="303 /n/signin"),
    # C's (no survey of C in the release: its brief cannot be made, and each PDF asked is
    # queued anew; its token can be issued). A's or B's PDF would race with the worker
    # rendering the one they asked for above.
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/briefs/{uscc:str}",
        (A_SIGNIN,) * 5 + (409,),
        params=(("uscc", uscc(3)),),
        district=A_SIGNIN,
    ),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/briefs/{uscc:str}/pdf",
        (A_SIGNIN,) * 5 + (202,),
        params=(("uscc", uscc(3)),),
        district=A_SIGNIN,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/briefs/{uscc:str}/negotiator",
        (A_SIGNIN,) * 5 + (201,),
        params=(("uscc", uscc(3)),),
        body=page_post(),
        district=A_SIGNIN,
    ),
    # --- the bureau's pages
    Row("GET", "/admin", (A_SIGNIN,) * 5 + (200,), district="303 /admin/review"),
    Row("GET", "/admin/signin", (200,) * 5 + ("303 /admin",)),
    Row("GET", "/admin/builder", (A_SIGNIN,) * 5 + (200,)),
    Row("GET", "/admin/tokens", (A_SIGNIN,) * 5 + (200,)),
    Row("GET", "/admin/audit", (A_SIGNIN,) * 5 + (200,)),
    Row("GET", "/admin/forms", (A_SIGNIN,) * 5 + (200,)),
    Row("GET", "/admin/forms/{key:str}", (A_SIGNIN,) * 5 + (200,)),
    # matrix-form's version 2 is the draft the API's rows above made.
    Row(
        "GET",
        "/admin/forms/{key:str}/versions/{number:int}/builder",
        (A_SIGNIN,) * 5 + (200,),
        (("key", "matrix-form"), ("number", "2")),
    ),
    Row(
        "POST",
        "/admin/forms/{key:str}/versions/{number:int}/publish",
        (A_SIGNIN,) * 5 + ("303 /admin/forms/matrix-form?done=published",),
        (("key", "matrix-form"), ("number", "2")),
        body=page_post(),
    ),
    Row(
        "POST",
        "/admin/forms/{key:str}/reopen",
        (A_SIGNIN,) * 5 + ("303 /admin/forms/matrix-form/versions/3/builder",),
        (("key", "matrix-form"),),
        body=page_post(),
    ),
    Row("GET", "/admin/campaigns/{campaign_id:int}", (A_SIGNIN,) * 5 + (200,)),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/scores",
        (A_SIGNIN,) * 5 + (200,),
        (("campaign_id", "poll"),),
    ),
    Row("POST", "/admin/builder/preview", (401,) * 5 + (200,), body=preview),
    # --- the bureau's registry, invitation and poll-link pages (after the API's writes)
    Row("GET", "/admin/enterprises", (A_SIGNIN,) * 5 + (200,), district=200),
    Row("GET", "/admin/enterprises/export.xlsx", (A_SIGNIN,) * 5 + (200,), district=200),
    Row("GET", "/admin/enterprises/new", (A_SIGNIN,) * 5 + (200,), district=200),
    Row(
        "POST",
        "/admin/enterprises/new",
        (A_SIGNIN,) * 5 + ("303 /admin/enterprises",),
        body=page_post(registry_record(10)),
        district=422,
    ),
    Row("GET", "/admin/enterprises/import", (A_SIGNIN,) * 5 + (200,), district=200),
    Row("GET", "/admin/guidelines", (A_SIGNIN,) * 5 + (200,), district=200),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/exports",
        (A_SIGNIN,) * 5 + ("303 /admin/exports/",),
        body=page_post(lambda w, role: {"format": "csv"}),
        district="303 /admin/exports/",
    ),
    Row("GET", "/admin/exports/{export_id:str}", (A_SIGNIN,) * 5 + (404,), district=404),
    # The webhooks' pages: admins only (no webhook exists: the private target is refused).
    Row("GET", "/admin/webhooks", (A_SIGNIN,) * 5 + (200,), district=A_SIGNIN),
    Row(
        "POST",
        "/admin/webhooks",
        (A_SIGNIN,) * 5 + (422,),
        body=page_post(lambda w, role: {"url": "https://10.0.0.1/", "events": "report.done"}),
        district=A_SIGNIN,
    ),
    Row("GET", "/admin/webhooks/{webhook_id:int}", (A_SIGNIN,) * 5 + (404,), district=A_SIGNIN),
    Row(
        "POST",
        "/admin/webhooks/{webhook_id:int}/deliveries/{delivery_id:str}/replay",
        (A_SIGNIN,) * 5 + (404,),
        body=page_post(),
        district=A_SIGNIN,
    ),
    Row(
        "POST",
        "/admin/webhooks/{webhook_id:int}/remove",
        (A_SIGNIN,) * 5 + (404,),
        body=page_post(),
        district=A_SIGNIN,
    ),
    Row("GET", "/admin/contracts", (A_SIGNIN,) * 5 + (200,), district=200),
    Row(  # A is in none of the district staff's district
        "POST",
        "/admin/contracts",
        (A_SIGNIN,) * 5 + ("303 /admin/contracts?saved=",),
        body=page_post(lambda w, role: {"uscc": w.uscc["A"], "has_mechanism": "true"}),
        district=404,
    ),
    Row(
        "POST",
        "/admin/contracts/{uscc:str}/withdraw",
        (A_SIGNIN,) * 5 + ("303 /admin/contracts",),
        params=(("uscc", uscc(1)),),
        body=page_post(),
        district=404,
    ),
    Row(
        "POST",
        "/admin/guidelines",
        (A_SIGNIN,) * 5 + ("303 /admin/guidelines",),
        body=page_post(guideline_fields),
        district=A_SIGNIN,
    ),
    Row(
        "POST",
        "/admin/guidelines/import",
        (A_SIGNIN,) * 5 + (200,),
        body=page_guideline_sheet,
        district=A_SIGNIN,
    ),
    Row(
        "POST",
        "/admin/guidelines/{year:int}/{region:str}/delete",
        (A_SIGNIN,) * 5 + ("303 /admin/guidelines",),
        params=(("year", "2025"), ("region", "610200")),
        body=page_post(),
        district=A_SIGNIN,
    ),
    Row(
        "POST", "/admin/enterprises/import", (A_SIGNIN,) * 5 + (200,), body=page_sheet, district=422
    ),
    Row("GET", "/admin/enterprises/{uscc:str}", (A_SIGNIN,) * 5 + (200,), district=404),
    Row(
        "POST",
        "/admin/enterprises/{uscc:str}",  # C's record as it is
        (A_SIGNIN,) * 5 + ("303 /admin/enterprises",),
        body=page_post(registry_record(3)),
        district=422,
    ),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/invitations",
        (A_SIGNIN,) * 5 + (200,),
        district=200,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/invitations",  # D, invited already: kept
        (A_SIGNIN,) * 5 + (200,),
        body=page_post(lambda w, role: {"enterprise": w.uscc["D"], "_action": "selected"}),
        district=422,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/invitations/codes.xlsx",
        (A_SIGNIN,) * 5 + (200,),
        body=page_post(a_code),
        district=409,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/invitations/letters.pdf",
        (A_SIGNIN,) * 5 + (200,),
        body=page_post(a_code),
        district=409,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/invitations/{uscc:str}/revoke",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        body=page_post(),
        district=422,
    ),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/poll-links",
        (A_SIGNIN,) * 5 + (200,),
        (("campaign_id", "poll"),),
        district=200,
    ),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/poll-links/posters.pdf",
        (A_SIGNIN,) * 5 + (200,),
        (("campaign_id", "poll"),),
        district=404,
    ),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/poll-links/{link:str}/poster.pdf",
        (A_SIGNIN,) * 5 + (200,),
        (("campaign_id", "poll"),),
        district=404,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/poll-links",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        (("campaign_id", "poll"),),
        body=page_post(lambda w, role: {"enterprise": w.uscc["B"]}),
        district=422,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/poll-links/{link:str}/revoke",  # withdrawn already
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        (("campaign_id", "poll"), ("link", "spare")),
        body=page_post(),
        district=404,
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/poll-links/{link:str}/rotate",  # last: a new slug
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        (("campaign_id", "poll"), ("link", "spare")),
        body=page_post(),
        district=404,
    ),
    # --- the analyst's page (an admin's session opens it too)
    Row("GET", "/analyst", (AN_SIGNIN,) * 4 + (200, 200), district=AN_SIGNIN),
    Row("GET", "/analyst/signin", (200,) * 4 + ("303 /analyst",) * 2, district=200),
    Row("GET", "/analyst/scores", (AN_SIGNIN,) * 4 + (200, 200), district=AN_SIGNIN),
    Row(
        "POST",
        "/analyst/guide",
        (AN_SIGNIN,) * 4 + ("303 /analyst/reports/",) * 2,
        body=page_post(lambda w, role: {"campaign_id": str(w.salary)}),
        district=AN_SIGNIN,
    ),
    # A's own enterprise report: not an analyst's to read.
    Row(
        "GET", "/analyst/reports/{report_id:str}", (AN_SIGNIN,) * 4 + (404, 200), district=AN_SIGNIN
    ),
    Row("GET", "/admin/campaigns/new", (A_SIGNIN,) * 5 + (200,)),
    Row(
        "POST",
        "/admin/campaigns/new",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        body=page_post(campaign_form),
    ),
    Row(
        "GET",
        "/admin/campaigns/{campaign_id:int}/edit",
        (A_SIGNIN,) * 5 + (200,),
        (("campaign_id", "assessment"),),
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/edit",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        (("campaign_id", "assessment"),),
        body=page_post(campaign_form),
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/close",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        (("campaign_id", "assessment"),),
        body=page_post(),
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/reopen",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        (("campaign_id", "assessment"),),
        body=page_post(lambda w, role: {"closes_at": _days(30)}),
    ),
    Row(
        "POST",
        "/admin/campaigns/{campaign_id:int}/releases",
        (A_SIGNIN,) * 5 + ("303 /admin/campaigns/",),
        body=page_post(lambda w, role: {"during_collection": "1"}),
    ),
    Row("GET", "/admin/review", (A_SIGNIN,) * 5 + (200,), district=200),
    Row(
        "GET",
        "/admin/review/submissions/{submission_id:str}",
        (A_SIGNIN,) * 5 + (200,),
        district=404,
    ),
    Row(
        "POST",
        "/admin/review/submissions/{submission_id:str}",
        (A_SIGNIN,) * 5 + ("303 /admin/review",),
        body=page_post(lambda w, role: {"state": "accepted"}),
        district=404,
    ),
    Row(
        "POST",
        "/admin/review/accept",
        (A_SIGNIN,) * 5 + ("303 /admin/review",),
        body=page_post(lambda w, role: {"accept": f"{w.submission_a}:1"}),
        district="303 /admin/review",
    ),
    Row("GET", "/admin/reminders", (A_SIGNIN,) * 5 + (200,), district=200),
    Row("GET", "/admin/reminders/{campaign_id:int}", (A_SIGNIN,) * 5 + (200,), district=200),
    Row(
        "GET",
        "/admin/reminders/{campaign_id:int}/outstanding.xlsx",
        (A_SIGNIN,) * 5 + (200,),
        district=200,
    ),
    Row(
        "POST",
        "/admin/reminders/{campaign_id:int}/send",
        (A_SIGNIN,) * 5 + (409,),  # no SMTP server here: nothing is sent, and it says so
        body=page_post(lambda w, role: {"subject": "提醒", "body": "请填报"}),
        district=409,
    ),
    # --- signing in with one's own token, then out: last, since they end the sessions
    Row("POST", "/e/signin", (401, 401, "303 /e", "303 /e", 401, 401), body=page_post(own_token)),
    Row(
        "POST",
        "/admin/signin",
        (401,) * 5 + ("303 /admin",),
        body=page_post(own_token),
        district="303 /admin/review",
    ),
    Row(
        "POST",
        "/analyst/signin",
        (401,) * 4 + ("303 /analyst",) * 2,
        body=page_post(own_token),
        district=401,
    ),
    Row("POST", "/e/signout", (E_SIGNIN,) * 6, body=page_post()),
    Row("POST", "/n/signout", ("303 /n/signin",) * 6, body=page_post(), district="303 /n/signin"),
    Row("POST", "/admin/signout", (A_SIGNIN,) * 6, body=page_post()),
    Row("POST", "/analyst/signout", (AN_SIGNIN,) * 6, body=page_post()),
)

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _object(w: World, role: str, name: str, chosen: str | None) -> str:
    """The value of path parameter ``name``: the row's choice, else the usual object."""
    if name == "link":
        if chosen == "spare":
            return w.slug_c
        return unknown_slug() if role == "none" else w.slug_a
    if name == "campaign_id":
        return str({"poll": w.poll, "assessment": w.assessment}.get(chosen or "", w.salary))
    if chosen is not None:
        return chosen
    return {
        "key": "salary-survey",
        "number": "1",
        "submission_id": w.submission_a,
        "report_id": w.report_a,
        "webhook_id": "1",
        "delivery_id": "msg_0",
        "export_id": "00000000-0000-4000-8000-000000000000",
        "token_id": str(w.spare_token_id),
        "uscc": w.uscc["C"],
        "path": "openapi.yaml",
        "slug": "not-found",  # a problem type
        "year": "2024",  # a wage guideline's, with its region
        "region": "610000",
        "file_path": STATIC_URLS["form.js"].removeprefix("/static/").split("?")[0],
    }[name]


def url_of(row: Row, w: World, role: str) -> str:
    chosen = dict(row.params)
    return _PARAM.sub(lambda m: _object(w, role, m.group(1), chosen.get(m.group(1))), row.path)


def outcome(response: httpx.Response, expected: Expect) -> Expect:
    """The response in the table's terms: a redirect as "303 <where>" when one is expected."""
    if isinstance(expected, str) and response.is_redirect:
        where = response.headers.get("location", "")
        wanted = expected.split(" ", 1)[1]
        shown = wanted if where.startswith(wanted) else where
        return f"{response.status_code} {shown}"
    return response.status_code


def forget_poll_answers(client: httpx.AsyncClient) -> None:
    """Every poll request as from a device that has not answered yet."""
    jar = client.cookies.jar
    for cookie in [c for c in jar if c.name.startswith("poll_")]:
        jar.clear(cookie.domain, cookie.path, cookie.name)


def _routes(service: Service) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, without Litestar's automatic OPTIONS."""
    found = set()
    for route in service.app.routes:
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items():
            if method == "OPTIONS" and handler.fn.__name__ == "options_handler":
                continue
            found.add((method, route.path))
    return found


async def test_every_route_has_a_row(service: Service) -> None:
    rows = [(row.method, row.path) for row in ROWS]
    assert len(rows) == len(set(rows)), "a route has two rows"
    served = _routes(service)
    assert served - set(rows) == set(), "routes without a row in the access matrix"
    assert set(rows) - served == set(), "rows naming a route the app no longer serves"
    assert all(len(row.expect) == len(ROLES) - 1 for row in ROWS)


async def test_the_openapi_document_lists_only_served_routes(service: Service) -> None:
    document = (await service.client.get("/schema/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete", "head"}
    }
    served = {(method, _PARAM.sub(r"{\1}", path)) for method, path in _routes(service)}
    assert documented <= served


async def test_every_endpoint_answers_every_role_as_the_table_says(service: Service) -> None:
    async with world(service, rendered=True) as w:
        wrong: list[str] = []
        for row in ROWS:
            for role, expected in zip(ROLES, expectations(row), strict=True):
                client = w.clients[role]
                forget_poll_answers(client)
                kwargs = await row.body(w, role) if row.body else {}
                response = await client.request(
                    row.method, url_of(row, w, role), params=dict(row.query), **kwargs
                )
                got = outcome(response, expected)
                if got != expected:
                    wrong.append(f"{row.method} {row.path} as {role}: {got}, expected {expected}")
        assert wrong == [], "\n".join(wrong)


async def test_options_reveal_nothing_but_the_methods(service: Service) -> None:
    """Litestar answers OPTIONS on every route by itself: the allowed methods and no body,
    or 401 where a controller's guard asks for a token before anything else."""
    async with world(service) as w:
        for route in service.app.routes:
            if "OPTIONS" not in getattr(route, "methods", ()):
                continue
            row = Row("OPTIONS", route.path, ())
            response = await w.clients["none"].options(url_of(row, w, "none"))
            assert response.status_code in (204, 401), route.path
            if response.status_code == 204:
                assert response.content == b""
                assert set(response.headers["allow"].split(", ")) <= set(route.methods)


async def test_an_enterprise_token_reaches_its_own_campaign_only(service: Service) -> None:
    """An invitation is for one enterprise in one campaign: its own report of another
    campaign is as hidden as another enterprise's (404), asked for or read."""
    async with world(service) as w:
        own = w.clients["ent_a"]
        for campaign_id in (w.poll, w.assessment):
            asked = await own.post(
                "/api/v1/reports",
                json={"type": "enterprise", "campaign_id": campaign_id, "enterprise": w.uscc["A"]},
            )
            assert asked.status_code == 404, asked.text
        admins = await w.clients["admin"].post(
            "/api/v1/reports",
            json={"type": "enterprise", "campaign_id": w.poll, "enterprise": w.uscc["A"]},
        )
        assert admins.status_code == 202
        for path in ("", "/pdf"):
            read = await own.get(f"/api/v1/reports/{admins.json()['id']}{path}")
            assert read.status_code == 404


async def test_another_enterprises_submission_id_is_not_found_on_post(service: Service) -> None:
    """Posting with the id of another enterprise's submission says nothing of it (404, not
    the 409 its owner would get)."""
    async with world(service) as w:
        url = f"/api/v1/campaigns/{w.salary}/submissions"
        taken = {"id": w.submission_a, "data": salary_document(w.uscc["B"])}
        response = await w.clients["ent_b"].post(url, json=taken)
        assert response.status_code == 404, response.text
        assert w.submission_a not in response.text
        other = {"id": w.submission_a, "data": salary_document(w.uscc["B"]) | {"employees": []}}
        assert (await w.clients["ent_a"].post(url, json=other)).status_code == 409
