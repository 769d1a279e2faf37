"""Webhooks in the browser: an admin registers an address (the secret shown once, a
private address refused in Chinese), reads its deliveries, replays one and removes it."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Service
from tests.factories import invited, submit
from tests.integration.security.world import service_with
from tests.integration.test_webhooks import receiving, send, verified
from tests.integration.web.helpers import assert_well_formed, csrf_of, english_words, sign_in
from tests.samples import salary_document, uscc


def secret_words(html: str) -> list[str]:
    """The Latin runs of the secret shown, which are not words."""
    shown = html.split("<code>", 1)[1].split("</code>", 1)[0]
    return re.findall(r"[A-Za-z]{3,}", shown)


async def test_an_admin_registers_reads_replays_and_removes_a_webhook(service: Service) -> None:
    assert (await sign_in(service, service.admin_token, admin=True)).status_code == 303
    form = await service.client.get("/admin/webhooks")
    refused = await service.client.post(
        "/admin/webhooks",
        data={"url": "https://10.1.2.3/hook", "events": ["submission.received"],
              "_csrf": csrf_of(form.text)},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "内网" in refused.text.split('id="problem"', 1)[1]

    async with (
        service_with(service, webhooks_allow_private=True) as open_,
        receiving() as receiver,
        httpx.AsyncClient() as client,
    ):
        assert (await sign_in(open_, open_.admin_token, admin=True)).status_code == 303
        form = await open_.client.get("/admin/webhooks")
        made = await open_.client.post(
            "/admin/webhooks",
            data={"url": receiver.url, "events": ["submission.received", "release.made"],
                  "_csrf": csrf_of(form.text)},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        assert_well_formed(made.text)
        # Latin letters: the address, the secret, "https"; no English sentence.
        assert set(english_words(made.text)) <= {"https", "http", "hook", "whsec"} | set(
            secret_words(made.text)
        )
        secret = made.text.split('id="secret"', 1)[1].split("<code>", 1)[1].split("</code>", 1)[0]
        assert secret.startswith("whsec_")
        listed = await open_.client.get("/admin/webhooks")
        assert secret not in listed.text  # shown once
        hook = listed.text.split('href="/admin/webhooks/', 1)[1].split('"', 1)[0]

        campaign_id, token = await invited(open_, 1)
        await submit(open_, campaign_id, token, salary_document(uscc(1)))
        await send(open_, client)
        assert verified(secret, *receiver.received[0])["type"] == "submission.received"
        page = await open_.client.get(f"/admin/webhooks/{hook}")
        assert "已送达" in page.text
        delivery = page.text.split('<th scope="row"><code>', 1)[1].split("<", 1)[0]
        replayed = await open_.client.post(
            f"/admin/webhooks/{hook}/deliveries/{delivery}/replay",
            data={"_csrf": csrf_of(page.text)},
        )
        assert replayed.status_code == 303
        assert "待发送" in (await open_.client.get(f"/admin/webhooks/{hook}")).text
        await send(open_, client)
        assert [h["webhook-id"] for h, _ in receiver.received] == [delivery, delivery]

        removed = await open_.client.post(
            f"/admin/webhooks/{hook}/remove", data={"_csrf": csrf_of(page.text)}
        )
        assert removed.status_code == 303
        assert "已停用" in (await open_.client.get("/admin/webhooks")).text
