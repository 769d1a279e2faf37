"""The bureau's reminder pages (``/admin/reminders``): for a survey campaign, the
enterprises that have not submitted (not invited, invited, draft, returned) by district
with their contacts, as a page and a workbook; the reminder's text to send (Chinese, with
the campaign, its deadline and the sign-in address), editable; and, when an SMTP server is
configured (``SURVEY_SMTP_HOST``), a post that e-mails it to each of them that has an
address, every letter logged and listed here."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import anyio.to_thread
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromQuery, QueryParameter

from survey_service.auth import BUREAU_ROLES
from survey_service.collection import campaigns, reminders
from survey_service.collection.reminder_export import STATE_LABELS, outstanding_workbook
from survey_service.collection.reminders import OUTSTANDING_STATES, OutstandingState
from survey_service.db.models import Campaign, utcnow
from survey_service.deps import DB, PathId
from survey_service.errors import ServiceError
from survey_service.local_time import local_time, zone_label
from survey_service.reports.files import content_disposition
from survey_service.settings import Settings
from survey_service.tabular import XLSX
from survey_service.web.admin_access import admin_post
from survey_service.web.admin_pages import SIGN_IN, district_name
from survey_service.web.district_scope import district_asked, district_choices
from survey_service.web.i18n import lang_of
from survey_service.web.pages import PAGE_HEADERS, message_page, page, public_base_url
from survey_service.web.posting import Posted
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import see_other

HOME = "/admin/reminders"


def _one(posted: Posted, name: str) -> str:
    return (posted.fields.get(name) or [""])[0]


def _state(raw: str | None) -> OutstandingState | None:
    return next((s for s in OUTSTANDING_STATES if s == raw), None)


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _signin_url(request: Request[Any, Any, Any]) -> str:
    return f"{public_base_url(request)}/e/signin"


def _not_survey(request: Request[Any, Any, Any], status: int = 404) -> Response[str]:
    lang = lang_of(request)
    if status == 404:
        title = "找不到活动" if lang == "zh" else "Campaign not found"
        text = ""
    else:
        title = "此活动无需催报" if lang == "zh" else "No reminders for this campaign"
        text = (
            "匿名问卷没有按企业的填报，无法列出未填报企业。"
            if lang == "zh"
            else "An anonymous poll has no survey per enterprise to remind of."
        )
    return message_page(request, status, title, text, link=HOME,
                        link_text="返回" if lang == "zh" else "Back")  # fmt: skip


async def _survey_campaign(db: DB, campaign_id: int) -> Campaign | int:
    """The campaign, or the status to answer: 404 unknown, 409 a poll (no surveys)."""
    try:
        async with db.read() as session:
            campaign, _, form = await campaigns.load_campaign(session, campaign_id)
    except ServiceError:
        return 404
    return 409 if form.kind == "poll" else campaign


def _filters(district: str | None, state: str | None) -> dict[str, str]:
    query = {}
    if district:
        query["district"] = district
    if state:
        query["state"] = state
    return query


class ReminderPageController(Controller):
    path = "/admin/reminders"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def choose(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """The survey campaigns to remind of."""
        if await signed_in(request, *BUREAU_ROLES) is None:
            return see_other(SIGN_IN)
        async with db.read() as session:
            listed = await reminders.survey_campaigns(session)
        return page(request, "admin_reminder_campaigns.html", campaigns=listed,
                    csrf=csrf_token(request))  # fmt: skip

    @get("/{campaign_id:int}", media_type=MediaType.HTML)
    async def outstanding(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        district: FromQuery[str | None] = None,
        state_asked: Annotated[str | None, QueryParameter(name="state")] = None,
    ) -> Response[Any]:
        """The enterprises still to submit, the reminder to send, the letters sent."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        found = await _survey_campaign(db, campaign_id)
        if isinstance(found, int):
            return _not_survey(request, found)
        text = reminders.default_text(found, _settings(request).zone, _signin_url(request))
        return await _reminder_page(
            request, db, found, district_asked(principal, district), _state(state_asked), text
        )

    @get("/{campaign_id:int}/outstanding.xlsx", media_type=MediaType.HTML)  # or the file
    async def workbook(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        district: FromQuery[str | None] = None,
        state_asked: Annotated[str | None, QueryParameter(name="state")] = None,
    ) -> Response[Any]:
        """The list as a workbook, with the campaign and the reminder's text."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        found = await _survey_campaign(db, campaign_id)
        if isinstance(found, int):
            return _not_survey(request, found)
        scope = district_asked(principal, district)
        zone = _settings(request).zone
        async with db.read() as session:
            rows = await reminders.outstanding(
                session, found, district=scope, state=_state(state_asked)
            )
        text = reminders.default_text(found, zone, _signin_url(request))
        now = utcnow()
        about = [
            ("调查活动", found.title),
            (
                "截止时间",
                f"{local_time(found.closes_at, zone, 'last_day')}（{zone_label(zone, 'zh')}）",
            ),
            ("范围", district_name(scope, "zh")),
            ("填报状态", STATE_LABELS[chosen] if (chosen := _state(state_asked)) else "全部未填报"),
            ("导出时间", f"{local_time(now, zone)}（{zone_label(zone, 'zh')}）"),
        ]
        reminded = [local_time(r.reminded_at, zone) if r.reminded_at else "" for r in rows]
        content = await anyio.to_thread.run_sync(
            lambda: outstanding_workbook(rows, reminded, about=about, text=text)
        )
        day = now.astimezone(zone).date().isoformat()
        name = f"未填报企业-{found.id}-{day}.xlsx"
        return Response(
            content,
            media_type=XLSX,
            headers={
                **PAGE_HEADERS,
                "Content-Disposition": content_disposition(
                    name, f"outstanding-c{found.id}-{day}.xlsx"
                ),
            },
        )

    @post("/{campaign_id:int}/send", media_type=MediaType.HTML)
    async def send(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """E-mail the reminder as edited to every enterprise still listed that has an
        address; without an SMTP server nothing is sent and the page says so."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, posted = checked
        lang = lang_of(request)
        found = await _survey_campaign(db, campaign_id)
        if isinstance(found, int):
            return _not_survey(request, found)
        scope = district_asked(principal, _one(posted, "district"))
        state = _state(_one(posted, "state"))
        edited = reminders.ReminderText(_one(posted, "subject"), _one(posted, "body"))
        smtp = _settings(request).smtp
        if smtp is None:
            problem = (
                "未配置电子邮件（SURVEY_SMTP_HOST），没有发送。请下载名单，复制提醒内容后另行通知。"
                if lang == "zh"
                else "E-mail is not configured (SURVEY_SMTP_HOST): nothing was sent. Download "
                "the list and send the text by other means."
            )
            return await _reminder_page(request, db, found, scope, state, edited, status=409,
                                        problem=problem)  # fmt: skip
        try:
            text = reminders.checked_text(edited.subject, edited.body)
        except ServiceError as exc:
            extra = exc.extra if isinstance(exc.extra, dict) else {}
            problem = "；".join(
                str(e.get("message_zh") if lang == "zh" else e.get("message"))
                for e in extra.get("errors") or []
            ) or str(exc.detail)
            return await _reminder_page(request, db, found, scope, state, edited, status=422,
                                        problem=problem)  # fmt: skip
        result = await reminders.send_reminders(
            db, smtp, principal, found.id, text, district=scope, state=state
        )
        query = _filters(scope, state) | {
            "sent": str(result.sent),
            "failed": str(result.failed),
            "without": str(result.without_address),
        }
        return see_other(f"{HOME}/{found.id}?{urlencode(query)}")


async def _reminder_page(
    request: Request[Any, Any, Any],
    db: DB,
    campaign: Campaign,
    district: str | None,
    state: OutstandingState | None,
    text: reminders.ReminderText,
    *,
    status: int = 200,
    problem: str = "",
) -> Response[str]:
    async with db.read() as session:
        rows = await reminders.outstanding(session, campaign, district=district, state=state)
        log, logged = await reminders.reminder_log(session, campaign.id, district=district)
    counts = {s: sum(1 for r in rows if r.state == s) for s in OUTSTANDING_STATES}
    notice = {k: request.query_params.get(k, "") for k in ("sent", "failed", "without")}
    query = urlencode(_filters(district, state))
    return page(
        request,
        "admin_reminders.html",
        status,
        campaign=campaign,
        rows=rows,
        counts=counts,
        with_address=sum(1 for r in rows if r.contact_email),
        district=district,
        state=state,
        states=OUTSTANDING_STATES,
        districts=district_choices(),
        text=text,
        name_mark=reminders.NAME_MARK,
        email_on=_settings(request).smtp is not None,
        log=log,
        logged=logged,
        notice=notice,
        problem=problem,
        xlsx_url=f"{HOME}/{campaign.id}/outstanding.xlsx" + (f"?{query}" if query else ""),
        district_name=district_name,
        csrf=csrf_token(request),
    )
