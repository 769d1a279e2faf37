"""A campaign's invitations as the bureau's pages handle them: the audience with each
enterprise's invitation, issuing for the audience or a selection, revoking, and checking
the clear codes a page hands back for the codes sheet and the letters.

Every function takes ``district``: the part of the city the caller manages (None: the whole
city); an enterprise outside it is treated as unknown. Issuing and revoking are
``campaigns.invite`` and ``campaigns.revoke_invitation``, the API's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import token_digest
from survey_service.collection import campaigns
from survey_service.collection.schemas import InvitationOut
from survey_service.db.models import AccessToken, Campaign, Enterprise, utcnow
from survey_service.errors import ServiceError, unprocessable


@dataclass(frozen=True, slots=True)
class AudienceRow:
    """An enterprise of the campaign's audience and its invitation: the working code's
    date, or none (never invited, or every code revoked or expired)."""

    enterprise: Enterprise
    invited_at: datetime | None
    withdrawn: bool  # had a code, none works now


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A code handed back by a page, checked: it is the enterprise's working code."""

    enterprise: Enterprise
    code: str
    expires_at: datetime | None


def _in_scope(district: str | None) -> ColumnElement[bool]:
    return true() if district is None else Enterprise.district == district


async def audience(
    session: AsyncSession, campaign: Campaign, *, district: str | None
) -> list[AudienceRow]:
    """The enterprises the campaign is for within ``district``, by district and name."""
    rows = [
        e
        for e in await session.scalars(
            select(Enterprise)
            .where(_in_scope(district))
            .order_by(Enterprise.district, Enterprise.name, Enterprise.id)
        )
        if campaigns.outside_audience(campaign.audience or {}, e) is None
    ]
    now = utcnow()
    working: dict[int, datetime] = {}
    ever: set[int] = set()
    for enterprise_id, created_at, revoked_at, expires_at in await session.execute(
        select(
            AccessToken.enterprise_id,
            AccessToken.created_at,
            AccessToken.revoked_at,
            AccessToken.expires_at,
        ).where(AccessToken.campaign_id == campaign.id, AccessToken.role == "enterprise")
    ):
        if enterprise_id is None:
            continue
        ever.add(enterprise_id)
        if revoked_at is None and (expires_at is None or expires_at > now):
            working[enterprise_id] = max(created_at, working.get(enterprise_id, created_at))
    return [AudienceRow(e, working.get(e.id), e.id in ever and e.id not in working) for e in rows]


async def enterprises_named(
    session: AsyncSession, usccs: list[str], *, district: str | None
) -> dict[str, Enterprise]:
    """The registered enterprises of ``usccs`` within ``district``, by credit code."""
    return {
        e.uscc: e
        for e in await session.scalars(
            select(Enterprise).where(Enterprise.uscc.in_(usccs), _in_scope(district))
        )
    }


async def _usccs_in_scope(
    session: AsyncSession, usccs: list[str], district: str | None
) -> list[str]:
    """``usccs`` when each is registered within ``district``, else a 422 naming the rest
    as unknown (another district's enterprise is not revealed)."""
    known = set(
        await session.scalars(
            select(Enterprise.uscc).where(Enterprise.uscc.in_(usccs), _in_scope(district))
        )
    )
    unknown = [u for u in usccs if u not in known]
    if unknown:
        raise unprocessable(
            "Some enterprises are not registered.",
            [{"path": f"/enterprises/{usccs.index(u)}", "message": f"unknown enterprise {u}",
              "message_zh": f"未登记的企业 {u}"} for u in unknown],
        )  # fmt: skip
    return usccs


async def issue(
    session: AsyncSession,
    campaign: Campaign,
    usccs: list[str] | None,
    *,
    district: str | None,
    reissue: bool,
) -> list[InvitationOut]:
    """Codes for ``usccs``, or (None) for every enterprise of the audience within
    ``district`` that has no working code yet; ``reissue`` replaces working codes."""
    if usccs is None:
        usccs = [
            row.enterprise.uscc
            for row in await audience(session, campaign, district=district)
            if reissue or row.invited_at is None
        ]
    else:
        usccs = await _usccs_in_scope(session, list(dict.fromkeys(usccs)), district)
    if not usccs:
        raise ServiceError(
            "unprocessable",
            "No enterprise to invite: every one of the audience has a working code.",
            detail_zh="没有需要邀请的企业：受众中的企业都已有有效的邀请码。",
        )
    return await campaigns.invite(session, campaign, usccs, None, reissue=reissue)


async def revoke(
    session: AsyncSession, campaign: Campaign, uscc: str, *, district: str | None
) -> None:
    await _usccs_in_scope(session, [uscc], district)
    await campaigns.revoke_invitation(session, campaign, uscc)


async def working_codes(
    session: AsyncSession,
    campaign: Campaign,
    pairs: list[tuple[str, str]],
    *,
    district: str | None,
) -> list[IssuedCode]:
    """The (uscc, code) pairs a page hands back, each checked against the stored digests:
    the enterprise's working code for this campaign within ``district``. A code revoked,
    replaced or expired since, or one that is not the enterprise's, is refused (409), so
    that no letter carries a code that does not work."""
    digests = {token_digest(code): (uscc, code) for uscc, code in pairs}
    now = utcnow()
    found = {
        token.token_hash: (token, enterprise)
        for token, enterprise in await session.execute(
            select(AccessToken, Enterprise)
            .join(Enterprise, AccessToken.enterprise_id == Enterprise.id)
            .where(
                AccessToken.token_hash.in_(list(digests)),
                AccessToken.campaign_id == campaign.id,
                AccessToken.role == "enterprise",
                AccessToken.revoked_at.is_(None),
                or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
                _in_scope(district),
            )
        )
    }
    out: list[IssuedCode] = []
    stale: list[str] = []
    for digest, (uscc, code) in digests.items():
        hit = found.get(digest)
        if hit is None or hit[1].uscc != uscc:
            stale.append(uscc)
            continue
        out.append(IssuedCode(hit[1], code, hit[0].expires_at))
    if stale:
        raise ServiceError(
            "conflict",
            "Some codes no longer work (revoked or issued again since): "
            + ", ".join(stale)
            + ". Issue them again to print them.",
            detail_zh="部分邀请码已失效（之后被收回或重新生成）："
            + "、".join(stale)
            + "。请重新生成后再打印。",
        )
    out.sort(key=lambda c: (c.enterprise.district, c.enterprise.name, c.enterprise.id))
    return out
