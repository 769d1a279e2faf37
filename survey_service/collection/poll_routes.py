"""HTTP routes of poll links: the admin's links and codes, and the public poll as JSON (what
it shares with the poll page is in ``poll_answers``).

The public routes take no token and log nothing per answer (the server runs without an
access log); what they store is described in ``survey_service.collection.polls``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from survey_service.auth import Principal, require
from survey_service.collection import campaigns, polls
from survey_service.collection.poll_answers import answered_here, device_cookies
from survey_service.collection.poll_links import issue_poll_link, withdraw_poll_link
from survey_service.collection.routes import read_cursor
from survey_service.collection.schemas import (
    PollAnswerIn,
    PollLinkIn,
    PollLinkOut,
    PollLinkPage,
    PollOut,
    PollReceipt,
)
from survey_service.deps import DB, PathId, Polls
from survey_service.openapi import BEARER, problems

Limit = Annotated[int, QueryParameter(ge=1, le=1000)]

# --- admin: links and codes ----------------------------------------------------------------


class PollLinkController(Controller):
    path = "/api/v1/campaigns/{campaign_id:int}/poll-links"
    tags = ["poll links"]
    guards = [require("admin")]
    security = BEARER

    @post(
        "/",
        status_code=201,
        responses={
            200: ResponseSpec(PollLinkOut, description="The link exists already."),
            **problems(400, 401, 403, 404, 409, 413, 422),
        },
    )
    async def issue(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        campaign_id: PathId,
        data: JSONBody[PollLinkIn],
    ) -> Response[PollLinkOut]:
        """The enterprise's public link (201 when new, 200 when it exists already), with
        `codes` one-time codes shown this once; `rotate` replaces the link by a new one."""
        principal: Principal = request.state.principal
        out, created = await issue_poll_link(db, poll_desk, principal, campaign_id, data)
        return Response(out, status_code=201 if created else 200)

    @get("/", responses=problems(400, 401, 403, 404, 422))
    async def list_links(
        self,
        db: DB,
        campaign_id: PathId,
        limit: Limit = 100,
        cursor: FromQuery[str | None] = None,
    ) -> PollLinkPage:
        """The campaign's links with how many answers and codes each has."""
        after = read_cursor(cursor)
        async with db.read() as session:
            campaign, _, _ = await campaigns.load_campaign(session, campaign_id)
            items, next_id = await polls.link_page(session, campaign, limit=limit, after_id=after)
        return PollLinkPage(items=items, next_cursor=str(next_id) if next_id else None)

    @post(
        "/{link:str}/revoke",
        status_code=HTTP_204_NO_CONTENT,
        responses=problems(400, 401, 403, 404, 422),
    )
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        poll_desk: Polls,
        campaign_id: PathId,
        link: FromPath[str],
    ) -> None:
        """Withdraw a link: it then answers 410 Gone."""
        await withdraw_poll_link(db, poll_desk, request.state.principal, campaign_id, link)


class PollController(Controller):
    path = "/api/v1/polls"
    tags = ["polls"]

    @get("/{link:str}", responses=problems(400, 403, 404, 410))
    async def get_poll(self, poll_desk: Polls, link: FromPath[str]) -> PollOut:
        """The poll behind a public link: its form and the anonymity notice (404 unknown,
        410 withdrawn, 403 not open)."""
        return polls.poll_out(await poll_desk.open_poll(link))

    @post(
        "/{link:str}/responses",
        status_code=201,
        responses=problems(400, 403, 404, 409, 410, 413, 422, 429, 503),
    )
    async def answer(
        self,
        request: Request[Any, Any, Any],
        poll_desk: Polls,
        link: FromPath[str],
        data: JSONBody[PollAnswerIn],
    ) -> Response[PollReceipt]:
        """One anonymous answer: 201 with the day only, never an id."""
        poll = await poll_desk.open_poll(link)
        day = await poll_desk.receive_answer(
            poll, data.data, data.code, answered_here=answered_here(request, poll)
        )
        return Response(
            PollReceipt(status="received", day=day),
            status_code=201,
            cookies=device_cookies(request, poll),
        )
