"""The typed SQLAlchemy models: forms and versions, enterprises, campaigns, tokens,
submissions with their revisions, and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONType,
        datetime: UTCDateTime,
        float: Double(),
    }


class Form(Base):
    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormVersion(Base):
    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft | published | retired
    schema: Mapped[dict[str, Any]]
    ui: Mapped[dict[str, Any]]
    rules: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(6), index=True)
    industry: Mapped[str] = mapped_column(String(5))
    size_class: Mapped[str | None] = mapped_column(String(16))
    ownership: Mapped[str | None] = mapped_column(String(32))
    staff_count: Mapped[int | None] = mapped_column(Integer)
    has_union: Mapped[bool] = mapped_column(Boolean, default=False)
    above_designated_size: Mapped[bool] = mapped_column(Boolean, default=False)
    has_collective_contract: Mapped[bool] = mapped_column(Boolean, default=False)
    # Enterprises of one group count as one contributor in disclosure control.
    group_key: Mapped[str | None] = mapped_column(String(64))
    # Whom the bureau writes to: the invitation codes' mail merge, the reminders.
    contact_name: Mapped[str | None] = mapped_column(String(64))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class EnterpriseHistory(Base):
    """The registry as it stood: one row per enterprise and period in which the facts that
    count (name, district, industry, size, staff, union, above-designated-size, the
    registry's contract flag) held, from ``valid_from`` up to ``valid_to`` (exclusive; NULL:
    still holds). Written with every change of those facts, never edited after, so that a
    year's participation can be recomputed as it stood on any date."""

    __tablename__ = "enterprise_history"
    __table_args__ = (Index("ix_enterprise_history_valid", "valid_from", "valid_to"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str] = mapped_column(String(5))
    size_class: Mapped[str | None] = mapped_column(String(16))
    staff_count: Mapped[int | None] = mapped_column(Integer)
    has_union: Mapped[bool] = mapped_column(Boolean)
    above_designated_size: Mapped[bool] = mapped_column(Boolean)
    has_collective_contract: Mapped[bool] = mapped_column(Boolean)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer, index=True)  # the year the data speak of
    # The yearly campaign it belongs to (a survey of last year's pay runs in this year's).
    campaign_year: Mapped[int] = mapped_column(Integer, index=True)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    audience: Mapped[dict[str, Any]]
    settings: Mapped[dict[str, Any]]
    requires_review: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessToken(Base):
    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin analyst district enterprise negotiator
    label: Mapped[str | None] = mapped_column(String(200))
    # A district's staff: the district (a code of the district list) whose enterprises the
    # token sees and manages.
    district: Mapped[str | None] = mapped_column(String(12))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_campaign_enterprise", "campaign_id", "enterprise_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    status: Mapped[str] = mapped_column(String(16))  # draft | submitted
    review_state: Mapped[str] = mapped_column(String(16), default="pending")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[dict[str, Any]]
    content_hash: Mapped[str] = mapped_column(String(64))
    # The current revision's warnings (the checks that warn without refusing).
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubmissionRevision(Base):
    __tablename__ = "submission_revisions"
    __table_args__ = (UniqueConstraint("submission_id", "revision"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    # NULL while this is the submission's current revision: its document is the
    # submission's, stored once; it is copied here when a newer revision replaces it.
    data: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    author_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)


class Review(Base):
    """An admin's verdict on one revision of a submission; the whole history is kept."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # accepted | returned
    reason: Mapped[str | None] = mapped_column(Text)
    reviewer_token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WageRow(Base):
    """One worker row of a salary survey, normalised for the wage-reference tables."""

    __tablename__ = "wage_rows"
    __table_args__ = (
        Index("ix_wage_rows_campaign_occupation", "campaign_id", "occupation"),
        Index("ix_wage_rows_campaign_district", "campaign_id", "district"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    row_index: Mapped[int] = mapped_column(Integer)
    occupation: Mapped[str] = mapped_column(String(16))
    industry: Mapped[str] = mapped_column(String(5))
    district: Mapped[str] = mapped_column(String(6))
    size_class: Mapped[str | None] = mapped_column(String(16))
    ownership: Mapped[str | None] = mapped_column(String(32))
    education: Mapped[str | None] = mapped_column(String(32))
    skill_level: Mapped[str | None] = mapped_column(String(32))
    job_level: Mapped[str | None] = mapped_column(String(32))
    months_worked: Mapped[int] = mapped_column(Integer)
    annual_pay: Mapped[float]
    monthly_pay: Mapped[float]
    base_pay: Mapped[float | None]
    bonus: Mapped[float | None]
    allowances: Mapped[float | None]
    overtime_pay: Mapped[float | None]
    weekly_hours: Mapped[float | None]


class PollLink(Base):
    """The public link through which one enterprise's workers answer a campaign's poll."""

    __tablename__ = "poll_links"
    __table_args__ = (UniqueConstraint("campaign_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    requires_code: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class PollCode(Base):
    """A one-time code the union hands out; its use is recorded, never linked to an answer."""

    __tablename__ = "poll_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    link_id: Mapped[int] = mapped_column(
        ForeignKey("poll_links.id", ondelete="CASCADE"), index=True
    )
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class PollResponse(Base):
    """One anonymous answer: no token, address, agent or time finer than the day; a random
    key (and, on SQLite, a table without rowid) so storage order says nothing of arrival."""

    __tablename__ = "poll_responses"
    __table_args__ = (
        Index("ix_poll_responses_campaign_enterprise", "campaign_id", "enterprise_id"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("poll_links.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    day: Mapped[date]
    data: Mapped[dict[str, Any]]


class Report(Base):
    """A PDF report: asked for, rendered by a worker, kept. ``params_key`` and
    ``data_version`` let the same request on unchanged data return the stored PDF."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_params_key_data_version", "params_key", "data_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # wage-benchmark | enterprise | participation
    params: Mapped[dict[str, Any]]
    params_key: Mapped[str] = mapped_column(String(64))
    data_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # queued | rendering | done | failed
    reason: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pages: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[float | None]
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Release(Base):
    """A frozen, protected publication of one campaign's data: what analysts, downloads and
    reports read. Written whole in one transaction and never changed afterwards."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per campaign
    kind: Mapped[str] = mapped_column(String(16))  # wages | satisfaction | assessment
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    during_collection: Mapped[bool] = mapped_column(Boolean, default=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]]  # the rules in force when it was made
    summary: Mapped[dict[str, Any]]  # counts shown in listings (enterprises, cells, hidden)
    data: Mapped[bytes] = mapped_column(LargeBinary)  # the frozen snapshot, by kind
    protection: Mapped[bytes] = mapped_column(LargeBinary)  # the hidden cells and reasons


class ReleaseSurvey(Base):
    """An enterprise survey as it stood when a release was frozen: its revision and review
    state in the release's snapshot (every survey of the campaign, drafts too), so that
    the release's microdata can still be exported after the survey is amended."""

    __tablename__ = "release_surveys"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    review_state: Mapped[str] = mapped_column(String(16))
    # Whether it counted in the release's figures (submitted, and accepted where the
    # campaign required review, then).
    counted: Mapped[bool] = mapped_column(Boolean)


class Reminder(Base):
    """A reminder sent to an enterprise that has not submitted, or the attempt that failed:
    to whom, what, when, by whom, and the mail server's refusal if any."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_campaign_enterprise", "campaign_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    channel: Mapped[str] = mapped_column(String(16))  # email
    address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # sent | failed
    error: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class RateLimit(Base):
    """A limit's state shared by every server process on PostgreSQL (``shared_rates``): per
    key (``token:7``, ``link:12``, ``auth:203.0.113.7``, ``known:<token digest>``), the
    time after which the row says nothing: for a rate, the theoretical arrival time of the
    generic cell rate algorithm (at rest once it has passed); for a mark, when it lapses.
    Unused on SQLite. On PostgreSQL the table is UNLOGGED: no WAL and no flush per request,
    emptied after a crash of the database (every limit then starts afresh)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tat: Mapped[datetime]


class WageGuideline(Base):
    """A year's wage guideline (工资指导线) for a region (a province or a city, GB/T 2260):
    the growth of pay, in percent, that the government advises for the year's negotiations:
    the base line (基准线), the upper line (上线) and the lower line (下线), and where one
    is published the warning line (预警线); with its source, and ``example`` when the
    figures are not a published guideline but stand in for one."""

    __tablename__ = "wage_guidelines"
    __table_args__ = (UniqueConstraint("year", "region"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))
    base_pct: Mapped[float]
    upper_pct: Mapped[float]
    lower_pct: Mapped[float]
    warning_pct: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(500))
    source_url: Mapped[str | None] = mapped_column(String(500))
    published_on: Mapped[date | None]
    example: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CollectiveContract(Base):
    """The bureau's record of an enterprise's collective wage contract (工资专项集体合同):
    whether it has a standing negotiation mechanism, when a contract was signed and until
    when it holds, whom it covers and the pay growth it agrees. One record per enterprise is
    current; a newer record (a correction, a renewal) or a withdrawal supersedes it at
    ``superseded_at``, and records are never edited after, so that what was known on a past
    date can be counted again."""

    __tablename__ = "collective_contracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    has_mechanism: Mapped[bool] = mapped_column(Boolean)
    signed_on: Mapped[date | None]
    term_months: Mapped[int | None] = mapped_column(Integer)
    expires_on: Mapped[date | None]
    coverage_workers: Mapped[int | None] = mapped_column(Integer)
    wage_growth_pct: Mapped[float | None]
    wage_clauses: Mapped[str | None] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """An address an admin registered to be told of events (``survey_service.webhooks``);
    its secret signs every delivery. Removing one deactivates it: its deliveries stay."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """The outbox: one row per event, written in the transaction that made the event; a
    delivery worker turns it into one delivery per endpoint listening then."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class WebhookDelivery(Base):
    """One event for one endpoint: sent until the endpoint answers 2xx, with pauses growing
    between attempts, then ``failed``; ``next_attempt_at`` is also the lease of the worker
    sending it, so a worker that died leaves it due again."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class Export(Base):
    """A microdata export asked for over HTTP: made in the background by the process that
    took the request (again at the next start if that process stopped), its file kept under
    ``var/exports`` (``survey_service.collection.export_jobs``)."""

    __tablename__ = "exports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(8))
    district: Mapped[str | None] = mapped_column(String(6))  # a district's staff: theirs only
    # the release whose surveys are exported (its number), or NULL: the live data
    release: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str | None] = mapped_column(String(500))
    surveys: Mapped[int | None] = mapped_column(Integer)
    rows: Mapped[int | None] = mapped_column(Integer)  # the repeated groups' rows
    size: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The attempt making it (a random token) and when it last said it is alive: another
    # process takes it over only once that is stale.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    heartbeat_at: Mapped[datetime | None]
