"""A small world for the security tests, built through the API: two enterprises invited to a
salary survey with their submissions (released once A's is in), a worker poll with its
links, a self-assessment campaign, an enterprise report rendered, a draft form, a spare
token; and one HTTP client per role, each from its own address, signed in on the pages
where the role can be (the analyst on its own page)."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from survey_service.app import create_app
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, poll_link, register_enterprises, submit
from tests.integration.analytics.release_helpers import release
from tests.integration.web.helpers import csrf_of
from tests.samples import salary_document, uscc

ROLES = ("none", "respondent", "ent_a", "ent_b", "analyst", "admin", "district")
# The district's staff of the matrix work for 宜君县 (610222): every enterprise of the world is
# in 王益区 (610202), so each one is another district's to them.
STAFF_DISTRICT = "610222"
WAIT_SECONDS = 120  # a bound on a stuck report worker, not a performance figure


def client_at(service: Service, address: str, headers: dict[str, str] | None = None) -> Any:
    """A client of the same app as ``service.client``, seen as coming from ``address``."""
    transport = httpx.ASGITransport(app=service.app, client=(address, 40000))
    return httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers or {}
    )


@asynccontextmanager
async def service_with(service: Service, **settings: Any) -> AsyncIterator[Service]:
    """Another app on the same database, with some settings changed (a limit lowered)."""
    changed = dataclasses.replace(service.settings, **settings)
    app = create_app(changed, database=service.db)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield Service(client, service.db, changed, service.admin_token, app)
    finally:
        await app.state.reports.close()


@dataclass
class World:
    service: Service
    clients: dict[str, httpx.AsyncClient]
    tokens: dict[str, str]
    salary: int  # a salary-survey campaign: A, B (and C, D) invited
    poll: int  # a worker-satisfaction campaign with links for A and C
    assessment: int  # a self-assessment campaign nobody was invited to
    submission_a: str
    report_a: str  # A's enterprise report (rendered when the world is made so)
    slug_a: str
    slug_c: str  # a link to withdraw
    spare_token_id: int  # an analyst token to revoke
    uscc: dict[str, str] = field(default_factory=dict)

    async def csrf(self, role: str) -> str:
        """The CSRF token of the role's browser session (made on the first page view)."""
        client = self.clients[role]
        page = await client.get("/e/signin")
        if page.status_code != 200:  # signed in as an enterprise: the form is on /e
            page = await client.get("/e")
        assert page.status_code == 200, page.text
        return csrf_of(page.text)


async def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), response.text
    return response.json() if response.content else None


async def _sign_in(client: httpx.AsyncClient, token: str, base: str) -> None:
    form = await client.get(f"{base}/signin")
    response = await client.post(
        f"{base}/signin", data={"token": token, "_csrf": csrf_of(form.text)}
    )
    assert response.status_code == 303, response.text


async def wait_for_report(client: httpx.AsyncClient, report_id: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            body: dict[str, Any] = await _ok(await client.get(f"/api/v1/reports/{report_id}"))
            if body["status"] in ("done", "failed"):
                return body
            await asyncio.sleep(0.2)


@asynccontextmanager
async def world(service: Service, *, rendered: bool = False) -> AsyncIterator[World]:
    """The world; with ``rendered``, A's enterprise report too, its PDF done."""
    h = service.admin
    codes = {name: uscc(n) for n, name in enumerate("ABCD", start=1)}
    await register_enterprises(service, 1, 2, 3, 4)
    salary = await create_campaign(service, campaign_year=None)
    tokens = await invite(service, salary, 1, 2, 3)  # A, B and C
    submission_a = await submit(service, salary, tokens[1], salary_document(codes["A"]))
    await release(service, salary)  # while still open, so that analysts have figures to read
    poll = await create_campaign(service, "worker-satisfaction", campaign_year=None)
    slug_a, slug_c = [(await poll_link(service, poll, n))["link"] for n in (1, 3)]
    assessment = await create_campaign(
        service, "enterprise-self-assessment", title="2023年自评", campaign_year=None
    )
    report_id = str(uuid.uuid4())  # no report's, unless one is rendered
    if rendered:
        asked = await _ok(
            await service.client.post(
                "/api/v1/reports",
                json={"type": "enterprise", "campaign_id": salary, "enterprise": codes["A"]},
                headers=h,
            ),
            202,
        )
        report_id = asked["id"]
    analyst = await service.token("analyst", label="matrix analyst")
    spare = await _ok(
        await service.client.post(
            "/api/v1/tokens", json={"role": "analyst", "label": "to revoke"}, headers=h
        )
    )
    await _ok(
        await service.client.post(
            "/api/v1/forms",
            json={
                "key": "matrix-form",
                "title": {"zh": "测试表单"},
                "fields": [{"type": "text", "name": "name", "label": {"zh": "名称"}}],
            },
            headers=h,
        )
    )
    district_staff = await _ok(
        await service.client.post(
            "/api/v1/tokens",
            json={"role": "district", "label": "宜君县工作人员", "district": STAFF_DISTRICT},
            headers=h,
        )
    )
    role_tokens = {
        "ent_a": tokens[1],
        "ent_b": tokens[2],
        "analyst": analyst,
        "admin": service.admin_token,
        "district": district_staff["token"],
    }
    clients = {
        role: client_at(
            service,
            f"10.0.0.{number}",
            bearer(role_tokens[role]) if role in role_tokens else None,
        )
        for number, role in enumerate(ROLES, start=1)
    }
    try:
        if rendered:
            report = await wait_for_report(clients["admin"], report_id)
            assert report["status"] == "done", report
        await _sign_in(clients["ent_a"], role_tokens["ent_a"], "/e")
        await _sign_in(clients["ent_b"], role_tokens["ent_b"], "/e")
        await _sign_in(clients["admin"], role_tokens["admin"], "/admin")
        await _sign_in(clients["analyst"], role_tokens["analyst"], "/analyst")
        await _sign_in(clients["district"], role_tokens["district"], "/admin")
        yield World(
            service=service,
            clients=clients,
            tokens=role_tokens,
            salary=salary,
            poll=poll,
            assessment=assessment,
            submission_a=submission_a,
            report_a=report_id,
            slug_a=slug_a,
            slug_c=slug_c,
            spare_token_id=spare["id"],
            uscc=codes,
        )
    finally:
        for client in clients.values():
            await client.aclose()


def unknown_slug() -> str:
    return secrets.token_urlsafe(16)
