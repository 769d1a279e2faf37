"""A campaign's invitations (``/admin/campaigns/{id}/invitations``): the audience with
each enterprise's invitation; issue codes for the whole audience or the ticked enterprises;
re-issue (the page warns that the old code stops working) and revoke; and, right after
issuing only, the codes as a workbook for a mail merge and the letters as one PDF.

Where the clear codes live: the codes are stored hashed, so they exist in clear only in the
answer to the issuing post. That page shows them once and carries them, as hidden fields,
in the two download forms on it; a download posts them back and the server checks every
one against the stored digests (a code revoked or replaced since is refused, so no letter
carries a dead code) before making the file. Nothing holds them afterwards: not the
database, not a file, not the session cookie (which a browser would send with every request
for 8 hours, and which cannot carry a whole audience's codes anyway), not a URL (the page
and the files are ``no-store``). Leaving the page is the end of them; issuing again
(re-issue) is the way to print a code again."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from survey_service.auth import BUREAU_ROLES, audit, district_scope
from survey_service.collection import campaigns, invitations, polls
from survey_service.collection.codes_export import codes_workbook
from survey_service.collection.invitations import IssuedCode
from survey_service.collection.registry_export import district_label
from survey_service.db.models import Campaign, utcnow
from survey_service.deps import DB, PathId
from survey_service.errors import ServiceError
from survey_service.reports.files import content_disposition
from survey_service.reports.letters import (
    MAX_PAGES,
    Letter,
    deadline_text,
    letters_html,
    zone_text,
)
from survey_service.tabular import XLSX
from survey_service.web.admin_access import SIGN_IN, admin_post, see_other
from survey_service.web.admin_pages import district_name
from survey_service.web.i18n import lang_of
from survey_service.web.pages import page, public_base_url, refusal_page
from survey_service.web.posting import Posted
from survey_service.web.printing import PDF, rendered_pdf
from survey_service.web.sessions import csrf_token, signed_in

CONTACT_SETTING = "contact"  # a campaign setting: who the letters name for questions
MAX_CONTACT = 200


def _base(campaign_id: int) -> str:
    return f"/admin/campaigns/{campaign_id}/invitations"


def _signin_url(request: Request[Any, Any, Any]) -> str:
    return public_base_url(request) + "/e/signin"


def _one(posted: Posted, name: str) -> str:
    return (posted.fields.get(name) or [""])[0].strip()


def _contact(campaign: Campaign) -> str:
    value = (campaign.settings or {}).get(CONTACT_SETTING)
    return value.strip() if isinstance(value, str) else ""


def _problem_page(
    request: Request[Any, Any, Any], exc: ServiceError, campaign_id: int
) -> Response[str]:
    back = "返回邀请页面" if lang_of(request) == "zh" else "Back to the invitations"
    return refusal_page(request, exc, link=_base(campaign_id), link_text=back)


def _no_campaign(request: Request[Any, Any, Any]) -> Response[str]:
    zh = lang_of(request) == "zh"
    return page(
        request, "message.html", 404,
        title="找不到活动" if zh else "Campaign not found", message="",
    )  # fmt: skip


def _pairs(posted: Posted) -> list[tuple[str, str]]:
    """The (uscc, code) pairs a download form carries (``uscc:code`` each)."""
    pairs = []
    for value in posted.fields.get("code") or []:
        uscc, _, code = value.partition(":")
        if uscc and code:
            pairs.append((uscc, code))
    return pairs


class InvitationPageController(Controller):
    path = "/admin/campaigns/{campaign_id:int}/invitations"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def audience(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        revoked: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """The campaign's audience, each enterprise with its invitation and a box to tick."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        try:
            async with db.read() as session:
                campaign, _, form = await campaigns.load_campaign(session, campaign_id)
                rows = await invitations.audience(
                    session, campaign, district=district_scope(principal)
                )
        except ServiceError:
            return _no_campaign(request)
        return page(
            request,
            "admin_invitations.html",
            campaign=campaign,
            form=form,
            rows=rows,
            invited=sum(1 for r in rows if r.invited_at is not None),
            revoked=(revoked or "")[:18],
            contact=_contact(campaign),
            district_name=district_name,
            csrf=csrf_token(request),
        )

    @post("/", media_type=MediaType.HTML)
    async def issue(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """Codes for the ticked enterprises (``_action=selected``) or the audience not yet
        invited (``_action=audience``); ``reissue`` replaces working codes. The answer is
        the only page that shows the codes, with their downloads."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, posted = checked
        chosen = posted.fields.get("enterprise") or []
        reissue = _one(posted, "reissue") == "true"
        whole = posted.action == "audience"
        zh = lang_of(request) == "zh"
        if not whole and not chosen:
            return page(
                request, "message.html", 422,
                title="没有选择企业" if zh else "No enterprise chosen",
                message="请勾选要邀请的企业，或选择“邀请全部未邀请的企业”。" if zh else
                "Tick the enterprises to invite, or invite the whole audience.",
                link=_base(campaign_id), link_text="返回" if zh else "Back",
            )  # fmt: skip
        try:
            async with db.transaction() as session:
                campaign, _, form = await campaigns.load_campaign(session, campaign_id)
                out = await invitations.issue(
                    session, campaign, None if whole else chosen,
                    district=district_scope(principal), reissue=reissue,
                )  # fmt: skip
                audit(
                    session, principal, "campaign.invite", f"campaign:{campaign_id}",
                    issued=[o.uscc for o in out if o.state == "issued"],
                    reissued=[o.uscc for o in out if o.state == "reissued"],
                    kept=[o.uscc for o in out if o.state == "already_invited"],
                )  # fmt: skip
                names = await invitations.enterprises_named(
                    session, [o.uscc for o in out], district=district_scope(principal)
                )
        except ServiceError as exc:
            return _problem_page(request, exc, campaign_id)
        return page(
            request,
            "admin_invitations_issued.html",
            campaign=campaign,
            form=form,
            out=out,
            names=names,
            codes=[o for o in out if o.token is not None],
            reissued=[o for o in out if o.state == "reissued"],
            contact=_one(posted, "contact")[:MAX_CONTACT] or _contact(campaign),
            signin_url=_signin_url(request),
            deadline=deadline_text(campaign.closes_at, request.app.state.settings.zone),
            district_name=district_name,
            csrf=csrf_token(request),
        )

    @post("/codes.xlsx", media_type=MediaType.HTML, status_code=200)
    async def codes(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """The codes the issuing page carries, checked, as a workbook for a mail merge."""
        found = await _checked_codes(request, db, campaign_id)
        if isinstance(found, Response):
            return found
        campaign, _, codes = found
        zone = request.app.state.settings.zone
        content = await anyio.to_thread.run_sync(
            lambda: codes_workbook(
                codes,
                campaign_title=campaign.title,
                signin_url=_signin_url(request),
                deadline=deadline_text(campaign.closes_at, zone),
            )
        )
        day = utcnow().astimezone(zone).date().isoformat()
        return Response(
            content,
            media_type=XLSX,
            headers=_download(
                f"邀请码-{campaign.title}-{day}.xlsx", f"codes-c{campaign.id}-{day}.xlsx"
            ),
        )

    @post("/letters.pdf", media_type=MediaType.HTML, status_code=200)
    async def letters(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """The codes the issuing page carries, checked, as invitation letters: one PDF,
        one A4 page per enterprise."""
        found = await _checked_codes(request, db, campaign_id)
        if isinstance(found, Response):
            return found
        campaign, posted, codes = found
        zh = lang_of(request) == "zh"
        contact = _one(posted, "contact")[:MAX_CONTACT]
        if not contact:
            return page(
                request, "message.html", 422,
                title="请填写联系方式" if zh else "A contact is needed",
                message="邀请函上要印咨询联系人和电话，请在上一页填写后再下载。" if zh else
                "The letters name whom to ask: fill in the contact on the previous page.",
            )  # fmt: skip
        zone = request.app.state.settings.zone
        html = letters_html(
            [Letter(c.enterprise.name, c.enterprise.uscc, district_label(c.enterprise.district),
                    c.code) for c in codes],
            campaign_title=campaign.title,
            organisers=polls.organisers(campaign.settings or {}).get("zh", ""),
            signin_url=_signin_url(request),
            deadline=deadline_text(campaign.closes_at, zone),
            zone=zone_text(zone),
            contact=contact,
        )  # fmt: skip
        pdf = await rendered_pdf(request, html)
        day = utcnow().astimezone(zone).date().isoformat()
        return Response(
            pdf,
            media_type=PDF,
            headers=_download(
                f"邀请函-{campaign.title}-{day}.pdf", f"letters-c{campaign.id}-{day}.pdf"
            ),
        )

    @post("/{uscc:str}/revoke", media_type=MediaType.HTML)
    async def revoke(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId, uscc: FromPath[str]
    ) -> Response[Any]:
        """Withdraw the enterprise's code: it stops working at once (its sessions end)."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, _ = checked
        try:
            async with db.transaction() as session:
                campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
                await invitations.revoke(
                    session, campaign, uscc, district=district_scope(principal)
                )
                audit(session, principal, "campaign.revoke", f"campaign:{campaign_id}:{uscc}")
        except ServiceError as exc:
            return _problem_page(request, exc, campaign_id)
        return see_other(f"{_base(campaign_id)}?revoked={uscc}")


def _download(name: str, fallback: str) -> dict[str, str]:
    return {
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
        "Content-Disposition": content_disposition(name.replace("/", "_"), fallback),
    }


async def _checked_codes(
    request: Request[Any, Any, Any], db: DB, campaign_id: int
) -> tuple[Campaign, Posted, list[IssuedCode]] | Response[Any]:
    """The campaign, the post and its codes, each the enterprise's working code; or the
    page to answer instead."""
    checked = await admin_post(request)
    if isinstance(checked, Response):
        return checked
    principal, posted = checked
    pairs = _pairs(posted)
    zh = lang_of(request) == "zh"
    if not pairs or len(pairs) > MAX_PAGES:
        return page(
            request, "message.html", 422,
            title="没有可导出的邀请码" if zh else "No codes to export",
            message="邀请码只在生成后的页面上可以下载；如需再次打印，请重新生成。" if zh else
            "Codes can be downloaded only from the page that issued them; to print one "
            "again, issue it again.",
            link=_base(campaign_id), link_text="返回邀请页面" if zh else "Back to the invitations",
        )  # fmt: skip
    try:
        async with db.read() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            codes = await invitations.working_codes(
                session, campaign, pairs, district=district_scope(principal)
            )
    except ServiceError as exc:
        return _problem_page(request, exc, campaign_id)
    return campaign, posted, codes
