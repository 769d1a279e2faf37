"""The negotiation brief in the browser, for the three who may read it: the enterprise
(``/e/brief``, signed in with its invitation code, which also issues its union's negotiator
a token), the union's negotiator (``/n``, signed in with that token: read-only, that
enterprise and campaign only) and the bureau (``/admin/campaigns/{id}/briefs/{uscc}``). The
same service calls as the API's: ``briefs.brief_subject`` decides who may read which
brief, ``briefs.negotiation_brief`` makes it, ``ask_report`` its PDF."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath

from survey_service.analytics import briefs
from survey_service.analytics.release_store import ReleaseStore
from survey_service.auth import Principal, Role, audit, verified_principal
from survey_service.db.engine import Database
from survey_service.db.models import Enterprise
from survey_service.deps import DB, PathId, Releases
from survey_service.errors import ServiceError, converted
from survey_service.reports.requests import ask_report
from survey_service.web import admin_access
from survey_service.web.i18n import lang_of
from survey_service.web.pages import message_page, page, refusal_page, signin_throttled
from survey_service.web.posting import read_post
from survey_service.web.sessions import csrf_ok, csrf_token, sign_in, sign_out, signed_in
from survey_service.web.staff_access import field, see_other, signed_post

ENTERPRISE_BRIEF = "/e/brief"
NEGOTIATOR_HOME = "/n"
NEGOTIATOR_SIGN_IN = "/n/signin"


async def _brief(
    db: Database, store: ReleaseStore, principal: Principal, campaign_id: int, uscc: str
) -> dict[str, Any]:
    async with db.read() as session:
        found = await briefs.brief_subject(session, principal, campaign_id, uscc)
        return await briefs.negotiation_brief(session, store, campaign_id, found.uscc)


async def _own_uscc(db: Database, principal: Principal) -> str:
    async with db.read() as session:
        found = await session.get(Enterprise, principal.enterprise_id)
    if found is None:
        raise ServiceError("not-found", "The enterprise of this sign-in is no longer registered.")
    return found.uscc


def _brief_page(
    request: Request[Any, Any, Any],
    brief: dict[str, Any],
    *,
    role: Role,
    pdf: str,
    issue: str | None,
    issued: dict[str, Any] | None = None,
    status: int = 200,
) -> Response[str]:
    return page(
        request,
        "brief_page.html",
        status,
        brief=brief,
        role=role,
        pdf=pdf,
        issue=issue,
        issued=issued,
        csrf=csrf_token(request),
    )


def _refused(request: Request[Any, Any, Any], exc: ServiceError, back: str) -> Response[str]:
    zh = lang_of(request) == "zh"
    return refusal_page(request, exc, link=back, link_text="返回" if zh else "Back")


async def _pdf(
    request: Request[Any, Any, Any],
    db: Database,
    principal: Principal,
    campaign_id: int,
    uscc: str,
    here: str,
) -> Response[Any]:
    """The brief's PDF: asked for (the stored one when the data are unchanged), then sent
    to the API's download once made; meanwhile a page that looks again."""
    asked = await ask_report(
        db, request.app.state.reports, principal, "negotiation-brief",
        {"campaign_id": campaign_id, "enterprise": uscc},
    )  # fmt: skip
    row = asked.report
    zh = lang_of(request) == "zh"
    if row.status == "done":
        return see_other(f"/api/v1/reports/{row.id}/pdf")
    if row.status == "failed":
        return message_page(
            request, 409, "无法生成 PDF" if zh else "No PDF", row.reason or "", link=here,
            link_text="返回" if zh else "Back",
        )  # fmt: skip
    wait = "正在生成，本页几秒后自动刷新。" if zh else "Being made; this page looks again soon."
    return message_page(request, 202, "正在生成 PDF" if zh else "Making the PDF", wait, refresh=2)


async def _own_brief(
    request: Request[Any, Any, Any],
    db: Database,
    store: ReleaseStore,
    role: Role,
    *,
    sign_in_at: str,
    back: str,
    pdf: str,
    issue: str | None,
) -> Response[Any]:
    """The brief of the signed-in enterprise's (or negotiator's) own enterprise and
    campaign."""
    principal = await signed_in(request, role)
    if principal is None:
        return see_other(sign_in_at)
    try:
        uscc = await _own_uscc(db, principal)
        assert principal.campaign_id is not None
        brief = await _brief(db, store, principal, principal.campaign_id, uscc)
    except ServiceError as exc:
        return _refused(request, exc, back)
    return _brief_page(request, brief, role=role, pdf=pdf, issue=issue)


async def _own_pdf(
    request: Request[Any, Any, Any], db: Database, role: Role, *, sign_in_at: str, here: str
) -> Response[Any]:
    principal = await signed_in(request, role)
    if principal is None:
        return see_other(sign_in_at)
    try:
        assert principal.campaign_id is not None
        uscc = await _own_uscc(db, principal)
        return await _pdf(request, db, principal, principal.campaign_id, uscc, here)
    except ServiceError as exc:
        return _refused(request, exc, here)


class EnterpriseBriefController(Controller):
    """The enterprise's own brief and its negotiator's token."""

    path = ENTERPRISE_BRIEF
    tags = ["enterprise pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self, request: Request[Any, Any, Any], db: DB, release_store: Releases
    ) -> Response[Any]:
        return await _own_brief(
            request, db, release_store, "enterprise", sign_in_at="/e/signin", back="/e",
            pdf=f"{ENTERPRISE_BRIEF}/pdf", issue=f"{ENTERPRISE_BRIEF}/negotiator",
        )  # fmt: skip

    @get("/pdf", media_type=MediaType.HTML)
    async def pdf(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        return await _own_pdf(
            request, db, "enterprise", sign_in_at="/e/signin", here=ENTERPRISE_BRIEF
        )

    @post("/negotiator", media_type=MediaType.HTML)
    async def issue(
        self, request: Request[Any, Any, Any], db: DB, release_store: Releases
    ) -> Response[Any]:
        """A token for the enterprise's union negotiator, shown once on the page."""
        sent = await signed_post(request, ("enterprise",), "/e/signin")
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        assert principal.campaign_id is not None
        return await _issue(
            request, db, release_store, principal, posted, principal.campaign_id, None,
            pdf=f"{ENTERPRISE_BRIEF}/pdf", issue=f"{ENTERPRISE_BRIEF}/negotiator",
            back=ENTERPRISE_BRIEF,
        )  # fmt: skip


async def _issue(
    request: Request[Any, Any, Any],
    db: Database,
    store: ReleaseStore,
    principal: Principal,
    posted: Any,
    campaign_id: int,
    uscc: str | None,
    *,
    pdf: str,
    issue: str,
    back: str,
) -> Response[Any]:
    raw: dict[str, Any] = {"enterprise": uscc}
    if days := field(posted, "days"):
        raw["days"] = int(days) if days.isdigit() else days
    if label := field(posted, "label"):
        raw["label"] = label
    try:
        asked = converted(raw, briefs.NegotiatorIn)
        async with db.transaction() as session:
            token, row, found = await briefs.issue_negotiator_token(
                session, principal, campaign_id, asked.enterprise, days=asked.days,
                label=asked.label,
            )  # fmt: skip
    except ServiceError as exc:
        return _refused(request, exc, back)
    issued = {"token": token, "expires_at": row.expires_at, "label": row.label}
    try:
        brief = await _brief(db, store, principal, campaign_id, found.uscc)
    except ServiceError as exc:  # no brief yet (no release): the token is shown all the same
        zh = lang_of(request) == "zh"
        return message_page(
            request, 201, "已生成协商代表令牌" if zh else "Negotiator token issued",
            (f"令牌（只显示这一次）：{token}。{exc.detail}" if zh
             else f"The token (shown once): {token}. {exc.detail}"),
            link=back, link_text="返回" if zh else "Back",
        )  # fmt: skip
    return _brief_page(
        request, brief, role=principal.role, pdf=pdf, issue=issue, issued=issued, status=201
    )


class NegotiatorPageController(Controller):
    """The union negotiator's sign-in and the one brief the token reads."""

    path = NEGOTIATOR_HOME
    tags = ["negotiator pages"]
    include_in_schema = False

    @get("/signin", media_type=MediaType.HTML)
    async def signin_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if await signed_in(request, "negotiator"):
            return see_other(NEGOTIATOR_HOME)
        return page(request, "signin.html", role="negotiator", csrf=csrf_token(request), error="")

    @post("/signin", media_type=MediaType.HTML)
    async def signin(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Exchange the negotiator's token (posted, never in a URL) for a session cookie."""
        posted = await read_post(request)
        zh = lang_of(request) == "zh"
        if not csrf_ok(request, posted.csrf):
            return message_page(
                request, 403, "页面已过期" if zh else "The page expired",
                "请重新打开登录页。" if zh else "Open the sign-in page again.",
                link=NEGOTIATOR_SIGN_IN, link_text="登录" if zh else "Sign in",
            )  # fmt: skip
        token = field(posted, "token")
        try:
            principal = await verified_principal(request, token, "negotiator") if token else None
        except ServiceError as exc:
            if exc.kind != "too-many-failed-attempts":
                raise
            return signin_throttled(request, exc, role="negotiator")
        if principal is None:
            error = (
                "令牌无效、已过期或已被收回。请向企业或人社局索取新的令牌。"
                if zh
                else "The token is unknown, expired or withdrawn. Ask the enterprise or the "
                "bureau for a new one."
            )
            return page(
                request, "signin.html", 401, role="negotiator", csrf=csrf_token(request),
                error=error,
            )  # fmt: skip
        async with db.transaction() as session:
            audit(session, principal, "session.sign_in", "page:negotiator")
        sign_in(request, principal)
        return see_other(NEGOTIATOR_HOME)

    @post("/signout", media_type=MediaType.HTML)
    async def signout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        posted = await read_post(request)
        if csrf_ok(request, posted.csrf):
            sign_out(request)
        return see_other(NEGOTIATOR_SIGN_IN)

    @get("/", media_type=MediaType.HTML)
    async def show(
        self, request: Request[Any, Any, Any], db: DB, release_store: Releases
    ) -> Response[Any]:
        return await _own_brief(
            request, db, release_store, "negotiator", sign_in_at=NEGOTIATOR_SIGN_IN,
            back=NEGOTIATOR_SIGN_IN, pdf=f"{NEGOTIATOR_HOME}/pdf", issue=None,
        )  # fmt: skip

    @get("/pdf", media_type=MediaType.HTML)
    async def pdf(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        return await _own_pdf(
            request, db, "negotiator", sign_in_at=NEGOTIATOR_SIGN_IN, here=NEGOTIATOR_HOME
        )


class AdminBriefController(Controller):
    """The bureau reads any enterprise's brief and issues its negotiator a token."""

    path = "/admin/campaigns/{campaign_id:int}/briefs/{uscc:str}"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        release_store: Releases,
        campaign_id: PathId,
        uscc: FromPath[str],
    ) -> Response[Any]:
        principal = await signed_in(request, "admin")
        if principal is None:
            return see_other(admin_access.SIGN_IN)
        try:
            brief = await _brief(db, release_store, principal, campaign_id, uscc)
        except ServiceError as exc:
            return _refused(request, exc, f"/admin/campaigns/{campaign_id}")
        here = f"/admin/campaigns/{campaign_id}/briefs/{brief['enterprise']['uscc']}"
        return _brief_page(
            request, brief, role="admin", pdf=f"{here}/pdf", issue=f"{here}/negotiator"
        )

    @get("/pdf", media_type=MediaType.HTML)
    async def pdf(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId, uscc: FromPath[str]
    ) -> Response[Any]:
        principal = await signed_in(request, "admin")
        if principal is None:
            return see_other(admin_access.SIGN_IN)
        here = f"/admin/campaigns/{campaign_id}/briefs/{uscc}"
        try:
            return await _pdf(request, db, principal, campaign_id, uscc, here)
        except ServiceError as exc:
            return _refused(request, exc, here)

    @post("/negotiator", media_type=MediaType.HTML)
    async def issue(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        release_store: Releases,
        campaign_id: PathId,
        uscc: FromPath[str],
    ) -> Response[Any]:
        sent = await signed_post(request, ("admin",), admin_access.SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        here = f"/admin/campaigns/{campaign_id}/briefs/{uscc.upper()}"
        return await _issue(
            request, db, release_store, principal, posted, campaign_id, uscc,
            pdf=f"{here}/pdf", issue=f"{here}/negotiator", back=here,
        )  # fmt: skip
