"""Anonymous poll links: one public link per enterprise per campaign, the one-time codes a
union hands out, the anonymous answers, and the per-link rate limit.

What an answer leaves behind is one ``poll_responses`` row: a random (version 4) UUID, the
link, campaign and enterprise, the day (UTC) and the answers. No token, address, user agent
or time of day is stored, nothing is logged per answer, and nothing sent back names the row.

Answers arriving together are stored in one transaction (``answer_writer``, a
``GroupCommit``): one durable commit for many answers, and each request is answered only
once that commit has returned.

The limits against ballot stuffing keep that anonymity: the rate limit is keyed by the link
(never by an address), the one-time codes are spent by one conditional UPDATE in the
transaction that stores the answer (so a code is never spent without its answer, and of two
concurrent uses exactly one wins), and the device cookie holds no identifier.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import jsonschema_rs
from sqlalchemy import CursorResult, Table, delete, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.collection.campaigns import outside_audience
from survey_service.collection.group_commit import GroupCommit
from survey_service.collection.schemas import (
    PollCampaignOut,
    PollFormOut,
    PollLinkIn,
    PollLinkOut,
    PollLinkSummary,
    PollOut,
)
from survey_service.db.engine import Database
from survey_service.db.models import (
    Campaign,
    Enterprise,
    Form,
    FormVersion,
    PollCode,
    PollLink,
    PollResponse,
    utcnow,
)
from survey_service.errors import ServiceError, conflict, not_found, unprocessable
from survey_service.forms.form_posts import document_from_form
from survey_service.forms.validation import validate_document
from survey_service.local_time import local_time, zone_label
from survey_service.problems import ProblemKind
from survey_service.ratelimit import Rates, retry_after

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O and no 1/I to mix up
CODE_LENGTH = 8
DEFAULT_RATE_PER_MINUTE = 120
RATE_SETTING = "poll_rate_per_minute"  # the campaign setting that overrides the default

DEFAULT_ANONYMITY_NOTICE = {
    "zh": "本问卷匿名填写。保存的只有您的答案、问卷链接所属的企业和提交日期；"
    "不保存您的姓名、设备或网络地址，企业看不到任何一份单独的答卷。",
    "en": "This poll is anonymous. Only your answers, the enterprise the link belongs to and "
    "the date are kept; not your name, device or network address. Your employer never sees "
    "a single answer.",
}

# Who runs a poll, shown on its page so that a worker can trust it: the campaign's
# ``organisers`` setting (a text, or {"zh", "en"}) when it has one, else these.
ORGANISERS_SETTING = "organisers"
DEFAULT_ORGANISERS = {
    "zh": "铜川市人力资源和社会保障局、铜川市总工会",
    "en": "the Tongchuan Human Resources and Social Security Bureau and the Tongchuan "
    "Federation of Trade Unions",
}


# --- slugs and codes -----------------------------------------------------------------------


def new_slug() -> str:
    """128 random bits: a link cannot be guessed from another one."""
    return secrets.token_urlsafe(16)


# Where a worker answers a poll: the page and the API. Neither the device cookie nor the
# request log's client address goes beyond these.
POLL_PATHS = ("/p/", "/api/v1/polls/")


def poll_url(slug: str) -> str:
    return f"/p/{slug}"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What a person types: any case, with spaces or hyphens."""
    return re.sub(r"[\s-]+", "", raw).upper()


def code_digest(link_id: int, code: str) -> str:
    """The stored form of a code. The link is part of the digest, so the same code on two
    links is two rows and never collides in the table's primary key."""
    return hashlib.sha256(f"{link_id}:{normalise_code(code)}".encode()).hexdigest()


def device_cookie_name(slug: str) -> str:
    """The cookie marking a browser that answered through ``slug``: a digest prefix, so the
    cookie does not carry the link itself."""
    return "poll_" + hashlib.sha256(slug.encode()).hexdigest()[:16]


# --- the rate limit ------------------------------------------------------------------------


def rate_per_minute(campaign_settings: Mapping[str, Any]) -> int:
    """Answers a minute one link takes: the campaign's ``poll_rate_per_minute`` when it is a
    positive whole number, else the default."""
    value = campaign_settings.get(RATE_SETTING)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return DEFAULT_RATE_PER_MINUTE


class LinkRateLimiter(Rates):
    """Each link's rate: up to ``per_minute`` answers at once, refilled at ``per_minute`` a
    minute.

    Keyed by the link only, never by an address or anything else about the sender. Kept in
    this process on SQLite and shared by every process on PostgreSQL (see
    ``survey_service.ratelimit``).
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_links: int = 10_000
    ) -> None:
        super().__init__("link", clock=clock, max_keys=max_links)


def too_many(per_minute: int, wait_seconds: float) -> ServiceError:
    seconds = retry_after(wait_seconds)
    return ServiceError(
        "too-many-answers",
        f"This link takes at most {per_minute} answers a minute; try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
        message_zh=f"提交的人较多，请 {seconds} 秒后再试。",
    )


# --- links (admin) -------------------------------------------------------------------------


def _link_out(link: PollLink, enterprise: Enterprise, codes: list[str]) -> PollLinkOut:
    return PollLinkOut(
        link=link.slug,
        url=poll_url(link.slug),
        enterprise=enterprise.uscc,
        enterprise_name=enterprise.name,
        requires_code=link.requires_code,
        created_at=link.created_at,
        codes=codes,
    )


async def add_codes(session: AsyncSession, link_id: int, count: int) -> list[str]:
    """``count`` new one-time codes for the link, returned in clear once; only their
    digests are stored."""
    codes: dict[str, str] = {}  # digest -> code
    while len(codes) < count:
        for _ in range(count - len(codes)):
            code = new_code()
            codes[code_digest(link_id, code)] = code
        taken = set(
            await session.scalars(
                select(PollCode.code_hash).where(
                    PollCode.link_id == link_id, PollCode.code_hash.in_(list(codes))
                )
            )
        )
        for digest in taken:
            del codes[digest]
    if codes:
        await session.execute(
            insert(PollCode),
            [{"code_hash": d, "link_id": link_id, "used": False} for d in codes],
        )
    return list(codes.values())


async def issue_link(
    session: AsyncSession, campaign: Campaign, form: Form, body: PollLinkIn
) -> tuple[PollLinkOut, bool]:
    """The enterprise's link for the campaign and whether it is new.

    Asked again, the existing link comes back (with ``codes`` more codes if asked).
    ``rotate`` (or asking for a revoked link) gives the row a new slug in place, since the
    table keeps one link per enterprise and campaign: the old slug is then unknown (404),
    its codes are deleted, and the answers already given stay counted for the enterprise.
    """
    if form.kind != "poll":
        raise ServiceError(
            "unprocessable",
            f"Poll links are for polls; this campaign's form {form.key!r} is a {form.kind}.",
        )
    enterprise = await session.scalar(select(Enterprise).where(Enterprise.uscc == body.enterprise))
    if enterprise is None:
        raise unprocessable(
            "The enterprise is not registered.",
            [{"path": "/enterprise", "message": f"unknown enterprise {body.enterprise}"}],
        )
    why = outside_audience(campaign.audience or {}, enterprise)
    if why is not None:
        raise unprocessable(
            "The enterprise is outside the campaign's audience.",
            [{"path": "/enterprise", "message": f"{body.enterprise}: {why}"}],
        )
    enterprise_id = enterprise.id
    link = await session.scalar(
        select(PollLink)
        .where(PollLink.campaign_id == campaign.id, PollLink.enterprise_id == enterprise_id)
        .with_for_update()
    )
    created = link is None or body.rotate or link.revoked_at is not None
    if link is None:
        link = PollLink(
            slug=new_slug(),
            campaign_id=campaign.id,
            enterprise_id=enterprise_id,
            requires_code=bool(body.requires_code),
            created_at=utcnow(),
        )
        session.add(link)
        try:
            await session.flush()
        except IntegrityError:  # another request made it since the select above
            raise conflict("This enterprise's link was created meanwhile; ask again.") from None
    elif created:
        await session.execute(delete(PollCode).where(PollCode.link_id == link.id))
        link.slug, link.revoked_at, link.created_at = new_slug(), None, utcnow()
    if body.requires_code is not None:
        link.requires_code = body.requires_code
    await session.flush()
    codes = await add_codes(session, link.id, body.codes)
    if link.requires_code and not codes:
        has_codes = await session.scalar(
            select(func.count()).select_from(PollCode).where(PollCode.link_id == link.id)
        )
        if not has_codes:
            raise unprocessable(
                "A link that requires a code needs codes.",
                [{"path": "/codes", "message": "ask for at least one code", "keyword": "minimum"}],
            )
    return _link_out(link, enterprise, codes), created


async def _campaign_link(
    session: AsyncSession, campaign: Campaign, slug: str
) -> tuple[PollLink, Enterprise]:
    """The campaign's link ``slug`` with its enterprise, or 404."""
    row = (
        await session.execute(
            select(PollLink, Enterprise)
            .join(Enterprise, PollLink.enterprise_id == Enterprise.id)
            .where(PollLink.campaign_id == campaign.id, PollLink.slug == slug)
        )
    ).first()
    if row is None:
        raise ServiceError("not-found", "Poll link not found")
    return row[0], row[1]


async def revoke_link(session: AsyncSession, campaign: Campaign, slug: str) -> str:
    """Withdraw the campaign's link ``slug`` (again: no change); returns its enterprise."""
    link, enterprise = await _campaign_link(session, campaign, slug)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
    return enterprise.uscc


async def link_to_print(session: AsyncSession, campaign: Campaign, slug: str) -> tuple[str, str]:
    """The slug and enterprise name of the campaign's link ``slug``, to print as a QR code:
    404 when unknown, 410 when withdrawn."""
    link, enterprise = await _campaign_link(session, campaign, slug)
    if link.revoked_at is not None:
        raise ServiceError("link-withdrawn", "This link was withdrawn.")
    return link.slug, enterprise.name


async def link_page(
    session: AsyncSession, campaign: Campaign, *, limit: int, after_id: int
) -> tuple[list[PollLinkSummary], int | None]:
    """The campaign's links by creation, each with its answer and code counts."""
    rows = list(
        await session.execute(
            select(PollLink, Enterprise.uscc, Enterprise.name)
            .join(Enterprise, PollLink.enterprise_id == Enterprise.id)
            .where(PollLink.campaign_id == campaign.id, PollLink.id > after_id)
            .order_by(PollLink.id)
            .limit(limit + 1)
        )
    )
    page = rows[:limit]
    ids = [link.id for link, _, _ in page]
    answers: dict[int, int] = {
        link_id: n
        for link_id, n in await session.execute(
            select(PollResponse.link_id, func.count())
            .where(PollResponse.link_id.in_(ids))
            .group_by(PollResponse.link_id)
        )
    }
    codes: dict[tuple[int, bool], int] = {
        (link_id, used): n
        for link_id, used, n in await session.execute(
            select(PollCode.link_id, PollCode.used, func.count())
            .where(PollCode.link_id.in_(ids))
            .group_by(PollCode.link_id, PollCode.used)
        )
    }
    items = [
        PollLinkSummary(
            link=link.slug,
            url=poll_url(link.slug),
            enterprise=uscc,
            enterprise_name=name,
            requires_code=link.requires_code,
            created_at=link.created_at,
            revoked_at=link.revoked_at,
            responses=answers.get(link.id, 0),
            codes_issued=codes.get((link.id, False), 0) + codes.get((link.id, True), 0),
            codes_used=codes.get((link.id, True), 0),
        )
        for link, uscc, name in page
    ]
    return items, (page[-1][0].id if len(rows) > limit else None)


async def scoped_link(
    session: AsyncSession, campaign: Campaign, slug: str, *, district: str | None
) -> tuple[PollLink, Enterprise]:
    """The campaign's link ``slug`` with its enterprise: 404 when unknown or when the
    enterprise is outside ``district`` (None: the whole city)."""
    link, enterprise = await _campaign_link(session, campaign, slug)
    if district is not None and enterprise.district != district:
        raise not_found("Poll link")
    return link, enterprise


async def audience_links(
    session: AsyncSession, campaign: Campaign, *, district: str | None
) -> list[tuple[Enterprise, PollLinkSummary | None]]:
    """The enterprises of the campaign's audience within ``district`` (by district and
    name), each with its link (withdrawn ones too) or None."""
    enterprises = [
        e
        for e in await session.scalars(
            select(Enterprise)
            .where(Enterprise.district == district if district is not None else true())
            .order_by(Enterprise.district, Enterprise.name, Enterprise.id)
        )
        if outside_audience(campaign.audience or {}, e) is None
    ]
    links, _ = await link_page(session, campaign, limit=100_000, after_id=0)  # a city's
    by_uscc = {link.enterprise: link for link in links}
    return [(e, by_uscc.get(e.uscc)) for e in enterprises]


# --- the public side -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Poll:
    """A link with what answering through it needs: its campaign and form version, and
    the name of the enterprise whose workers it is for (shown to them on the page)."""

    link: PollLink
    campaign: Campaign
    version: FormVersion
    form: Form
    enterprise_name: str


async def find_poll(session: AsyncSession, slug: str) -> Poll:
    """The poll behind ``slug``: 404 when unknown, 410 when withdrawn."""
    row = None
    if len(slug) <= 64:
        row = (
            await session.execute(
                select(PollLink, Campaign, FormVersion, Form, Enterprise.name)
                .join(Campaign, PollLink.campaign_id == Campaign.id)
                .join(FormVersion, Campaign.form_version_id == FormVersion.id)
                .join(Form, FormVersion.form_id == Form.id)
                .join(Enterprise, PollLink.enterprise_id == Enterprise.id)
                .where(PollLink.slug == slug)
            )
        ).first()
    if row is None:
        raise ServiceError(
            "not-found", "Poll link not found", message_zh="找不到这份问卷，请核对链接。"
        )
    poll = Poll(row[0], row[1], row[2], row[3], row[4])
    if poll.link.revoked_at is not None:
        raise ServiceError(
            "link-withdrawn",
            "This link was withdrawn; ask the union for the current one.",
            message_zh="此问卷链接已被收回，请向工会索取新的链接。",
        )
    return poll


class PollCache:
    """Per process: the poll behind each slug, trusted for ``ttl`` seconds (0: none kept).

    Answering needs the link, its campaign and the form version; reading them for every
    answer cost more than storing it (a four-table read, its JSON columns and a pooled
    connection per answer). Only polls found and not withdrawn are kept, and the poll's
    time window is checked on every request against the cached campaign. Like
    ``FormCache``'s current versions, an entry is trusted for ``ttl`` seconds: a link
    withdrawn or rotated through this process is seen at once (the admin routes ``clear``
    the cache), through another server process within ``ttl``. When an entry expires, the
    request that notices reloads it while the others keep using it, so expiry never stalls
    a burst. Called from the event loop only (no await inside), so it needs no lock.
    """

    def __init__(
        self, ttl: float, *, clock: Callable[[], float] = time.monotonic, max_links: int = 10_000
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max_links = max_links
        self._polls: dict[str, tuple[float, Poll]] = {}  # slug -> (expires, poll)

    def __len__(self) -> int:
        return len(self._polls)

    def get(self, slug: str) -> Poll | None:
        """The cached poll, or None: then the caller reads it and ``put``s it back."""
        hit = self._polls.get(slug)
        if hit is None:
            return None
        now = self._clock()
        if hit[0] > now:
            return hit[1]
        self._polls[slug] = (now + self.ttl, hit[1])  # the others use it while we reload
        return None

    def put(self, slug: str, poll: Poll) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        if slug not in self._polls and len(self._polls) >= self._max_links:
            for key, (expires, _) in list(self._polls.items()):
                if expires <= now:
                    del self._polls[key]
            if len(self._polls) >= self._max_links:
                self._polls.clear()
        self._polls[slug] = (now + self.ttl, poll)

    def forget(self, slug: str) -> None:
        self._polls.pop(slug, None)

    def clear(self) -> None:
        """After a link is issued, rotated or withdrawn in this process."""
        self._polls.clear()


def require_poll_open(campaign: Campaign, zone: ZoneInfo, now: datetime | None = None) -> None:
    """403 unless the poll takes answers now; the page's messages give the time in
    ``zone`` (the API's ``detail`` keeps the UTC instant)."""
    now = now or utcnow()
    if campaign.opens_at <= now < campaign.closes_at:
        return  # the hot path of every answer: nothing to format
    label = {lang: zone_label(zone, lang) for lang in ("zh", "en")}
    if now < campaign.opens_at:
        opens = local_time(campaign.opens_at, zone)
        raise ServiceError(
            "poll-not-open",
            f"The poll opens at {campaign.opens_at.isoformat()}.",
            message_zh=f"问卷将于 {opens}（{label['zh']}）开始，请到时再来。",
            message_en=f"The poll opens at {opens} ({label['en']}); please come back then.",
        )
    if now >= campaign.closes_at:
        closed = local_time(campaign.closes_at, zone)
        raise ServiceError(
            "poll-closed",
            f"The poll closed at {campaign.closes_at.isoformat()}.",
            message_zh=f"本次问卷已经结束（{closed}，{label['zh']}），感谢关注。",
            message_en=f"The poll closed at {closed} ({label['en']}). Thank you for your interest.",
        )


def anonymity_notice(ui: Mapping[str, Any]) -> dict[str, str]:
    notice = ui.get("anonymity_notice")
    if isinstance(notice, str) and notice:
        return {"zh": notice}
    if isinstance(notice, dict) and notice:
        return {str(k): str(v) for k, v in notice.items()}
    return dict(DEFAULT_ANONYMITY_NOTICE)


def organisers(campaign_settings: Mapping[str, Any]) -> dict[str, str]:
    """Who runs the poll: the campaign's ``organisers`` setting when it is a non-empty text
    or ``{"zh", "en"}`` of texts, else ``DEFAULT_ORGANISERS``."""
    value = campaign_settings.get(ORGANISERS_SETTING)
    if isinstance(value, str) and value.strip():
        return {"zh": value.strip()}
    if isinstance(value, dict):
        texts = {str(k): v.strip() for k, v in value.items() if isinstance(v, str) and v.strip()}
        if texts:
            return texts
    return dict(DEFAULT_ORGANISERS)


def poll_out(poll: Poll) -> PollOut:
    return PollOut(
        campaign=PollCampaignOut(title=poll.campaign.title, closes_at=poll.campaign.closes_at),
        form=PollFormOut(
            key=poll.form.key,
            version=poll.version.number,
            schema=poll.version.schema,
            ui=poll.version.ui,
        ),
        requires_code=poll.link.requires_code,
        anonymity_notice=anonymity_notice(poll.version.ui),
        organisers=organisers(poll.campaign.settings or {}),
        enterprise_name=poll.enterprise_name,
    )


def already_answered() -> ServiceError:
    return ServiceError(
        "already-answered",
        "An answer was already sent from this device.",
        message_zh="本设备已经提交过答卷，感谢参与。",
    )


# The problems of a link that needs a one-time code: none, or no usable one, was given.
CODE_REFUSED: tuple[ProblemKind, ...] = ("code-required", "code-not-accepted")


def code_refused(*, missing: bool) -> ServiceError:
    if missing:
        return ServiceError(
            "code-required",
            "This poll needs one of the one-time codes the union hands out.",
            message_zh="请填写工会发放的参与码。",
        )
    # One answer for unknown and used codes: telling them apart would help guessing.
    return ServiceError(
        "code-not-accepted",
        "The code is unknown or has been used already.",
        message_zh="参与码无效或已经用过。",
    )


def check_answer(
    validator: jsonschema_rs.Draft202012Validator, poll: Poll, data: dict[str, Any]
) -> None:
    errors = validate_document(validator, data, schema=poll.version.schema)
    if errors:
        raise unprocessable("The answer does not satisfy the poll.", errors)


@dataclass(frozen=True, slots=True)
class Answer:
    """One checked answer waiting to be stored: what its row and its code need."""

    link_id: int
    campaign_id: int
    enterprise_id: int
    requires_code: bool
    data: dict[str, Any]
    code: str | None

    @classmethod
    def of(cls, poll: Poll, data: dict[str, Any], code: str | None) -> Answer:
        link = poll.link
        return cls(link.id, link.campaign_id, link.enterprise_id, link.requires_code, data, code)


async def store_answers(
    session: AsyncSession, answers: Sequence[Answer]
) -> list[date | ServiceError]:
    """Spend each answer's code (if its link needs one) and store the answers, in the
    caller's transaction: an answer and its code are stored together or not at all.

    One outcome per answer, in order: the day it is filed under, or ``code_refused`` for an
    answer left out because its code is missing, unknown or spent (by another answer, in
    this batch or before); the others are stored all the same.
    """
    day = datetime.now(UTC).date()
    outcomes: list[date | ServiceError] = []
    rows: list[dict[str, Any]] = []
    for answer in answers:
        if answer.requires_code:
            if not answer.code:
                outcomes.append(code_refused(missing=True))
                continue
            # The database decides, not an earlier read: of two concurrent uses of one
            # code, one UPDATE matches the row and the other finds it used (rowcount 0).
            spent = cast(
                "CursorResult[Any]",
                await session.execute(
                    update(PollCode)
                    .where(
                        PollCode.code_hash == code_digest(answer.link_id, answer.code),
                        PollCode.link_id == answer.link_id,
                        PollCode.used.is_(False),
                    )
                    .values(used=True)
                    .execution_options(synchronize_session=False)
                ),
            )
            if spent.rowcount != 1:
                outcomes.append(code_refused(missing=False))
                continue
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "link_id": answer.link_id,
                "campaign_id": answer.campaign_id,
                "enterprise_id": answer.enterprise_id,
                "day": day,
                "data": answer.data,
            }
        )
        outcomes.append(day)
    if rows:  # a Core insert of the table: the ORM's bulk path costs more per row
        await session.execute(insert(cast(Table, PollResponse.__table__)), rows)
    return outcomes


def answer_writer(db: Database) -> GroupCommit[Answer, date]:
    """The process's writer of answers: answers arriving together are stored in one
    transaction, and each request learns its outcome only once that has committed."""

    async def flush(answers: Sequence[Answer]) -> list[date | ServiceError]:
        async with db.transaction() as session:
            outcomes = await store_answers(session, answers)
        return outcomes  # the block has ended: committed

    return GroupCommit(flush)


# --- form posts ----------------------------------------------------------------------------


def answers_from_form(schema: Mapping[str, Any], fields: Mapping[str, Iterable[str]]) -> Any:
    """An HTML form post (every value a string) as the JSON document the schema describes:
    numbers from their text, empty fields left out, lists for array fields; fields the
    schema does not name are dropped (``forms.form_posts`` has the rules)."""
    return document_from_form(schema, fields)
