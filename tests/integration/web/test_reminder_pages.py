"""The reminder pages through HTTP on SQLite and PostgreSQL: who has not submitted (not
invited, invited, draft, returned; never a submitted survey) by district with the contacts,
the same list read back from its workbook (text never run as a formula), the reminder's
text, and its e-mail: nothing sent without an SMTP server, and with one (a local aiosmtpd
sink) one letter per enterprise with an address, each logged and listed."""

from __future__ import annotations

import asyncio
import io
import re
import socket
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from python_calamine import CalamineWorkbook
from sqlalchemy import select

from survey_service.db.models import AuditEntry, Reminder
from survey_service.settings import SmtpSettings
from tests.conftest import Service
from tests.factories import window
from tests.integration.security.world import bearer, service_with
from tests.integration.web.helpers import assert_well_formed, csrf_of, sign_in
from tests.samples import enterprise, salary_document, uscc

FORMULA_NAME = '=HYPERLINK("http://x.test","点我")有限公司'
SENDER = "survey@hrss.example.cn"
REFUSED = "nobody@example.cn"


@dataclass
class World:
    campaign_id: int
    # Enterprise number -> what the list should say of it (None: not listed).
    states: dict[int, str | None]


def _contact(n: int) -> dict[str, Any]:
    """Enterprise n's contact: 3 has a telephone only, 5 an address the sink refuses."""
    phone = {"contact_name": f"联系人{n}", "contact_phone": f"0919-61800{n:02d}"}
    if n == 3:
        return phone
    return phone | {"contact_email": REFUSED if n == 5 else f"hr{n}@example.cn"}


async def _world(service: Service) -> World:
    """Seven enterprises of a salary survey: 1 not invited, 2 invited, 3 a draft, 4
    submitted, 5 invited (its address refused by the mail server), 6 returned (its name
    like a formula), 7 invited in Yaozhou."""
    h = service.admin
    registered = await service.client.post(
        "/api/v1/enterprises",
        json=[
            enterprise(n, district="610204" if n == 7 else "610202", **_contact(n))
            | ({"name": FORMULA_NAME} if n == 6 else {})
            for n in range(1, 8)
        ],
        headers=h,
    )
    assert registered.status_code == 201, registered.text
    created = await service.client.post(
        "/api/v1/campaigns",
        json={"form_key": "salary-survey", "title": "2023年企业薪酬调查", "year": 2023,
              "requires_review": True} | window(),
        headers=h,
    )  # fmt: skip
    campaign_id = created.json()["id"]
    invited = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/invitations",
        json={"enterprises": [uscc(n) for n in range(2, 8)]},
        headers=h,
    )
    codes = {i["uscc"]: i["token"] for i in invited.json()}
    tokens = {n: codes[uscc(n)] for n in range(2, 8)}
    submitted = {}
    for n, status in ((3, "draft"), (4, "submitted"), (6, "submitted")):
        response = await service.client.post(
            f"/api/v1/campaigns/{campaign_id}/submissions",
            json={"data": salary_document(uscc(n)), "status": status},
            headers=bearer(tokens[n]),
        )
        assert response.status_code == 201, response.text
        submitted[n] = response.json()["id"]
    returned = await service.client.post(
        f"/api/v1/submissions/{submitted[6]}/review",
        json={"state": "returned", "reason": "请补充加班工资"},
        headers=h,
    )
    assert returned.status_code == 200, returned.text
    states = {1: "未邀请", 2: "已邀请未填报", 3: "草稿未提交", 4: None, 5: "已邀请未填报",
              6: "退回待修改", 7: "已邀请未填报"}  # fmt: skip
    return World(campaign_id, states)


def _listed(html: str) -> dict[str, str]:
    """The list's rows by credit code."""
    if 'id="outstanding"' not in html:
        return {}
    body = html.split('id="outstanding"', 1)[1].split("</tbody>", 1)[0]
    return {row.split('"', 1)[0]: row.split('"', 1)[1] for row in body.split('<tr data-uscc="')[1:]}


async def _admin(service: Service) -> None:
    response = await sign_in(service, service.admin_token, admin=True)
    assert response.status_code == 303, response.text


async def _reminders(service: Service) -> list[Reminder]:
    async with service.db.read() as session:
        return list(await session.scalars(select(Reminder).order_by(Reminder.id)))


async def test_the_list_shows_who_has_not_submitted_with_their_contacts(
    service: Service,
) -> None:
    w = await _world(service)
    await _admin(service)
    page = await service.client.get(f"/admin/reminders/{w.campaign_id}")
    assert page.status_code == 200, page.text
    assert_well_formed(page.text)
    rows = _listed(page.text)
    assert set(rows) == {uscc(n) for n, state in w.states.items() if state}
    assert uscc(4) not in page.text  # submitted: nothing to remind of
    for n, state in w.states.items():
        if state:
            assert state in rows[uscc(n)]
            assert f"0919-61800{n:02d}" in rows[uscc(n)]
    assert "hr2@example.cn" in rows[uscc(2)]
    assert "联系人3" in rows[uscc(3)]
    assert "&#34;点我&#34;" in rows[uscc(6)] or "&quot;点我&quot;" in rows[uscc(6)]
    assert "未填报 6 家" in page.text
    assert "有电子邮箱的 5 家" in page.text
    # The text to send: the campaign, its deadline and where to sign in.
    body = page.text.split('id="body"', 1)[1].split("</textarea>", 1)[0]
    assert "2023年企业薪酬调查" in body
    assert "填报截止时间为" in body
    assert "http://testserver/e/signin" in body
    assert "【企业名称】" in body
    # No SMTP server: the page says so and offers no sending.
    assert 'id="email-off"' in page.text
    assert "发送电子邮件" not in page.text

    yaozhou = await service.client.get(
        f"/admin/reminders/{w.campaign_id}", params={"district": "610204"}
    )
    assert set(_listed(yaozhou.text)) == {uscc(7)}
    drafts = await service.client.get(
        f"/admin/reminders/{w.campaign_id}", params={"state": "draft"}
    )
    assert set(_listed(drafts.text)) == {uscc(3)}
    chooser = await service.client.get("/admin/reminders")
    assert f'href="/admin/reminders/{w.campaign_id}"' in chooser.text


async def test_the_workbook_reads_back_as_the_list_and_holds_no_formula(
    service: Service,
) -> None:
    w = await _world(service)
    await _admin(service)
    response = await service.client.get(f"/admin/reminders/{w.campaign_id}/outstanding.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert re.search(rb"<f[ >/]", archive.read(name)) is None, name
    book = CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    header, *lines = book.get_sheet_by_name("未填报企业").to_python()
    assert header[:4] == ["区县", "统一社会信用代码", "企业名称", "填报状态"]
    by_code = {line[1]: line for line in lines}
    assert set(by_code) == {uscc(n) for n, state in w.states.items() if state}
    for n, state in w.states.items():
        if state:
            assert by_code[uscc(n)][3] == state
    assert by_code[uscc(6)][2] == FORMULA_NAME  # a string, as typed
    assert by_code[uscc(2)][4:7] == ["联系人2", "0919-6180002", "hr2@example.cn"]
    assert by_code[uscc(7)][0] == "耀州区"
    notes = dict(book.get_sheet_by_name("提醒内容").to_python())
    assert notes["调查活动"] == "2023年企业薪酬调查"
    assert "http://testserver/e/signin" in notes["提醒正文"]

    one = await service.client.get(
        f"/admin/reminders/{w.campaign_id}/outstanding.xlsx", params={"district": "610204"}
    )
    _, *only = (
        CalamineWorkbook.from_filelike(io.BytesIO(one.content))
        .get_sheet_by_name("未填报企业")
        .to_python()
    )
    assert [line[1] for line in only] == [uscc(7)]


async def test_without_an_smtp_server_nothing_is_sent(service: Service) -> None:
    w = await _world(service)
    await _admin(service)
    page = await service.client.get(f"/admin/reminders/{w.campaign_id}")
    response = await service.client.post(
        f"/admin/reminders/{w.campaign_id}/send",
        data={"_csrf": csrf_of(page.text), "subject": "提醒", "body": "请尽快填报"},
    )
    assert response.status_code == 409
    assert "未配置电子邮件" in response.text
    assert "请尽快填报" in response.text  # the text typed is kept on the page
    assert await _reminders(service) == []
    async with service.db.read() as session:
        audited = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reminder.send")
        )
        assert list(audited) == []


@dataclass
class Sink:
    """What the local SMTP server received: the messages, and the logins."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> str:  # fmt: skip
        if address == REFUSED:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTPServer, session: Session, envelope: Envelope, mechanism: str,
        auth_data: Any,
    ) -> AuthResult:  # fmt: skip
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"secret"
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    """A local SMTP server (aiosmtpd, in its own thread) that keeps what it receives and
    asks for a login (over plain text: it is on this machine)."""
    sink = Sink()
    port = _free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticate,
        auth_require_tls=False,
    )  # fmt: skip
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


async def test_the_smtp_sink_receives_each_reminder_and_the_log_shows_it(
    service: Service,
) -> None:
    w = await _world(service)
    with smtp_sink() as (sink, port):
        smtp = SmtpSettings(host="127.0.0.1", port=port, sender=SENDER, user="survey",
                            password="secret", starttls=False)  # fmt: skip
        async with service_with(service, smtp=smtp) as mailing:
            assert (await sign_in(mailing, service.admin_token, admin=True)).status_code == 303
            url = f"/admin/reminders/{w.campaign_id}"
            page = await mailing.client.get(url)
            assert 'id="email-off"' not in page.text
            assert "发送电子邮件（5 家）" in page.text
            csrf = csrf_of(page.text)

            # A subject that would add a header is refused, and nothing goes out.
            injected = await mailing.client.post(
                f"{url}/send",
                data={"_csrf": csrf, "subject": "提醒\r\nBcc: x@example.cn", "body": "请填报"},
            )
            assert injected.status_code == 422
            assert "标题须为一行" in injected.text
            assert sink.messages == []

            body = "【企业名称】：\n请于本周五前登录 http://testserver/e/signin 提交薪酬调查。"
            sent = await mailing.client.post(
                f"{url}/send",
                data={"_csrf": csrf, "subject": "【填报提醒】2023年企业薪酬调查", "body": body},
            )
            assert sent.status_code == 303, sent.text
            assert "sent=4" in sent.headers["location"]
            assert "failed=1" in sent.headers["location"]
            assert "without=1" in sent.headers["location"]  # enterprise 3: no address
            shown = await mailing.client.get(sent.headers["location"])
    await asyncio.sleep(0)

    received = {to[0]: message for to, message in sink.messages}
    assert set(received) == {"hr1@example.cn", "hr2@example.cn", "hr6@example.cn",
                             "hr7@example.cn"}  # fmt: skip
    assert sink.logins == ["survey"]  # one connection, one login
    letter = received["hr2@example.cn"]
    assert letter["From"] == SENDER
    assert letter["Subject"] == "【填报提醒】2023年企业薪酬调查"
    text = letter.get_content().replace("\r\n", "\n")
    assert text.startswith("铜川示例企业2有限公司：\n请于本周五前登录")
    assert "http://testserver/e/signin" in text
    assert received["hr6@example.cn"].get_content().startswith(FORMULA_NAME)

    logged = await _reminders(service)
    assert sorted((r.address, r.status) for r in logged) == sorted(
        [(f"hr{n}@example.cn", "sent") for n in (1, 2, 6, 7)] + [(REFUSED, "failed")]
    )
    [failed] = [r for r in logged if r.status == "failed"]
    assert "No such user" in (failed.error or "")
    assert all(r.subject == "【填报提醒】2023年企业薪酬调查" for r in logged)

    assert "已发送 4 封，失败 1 封；1 家没有登记电子邮箱。" in shown.text
    log = shown.text.split('id="reminder-log"', 1)[1].split("</table>", 1)[0]
    assert log.count('<tr class="sent">') == 4
    assert log.count('<tr class="failed">') == 1
    assert "hr7@example.cn" in log
    assert "No such user" in log
    # The list says when each was last reminded.
    last_reminded = {code: row.split("</td>")[-2] for code, row in _listed(shown.text).items()}
    assert "—" not in last_reminded[uscc(2)]
    assert last_reminded[uscc(3)].endswith("—")  # no address, never reminded
    async with service.db.read() as session:
        [audited] = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "reminder.send")
        )
    assert (audited.detail["sent"], audited.detail["failed"]) == (4, 1)


async def test_an_unreachable_mail_server_fails_every_letter_once_and_logs_it(
    service: Service,
) -> None:
    w = await _world(service)
    smtp = SmtpSettings(host="127.0.0.1", port=_free_port(), sender=SENDER, starttls=False)
    async with service_with(service, smtp=smtp) as mailing:
        assert (await sign_in(mailing, service.admin_token, admin=True)).status_code == 303
        url = f"/admin/reminders/{w.campaign_id}"
        csrf = csrf_of((await mailing.client.get(url, params={"district": "610202"})).text)
        sent = await mailing.client.post(
            f"{url}/send",
            data={"_csrf": csrf, "subject": "提醒", "body": "请填报", "district": "610202"},
        )
    assert sent.status_code == 303, sent.text
    assert "sent=0" in sent.headers["location"]
    assert "failed=4" in sent.headers["location"]  # 1, 2, 5, 6 of Wangyi
    logged = await _reminders(service)
    assert len(logged) == 4
    assert all(r.status == "failed" and r.error for r in logged)
