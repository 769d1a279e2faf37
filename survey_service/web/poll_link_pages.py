"""A poll's links for the bureau (``/admin/campaigns/{id}/poll-links``): the audience with
each enterprise's public link; create, rotate (a new address, the old one withdrawn at
once) and revoke; and posters to print, one A4 page per link with its QR code, the address
and the anonymity promise of the poll's form (one link's, or every working link's in one
PDF). The same poll-link functions as the API's."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from survey_service.auth import BUREAU_ROLES, district_scope
from survey_service.collection import campaigns, polls
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.poll_links import (
    issue_poll_link,
    rotate_poll_link,
    withdraw_poll_link,
)
from survey_service.collection.schemas import PollLinkIn
from survey_service.db.models import Campaign, Enterprise, FormVersion, PollLink, utcnow
from survey_service.deps import DB, PathId, Polls
from survey_service.errors import ServiceError
from survey_service.reports.files import content_disposition
from survey_service.reports.letters import (
    MAX_PAGES,
    Poster,
    deadline_text,
    posters_html,
    zone_text,
)
from survey_service.web.admin_access import SIGN_IN, admin_post, see_other
from survey_service.web.admin_pages import district_name
from survey_service.web.i18n import lang_of
from survey_service.web.pages import page, public_base_url, refusal_page
from survey_service.web.printing import PDF, rendered_pdf
from survey_service.web.sessions import csrf_token, signed_in


def _base(campaign_id: int) -> str:
    return f"/admin/campaigns/{campaign_id}/poll-links"


def _not_done(
    request: Request[Any, Any, Any], exc: ServiceError, campaign_id: int
) -> Response[str]:
    back = "返回问卷链接" if lang_of(request) == "zh" else "Back to the poll links"
    return refusal_page(request, exc, link=_base(campaign_id), link_text=back)


async def _posters(
    request: Request[Any, Any, Any],
    campaign: Campaign,
    version: FormVersion,
    links: list[tuple[PollLink, Enterprise]],
    file_part: str,
) -> Response[Any]:
    zone = request.app.state.settings.zone
    base = public_base_url(request)
    promise = polls.anonymity_notice(version.ui)
    html = posters_html(
        [Poster(e.name, base + polls.poll_url(link.slug)) for link, e in links],
        campaign_title=campaign.title,
        organisers=polls.organisers(campaign.settings or {}).get("zh", ""),
        promise=promise.get("zh") or next(iter(promise.values()), ""),
        promise_en=promise.get("en", ""),
        deadline=deadline_text(campaign.closes_at, zone),
        zone=zone_text(zone),
    )
    pdf = await rendered_pdf(request, html)
    day = utcnow().astimezone(zone).date().isoformat()
    return Response(
        pdf,
        media_type=PDF,
        headers={
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Disposition": content_disposition(
                f"问卷海报-{campaign.title.replace('/', '_')}-{file_part}-{day}.pdf",
                f"posters-c{campaign.id}-{file_part[:8]}-{day}.pdf",
            ),
        },
    )


class PollLinkPageController(Controller):
    path = "/admin/campaigns/{campaign_id:int}/poll-links"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def links(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: PathId,
        done: FromQuery[str | None] = None,
    ) -> Response[Any]:
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        zh = lang_of(request) == "zh"
        try:
            async with db.read() as session:
                campaign, _, form = await campaigns.load_campaign(session, campaign_id)
                rows = await polls.audience_links(
                    session, campaign, district=district_scope(principal)
                )
        except ServiceError:
            return page(request, "message.html", 404,
                        title="找不到活动" if zh else "Campaign not found", message="")  # fmt: skip
        return page(
            request,
            "admin_poll_links.html",
            campaign=campaign,
            form=form,
            rows=rows,
            done=(done or "")[:20],
            base_url=public_base_url(request),
            district_name=district_name,
            csrf=csrf_token(request),
        )

    @post("/", media_type=MediaType.HTML)
    async def create(
        self, request: Request[Any, Any, Any], db: DB, poll_desk: Polls, campaign_id: PathId
    ) -> Response[Any]:
        """The enterprise's link (the one it has, if any)."""
        return await _issue(request, db, poll_desk, campaign_id, None)

    @post("/{link:str}/rotate", media_type=MediaType.HTML)
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        campaign_id: PathId,
        link: FromPath[str],
    ) -> Response[Any]:
        """A new address for the enterprise's poll; the old one is unknown from now on."""
        return await _issue(request, db, poll_desk, campaign_id, link)

    @post("/{link:str}/revoke", media_type=MediaType.HTML)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        campaign_id: PathId,
        link: FromPath[str],
    ) -> Response[Any]:
        """Withdraw the link: it answers 410 Gone from now on."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, _ = checked
        try:
            await withdraw_poll_link(
                db, poll_desk, principal, campaign_id, link, district=district_scope(principal)
            )
        except ServiceError as exc:
            return _not_done(request, exc, campaign_id)
        return see_other(f"{_base(campaign_id)}?done=revoked")

    @get("/posters.pdf", media_type=MediaType.HTML)
    async def all_posters(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """A poster for every working link of the audience, one PDF."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        try:
            async with db.read() as session:
                campaign, version, _ = await campaigns.load_campaign(session, campaign_id)
                rows = await polls.audience_links(
                    session, campaign, district=district_scope(principal)
                )
                links = [
                    await polls.scoped_link(session, campaign, summary.link, district=None)
                    for _, summary in rows
                    if summary is not None and summary.revoked_at is None
                ][:MAX_PAGES]
        except ServiceError as exc:
            return _not_done(request, exc, campaign_id)
        if not links:
            zh = lang_of(request) == "zh"
            return page(request, "message.html", 404,
                        title="还没有可打印的链接" if zh else "No link to print",
                        message="", link=_base(campaign_id),
                        link_text="返回问卷链接" if zh else "Back to the poll links")  # fmt: skip
        return await _posters(request, campaign, version, links, "all")

    @get("/{link:str}/poster.pdf", media_type=MediaType.HTML)
    async def poster(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId, link: FromPath[str]
    ) -> Response[Any]:
        """The link's poster: 404 unknown, 410 withdrawn (as its QR code)."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        try:
            async with db.read() as session:
                campaign, version, _ = await campaigns.load_campaign(session, campaign_id)
                found = await polls.scoped_link(
                    session, campaign, link, district=district_scope(principal)
                )
                await polls.link_to_print(session, campaign, link)  # 410 when withdrawn
        except ServiceError as exc:
            return _not_done(request, exc, campaign_id)
        return await _posters(request, campaign, version, [found], found[1].uscc)


async def _issue(
    request: Request[Any, Any, Any],
    db: DB,
    poll_desk: PollDesk,
    campaign_id: int,
    rotate: str | None,
) -> Response[Any]:
    """Create the posted enterprise's link, or rotate the link ``rotate``."""
    checked = await admin_post(request)
    if isinstance(checked, Response):
        return checked
    principal, posted = checked
    scope = district_scope(principal)
    try:
        if rotate is not None:
            await rotate_poll_link(db, poll_desk, principal, campaign_id, rotate, district=scope)
        else:
            uscc = (posted.fields.get("enterprise") or [""])[0].strip()
            body = PollLinkIn(enterprise=uscc)
            await issue_poll_link(db, poll_desk, principal, campaign_id, body, district=scope)
    except ServiceError as exc:
        return _not_done(request, exc, campaign_id)
    return see_other(f"{_base(campaign_id)}?done={'rotated' if rotate else 'made'}")
