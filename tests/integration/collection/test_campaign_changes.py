"""Changing a campaign through the API on SQLite and PostgreSQL: edit (PUT), close early,
reopen, and the form version that cannot change once answers are in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Service
from tests.factories import post_campaign
from tests.samples import enterprise, salary_document, uscc


def _window(**days: int) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "opens_at": (now - timedelta(days=days.get("opened", 1))).isoformat(),
        "closes_at": (now + timedelta(days=days.get("closes", 30))).isoformat(),
    }


def _body(**extra: Any) -> dict[str, Any]:
    return {"form_key": "salary-survey", "title": "2024年企业薪酬调查", "year": 2024} | extra


async def _campaign(service: Service, **extra: Any) -> int:
    response = await service.client.post(
        "/api/v1/campaigns", json=_body(**_window()) | extra, headers=service.admin
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _invited_token(service: Service, campaign_id: int) -> str:
    await service.client.post("/api/v1/enterprises", json=enterprise(1), headers=service.admin)
    invited = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(1)]},
        headers=service.admin,
    )
    return str(invited.json()[0]["token"])


async def test_put_replaces_the_campaign(service: Service) -> None:
    campaign_id = await _campaign(service, settings={"disclosure": {"min_workers": 12}})
    url = f"/api/v1/campaigns/{campaign_id}"
    changed = _body(title="改名", requires_review=True, audience={"districts": ["610204"]})
    response = await service.client.put(
        url, json=changed | _window(closes=60), headers=service.admin
    )
    assert response.status_code == 200, response.text
    body = (await service.client.get(url, headers=service.admin)).json()
    assert (body["title"], body["requires_review"]) == ("改名", True)
    assert body["audience"] == {"districts": ["610204"]}
    assert body["settings"] == {}  # replaced whole
    bad = await service.client.put(
        url, json=_body(settings={"anonymity": {"min_group": 0}}) | _window(), headers=service.admin
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "/settings/anonymity/min_group"
    missing = await service.client.put(
        "/api/v1/campaigns/999", json=_body() | _window(), headers=service.admin
    )
    assert missing.status_code == 404


async def test_the_form_version_is_fixed_once_a_survey_is_in(service: Service) -> None:
    campaign_id = await _campaign(service)
    url = f"/api/v1/campaigns/{campaign_id}"
    # The shipped salary survey has one published version; another form is another version.
    other = _body(form_key="enterprise-self-assessment") | _window()
    assert (await service.client.put(url, json=other, headers=service.admin)).status_code == 200
    back = _body() | _window()
    assert (await service.client.put(url, json=back, headers=service.admin)).status_code == 200
    token = await _invited_token(service, campaign_id)
    submitted = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/submissions",
        json={"data": salary_document(uscc(1))},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert submitted.status_code == 201, submitted.text
    refused = await service.client.put(url, json=other, headers=service.admin)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["path"] == "/form_version"
    renamed = await service.client.put(url, json=back | {"title": "新名"}, headers=service.admin)
    assert renamed.status_code == 200  # everything else may still change


async def test_close_and_reopen_through_the_api(service: Service) -> None:
    campaign_id = await _campaign(service)
    token = await _invited_token(service, campaign_id)
    base = f"/api/v1/campaigns/{campaign_id}"
    closed = await service.client.post(f"{base}/close", headers=service.admin)
    assert closed.status_code == 200
    assert closed.json()["is_open"] is False
    assert (await service.client.post(f"{base}/close", headers=service.admin)).status_code == 409
    submit = f"{base}/submissions"
    document = {"data": salary_document(uscc(1))}
    enterprise_token = {"Authorization": f"Bearer {token}"}
    assert (
        await service.client.post(submit, json=document, headers=enterprise_token)
    ).status_code == 403
    past = await service.client.post(
        f"{base}/reopen", json={"closes_at": "2020-01-01"}, headers=service.admin
    )
    assert past.status_code == 422
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    reopened = await service.client.post(
        f"{base}/reopen", json={"closes_at": until}, headers=service.admin
    )
    assert reopened.status_code == 200
    assert reopened.json()["is_open"] is True
    assert (await service.client.post(f"{base}/reopen", json={"closes_at": until},
                                      headers=service.admin)).status_code == 409  # fmt: skip
    assert (
        await service.client.post(submit, json=document, headers=enterprise_token)
    ).status_code == 201
    analyst = {"Authorization": f"Bearer {await service.token('analyst', label='a')}"}
    assert (await service.client.post(f"{base}/close", headers=analyst)).status_code == 403


async def test_a_campaign_not_open_yet_is_not_closed_or_reopened(service: Service) -> None:
    campaign_id = await _campaign(service, **_window(opened=-5, closes=30))
    base = f"/api/v1/campaigns/{campaign_id}"
    assert (await service.client.post(f"{base}/close", headers=service.admin)).status_code == 409
    reopen = await service.client.post(
        f"{base}/reopen", json={"closes_at": "2099-01-01"}, headers=service.admin
    )
    assert reopen.status_code == 409


async def test_settings_that_are_not_an_object_are_a_422_not_a_server_error(
    service: Service,
) -> None:
    """A body field named like one of the app's dependencies once made Litestar take the
    client's mistake for its own (found by the OpenAPI fuzzer)."""
    refused = await post_campaign(service, settings=[None, None])  # type: ignore[arg-type]
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "/settings"
