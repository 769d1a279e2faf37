"""Campaigns (a published form version, a year, an open window) and their invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import issue_token
from survey_service.collection.campaign_settings import settings_errors
from survey_service.collection.schemas import Audience, CampaignIn, CampaignOut, InvitationOut
from survey_service.db.lookups import campaign_with_form
from survey_service.db.models import AccessToken, Campaign, Enterprise, Form, FormVersion, utcnow
from survey_service.errors import ServiceError, not_found, unprocessable
from survey_service.forms import service as forms
from survey_service.local_time import NotAnInstant, instant_from_text
from survey_service.reference.codes import districts, industry_division, industry_section


def is_open(campaign: Campaign, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return campaign.opens_at <= now < campaign.closes_at


# Settings only the bureau sees: the sampling weights would tell analysts (and enterprises)
# how each enterprise's figures count.
ADMIN_ONLY_SETTINGS = ("enterprise_weights",)


def settings_for(settings: dict[str, Any], role: str) -> dict[str, Any]:
    """The campaign's settings as ``role`` may see them."""
    if role == "admin":
        return settings
    return {k: v for k, v in settings.items() if k not in ADMIN_ONLY_SETTINGS}


def campaign_out(
    campaign: Campaign, form: Form, version: FormVersion, role: str = "admin"
) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        form_key=form.key,
        form_version=version.number,
        title=campaign.title,
        year=campaign.year,
        campaign_year=campaign.campaign_year,
        opens_at=campaign.opens_at,
        closes_at=campaign.closes_at,
        audience=campaign.audience,
        requires_review=campaign.requires_review,
        settings=settings_for(campaign.settings or {}, role),
        is_open=is_open(campaign),
    )


def campaign_window(body: CampaignIn, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The campaign's opening and closing instants; a date alone is a day of ``zone``."""
    window: list[datetime] = []
    errors: list[dict[str, Any]] = []
    for name, text, end_of_day in (
        ("opens_at", body.opens_at, False),
        ("closes_at", body.closes_at, True),
    ):
        try:
            window.append(instant_from_text(text, zone, end_of_day=end_of_day))
        except NotAnInstant as exc:
            errors.append(
                {"path": f"/{name}", "message": str(exc), "keyword": "format",
                 "message_zh": "应为日期（如 2026-12-01）或带时区的时间"}
            )  # fmt: skip
    if errors:
        raise unprocessable("opens_at and closes_at take a date or an RFC 3339 time.", errors)
    opens_at, closes_at = window
    if closes_at <= opens_at:
        raise unprocessable(
            "A campaign must close after it opens.",
            [
                {
                    "path": "/closes_at",
                    "message": "closes_at must be after opens_at",
                    "message_zh": "截止时间应晚于开始时间",
                    "keyword": "order",
                }
            ],
        )
    return opens_at, closes_at


async def published_version(
    session: AsyncSession, form_key: str, number: int | None
) -> tuple[Form, FormVersion]:
    """The form and the version a campaign is to run: ``number``, which must be
    published, or the current published version."""
    form = await session.scalar(select(Form).where(Form.key == form_key))
    if form is None:
        raise ServiceError(
            "not-found",
            f"Form {form_key!r} not found",
            errors=[{"path": "/form_key", "message": f"unknown form {form_key!r}",
                     "message_zh": "没有这个表单", "keyword": "enum"}],
        )  # fmt: skip
    versions = await forms.versions_of(session, form)
    if number is None:
        version = forms.current_version(versions)
        if version is None:
            raise unprocessable(
                f"Form {form.key!r} has no published version.",
                [{"path": "/form_key", "message": "the form has no published version",
                  "message_zh": "该表单还没有发布的版本", "keyword": "published"}],
            )  # fmt: skip
        return form, version
    found = [v for v in versions if v.number == number]
    if not found or found[0].status != "published":
        raise unprocessable(
            f"Version {number} of {form.key!r} is not published.",
            [{"path": "/form_version", "message": f"version {number} is not published",
              "message_zh": f"第 {number} 版未发布", "keyword": "published"}],
        )  # fmt: skip
    return form, found[0]


def checked_settings(settings: dict[str, Any]) -> dict[str, Any]:
    errors = settings_errors(settings)
    if errors:
        raise unprocessable("Some campaign settings cannot be used.", errors)
    return settings


async def create_campaign(session: AsyncSession, body: CampaignIn, zone: ZoneInfo) -> CampaignOut:
    opens_at, closes_at = campaign_window(body, zone)
    form, version = await published_version(session, body.form_key, body.form_version)
    campaign = Campaign(
        form_version_id=version.id,
        title=body.title,
        year=body.year,
        campaign_year=body.campaign_year or opens_at.astimezone(zone).year,
        opens_at=opens_at,
        closes_at=closes_at,
        audience=audience_data(body.audience),
        settings=checked_settings(body.settings),
        requires_review=body.requires_review,
    )
    session.add(campaign)
    await session.flush()
    return campaign_out(campaign, form, version)


def audience_data(audience: Audience) -> dict[str, Any]:
    """The audience as stored, its codes checked against the code lists."""
    errors = [
        {
            "path": f"/audience/districts/{i}",
            "message": f"unknown district {code!r}",
            "message_zh": f"未知的区县代码 {code}",
        }
        for i, code in enumerate(audience.districts or [])
        if code not in districts()
    ]
    for i, code in enumerate(audience.industries or []):
        try:
            industry_section(code)
        except ValueError:
            errors.append(
                {
                    "path": f"/audience/industries/{i}",
                    "message": f"unknown industry {code!r}",
                    "message_zh": f"未知的行业代码 {code}",
                }
            )
    if errors:
        raise unprocessable("The audience names unknown codes.", errors)
    data: dict[str, Any] = msgspec.to_builtins(audience)
    return data


class AudienceFacts(Protocol):
    """What the audience looks at: an ``Enterprise``, or a row of its columns."""

    @property
    def district(self) -> str: ...
    @property
    def industry(self) -> str: ...
    @property
    def above_designated_size(self) -> bool: ...
    @property
    def has_union(self) -> bool: ...
    @property
    def staff_count(self) -> int | None: ...


def outside_audience(audience: dict[str, Any], enterprise: AudienceFacts) -> str | None:
    """Why the enterprise is not in the campaign's audience, or None when it is."""
    wanted = audience.get("districts")
    if wanted and enterprise.district not in wanted:
        return f"its district {enterprise.district} is not among {', '.join(wanted)}"
    industries = audience.get("industries")
    if industries and not any(_in_industry(enterprise.industry, code) for code in industries):
        return f"its industry {enterprise.industry} is not among {', '.join(industries)}"
    for flag in ("above_designated_size", "has_union"):
        if audience.get(flag) is not None and bool(getattr(enterprise, flag)) != audience[flag]:
            return (
                f"{flag} is {bool(getattr(enterprise, flag))}, the campaign wants {audience[flag]}"
            )
    minimum = audience.get("min_staff")
    if minimum is not None and (enterprise.staff_count or 0) < minimum:
        return f"it has {enterprise.staff_count or 0} staff, fewer than {minimum}"
    return None


def _in_industry(code: str, wanted: str) -> bool:
    """``C3011`` is in ``C``, ``C30`` and ``30``; sections compare by letter."""
    try:
        if len(wanted) == 1:
            return industry_section(code) == wanted
        return industry_division(code) == industry_division(wanted)
    except ValueError:  # an enterprise registered with its section only is in no division
        return False


async def load_campaign(
    session: AsyncSession, campaign_id: int
) -> tuple[Campaign, FormVersion, Form]:
    found = await campaign_with_form(session, campaign_id)
    if found is None:
        raise not_found(f"Campaign {campaign_id}")
    return found


async def list_campaigns(session: AsyncSession, role: str = "admin") -> list[CampaignOut]:
    rows = await session.execute(
        select(Campaign, FormVersion, Form)
        .join(FormVersion, Campaign.form_version_id == FormVersion.id)
        .join(Form, FormVersion.form_id == Form.id)
        .order_by(Campaign.id)
    )
    return [campaign_out(c, f, v, role) for c, v, f in rows]


async def invite(
    session: AsyncSession,
    campaign: Campaign,
    usccs: list[str],
    expires_at: datetime | None,
    *,
    reissue: bool = False,
) -> list[InvitationOut]:
    """One working code per enterprise per campaign. An enterprise invited already keeps
    its code (it is not shown again, being stored hashed) unless ``reissue``, which
    revokes it and issues a new one; the answer says which happened to each."""
    wanted = list(dict.fromkeys(usccs))
    found = {
        e.uscc: e
        for e in await session.scalars(select(Enterprise).where(Enterprise.uscc.in_(wanted)))
    }
    missing = [u for u in wanted if u not in found]
    if missing:
        raise unprocessable(
            "Some enterprises are not registered.",
            [
                {"path": f"/enterprises/{usccs.index(u)}", "message": f"unknown enterprise {u}"}
                for u in missing
            ],
        )
    outside = [(u, outside_audience(campaign.audience or {}, found[u])) for u in wanted]
    refused = [(u, why) for u, why in outside if why is not None]
    if refused:
        raise unprocessable(
            "Some enterprises are outside the campaign's audience.",
            [
                {"path": f"/enterprises/{usccs.index(u)}", "message": f"{u}: {why}"}
                for u, why in refused
            ],
        )
    now = utcnow()
    active = {
        enterprise_id: created_at
        for enterprise_id, created_at in await session.execute(
            select(AccessToken.enterprise_id, AccessToken.created_at).where(
                AccessToken.campaign_id == campaign.id,
                AccessToken.enterprise_id.in_([found[u].id for u in wanted]),
                AccessToken.revoked_at.is_(None),
                or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
            )
        )
    }
    if reissue:
        await session.execute(
            update(AccessToken)
            .where(
                AccessToken.campaign_id == campaign.id,
                AccessToken.enterprise_id.in_([found[u].id for u in wanted]),
                AccessToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
    out = []
    for uscc in wanted:
        earlier = active.get(found[uscc].id)
        if earlier is not None and not reissue:
            out.append(
                InvitationOut(
                    uscc=uscc,
                    token=None,
                    state="already_invited",
                    invited_at=earlier,
                    message="Invited already: the code sent then still works. "
                    "Send reissue=true to replace it (the old code stops working).",
                    message_zh="已邀请过，之前发出的邀请码仍然有效；如需重新生成，"
                    "请选择“重新生成”（旧邀请码将失效）。",
                )
            )
            continue
        token, _ = await issue_token(
            session,
            "enterprise",
            label=f"invitation {campaign.id}/{uscc}",
            enterprise_id=found[uscc].id,
            campaign_id=campaign.id,
            expires_at=expires_at or campaign.closes_at,
        )
        if earlier is None:
            out.append(InvitationOut(uscc=uscc, token=token, invited_at=now))
        else:
            out.append(
                InvitationOut(
                    uscc=uscc,
                    token=token,
                    state="reissued",
                    invited_at=now,
                    message="A new code replaces the one sent before, which no longer works.",
                    message_zh="已重新生成邀请码，之前发出的邀请码已失效。",
                )
            )
    return out


async def revoke_invitation(session: AsyncSession, campaign: Campaign, uscc: str) -> None:
    enterprise_id = await session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    if enterprise_id is None:
        raise not_found(f"Enterprise {uscc}")
    await session.execute(
        update(AccessToken)
        .where(
            AccessToken.campaign_id == campaign.id,
            AccessToken.enterprise_id == enterprise_id,
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
