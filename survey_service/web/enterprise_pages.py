"""The enterprise's pages (``/e``): sign in with the invitation code, fill the campaign's
form or upload the payroll spreadsheet, save a draft, submit, amend, and see what was
submitted with the bureau's review. Everything goes through the collection functions the
API uses; the invitation code is exchanged for a session cookie and never put in a URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post

from survey_service.auth import Principal, audit, verified_principal
from survey_service.collection import campaigns, saving, submissions, uploads
from survey_service.collection.schemas import ReviewOut
from survey_service.db.engine import Database
from survey_service.db.models import Campaign, Enterprise, Form, FormVersion, Submission
from survey_service.deps import DB, Forms, Releases
from survey_service.errors import ServiceError
from survey_service.forms.form_posts import document_from_form, drop_hidden
from survey_service.web.form_view import FormView, form_view
from survey_service.web.i18n import Lang, lang_of
from survey_service.web.pages import page, signin_throttled
from survey_service.web.posting import read_post
from survey_service.web.sessions import csrf_ok, csrf_token, sign_in, sign_out, signed_in
from survey_service.web.staff_access import see_other
from survey_service.web.warnings_view import ShownWarning, shown_warnings

HOME = "/e"
SIGN_IN = "/e/signin"


@dataclass(frozen=True, slots=True)
class Survey:
    """What the signed-in enterprise's pages show: its campaign, form and submission."""

    principal: Principal
    campaign: Campaign
    version: FormVersion
    form: Form
    enterprise: Enterprise
    submission: Submission | None
    reviews: list[ReviewOut]

    def warnings(self, lang: Lang) -> list[ShownWarning]:
        """The current revision's warnings, placed by sheet row or worker line."""
        if self.submission is None:
            return []
        return shown_warnings(self.submission.warnings or [], self.version.schema, lang)

    @property
    def takes_upload(self) -> bool:
        return (
            self.form.kind == "salary-survey"
            and uploads.row_schema(self.version.schema) is not None
        )


async def _survey(db: Database, principal: Principal) -> Survey:
    assert principal.campaign_id is not None
    assert principal.enterprise_id is not None
    async with db.read() as session:
        campaign, version, form = await campaigns.load_campaign(session, principal.campaign_id)
        enterprise = await session.get(Enterprise, principal.enterprise_id)
        assert enterprise is not None
        row = await saving.own_submission(session, campaign.id, principal.enterprise_id)
        reviews = await submissions.review_history(session, row.id) if row else []
    return Survey(principal, campaign, version, form, enterprise, row, reviews)


def _expired(request: Request[Any, Any, Any]) -> Response[str]:
    lang = lang_of(request)
    return page(
        request,
        "signin.html",
        403,
        role="enterprise",
        csrf=csrf_token(request),
        error=(
            "页面已过期，请重新登录。"
            if lang == "zh"
            else "The page has expired; please sign in again."
        ),
    )


def _title(survey: Survey, lang: Lang) -> str:
    return (survey.form.title_en if lang == "en" else None) or survey.form.title_zh


def _start_values(survey: Survey) -> dict[str, Any]:
    """The document the form starts from: the stored one, or the registry's facts about
    the enterprise for a salary survey."""
    if survey.submission is not None:
        return dict(survey.submission.data)
    if survey.form.kind == "salary-survey":
        return {"enterprise": uploads.enterprise_part(survey.enterprise)}
    properties = survey.version.schema.get("properties") or {}
    if "enterprise" in properties:
        return {"enterprise": {"uscc": survey.enterprise.uscc, "name": survey.enterprise.name}}
    return {}


def _form_page(
    request: Request[Any, Any, Any],
    survey: Survey,
    view: FormView,
    *,
    status: int = 200,
    problem: str = "",
    fresh: bool = False,
) -> Response[str]:
    lang = lang_of(request)
    too_big = any(f.more_rows for s in view.sections for f in s.fields if f.widget == "table")
    return page(
        request,
        "enterprise_form.html",
        status,
        survey=survey,
        title=_title(survey, lang),
        view=view,
        csrf=csrf_token(request),
        problem=problem,
        too_big=too_big,
        fresh=fresh,
    )


class EnterprisePageController(Controller):
    path = "/e"
    tags = ["enterprise pages"]
    include_in_schema = False

    @get("/signin", media_type=MediaType.HTML)
    async def signin_page(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if await signed_in(request, "enterprise"):
            return see_other(HOME)
        return page(request, "signin.html", role="enterprise", csrf=csrf_token(request), error="")

    @post("/signin", media_type=MediaType.HTML)
    async def signin(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """Exchange the invitation code (posted, never in a URL) for a session cookie."""
        posted = await read_post(request)
        if not csrf_ok(request, posted.csrf):
            return _expired(request)
        token = (posted.fields.get("token") or [""])[0].strip()
        try:
            principal = await verified_principal(request, token, "enterprise") if token else None
        except ServiceError as exc:
            if exc.kind != "too-many-failed-attempts":
                raise
            return signin_throttled(request, exc, role="enterprise")
        if principal is None:
            lang = lang_of(request)
            return page(
                request,
                "signin.html",
                401,
                role="enterprise",
                csrf=csrf_token(request),
                error=(
                    "邀请码无效、已过期或已被收回。"
                    if lang == "zh"
                    else "The invitation code is unknown, expired or withdrawn."
                ),
            )
        async with db.transaction() as session:
            audit(session, principal, "session.sign_in", "page:enterprise")
        sign_in(request, principal)
        return see_other(HOME)

    @post("/signout", media_type=MediaType.HTML)
    async def signout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        posted = await read_post(request)
        if csrf_ok(request, posted.csrf):
            sign_out(request)
        return see_other(SIGN_IN)

    @get("/", media_type=MediaType.HTML)
    async def home(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """The campaign, where the survey stands, and what can be done next."""
        principal = await signed_in(request, "enterprise")
        if principal is None:
            return see_other(SIGN_IN)
        survey = await _survey(db, principal)
        return _home(request, survey)

    @get("/form", media_type=MediaType.HTML)
    async def form_page(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        principal = await signed_in(request, "enterprise")
        if principal is None:
            return see_other(SIGN_IN)
        survey = await _survey(db, principal)
        version = survey.version
        view = form_view(version.schema, version.ui, _start_values(survey), [], lang_of(request))
        return _form_page(request, survey, view, fresh=survey.submission is None)

    @post("/form", media_type=MediaType.HTML)
    async def save(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        form_cache: Forms,
        release_store: Releases,
    ) -> Response[Any]:
        """Save a draft, submit, or amend what was submitted; or add/remove a table row."""
        principal = await signed_in(request, "enterprise")
        if principal is None:
            return see_other(SIGN_IN)
        posted = await read_post(request)
        if not csrf_ok(request, posted.csrf):
            return _expired(request)
        survey = await _survey(db, principal)
        version = survey.version
        data = drop_hidden(document_from_form(version.schema, posted.answer_fields()), version.ui)
        lang = lang_of(request)
        if posted.row_action:
            view = form_view(version.schema, version.ui, data, [], lang, add_row=posted.added_row)
            return _form_page(request, survey, view)
        status = "draft" if posted.action == "draft" else "submitted"
        try:
            await saving.store_document(
                db, form_cache, release_store, principal, survey.campaign.id, data, status
            )
        except ServiceError as exc:
            # What to correct is shown beside each field; any other refusal as a message.
            errors = list(exc.extra.get("errors") or []) if exc.kind == "validation-failed" else []
            view = form_view(version.schema, version.ui, data, errors, lang)
            message = "" if errors else exc.detail
            return _form_page(request, survey, view, status=exc.status_code, problem=message)
        return see_other(f"{HOME}?done={status}")

    @post("/upload", media_type=MediaType.HTML)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        form_cache: Forms,
        release_store: Releases,
    ) -> Response[Any]:
        """The payroll spreadsheet: stored as the survey, or its errors by row and column."""
        principal = await signed_in(request, "enterprise")
        if principal is None:
            return see_other(SIGN_IN)
        posted = await read_post(request)
        if not csrf_ok(request, posted.csrf):
            return _expired(request)
        survey = await _survey(db, principal)
        upload = posted.files.get("file")
        if upload is None or not upload.filename:
            return _home(request, survey, status=422, upload_problem=_no_file(lang_of(request)))
        partial = (posted.fields.get("partial") or [""])[0] == "true"
        try:
            status, body = await saving.store_salary_upload(
                db, form_cache, release_store, principal, survey.campaign.id, upload,
                partial=partial,
            )  # fmt: skip
        except ServiceError as exc:  # a refused spreadsheet names its rows and columns
            detail = exc.extra.get("detail_zh") if lang_of(request) == "zh" else None
            return _home(
                request,
                survey,
                status=exc.status_code,
                upload_problem=str(detail or exc.detail),
                upload_errors=list(exc.extra.get("errors") or []),
            )
        if status != 201:
            return _home(request, survey, status=status, upload_result=body)
        left = f"&left={body['rows_rejected']}" if body["rows_rejected"] else ""
        return see_other(f"{HOME}?done=uploaded&rows={body['rows_accepted']}{left}")

    @get("/submission", media_type=MediaType.HTML)
    async def submission(self, request: Request[Any, Any, Any], db: DB) -> Response[Any]:
        """What was submitted (the current revision) and the bureau's reviews."""
        principal = await signed_in(request, "enterprise")
        if principal is None:
            return see_other(SIGN_IN)
        survey = await _survey(db, principal)
        if survey.submission is None:
            return see_other(HOME)
        version = survey.version
        lang = lang_of(request)
        view = form_view(version.schema, version.ui, survey.submission.data, [], lang)
        return page(
            request,
            "enterprise_submission.html",
            survey=survey,
            title=_title(survey, lang),
            view=view,
            csrf=csrf_token(request),
        )


def _no_file(lang: Lang) -> str:
    return "请选择要上传的工资表文件。" if lang == "zh" else "Choose the spreadsheet to upload."


def _home(
    request: Request[Any, Any, Any],
    survey: Survey,
    *,
    status: int = 200,
    upload_problem: str = "",
    upload_errors: list[dict[str, Any]] | None = None,
    upload_result: dict[str, Any] | None = None,
) -> Response[str]:
    lang = lang_of(request)
    errors = list(upload_errors or [])
    if upload_result is not None:
        errors = list(upload_result.get("errors") or [])
    return page(
        request,
        "enterprise_home.html",
        status,
        survey=survey,
        title=_title(survey, lang),
        csrf=csrf_token(request),
        done=request.query_params.get("done", ""),
        rows=request.query_params.get("rows", ""),
        left=request.query_params.get("left", ""),
        returned=next((r for r in reversed(survey.reviews) if r.state == "returned"), None),
        upload_problem=upload_problem,
        upload_errors=errors,
        upload_result=upload_result,
        is_open=campaigns.is_open(survey.campaign),
    )
