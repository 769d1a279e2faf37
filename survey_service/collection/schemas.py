"""Request and response bodies of the collection API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from survey_service.local_time import INSTANT_OR_DAY
from survey_service.structs import Body, Out, RowId

Uscc = Annotated[str, msgspec.Meta(min_length=18, max_length=18)]
# A contact's telephone (digits, spaces, + - ( ) and an extension) and e-mail address.
Phone = Annotated[str, msgspec.Meta(max_length=32, pattern=r"^\+?[0-9][0-9()\- ]*(转[0-9]+)?$")]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
SizeClass = Literal["large", "medium", "small", "micro"]
# Read by ``local_time.instant_from_text`` (a date alone is a day of SURVEY_TIME_ZONE).
InstantOrDay = Annotated[
    str,
    msgspec.Meta(min_length=10, max_length=40, description=INSTANT_OR_DAY, examples=["2026-12-01"]),
]


class EnterpriseIn(Body, kw_only=True):
    uscc: Uscc
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    district: Annotated[str, msgspec.Meta(min_length=6, max_length=6)]
    industry: Annotated[str, msgspec.Meta(min_length=1, max_length=5)]
    # An update changes the fields it names (null clears one); a new enterprise takes
    # null / false for the fields left out.
    size_class: SizeClass | msgspec.UnsetType | None = msgspec.UNSET
    ownership: Annotated[str, msgspec.Meta(max_length=32)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    staff_count: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    has_union: bool | msgspec.UnsetType = msgspec.UNSET
    above_designated_size: bool | msgspec.UnsetType = msgspec.UNSET
    has_collective_contract: bool | msgspec.UnsetType = msgspec.UNSET
    group_key: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    contact_name: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    contact_phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    contact_email: Email | msgspec.UnsetType | None = msgspec.UNSET


class EnterpriseOut(Out, kw_only=True):
    uscc: str
    name: str
    district: str
    industry: str
    size_class: str | None
    ownership: str | None
    staff_count: int | None
    has_union: bool
    above_designated_size: bool
    has_collective_contract: bool
    group_key: str | None
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    updated_at: datetime


class RegistryPeriodOut(Out, kw_only=True):
    """What the registry said of an enterprise from ``valid_from`` up to ``valid_to``
    (exclusive; null: it still says so)."""

    valid_from: datetime
    valid_to: datetime | None
    name: str
    district: str
    industry: str
    size_class: str | None
    staff_count: int | None
    has_union: bool
    above_designated_size: bool
    has_collective_contract: bool


class EnterpriseUpsertResult(Out, kw_only=True):
    created: int
    updated: int
    enterprises: list[EnterpriseOut]


class Page(Out, kw_only=True):
    next_cursor: str | None


class EnterprisePage(Page, kw_only=True):
    items: list[EnterpriseOut]


class Audience(Body, kw_only=True):
    """Which enterprises a campaign is for; a field left out does not narrow it."""

    districts: list[str] | None = None  # GB/T 2260 codes (and 610271)
    industries: list[str] | None = None  # GB/T 4754 section letters or divisions ("C", "C30")
    above_designated_size: bool | None = None
    has_union: bool | None = None
    min_staff: Annotated[int, msgspec.Meta(ge=0)] | None = None


class CampaignIn(Body, kw_only=True):
    form_key: str
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    opens_at: Annotated[
        InstantOrDay,
        msgspec.Meta(description=INSTANT_OR_DAY + " A date alone opens at that day's start."),
    ]
    closes_at: Annotated[
        InstantOrDay,
        msgspec.Meta(
            description=INSTANT_OR_DAY + " A date alone closes at that day's end "
            "(the campaign takes answers through that whole day)."
        ),
    ]
    form_version: RowId | None = None
    # The yearly campaign this belongs to; by default the year it opens in (SURVEY_TIME_ZONE).
    campaign_year: Annotated[int, msgspec.Meta(ge=2000, le=2100)] | None = None
    audience: Audience = msgspec.field(default_factory=Audience)
    requires_review: bool = False
    settings: dict[str, Any] = msgspec.field(default_factory=dict)


class CampaignOut(Out, kw_only=True):
    id: int
    form_key: str
    form_version: int
    title: str
    year: int
    campaign_year: int
    opens_at: datetime
    closes_at: datetime
    audience: dict[str, Any]
    requires_review: bool
    settings: dict[str, Any]
    is_open: bool


class InvitationsIn(Body, kw_only=True):
    enterprises: Annotated[list[Uscc], msgspec.Meta(min_length=1, max_length=10_000)]
    expires_at: datetime | None = None
    # Replace a code already sent (the old one stops working); without it an enterprise
    # invited already keeps its code and gets no new one.
    reissue: bool = False


class InvitationOut(Out, kw_only=True):
    uscc: str
    # The code, shown once; null when the enterprise was invited already and kept its code.
    token: str | None
    state: Literal["issued", "reissued", "already_invited"] = "issued"
    invited_at: datetime | None = None  # when the code in use was issued
    message: str | None = None
    message_zh: str | None = None


class SubmissionIn(Body, kw_only=True):
    data: dict[str, Any]
    id: str | None = None
    status: Literal["submitted", "draft"] = "submitted"


class AmendmentIn(Body, kw_only=True):
    data: dict[str, Any]
    status: Literal["submitted", "draft"] = "submitted"


class SubmissionOut(Out, kw_only=True):
    id: str
    campaign_id: int
    enterprise: str | None
    status: str
    review_state: str
    revision: int
    received_at: datetime
    updated_at: datetime
    data: dict[str, Any] | None = None
    warnings: list[dict[str, Any]] = msgspec.field(default_factory=list)


class SubmissionPage(Page, kw_only=True):
    items: list[SubmissionOut]


class ProgressRow(Out, kw_only=True):
    district: str | None
    invited: int
    drafts: int
    submitted: int  # submitted and not returned by the bureau
    returned: int  # submitted, returned for correction, not amended yet
    response_rate: float | None  # submitted / invited


class ProgressOut(Out, kw_only=True):
    campaign_id: int
    overall: ProgressRow
    by_district: list[ProgressRow]


class ReviewIn(Body, kw_only=True):
    state: Literal["accepted", "returned"]
    reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class ReviewOut(Out, kw_only=True):
    revision: int
    state: str
    reason: str | None
    at: datetime


# --- anonymous poll links -----------------------------------------------------------------


class PollLinkIn(Body, kw_only=True):
    """Ask for an enterprise's poll link. ``requires_code`` left out keeps an existing link's
    choice (``false`` for a new link); ``codes`` adds that many one-time codes."""

    enterprise: Uscc
    codes: Annotated[int, msgspec.Meta(ge=0, le=5000)] = 0
    requires_code: bool | None = None
    rotate: bool = False


class PollLinkOut(Out, kw_only=True):
    link: str
    url: str
    enterprise: str
    enterprise_name: str
    requires_code: bool
    created_at: datetime
    codes: list[str]


class PollLinkSummary(Out, kw_only=True):
    link: str
    url: str
    enterprise: str
    enterprise_name: str
    requires_code: bool
    created_at: datetime
    revoked_at: datetime | None
    responses: int
    codes_issued: int
    codes_used: int


class PollLinkPage(Page, kw_only=True):
    items: list[PollLinkSummary]


class PollCampaignOut(Out, kw_only=True):
    title: str
    closes_at: datetime


class PollFormOut(Out, kw_only=True):
    key: str
    version: int
    schema: dict[str, Any]
    ui: dict[str, Any]


class PollOut(Out, kw_only=True):
    campaign: PollCampaignOut
    form: PollFormOut
    requires_code: bool
    anonymity_notice: dict[str, str]
    # Who runs the poll and for which enterprise's workers, to show beside the notice.
    organisers: dict[str, str]
    enterprise_name: str


class PollAnswerIn(Body, kw_only=True):
    data: dict[str, Any]
    code: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class PollReceipt(Out, kw_only=True):
    """What an answer gets back: nothing that could point at the stored row."""

    status: Literal["received"]
    day: date
