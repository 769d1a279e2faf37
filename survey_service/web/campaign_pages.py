"""The bureau's campaign pages (``/admin/campaigns``): create and edit a campaign, close
it early and reopen it, and its page: progress by district (table and bars), the roster of
its enterprises by state (filtered, searched, sorted and counted through the query string,
so it works without script), its releases and the button that makes one, and a poll's
links with their QR codes.

Each action calls the function the API route calls (``campaigns.create_campaign``,
``campaign_edits``, ``roster.campaign_roster``, ``releases.create_release``) and records
the same audit entry; a refused one comes back with the service's reasons next to the
fields, everything typed kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from markupsafe import Markup

from survey_service.analytics import releases
from survey_service.analytics.releases import ReleaseError, ReleaseInfo
from survey_service.auth import Principal, district_scope
from survey_service.collection import campaign_edits, campaigns, polls, roster
from survey_service.collection.campaign_settings import response_target
from survey_service.collection.progress import campaign_progress, poll_answers_by_district
from survey_service.collection.schemas import CampaignOut, PollLinkSummary, ProgressOut
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import utcnow
from survey_service.deps import DB, Config, PathId, Polls
from survey_service.errors import ServiceError, unprocessable
from survey_service.forms.service import published_versions
from survey_service.reference.codes import districts
from survey_service.web.admin_pages import (
    SIGN_IN,
    CampaignSummary,
    LatestRelease,
    district_name,
)
from survey_service.web.campaign_form import (
    CampaignForm,
    campaign_body,
    campaign_form,
    form_choices,
    labels,
    place_errors,
    posted_form,
    to_campaign_in,
)
from survey_service.web.charts import Bar, bar_chart
from survey_service.web.i18n import Lang, lang_of
from survey_service.web.pages import page, public_base_url
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import see_other, signed_post

BASE = "/admin/campaigns"
# What a page says after an action (``?done=``): fixed texts, nothing from the URL shown.
DONE = {
    "created": ("活动已创建。", "The campaign was created."),
    "updated": ("活动已保存。", "The campaign was saved."),
    "closed": ("活动已提前截止：企业不能再提交或修改。",
               "The campaign was closed: enterprises can no longer submit or amend."),
    "reopened": ("活动已重新开放。", "The campaign was reopened."),
    "released": ("已发布新的数据版本。", "A new release was made."),
}  # fmt: skip
STATE_NAMES = {
    "not_invited": ("未邀请", "Not invited"),
    "invited": ("已邀请", "Invited"),
    "draft": ("草稿", "Draft"),
    "submitted": ("已提交", "Submitted"),
    "returned": ("退回待改", "Returned"),
    "accepted": ("已通过", "Accepted"),
}
SORT_NAMES = {
    "name": ("企业名称", "Name"),
    "district": ("区县", "District"),
    "state": ("状态", "State"),
    "changed": ("最近变动", "Last change"),
}


def _words(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _not_found(request: Request[Any, Any, Any]) -> Response[str]:
    lang = lang_of(request)
    return page(
        request, "message.html", 404,
        title="找不到活动" if lang == "zh" else "Campaign not found", message="",
        csrf=csrf_token(request),
    )  # fmt: skip


def _problem_errors(exc: ServiceError) -> list[Any]:
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    errors = extra.get("errors")
    return errors if isinstance(errors, list) else []


def _problem_text(exc: ServiceError, lang: Lang) -> str:
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    zh = extra.get("message_zh")
    return str(zh) if lang == "zh" and zh else str(exc.detail)


# --- the roster's query string --------------------------------------------------------------


def roster_query(params: Mapping[str, str]) -> roster.RosterQuery:
    """The roster's filters from the page's query string; what is not understood is left
    out (a page never fails over a hand-edited address)."""
    state = params.get("state")
    district = params.get("district")
    sort = params.get("sort")
    try:
        number = int(params.get("page") or 1)
    except ValueError:
        number = 1
    return roster.RosterQuery(
        state=state if state in roster.STATES else None,
        district=district if district in districts() else None,
        search=(params.get("q") or "").strip()[:100],
        sort=sort if sort in roster.SORTS else "name",
        descending=params.get("order") == "desc",
        page=min(max(number, 1), 1_000_000),
    )


def roster_link(campaign_id: int, query: roster.RosterQuery, **changes: Any) -> str:
    """The campaign page's address with the roster as ``query`` and ``changes`` say."""
    values = {
        "state": query.state, "district": query.district, "q": query.search,
        "sort": query.sort, "order": "desc" if query.descending else None, "page": query.page,
    } | changes  # fmt: skip
    defaults = {"sort": "name", "page": 1}
    kept = {k: v for k, v in values.items() if v not in (None, "") and v != defaults.get(k)}
    return f"{BASE}/{campaign_id}" + (f"?{urlencode(kept)}" if kept else "") + "#roster"


@dataclass(frozen=True, slots=True)
class RosterView:
    out: roster.RosterOut
    query: roster.RosterQuery

    def link(self, **changes: Any) -> str:
        return roster_link(self.out.campaign_id, self.query, **changes)

    def sort_link(self, key: str) -> str:
        """Sort by ``key``; again on the column sorted by: the other way round."""
        descending = self.query.sort == key and not self.query.descending
        return self.link(sort=key, order="desc" if descending else None, page=None)


# --- what the campaign page shows -----------------------------------------------------------


def progress_chart(progress: ProgressOut, target: float | None, lang: Lang) -> Markup:
    bars = [
        Bar(
            district_name(row.district, lang),
            row.response_rate or 0.0,
            f"{row.submitted} / {row.invited}"
            + (f" ({row.response_rate:.0%})" if row.response_rate is not None else ""),
            target,
        )
        for row in [*progress.by_district, progress.overall]
    ]
    title = "各区县填报率" if lang == "zh" else "Response rate by district"
    if target is not None:
        title += (
            f"（红线：目标 {target:.0%}）" if lang == "zh" else f" (red mark: target {target:.0%})"
        )
    return bar_chart(bars, title=title, scale=1.0)


def poll_chart(responses: dict[str, int], lang: Lang) -> Markup:
    if not responses:
        return Markup("")
    unit = " 份" if lang == "zh" else ""
    bars = [
        Bar(district_name(code, lang), n, f"{n}{unit}") for code, n in sorted(responses.items())
    ]
    title = "各区县答卷数" if lang == "zh" else "Answers by district"
    return bar_chart(bars, title=title, scale=float(max(responses.values()) or 1))


def window_state(campaign: CampaignOut) -> str:
    """``open``, ``not_yet`` (opens later) or ``closed``."""
    if campaign.is_open:
        return "open"
    return "not_yet" if campaign.opens_at > utcnow() else "closed"


async def _campaign_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    campaign_id: int,
    status: int = 200,
    **extra: Any,
) -> Response[str]:
    lang = lang_of(request)
    scope = district_scope(principal)
    query = roster_query(request.query_params)
    async with db.read() as session:
        found = await campaign_with_form(session, campaign_id)
        if found is None:
            return _not_found(request)
        campaign, version, form = found
        out = campaigns.campaign_out(campaign, form, version)
        listed = await releases.list_releases(session, campaign_id)
        links: list[PollLinkSummary] = []
        progress: ProgressOut | None = None
        responses: dict[str, int] = {}
        roster_view: RosterView | None = None
        if form.kind == "poll":
            responses = await poll_answers_by_district(session, campaign_id)
            links, _ = await polls.link_page(session, campaign, limit=500, after_id=0)
            chart = poll_chart(responses, lang)
        else:
            progress = await campaign_progress(session, campaign_id, district=scope)
            chart = progress_chart(progress, response_target(out.settings), lang)
            roster_view = RosterView(
                await roster.campaign_roster(session, campaign, query, district=scope), query
            )
    latest = listed[0] if listed else None
    summary = CampaignSummary(
        out, form.kind, progress, responses, chart,
        LatestRelease(latest.number, latest.created_at, latest.during_collection)
        if latest else None,
    )  # fmt: skip
    done = DONE.get(request.query_params.get("done") or "")
    context: dict[str, Any] = {
        "summary": summary,
        "form_title": (form.title_en if lang == "en" else None) or form.title_zh,
        "window_state": window_state(out),
        "target": response_target(out.settings),
        "links": links,
        "base_url": public_base_url(request),
        "releases": listed,
        "releasable": form.kind in releases.KINDS,
        "roster": roster_view,
        "state_names": {k: _words(v, lang) for k, v in STATE_NAMES.items()},
        "sort_names": {k: _words(v, lang) for k, v in SORT_NAMES.items()},
        "district_choices": _district_choices(lang),
        "district_name": district_name,
        "release_counts": release_counts,
        "done": _words(done, lang) if done else "",
        "error": "",
        "reopen_value": "",
        "reopen_error": "",
        "release_note": "",
        "csrf": csrf_token(request),
    }
    return page(request, "admin_campaign.html", status, **(context | extra))


def _district_choices(lang: Lang) -> list[tuple[str, str]]:
    return [
        (code, d.name if lang == "zh" else d.name_en)
        for code, d in districts().items()
        if d.level != "city"
    ]


def release_counts(info: ReleaseInfo, lang: Lang) -> list[str]:
    """What a release holds, in words: its counts as its kind records them."""
    words = {
        "enterprises": ("家企业", "enterprises"), "workers": ("名职工", "workers"),
        "answers": ("份答卷", "answers"), "cells": ("个表格单元", "table cells"),
        "groups": ("个分组", "groups"), "districts": ("个区县", "districts"),
        "hidden": ("个单元保密隐藏", "hidden for confidentiality"),
    }  # fmt: skip
    out = []
    for key, (zh, en) in words.items():
        value = info.summary.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            out.append(f"{value} {zh}" if lang == "zh" else f"{value} {en}")
    return out


# --- the campaign form ----------------------------------------------------------------------


async def _form_page(
    request: Request[Any, Any, Any],
    db: DB,
    form: CampaignForm,
    *,
    campaign: CampaignOut | None,
    status: int = 200,
) -> Response[str]:
    lang = lang_of(request)
    async with db.read() as session:
        choices = form_choices(await published_versions(session), lang)
    current = form.value("form")
    # A campaign whose version was retired since keeps it: offered apart from the others.
    retired = campaign is not None and current and all(c.value != current for c in choices)
    return page(
        request,
        "admin_campaign_form.html",
        status,
        form=form,
        campaign=campaign,
        choices=choices,
        kept_form=current if retired else "",
        labels=labels(lang),
        district_choices=_district_choices(lang),
        csrf=csrf_token(request),
    )


class CampaignPageController(Controller):
    path = BASE
    tags = ["admin pages"]
    include_in_schema = False

    @get("/new", media_type=MediaType.HTML)
    async def new(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """An empty campaign form: the current version of the salary survey, this year."""
        if await signed_in(request, "admin") is None:
            return see_other(SIGN_IN)
        zone = request.app.state.settings.zone
        year = utcnow().astimezone(zone).year
        async with db.read() as session:
            published = await published_versions(session)
        first = next((f"{f.key}@{v.number}" for f, v in published if f.kind == "salary-survey"),
                     next((f"{f.key}@{v.number}" for f, v in published), ""))  # fmt: skip
        form = CampaignForm(values={"form": first, "year": str(year - 1)})
        return await _form_page(request, db, form, campaign=None)

    @post("/new", media_type=MediaType.HTML)
    async def create(
        self, request: Request[Any, Any, Any], db: DB, app_settings: Config
    ) -> Response[Any]:
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        lang = lang_of(request)
        form = posted_form(posted.fields)
        body = campaign_body(form, {}, lang)
        data = to_campaign_in(form, body, lang) if body is not None else None
        if data is None:
            return await _form_page(request, db, form, campaign=None, status=422)
        try:
            out = await campaign_edits.save_new_campaign(db, principal, data, app_settings.zone)
        except ServiceError as exc:
            place_errors(form, _problem_text(exc, lang), _problem_errors(exc), lang)
            return await _form_page(request, db, form, campaign=None, status=exc.status_code)
        return see_other(f"{BASE}/{out.id}?done=created")

    @get("/{campaign_id:int}", media_type=MediaType.HTML)
    async def campaign(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """The campaign: its window and actions, progress by district, releases, roster
        (or a poll's links with their QR codes)."""
        principal = await signed_in(request, "admin")
        if principal is None:
            return see_other(SIGN_IN)
        return await _campaign_page(request, db, principal, campaign_id)

    @get("/{campaign_id:int}/edit", media_type=MediaType.HTML)
    async def edit(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        if await signed_in(request, "admin") is None:
            return see_other(SIGN_IN)
        async with db.read() as session:
            found = await campaign_with_form(session, campaign_id)
        if found is None:
            return _not_found(request)
        campaign, version, form_row = found
        out = campaigns.campaign_out(campaign, form_row, version)
        form = campaign_form(out, request.app.state.settings.zone)
        return await _form_page(request, db, form, campaign=out)

    @post("/{campaign_id:int}/edit", media_type=MediaType.HTML)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        app_settings: Config,
        campaign_id: PathId,
    ) -> Response[Any]:
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        lang = lang_of(request)
        async with db.read() as session:
            found = await campaign_with_form(session, campaign_id)
        if found is None:
            return _not_found(request)
        out = campaigns.campaign_out(found[0], found[2], found[1])
        form = posted_form(posted.fields)
        body = campaign_body(form, out.settings, lang)
        data = to_campaign_in(form, body, lang) if body is not None else None
        if data is None:
            return await _form_page(request, db, form, campaign=out, status=422)
        try:
            await campaign_edits.edit_campaign(
                db, poll_desk, principal, campaign_id, data, app_settings.zone
            )
        except ServiceError as exc:
            place_errors(form, _problem_text(exc, lang), _problem_errors(exc), lang)
            return await _form_page(request, db, form, campaign=out, status=exc.status_code)
        return see_other(f"{BASE}/{campaign_id}?done=updated")

    @post("/{campaign_id:int}/close", media_type=MediaType.HTML)
    async def close(
        self, request: Request[Any, Any, Any], db: DB, poll_desk: Polls, campaign_id: PathId
    ) -> Response[Any]:
        """Close the campaign now."""
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, _posted = sent
        try:
            await campaign_edits.close_now(db, poll_desk, principal, campaign_id)
        except ServiceError as exc:
            if exc.status_code == 404:
                return _not_found(request)
            error = _problem_text(exc, lang_of(request))
            return await _campaign_page(request, db, principal, campaign_id, exc.status_code,
                                        error=error)  # fmt: skip
        return see_other(f"{BASE}/{campaign_id}?done=closed")

    @post("/{campaign_id:int}/reopen", media_type=MediaType.HTML)
    async def reopen(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        app_settings: Config,
        campaign_id: PathId,
    ) -> Response[Any]:
        """Open the campaign again until the date (or time) given."""
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        lang = lang_of(request)
        closes_at = (posted.fields.get("closes_at") or [""])[0].strip()[:40]
        try:
            if not closes_at:
                raise unprocessable(
                    "closes_at is required.",
                    [{"path": "/closes_at", "message": "required", "message_zh": "必填"}],
                )
            await campaign_edits.reopen_until(
                db, poll_desk, principal, campaign_id, closes_at, app_settings.zone
            )
        except ServiceError as exc:
            if exc.status_code == 404:
                return _not_found(request)
            form = CampaignForm()
            place_errors(form, _problem_text(exc, lang), _problem_errors(exc), lang)
            return await _campaign_page(
                request, db, principal, campaign_id, exc.status_code,
                reopen_value=closes_at, reopen_error=form.errors.get("closes_at", ""),
                error=" ".join(form.general),
            )  # fmt: skip
        return see_other(f"{BASE}/{campaign_id}?done=reopened")

    @post("/{campaign_id:int}/releases", media_type=MediaType.HTML)
    async def release(
        self, request: Request[Any, Any, Any], db: DB, campaign_id: PathId
    ) -> Response[Any]:
        """Make the campaign's next release (during collection when the box is ticked)."""
        sent = await signed_post(request, ("admin",), SIGN_IN)
        if isinstance(sent, Response):
            return sent
        principal, posted = sent
        note = (posted.fields.get("note") or [""])[0].strip()
        during = bool((posted.fields.get("during_collection") or [""])[0])
        lang = lang_of(request)
        if len(note) > 2000:
            error = (
                "说明最多 2000 字。" if lang == "zh" else "The note takes at most 2000 characters."
            )
            return await _campaign_page(request, db, principal, campaign_id, 422,
                                        error=error, release_note=note[:2000])  # fmt: skip
        try:
            await releases.create_release(
                db, campaign_id, during_collection=during, note=note or None,
                created_by=principal.token_id, audit=releases.audit_release(principal),
            )  # fmt: skip
        except ReleaseError as exc:
            if exc.kind == "not-found":
                return _not_found(request)
            return await _campaign_page(
                request, db, principal, campaign_id, exc.status_code,
                error=_release_refusal(exc, lang), release_note=note,
            )  # fmt: skip
        return see_other(f"{BASE}/{campaign_id}?done=released#releases")


def _release_refusal(exc: ReleaseError, lang: Lang) -> str:
    if lang != "zh":
        return f"No release was made: {exc}"
    if isinstance(exc, releases.CampaignStillOpen):
        return "活动仍在收集数据：如确需现在发布，请勾选“收集期间发布”。"
    if isinstance(exc, releases.ReleaseConflict):
        return "有人同时在发布此活动，请查看发布列表后再试。"
    return f"未能发布：{exc}"
