"""The bureau's review pages (``/admin/review``): the queue of submitted surveys with their
stored warnings (by campaign, district, state, with or without warnings), one survey with
its rows, warnings, revisions compared side by side and its verdicts, a verdict (accept,
or return with a reason the enterprise sees), and the acceptance of many surveys without
warnings in one post. Every verdict goes through ``collection.reviews``, as the API's."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter

from survey_service.auth import BUREAU_ROLES, Principal, district_scope
from survey_service.collection import campaigns, reviews
from survey_service.collection.reviews import (
    QUEUE_STATES,
    QueueFilter,
    QueueState,
    WarningsFilter,
)
from survey_service.deps import DB
from survey_service.errors import ServiceError
from survey_service.structs import INT4_MAX
from survey_service.web.admin_access import admin_post
from survey_service.web.admin_pages import SIGN_IN, district_name
from survey_service.web.changes_view import shown_changes
from survey_service.web.district_scope import district_asked, district_choices
from survey_service.web.form_view import form_view
from survey_service.web.i18n import Lang, lang_of
from survey_service.web.pages import message_page, page
from survey_service.web.sessions import csrf_token, signed_in
from survey_service.web.staff_access import see_other
from survey_service.web.warnings_view import shown_warnings

QUEUE = "/admin/review"


def _int(raw: str | None, default: int | None = None) -> int | None:
    """A whole number typed in a query or a form, or ``default`` when it is not one."""
    text = (raw or "").strip()
    if not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= INT4_MAX:
        return default
    return int(text)


def _filter(campaign: str | None, state: str | None, warnings: str | None) -> QueueFilter:
    chosen_state: QueueState = "pending"
    for known in QUEUE_STATES:
        if known == state:
            chosen_state = known
    chosen_warnings: WarningsFilter = (
        "with" if warnings == "with" else "without" if warnings == "without" else ""
    )
    return QueueFilter(_int(campaign), chosen_state, chosen_warnings)


def queue_url(filters: QueueFilter, district: str | None, **extra: str | int) -> str:
    """The queue's address with these filters (and ``extra``, a notice to show)."""
    query: dict[str, str | int] = {"state": filters.state}
    if filters.campaign_id is not None:
        query["campaign"] = filters.campaign_id
    if district is not None:
        query["district"] = district
    if filters.warnings:
        query["warnings"] = filters.warnings
    return f"{QUEUE}?{urlencode(query | extra)}"


def _not_found(request: Request[Any, Any, Any]) -> Response[str]:
    lang = lang_of(request)
    return message_page(
        request, 404,
        "找不到这份问卷" if lang == "zh" else "Survey not found",
        "它不存在，或不在您的审核范围内。" if lang == "zh"
        else "It does not exist, or it is not yours to review.",
    )  # fmt: skip


def _problem_text(exc: ServiceError, lang: Lang) -> str:
    """Why a verdict was refused, in the reader's language."""
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    if lang == "zh":
        errors = extra.get("errors") or []
        zh = extra.get("detail_zh") or "；".join(
            str(e.get("message_zh") or e.get("message")) for e in errors
        )
        if zh:
            return str(zh)
    return str(exc.detail)


class ReviewPageController(Controller):
    path = "/admin/review"
    tags = ["admin pages"]
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign: FromQuery[str | None] = None,
        district: FromQuery[str | None] = None,
        state_asked: Annotated[str | None, QueryParameter(name="state")] = None,
        warnings: FromQuery[str | None] = None,
        page_number: Annotated[str | None, QueryParameter(name="page")] = None,
    ) -> Response[Any]:
        """Submitted surveys awaiting review (or returned, accepted), the longest waiting
        first, with the number of warnings each holds; those without can be accepted
        together."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        chosen = district_asked(principal, district)
        filters = _filter(campaign, state_asked, warnings)
        async with db.read() as session:
            listed = await campaigns.list_campaigns(session)
            found = await reviews.review_queue(
                session, filters, district=chosen, page=_int(page_number, 1) or 1
            )
        notice = {k: request.query_params.get(k, "") for k in ("accepted", "skipped", "reviewed")}
        return page(
            request,
            "admin_review.html",
            queue=found,
            filters=filters,
            district=chosen,
            campaigns=listed,
            districts=district_choices(),
            notice=notice,
            queue_url=queue_url,
            district_name=district_name,
            csrf=csrf_token(request),
        )

    @post("/accept", media_type=MediaType.HTML)
    async def accept_many(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Accept the chosen surveys (``accept`` = ``<id>:<revision>``, as the queue showed
        them) that still await review at that revision and hold no warning."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, posted = checked
        chosen: list[tuple[str, int]] = []
        for value in posted.fields.get("accept", [])[: reviews.BULK_MAX]:
            submission_id, _, revision = value.partition(":")
            number = _int(revision)
            if number is not None:
                chosen.append((submission_id, number))
        async with db.transaction() as session:
            result = await reviews.accept_without_warnings(
                session, principal, chosen, district=district_scope(principal)
            )
        one = {k: (posted.fields.get(k) or [""])[0] for k in ("campaign", "state", "warnings")}
        filters = _filter(one["campaign"], one["state"], one["warnings"])
        district = district_asked(principal, (posted.fields.get("district") or [""])[0])
        return see_other(
            queue_url(filters, district, accepted=len(result.accepted), skipped=len(result.skipped))
        )

    @get("/submissions/{submission_id:str}", media_type=MediaType.HTML)
    async def submission(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        submission_id: FromPath[str],
        before: FromQuery[str | None] = None,
        after: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """One survey: its warnings, the verdict form, its verdicts, its revisions with what
        changed between two of them (the latest two unless chosen), and its answers."""
        principal = await signed_in(request, *BUREAU_ROLES)
        if principal is None:
            return see_other(SIGN_IN)
        return await _submission_page(
            request, db, principal, submission_id, _int(before), _int(after)
        )

    @post("/submissions/{submission_id:str}", media_type=MediaType.HTML)
    async def decide(
        self, request: Request[Any, Any, Any], db: DB, submission_id: FromPath[str]
    ) -> Response[Any]:
        """Accept, or return with a reason, the revision the reviewer read."""
        checked = await admin_post(request)
        if isinstance(checked, Response):
            return checked
        principal, posted = checked
        state = (posted.fields.get("state") or [""])[0]
        reason = (posted.fields.get("reason") or [""])[0].strip()[:2000] or None
        revision = _int((posted.fields.get("revision") or [""])[0])
        lang = lang_of(request)
        if state not in ("accepted", "returned"):
            problem = "请选择通过或退回。" if lang == "zh" else "Choose accept or return."
            return await _submission_page(
                request, db, principal, submission_id, None, None,
                status=422, problem=problem, reason=reason or "",
            )  # fmt: skip
        try:
            async with db.transaction() as session:
                await reviews.review(
                    session, principal, submission_id, state,
                    reason if state == "returned" else None,
                    district=district_scope(principal), revision=revision,
                )  # fmt: skip
                row, _ = await reviews.submission_in_scope(
                    session, submission_id, district=district_scope(principal)
                )
                campaign_id = row.campaign_id
        except ServiceError as exc:
            if exc.status_code == 404:
                return _not_found(request)
            return await _submission_page(
                request, db, principal, submission_id, None, None,
                status=exc.status_code, problem=_problem_text(exc, lang), reason=reason or "",
            )  # fmt: skip
        return see_other(
            queue_url(QueueFilter(campaign_id), district_scope(principal), reviewed=state)
        )


async def _submission_page(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Principal,
    submission_id: str,
    before: int | None,
    after: int | None,
    *,
    status: int = 200,
    problem: str = "",
    reason: str = "",
) -> Response[str]:
    lang = lang_of(request)
    try:
        async with db.read() as session:
            detail = await reviews.submission_detail(
                session, submission_id, district=district_scope(principal)
            )
            numbers = [line.revision for line in detail.revisions]
            if before is None or after is None:
                before, after = (numbers[-2], numbers[-1]) if len(numbers) > 1 else (None, None)
            comparison = (
                await reviews.compare_revisions(
                    session, detail.submission.id, before, after, district=district_scope(principal)
                )
                if before is not None and after is not None
                else None
            )
    except ServiceError as exc:
        if exc.status_code == 404:
            return _not_found(request)
        raise
    schema = detail.version.schema
    view = form_view(schema, detail.version.ui, detail.submission.data, [], lang)
    return page(
        request,
        "admin_review_submission.html",
        status,
        detail=detail,
        view=view,
        shown=shown_warnings(detail.submission.warnings or [], schema, lang),
        comparison=comparison,
        changes=shown_changes(comparison.changes, schema, lang) if comparison else [],
        problem=problem,
        reason=reason,
        district_name=district_name,
        queue_url=queue_url(QueueFilter(detail.campaign.id), district_scope(principal)),
        csrf=csrf_token(request),
    )
