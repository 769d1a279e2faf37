"""The public side of a poll, shared by the JSON API (``poll_routes``) and the poll page
(``survey_service.web.poll_pages``): the ``PollDesk`` that opens a link's poll through the
process's cache and takes an answer past the soft guards into the group commit, and the
device cookie."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.datastructures import Cookie

from survey_service import counters
from survey_service.collection import polls
from survey_service.collection.group_commit import GroupCommit
from survey_service.db.engine import Database
from survey_service.db.models import utcnow
from survey_service.errors import ServiceError
from survey_service.forms.service import FormCache


@dataclass(slots=True)
class PollDesk:
    """What taking poll answers needs in this process, made once by ``create_app`` and
    handed to the API and the poll page alike: the links' polls (a cache trusted as long
    as a form's current version), each link's answer rate, the compiled validators, the
    survey's time zone, and the database with the group commit that stores answers (both
    set by ``attach`` when the database opens: a poll route names this one dependency,
    see ``FormCache``)."""

    cache: polls.PollCache
    limiter: polls.LinkRateLimiter
    forms: FormCache
    zone: ZoneInfo
    db: Database | None = None
    writer: GroupCommit[polls.Answer, date] | None = None

    def attach(self, db: Database) -> None:
        self.db = db
        self.limiter.attach(db)
        self.writer = polls.answer_writer(db)

    async def close(self) -> None:
        """Answers handed in are committed and answered before the engine goes."""
        if self.writer is not None:
            await self.writer.close()

    async def open_poll(self, slug: str) -> polls.Poll:
        """The poll behind ``slug`` if it takes answers now (404, 410, 403 otherwise)."""
        poll = self.cache.get(slug)
        if poll is None:
            if self.db is None:
                raise RuntimeError("the poll desk opens polls once the database is attached")
            try:
                async with self.db.read() as session:
                    poll = await polls.find_poll(session, slug)
            except ServiceError:
                self.cache.forget(slug)
                raise
            self.cache.put(slug, poll)
        polls.require_poll_open(poll.campaign, self.zone)
        return poll

    def forget_links(self) -> None:
        """A link issued, rotated or withdrawn: no process keeps serving its old state."""
        self.cache.clear()

    async def receive_answer(
        self, poll: polls.Poll, data: dict[str, Any], code: str | None, *, answered_here: bool
    ) -> date:
        """Check the soft guards, the rate, the code's presence and the answer, then store
        it. ``answered_here``: this browser carries the link's device cookie."""
        # A soft guard: it stops a second answer from the same browser, not a determined
        # person (a private window clears it). The one-time codes are the hard guard.
        if answered_here:
            raise polls.already_answered()
        per_minute = polls.rate_per_minute(poll.campaign.settings)
        wait = await self.limiter.acquire(poll.link.id, per_minute)
        if wait > 0:
            raise polls.too_many(per_minute, wait)
        if poll.link.requires_code and not code:
            raise polls.code_refused(missing=True)
        validator = self.forms.validators.get(poll.version.id, poll.version.schema)
        polls.check_answer(validator, poll, data)
        if self.writer is None:
            raise RuntimeError("the poll desk stores answers once the database is attached")
        # Stored with the answers arriving at the same time, in one transaction; returns
        # once that has committed (a 503 problem if it failed), never before.
        day = await self.writer.submit(polls.Answer.of(poll, data, code))
        counters.poll_answers.inc()
        return day


def answered_here(request: Request[Any, Any, Any], poll: polls.Poll) -> bool:
    """Whether this browser already answered the link (its device cookie)."""
    return bool(request.cookies.get(polls.device_cookie_name(poll.link.slug)))


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


def device_cookies(request: Request[Any, Any, Any], poll: polls.Poll) -> list[Cookie]:
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
        for path in polls.POLL_PATHS
    ]
