"""Who has not submitted a campaign's survey yet, the reminder to send them, and the log of
the reminders sent.

The list is the campaign's audience (the registered enterprises it takes in) and every
enterprise invited to it, less those whose survey is submitted and not returned: each one
is not invited (no working code), invited (no survey yet), holding a draft, or returned for
correction. Every function takes ``district`` (None: the whole city)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit
from survey_service.collection.campaigns import load_campaign, outside_audience
from survey_service.db.engine import Database
from survey_service.db.models import (
    AccessToken,
    Campaign,
    Enterprise,
    Form,
    FormVersion,
    Reminder,
    Submission,
    utcnow,
)
from survey_service.errors import unprocessable
from survey_service.local_time import zone_label
from survey_service.mail import Letter, send_each
from survey_service.settings import SmtpSettings

OutstandingState = Literal["not_invited", "invited", "draft", "returned"]
OUTSTANDING_STATES: tuple[OutstandingState, ...] = ("not_invited", "invited", "draft", "returned")
# Written in a reminder's text where each enterprise's own name goes.
NAME_MARK = "【企业名称】"
MAX_SUBJECT = 200
MAX_BODY = 5000
LOG_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Outstanding:
    """An enterprise of the campaign that has not submitted, with whom to contact."""

    enterprise_id: int
    uscc: str
    name: str
    district: str
    state: OutstandingState
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    reminded_at: datetime | None  # the last reminder sent to it for this campaign


_STATE_ORDER = {state: n for n, state in enumerate(OUTSTANDING_STATES)}


async def survey_campaigns(session: AsyncSession) -> list[Campaign]:
    """The campaigns whose enterprises each submit a survey (not the anonymous polls)."""
    return list(
        await session.scalars(
            select(Campaign)
            .join(FormVersion, Campaign.form_version_id == FormVersion.id)
            .join(Form, FormVersion.form_id == Form.id)
            .where(Form.kind != "poll")
            .order_by(Campaign.id.desc())
        )
    )


async def outstanding(
    session: AsyncSession,
    campaign: Campaign,
    *,
    district: str | None,
    state: OutstandingState | None = None,
) -> list[Outstanding]:
    """The campaign's enterprises within ``district`` that have not submitted (only those
    in ``state`` when given), by district, then state, then name."""
    registry = select(Enterprise)
    if district is not None:
        registry = registry.where(Enterprise.district == district)
    enterprises = list(await session.scalars(registry))
    # Whether each enterprise ever invited holds a code that still works.
    now = utcnow()
    tokens: dict[int, bool] = {}
    for enterprise_id, revoked_at, expires_at in await session.execute(
        select(AccessToken.enterprise_id, AccessToken.revoked_at, AccessToken.expires_at).where(
            AccessToken.campaign_id == campaign.id, AccessToken.enterprise_id.is_not(None)
        )
    ):
        if enterprise_id is None:
            continue
        working = revoked_at is None and (expires_at is None or expires_at > now)
        tokens[enterprise_id] = tokens.get(enterprise_id, False) or working
    surveys = {
        enterprise_id: (status, review)
        for enterprise_id, status, review in await session.execute(
            select(Submission.enterprise_id, Submission.status, Submission.review_state).where(
                Submission.campaign_id == campaign.id
            )
        )
    }
    reminded = {
        enterprise_id: at
        for enterprise_id, at in await session.execute(
            select(Reminder.enterprise_id, func.max(Reminder.at))
            .where(Reminder.campaign_id == campaign.id, Reminder.status == "sent")
            .group_by(Reminder.enterprise_id)
        )
    }
    audience = campaign.audience or {}
    out: list[Outstanding] = []
    for enterprise in enterprises:
        if enterprise.id not in tokens and outside_audience(audience, enterprise) is not None:
            continue  # neither in the audience nor invited
        found = _state(surveys.get(enterprise.id), tokens.get(enterprise.id, False))
        if found is None or (state is not None and found != state):
            continue
        out.append(
            Outstanding(
                enterprise.id,
                enterprise.uscc,
                enterprise.name,
                enterprise.district,
                found,
                enterprise.contact_name,
                enterprise.contact_phone,
                enterprise.contact_email,
                reminded.get(enterprise.id),
            )
        )
    out.sort(key=lambda o: (o.district, _STATE_ORDER[o.state], o.name, o.uscc))
    return out


def _state(survey: tuple[str, str] | None, invited: bool) -> OutstandingState | None:
    if survey is not None:
        status, review = survey
        if status == "draft":
            return "draft"
        return "returned" if review == "returned" else None
    return "invited" if invited else "not_invited"


def _deadline(campaign: Campaign, zone: ZoneInfo) -> str:
    """The campaign's last moment as a reader writes it: the last day, or the hour too
    when it closes in the middle of a day."""
    closes = campaign.closes_at.astimezone(zone)
    if (closes.hour, closes.minute, closes.second) == (0, 0, 0):
        last = closes - timedelta(days=1)
        return f"{last.year}年{last.month}月{last.day}日"
    return f"{closes.year}年{closes.month}月{closes.day}日 {closes:%H:%M}"


@dataclass(frozen=True, slots=True)
class ReminderText:
    subject: str
    body: str


def default_text(campaign: Campaign, zone: ZoneInfo, signin_url: str) -> ReminderText:
    """The reminder the page offers to edit: the campaign, its deadline and where to sign
    in; ``NAME_MARK`` stands for each enterprise's name."""
    last_day = _deadline(campaign, zone)
    deadline = f"{last_day}（{zone_label(zone, 'zh')}）"
    return ReminderText(
        subject=f"【填报提醒】{campaign.title}（截止{last_day}）",
        body=(
            f"{NAME_MARK}：\n\n"
            f"您好！{campaign.title}正在进行，填报截止时间为{deadline}。"
            "贵单位尚未完成填报。\n\n"
            f"请登录 {signin_url} ，使用人社局邀请函中的邀请码在线填写或上传工资表。"
            "已保存草稿的，请核对后提交；被退回的，请按退回原因修改后重新提交。"
            "如未收到邀请码或已遗失，请与所在区县人社部门联系。\n\n"
            "感谢支持！\n铜川市人力资源和社会保障局"
        ),
    )


def checked_text(subject: str, body: str) -> ReminderText:
    """The reminder as the bureau edited it, or 422 naming what is wrong with it."""
    subject, body = subject.strip(), body.strip()
    errors = []
    if not subject or len(subject) > MAX_SUBJECT or "\r" in subject or "\n" in subject:
        errors.append({"path": "/subject", "keyword": "format",
                       "message": f"one line of 1 to {MAX_SUBJECT} characters",
                       "message_zh": f"标题须为一行，1 至 {MAX_SUBJECT} 字"})  # fmt: skip
    if not body or len(body) > MAX_BODY:
        errors.append({"path": "/body", "keyword": "format",
                       "message": f"1 to {MAX_BODY} characters",
                       "message_zh": f"正文须为 1 至 {MAX_BODY} 字"})  # fmt: skip
    if errors:
        raise unprocessable("The reminder's subject or text is not one to send.", errors)
    return ReminderText(subject, body.replace("\r\n", "\n"))


def personal(text: str, enterprise_name: str) -> str:
    """The text with each ``NAME_MARK`` replaced by the enterprise's name (plain text
    replacement: nothing else in the text is read as a placeholder)."""
    return text.replace(NAME_MARK, enterprise_name)


@dataclass(frozen=True, slots=True)
class LoggedReminder:
    at: datetime
    uscc: str
    name: str
    district: str
    address: str
    subject: str
    status: str
    error: str | None


async def reminder_log(
    session: AsyncSession, campaign_id: int, *, district: str | None, limit: int = LOG_SHOWN
) -> tuple[list[LoggedReminder], int]:
    """The campaign's latest reminders within ``district``, newest first, and how many
    there are in all."""
    query = (
        select(
            Reminder.at,
            Enterprise.uscc,
            Enterprise.name,
            Enterprise.district,
            Reminder.address,
            Reminder.subject,
            Reminder.status,
            Reminder.error,
        )
        .join(Enterprise, Reminder.enterprise_id == Enterprise.id)
        .where(Reminder.campaign_id == campaign_id)
    )
    if district is not None:
        query = query.where(Enterprise.district == district)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = await session.execute(query.order_by(Reminder.id.desc()).limit(limit))
    return [LoggedReminder(*row) for row in rows], total


def log_reminder(
    session: AsyncSession,
    campaign_id: int,
    enterprise_id: int,
    *,
    address: str,
    subject: str,
    body: str,
    error: str | None,
    sent_by: int | None,
) -> None:
    """One e-mail reminder sent (``error`` None) or refused, kept in the log."""
    session.add(
        Reminder(
            campaign_id=campaign_id,
            enterprise_id=enterprise_id,
            channel="email",
            address=address,
            subject=subject,
            body=body,
            status="sent" if error is None else "failed",
            error=error,
            sent_by=sent_by,
        )
    )


@dataclass(frozen=True, slots=True)
class Sending:
    sent: int
    failed: int
    without_address: int  # outstanding enterprises with no e-mail address registered


async def send_reminders(
    db: Database,
    smtp: SmtpSettings,
    principal: Principal,
    campaign_id: int,
    text: ReminderText,
    *,
    district: str | None,
    state: OutstandingState | None = None,
) -> Sending:
    """E-mail ``text`` to every enterprise still outstanding within ``district`` that has
    an address (the list as it stands now, not as a page showed it); each letter is logged
    as soon as the server took or refused it, and the batch is audited."""
    async with db.read() as session:
        campaign, _, _ = await load_campaign(session, campaign_id)
        listed = await outstanding(session, campaign, district=district, state=state)
    targets = [o for o in listed if o.contact_email]
    letters = [
        Letter(
            to=o.contact_email or "",
            subject=personal(text.subject, o.name),
            body=personal(text.body, o.name),
        )
        for o in targets
    ]
    sent = failed = 0
    index = 0
    async for letter, error in send_each(smtp, letters):  # one outcome a letter, in order
        target = targets[index]
        index += 1
        async with db.transaction() as session:
            log_reminder(
                session, campaign_id, target.enterprise_id, address=letter.to,
                subject=letter.subject, body=letter.body, error=error,
                sent_by=principal.token_id,
            )  # fmt: skip
        sent, failed = (sent + 1, failed) if error is None else (sent, failed + 1)
    async with db.transaction() as session:
        audit(
            session, principal, "reminder.send", f"campaign:{campaign_id}",
            district=district, state=state, sent=sent, failed=failed,
        )  # fmt: skip
    return Sending(sent, failed, len(listed) - len(targets))
