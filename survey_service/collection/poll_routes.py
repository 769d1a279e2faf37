"""HTTP routes of poll links: the admin's links and codes, the public poll as JSON, and the
poll page a phone opens (``/p/{link}``, answered by an HTML form post).

The public routes take no token and log nothing per answer (the server runs without an
access log); what they store is described in ``survey_service.collection.polls``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

import jinja2
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect
from litestar.status_codes import HTTP_204_NO_CONTENT

from survey_service.auth import Principal, audit, require
from survey_service.collection import campaigns, polls
from survey_service.collection.group_commit import GroupCommit
from survey_service.collection.schemas import (
    PollAnswerIn,
    PollLinkIn,
    PollLinkOut,
    PollLinkPage,
    PollOut,
    PollReceipt,
)
from survey_service.db.engine import Database
from survey_service.db.models import utcnow
from survey_service.deps import DB
from survey_service.errors import problem
from survey_service.forms.service import FormCache

Limit = Annotated[int, QueryParameter(ge=1, le=1000)]

TEMPLATES = Path(__file__).resolve().parents[1] / "web" / "templates"
BEIJING = timezone(timedelta(hours=8), "北京时间")
DEVICE_COOKIE_PATHS = ("/p/", "/api/v1/polls/")


# --- admin: links and codes ----------------------------------------------------------------


class PollLinkController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/poll-links"
    tags = ["poll links"]
    guards = [require("admin")]

    @post("/")
    async def issue(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: FromPath[int],
        data: JSONBody[PollLinkIn],
    ) -> Response[PollLinkOut]:
        """The enterprise's public link (201 when new, 200 when it exists already), with
        `codes` one-time codes shown this once; `rotate` replaces the link by a new one."""
        async with db.transaction() as session:
            campaign, _, form = await campaigns.load_campaign(session, campaign_id)
            out, created = await polls.issue_link(session, campaign, form, data)
            principal: Principal = request.state.principal
            audit(
                session,
                principal,
                "poll_link.issue",
                f"campaign:{campaign_id}:{data.enterprise}",
                created=created,
                codes=len(out.codes),
            )
        request.app.state.poll_cache.clear()  # a rotated link's old slug is gone at once
        return Response(out, status_code=201 if created else 200)

    @get("/")
    async def list_links(
        self,
        db: DB,
        campaign_id: FromPath[int],
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> PollLinkPage:
        """The campaign's links with how many answers and codes each has."""
        try:
            after = int(cursor) if cursor else 0
        except ValueError:
            raise problem(400, "The cursor is not one this service gave out.") from None
        async with db.read() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            items, next_id = await polls.link_page(session, campaign, limit=limit, after_id=after)
        return PollLinkPage(items=items, next_cursor=str(next_id) if next_id else None)

    @post("/{link:str}/revoke", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        campaign_id: FromPath[int],
        link: FromPath[str],
    ) -> None:
        """Withdraw a link: it then answers 410 Gone."""
        async with db.transaction() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            uscc = await polls.revoke_link(session, campaign, link)
            audit(
                session,
                request.state.principal,
                "poll_link.revoke",
                f"campaign:{campaign_id}:{uscc}",
            )
        request.app.state.poll_cache.clear()  # withdrawn at once in this process


# --- the public side: shared by the JSON API and the page ------------------------------------


async def _open_poll(request: Request[Any, Any, Any], db: Database, slug: str) -> polls.Poll:
    """The poll behind ``slug`` if it takes answers now (404, 410, 403 otherwise), read
    through the process's ``PollCache``."""
    cache: polls.PollCache = request.app.state.poll_cache
    poll = cache.get(slug)
    if poll is None:
        try:
            async with db.read() as session:
                poll = await polls.find_poll(session, slug)
        except ProblemDetailsException:
            cache.forget(slug)
            raise
        cache.put(slug, poll)
    polls.require_poll_open(poll.campaign)
    return poll


async def _receive(
    request: Request[Any, Any, Any],
    poll: polls.Poll,
    data: dict[str, Any],
    code: str | None,
) -> date:
    """Check the soft guards, the rate, the code's presence and the answer, then store it."""
    # A soft guard: it stops a second answer from the same browser, not a determined
    # person (a private window clears it). The one-time codes are the hard guard.
    if request.cookies.get(polls.device_cookie_name(poll.link.slug)):
        raise polls.already_answered()
    per_minute = polls.rate_per_minute(poll.campaign.settings)
    limiter: polls.LinkRateLimiter = request.app.state.poll_limiter
    wait = limiter.acquire(poll.link.id, per_minute)
    if wait > 0:
        raise polls.too_many(per_minute, wait)
    if poll.link.requires_code and not code:
        raise polls.code_refused(missing=True)
    cache: FormCache = request.app.state.forms
    polls.check_answer(cache.validators.get(poll.version.id, poll.version.schema), poll, data)
    # Stored with the answers arriving at the same time, in one transaction; returns once
    # that has committed (a 503 problem if it failed), never before.
    writer: GroupCommit[polls.Answer, date] = request.app.state.poll_writer
    return await writer.submit(polls.Answer.of(poll, data, code))


class _DeviceCookie(Cookie):
    """A device cookie whose header is written directly: the same bytes ``Cookie`` writes,
    without the ``SimpleCookie`` and deep copies it builds for every response (a fifth of
    an answer's cost). Nothing in it needs quoting: a hex name, ``1``, fixed paths."""

    def to_encoded_header(self) -> tuple[bytes, bytes]:
        header = (
            f"{self.key}={self.value}; HttpOnly; Max-Age={self.max_age}; Path={self.path}; "
            f"SameSite={self.samesite}" + ("; Secure" if self.secure else "")
        )
        return b"set-cookie", header.encode("latin-1")


def _device_cookies(request: Request[Any, Any, Any], poll: polls.Poll) -> list[Cookie]:
    """``1`` under a name derived from the link: no identifier, kept until the poll closes."""
    seconds = int((poll.campaign.closes_at - utcnow()).total_seconds())
    name = polls.device_cookie_name(poll.link.slug)
    secure = True if request.scope.get("scheme") == "https" else None
    return [
        _DeviceCookie(
            key=name,
            value="1",
            path=path,
            max_age=max(1, seconds),
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        for path in DEVICE_COOKIE_PATHS
    ]


class PollController(Controller):
    path = "/api/v1/polls"
    tags = ["polls"]

    @get("/{link:str}")
    async def get_poll(
        self, request: Request[Any, Any, Any], db: DB, link: FromPath[str]
    ) -> PollOut:
        """The poll behind a public link: its form and the anonymity notice (404 unknown,
        410 withdrawn, 403 not open)."""
        return polls.poll_out(await _open_poll(request, db, link))

    @post("/{link:str}/responses")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        link: FromPath[str],
        data: JSONBody[PollAnswerIn],
    ) -> Response[PollReceipt]:
        """One anonymous answer: 201 with the day only, never an id."""
        poll = await _open_poll(request, db, link)
        day = await _receive(request, poll, data.data, data.code)
        return Response(
            PollReceipt(status="received", day=day),
            status_code=201,
            cookies=_device_cookies(request, poll),
        )


# --- the poll page -------------------------------------------------------------------------

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # The link is the key to the poll: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

_MESSAGE_TITLES = {
    403: "暂时不能作答",
    404: "找不到问卷",
    409: "已经提交过了",
    410: "链接已收回",
    429: "请稍后再试",
}


def _zh(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("zh") or value.get("en") or "")
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    checked: bool


@dataclass(slots=True)
class Question:
    id: str
    name: str
    label: str
    widget: str  # choice | checkboxes | textarea | input
    required: bool
    help: str = ""
    scale_note: str = ""
    options: list[Option] = field(default_factory=list)
    value: str = ""
    input_type: str = "text"
    max_length: int | None = None
    rows: int = 4
    error: str = ""

    @property
    def described_by(self) -> str:
        """The ids of the texts that explain the question, for ``aria-describedby``."""
        parts = [("help", self.help), ("scale", self.scale_note), ("error", self.error)]
        return " ".join(f"{self.id}-{part}" for part, text in parts if text)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    questions: list[Question]


@dataclass(frozen=True, slots=True)
class ErrorLine:
    text: str
    target: str


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _scale_options(prop: Mapping[str, Any], low: int, high: int, chosen: str) -> list[Option]:
    """One radio button a point, named by the scale's label for it when there is one."""
    labels = (prop.get("x-likert") or {}).get("labels") or {}
    options = []
    for n in range(low, high + 1):
        text = _zh(labels.get(str(n)))
        options.append(Option(str(n), f"{n} {text}" if text else str(n), chosen == str(n)))
    return options


def _question(
    index: int,
    name: str,
    prop: Mapping[str, Any],
    hint: Mapping[str, Any],
    required: bool,
    value: Any,
) -> Question | None:
    """How one top-level answer is asked on the page, or None when a plain form cannot."""
    q = Question(
        id=f"q{index}",
        name=name,
        label=_zh(hint.get("label")) or str(prop.get("title") or name),
        help=_zh(hint.get("help")) or str(prop.get("description") or ""),
        widget="input",
        required=required,
    )
    kind = polls.json_type(prop)
    chosen = _as_text(value)
    low_label, high_label = _zh(hint.get("low_label")), _zh(hint.get("high_label"))
    nps = prop.get("x-nps") or {}
    low_label = low_label or _zh(nps.get("low"))
    high_label = high_label or _zh(nps.get("high"))
    low, high = prop.get("minimum"), prop.get("maximum")
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        labels = prop.get("x-enum-labels") or {}
        q.widget = "choice"
        q.options = [
            Option(_as_text(v), _zh(labels.get(str(v))) or str(v), chosen == _as_text(v))
            for v in enum
        ]
    elif kind == "integer" and isinstance(low, int) and isinstance(high, int) and high - low <= 10:
        q.widget = "choice"
        q.options = _scale_options(prop, low, high, chosen)
        labelled = bool((prop.get("x-likert") or {}).get("labels"))
        if low_label and high_label and not labelled and not q.help:
            q.scale_note = f"{low} = {low_label}，{high} = {high_label}"
    elif kind == "boolean":
        q.widget = "choice"
        q.options = [
            Option("true", "是", chosen == "true"),
            Option("false", "否", chosen == "false"),
        ]
    elif kind == "array":
        items = prop.get("items") or {}
        choices = items.get("enum") if isinstance(items, dict) else None
        if not isinstance(choices, list):
            return None
        labels = items.get("x-enum-labels") or {}
        picked = {_as_text(v) for v in value} if isinstance(value, list) else set()
        q.widget = "checkboxes"
        q.options = [
            Option(_as_text(v), _zh(labels.get(str(v))) or str(v), _as_text(v) in picked)
            for v in choices
        ]
    elif kind == "string":
        q.value = chosen
        limit = prop.get("maxLength")
        q.max_length = limit if isinstance(limit, int) else None
        long_text = hint.get("widget") == "textarea" or hint.get("multiline")
        if long_text or (q.max_length or 0) > 200:
            q.widget = "textarea"
            rows = hint.get("rows")
            q.rows = rows if isinstance(rows, int) and 1 <= rows <= 20 else 4
        elif prop.get("format") == "date":
            q.input_type = "date"
    elif kind in ("integer", "number"):
        q.value = chosen
        q.input_type = "number"
    else:
        return None
    return q


def _error_text(error: Mapping[str, Any], question: Question | None) -> str:
    """What a respondent is told: the validator's wording names fields and types, which
    the page does not show."""
    keyword = error.get("keyword")
    if question is not None and keyword == "required":
        return "此题必答"
    if question is not None and question.widget in ("choice", "checkboxes"):
        return "请从选项中选择"
    return str(error.get("message_zh") or error.get("message") or "")


def page_sections(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any],
    values: Mapping[str, Any],
    errors: list[dict[str, Any]],
) -> tuple[list[Section], list[ErrorLine]]:
    """The poll's questions, grouped as the UI hints say (the rest in schema order), with
    the values and errors of a refused post."""
    properties = schema.get("properties") or {}
    hints = ui.get("fields") or {}
    required = set(schema.get("required") or [])
    order = [n for n in ui.get("order") or [] if n in properties]
    order += [n for n in properties if n not in order]
    questions: dict[str, Question] = {}
    for index, name in enumerate(order):
        prop, hint = properties[name], hints.get(f"/{name}") or {}
        if isinstance(prop, dict) and isinstance(hint, dict):
            q = _question(index, name, prop, hint, name in required, values.get(name))
            if q is not None:
                questions[name] = q
    lines = []
    for error in errors:
        path = str(error.get("path") or "")
        name = path.split("/")[1] if path.startswith("/") else ""
        target = questions.get(name)
        text = _error_text(error, target)
        if target is None:
            lines.append(ErrorLine(text, ""))
        else:
            target.error = target.error or text
            lines.append(ErrorLine(f"{text}：{target.label}", target.id))
    sections: list[Section] = []
    placed: set[str] = set()
    for group in ui.get("groups") or []:
        names = [p.lstrip("/") for p in group.get("fields") or [] if p.lstrip("/") in questions]
        names = [n for n in names if n not in placed]
        if names:
            placed.update(names)
            sections.append(Section(_zh(group.get("title")), [questions[n] for n in names]))
    rest = [questions[n] for n in order if n in questions and n not in placed]
    if rest:
        sections.append(Section("", rest))
    return sections, lines


def _html(
    template: str,
    status: int,
    *,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    body = _templates.get_template(template).render(**context)
    return Response(
        body,
        status_code=status,
        media_type=MediaType.HTML,
        headers={**_PAGE_HEADERS, **(headers or {})},
    )


def _message_zh(exc: ProblemDetailsException) -> str:
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    return str(extra.get("message_zh") or exc.detail)


def _message_page(exc: ProblemDetailsException, status: int | None = None) -> Response[str]:
    retry = (exc.headers or {}).get("Retry-After")
    return _html(
        "poll_message.html",
        status or exc.status_code,
        headers={"Retry-After": retry} if retry else None,
        title=_MESSAGE_TITLES.get(exc.status_code, "出错了"),
        message=_message_zh(exc),
    )


def _form_page(
    poll: polls.Poll,
    *,
    status: int = 200,
    values: Mapping[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    code: str = "",
    code_error: str = "",
) -> Response[str]:
    version = poll.version
    sections, error_lines = page_sections(version.schema, version.ui, values or {}, errors or [])
    if code_error:
        error_lines.insert(0, ErrorLine(f"参与码：{code_error}", "code"))
    closes = poll.campaign.closes_at.astimezone(BEIJING)
    return _html(
        "poll.html",
        status,
        form_title=str(version.schema.get("title") or poll.form.title_zh),
        campaign_title=poll.campaign.title,
        closes=f"{closes:%Y-%m-%d %H:%M}（北京时间）",
        notice=_zh(polls.anonymity_notice(version.ui)),
        action=polls.poll_url(poll.link.slug),
        requires_code=poll.link.requires_code,
        code=code,
        code_error=code_error,
        sections=sections,
        errors=error_lines,
    )


class PollPageController(Controller):
    path = "/p"
    tags = ["poll pages"]

    @get("/{link:str}", media_type=MediaType.HTML)
    async def page(
        self, request: Request[Any, Any, Any], db: DB, link: FromPath[str]
    ) -> Response[str]:
        """The poll page (Chinese, for phones)."""
        try:
            poll = await _open_poll(request, db, link)
        except ProblemDetailsException as exc:
            return _message_page(exc)
        if request.cookies.get(polls.device_cookie_name(poll.link.slug)):
            return _message_page(polls.already_answered(), status=200)
        return _form_page(poll)

    @post("/{link:str}", media_type=MediaType.HTML)
    async def submit(
        self, request: Request[Any, Any, Any], db: DB, link: FromPath[str]
    ) -> Response[Any]:
        """An answer posted from the page: 303 to the thank-you page, or the page again with
        what to correct."""
        try:
            poll = await _open_poll(request, db, link)
        except ProblemDetailsException as exc:
            return _message_page(exc)
        form = await request.form()
        fields: dict[str, list[str]] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
        code = polls.normalise_code((fields.get("code") or [""])[0]) or None
        data = polls.answers_from_form(poll.version.schema, fields)
        try:
            await _receive(request, poll, data, code)
        except polls.CodeRefused as exc:
            return _form_page(poll, status=403, values=data, code_error=_message_zh(exc))
        except ProblemDetailsException as exc:
            if exc.status_code == 422 and isinstance(exc.extra, dict):
                errors = list(exc.extra.get("errors") or [])
                return _form_page(poll, status=422, values=data, errors=errors, code=code or "")
            return _message_page(exc)
        return Redirect(
            f"{polls.poll_url(link)}/thanks",
            status_code=303,
            cookies=_device_cookies(request, poll),
            headers=_PAGE_HEADERS,
        )

    @get("/{link:str}/thanks", media_type=MediaType.HTML)
    async def thanks(self, link: FromPath[str]) -> Response[str]:
        return _html(
            "poll_message.html",
            200,
            title="感谢您的参与",
            message="您的答卷已匿名保存，现在可以关闭本页面。",
        )
