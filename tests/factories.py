"""Factories: the test world set up through the service's own HTTP API, as the admin and the
enterprises would set it up (the ``service`` fixture of tests/conftest.py).

What goes here: a step of setup that more than one test file takes (a campaign, enterprises
registered, invitations, a submission, a poll link and its answers), small and typed, each
asserting that the API said yes, so that a test fails where its setup does. What does not:
data samples (tests/samples.py), a helper about one file's subject (it stays in that file
or in the helpers module of its folder), and anything a test checks: a test that wants the
answer to a refused request posts the request itself (``post_campaign`` gives the response).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx

from tests.conftest import Service
from tests.samples import POLL_ANSWER, enterprise, uscc

WindowState = Literal["open", "closed", "future"]
# A campaign's title when the test does not say one: the year put in front of it.
TITLES = {
    "salary-survey": "年企业薪酬调查",
    "worker-satisfaction": "年职工满意度调查",
    "enterprise-self-assessment": "年企业自评",
}


def bearer(token: str) -> dict[str, str]:
    """The headers that present ``token`` (an invitation code, an analyst's or admin's)."""
    return {"Authorization": f"Bearer {token}"}


def window(state: WindowState = "open") -> dict[str, str]:
    """A campaign window around now, as RFC 3339 times: open (since yesterday, for 30 days),
    closed (yesterday) or in the future (from tomorrow)."""
    return _around_now(state)


def _around_now(state: WindowState) -> dict[str, str]:
    now = datetime.now(UTC)
    opens, closes = {
        "open": (now - timedelta(days=1), now + timedelta(days=30)),
        "closed": (now - timedelta(days=30), now - timedelta(days=1)),
        "future": (now + timedelta(days=1), now + timedelta(days=30)),
    }[state]
    return {"opens_at": opens.isoformat(), "closes_at": closes.isoformat()}


def campaign_body(
    form_key: str = "salary-survey",
    *,
    title: str | None = None,
    year: int = 2023,
    campaign_year: int | Literal["year"] | None = "year",
    window: WindowState | dict[str, str] = "open",
    **extra: Any,
) -> dict[str, Any]:
    """What the admin posts to make a campaign. ``title`` is "2023年企业薪酬调查" and the like
    unless given; ``campaign_year`` is ``year`` unless given, and None leaves it to the
    service (the year the campaign opens in); ``window`` is a state or the two times as
    given; ``extra`` adds fields (settings, audience, requires_review)."""
    if title is None:
        title = f"{year}{TITLES[form_key]}" if form_key in TITLES else f"{year} {form_key}"
    body: dict[str, Any] = {"form_key": form_key, "title": title, "year": year}
    if campaign_year is not None:
        body["campaign_year"] = year if campaign_year == "year" else campaign_year
    return body | (_around_now(window) if isinstance(window, str) else window) | extra


async def post_campaign(
    service: Service, form_key: str = "salary-survey", **campaign: Any
) -> httpx.Response:
    """The admin's request to make a campaign (``campaign``: see ``campaign_body``), with
    whatever the service answered."""
    return await service.client.post(
        "/api/v1/campaigns", json=campaign_body(form_key, **campaign), headers=service.admin
    )


async def create_campaign(
    service: Service, form_key: str = "salary-survey", **campaign: Any
) -> int:
    """A new campaign (``campaign``: see ``campaign_body``): its id."""
    response = await post_campaign(service, form_key, **campaign)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def register_enterprises(
    service: Service, *enterprises: int | dict[str, Any], **extra: Any
) -> None:
    """Register (or update) enterprises: sample enterprise ``n`` for a number (with the
    registry fields in ``extra``), or an enterprise as given."""
    items = [enterprise(e, **extra) if isinstance(e, int) else e for e in enterprises]
    response = await service.client.post("/api/v1/enterprises", json=items, headers=service.admin)
    assert response.status_code in (200, 201), response.text


A_YEAR_AGO = (date.today() - timedelta(days=365)).isoformat()


async def record_contract(
    service: Service, n: int, *, signed_on: str | None = A_YEAR_AGO, **fields: Any
) -> dict[str, Any]:
    """The bureau records enterprise ``n``'s collective contract: by default a mechanism
    and a three-year contract signed a year ago (so in force today)."""
    body = {"uscc": uscc(n), "has_mechanism": True, "signed_on": signed_on}
    if signed_on is not None:
        body["term_months"] = 36
    response = await service.client.post(
        "/api/v1/collective-contracts", json=body | fields, headers=service.admin
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def invite(
    service: Service, campaign_id: int, *ns: int, reissue: bool = False
) -> dict[int, str]:
    """Invite enterprises ``ns`` (registered already) to the campaign: n -> invitation code.
    ``reissue`` gives new codes to enterprises invited already."""
    body: dict[str, Any] = {"enterprises": [uscc(n) for n in ns]}
    if reissue:
        body["reissue"] = True
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations", json=body, headers=service.admin
    )
    assert response.status_code == 201, response.text
    tokens = {item["uscc"]: str(item["token"]) for item in response.json()}
    return {n: tokens[uscc(n)] for n in ns}


async def invited(service: Service, n: int = 1, **campaign: Any) -> tuple[int, str]:
    """Sample enterprise ``n`` registered and invited to a new campaign (``campaign``: see
    ``campaign_body``): the campaign's id and the invitation code."""
    await register_enterprises(service, n)
    campaign_id = await create_campaign(service, **campaign)
    return campaign_id, (await invite(service, campaign_id, n))[n]


async def submit(
    service: Service,
    campaign_id: int,
    token: str,
    data: dict[str, Any],
    status: str = "submitted",
) -> str:
    """The invited enterprise's submission of ``data``: its id."""
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": data, "status": status},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def upload_salaries(
    service: Service, campaign_id: int, token: str, content: bytes, name: str, **params: str
) -> httpx.Response:
    """The invited enterprise's salary spreadsheet, uploaded as the file ``name``; the
    service's answer."""
    return await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/salary-uploads",
        params=params,
        files={"file": (name, content)},
        headers=bearer(token),
    )


async def poll_link(service: Service, campaign_id: int, n: int = 1, **body: Any) -> dict[str, Any]:
    """Enterprise ``n``'s link to the poll (``n`` registered already; ``body``: requires_code,
    codes, rotate): a new link, or the one it has. The link as the API gives it (``link``
    is the slug, ``url`` the page, ``codes`` the one-time codes)."""
    response = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/poll-links",
        json={"enterprise": uscc(n)} | body,
        headers=service.admin,
    )
    assert response.status_code in (200, 201), response.text
    link: dict[str, Any] = response.json()
    return link


async def open_poll(
    service: Service, n: int = 1, form_key: str = "worker-satisfaction", **campaign: Any
) -> tuple[int, str]:
    """A new poll campaign (open unless ``campaign`` says otherwise, see ``campaign_body``)
    with a link for sample enterprise ``n``, registered here: the campaign's id and the
    link's slug."""
    await register_enterprises(service, n)
    campaign_id = await create_campaign(service, form_key, **campaign)
    return campaign_id, str((await poll_link(service, campaign_id, n))["link"])


async def answer_poll(
    service: Service, slug: str, data: dict[str, Any] | None = None, **body: Any
) -> httpx.Response:
    """One answer (the sample answer unless ``data``) from a new device, without the cookie
    of an earlier answer; ``body`` adds fields (a one-time code). The service's answer."""
    service.client.cookies.clear()
    return await service.client.post(
        f"/api/v1/polls/{slug}/responses",
        json={"data": POLL_ANSWER if data is None else data} | body,
    )
