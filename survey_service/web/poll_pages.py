"""The poll page a worker opens on a phone (``/p/{link}``): one screen per group of
questions with JavaScript, all of them on one page without; answered by a plain form post;
then the thank-you page. No session, no cookie before the answer, nothing logged (see
``survey_service.collection.polls`` for what an answer stores and ``web.sessions`` for why
its form carries no CSRF token)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from survey_service.collection import polls
from survey_service.collection.poll_answers import answered_here, device_cookies
from survey_service.deps import Polls
from survey_service.errors import ServiceError
from survey_service.forms.form_posts import document_from_form, drop_hidden
from survey_service.openapi import pages, problems
from survey_service.problems import ProblemKind
from survey_service.web.form_view import ErrorLine, form_view
from survey_service.web.i18n import Lang, lang_of, pick, translate
from survey_service.web.pages import PAGE_HEADERS, message_page, page
from survey_service.web.posting import read_post
from survey_service.web.sessions import same_site

_NOT_OPEN = ("暂时不能作答", "Not open for answers")
_MESSAGE_TITLES: dict[ProblemKind, tuple[str, str]] = {
    "poll-not-open": _NOT_OPEN,
    "poll-closed": _NOT_OPEN,
    "not-found": ("找不到问卷", "Poll not found"),
    "already-answered": ("已经提交过了", "Already answered"),
    "link-withdrawn": ("链接已收回", "Link withdrawn"),
    "too-many-answers": ("请稍后再试", "Please try again shortly"),
}


def _message(exc: ServiceError, lang: Lang) -> str:
    return str(exc.extra.get(f"message_{lang}") or exc.detail)


def _message_page(
    request: Request[Any, Any, Any], exc: ServiceError, status: int | None = None
) -> Response[str]:
    lang = lang_of(request)
    retry = exc.headers.get("Retry-After")
    zh, en = _MESSAGE_TITLES.get(exc.kind, ("出错了", "Something went wrong"))
    return message_page(
        request,
        status or exc.status_code,
        zh if lang == "zh" else en,
        _message(exc, lang),
        headers={"Retry-After": retry} if retry else None,
    )


def _form_page(
    request: Request[Any, Any, Any],
    poll: polls.Poll,
    *,
    status: int = 200,
    values: Any = None,
    errors: list[dict[str, Any]] | None = None,
    code: str = "",
    code_error: str = "",
    add_row: str | None = None,
) -> Response[str]:
    lang = lang_of(request)
    version = poll.version
    view = form_view(version.schema, version.ui, values or {}, errors or [], lang, add_row=add_row)
    if code_error:
        label = translate(lang, "One-time code")
        view.errors.insert(
            0, ErrorLine(f"{label}{'：' if lang == 'zh' else ': '}{code_error}", "code")
        )
    title = (poll.form.title_en if lang == "en" else None) or poll.form.title_zh
    return page(
        request,
        "poll.html",
        status,
        view=view,
        form_title=view.title or title,
        campaign_title=poll.campaign.title,
        closes=poll.campaign.closes_at,
        organisers=pick(polls.organisers(poll.campaign.settings or {}), lang),
        enterprise_name=poll.enterprise_name,
        notice=pick(polls.anonymity_notice(version.ui), lang),
        action=polls.poll_url(poll.link.slug),
        requires_code=poll.link.requires_code,
        code=code,
        code_error=code_error,
        fresh=values is None,
    )


class PollPageController(Controller):
    path = "/p"
    tags = ["poll pages"]

    @get(
        "/{link:str}",
        media_type=MediaType.HTML,
        responses={**pages(403, 404, 410), **problems(400)},
    )
    async def page(
        self, request: Request[Any, Any, Any], poll_desk: Polls, link: FromPath[str]
    ) -> Response[str]:
        """The poll page (Chinese, or English with ``?lang=en``; for phones)."""
        try:
            poll = await poll_desk.open_poll(link)
        except ServiceError as exc:
            return _message_page(request, exc)
        if answered_here(request, poll):
            return _message_page(request, polls.already_answered(), status=200)
        return _form_page(request, poll)

    @post(
        "/{link:str}",
        media_type=MediaType.HTML,
        status_code=303,
        responses={**pages(200, 403, 404, 409, 410, 422, 429, 503), **problems(400, 413)},
    )
    async def submit(
        self, request: Request[Any, Any, Any], poll_desk: Polls, link: FromPath[str]
    ) -> Response[Any]:
        """An answer posted from the page: 303 to the thank-you page, or the page again with
        what to correct."""
        lang = lang_of(request)
        if not same_site(request):
            return message_page(
                request,
                403,
                "请从问卷页面提交" if lang == "zh" else "Please answer on the poll's page",
                "这份答卷来自其他网站，没有保存。"
                if lang == "zh"
                else "This answer came from another site and was not saved.",
            )
        try:
            poll = await poll_desk.open_poll(link)
        except ServiceError as exc:
            return _message_page(request, exc)
        posted = await read_post(request)
        code = polls.normalise_code((posted.fields.get("code") or [""])[0]) or None
        schema = poll.version.schema
        data = drop_hidden(document_from_form(schema, posted.answer_fields()), poll.version.ui)
        if posted.row_action:
            return _form_page(request, poll, values=data, code=code or "", add_row=posted.added_row)
        try:
            await poll_desk.receive_answer(
                poll, data, code, answered_here=answered_here(request, poll)
            )
        except ServiceError as exc:
            if exc.kind in polls.CODE_REFUSED:
                return _form_page(
                    request, poll, status=403, values=data, code_error=_message(exc, lang)
                )
            if exc.kind == "validation-failed":
                errors = list(exc.extra.get("errors") or [])
                return _form_page(
                    request, poll, status=422, values=data, errors=errors, code=code or ""
                )
            return _message_page(request, exc)
        return Redirect(
            f"{polls.poll_url(link)}/thanks",
            status_code=303,
            cookies=device_cookies(request, poll),
            headers=PAGE_HEADERS,
        )

    @get("/{link:str}/thanks", media_type=MediaType.HTML, responses=problems(400))
    async def thanks(self, request: Request[Any, Any, Any], link: FromPath[str]) -> Response[str]:
        lang = lang_of(request)
        return message_page(
            request,
            200,
            translate(lang, "Thank you"),
            translate(lang, "Your answers were saved anonymously. You can close this page now."),
        )
