"""Submissions: idempotent create by client-chosen UUID, drafts, amendments that keep every
revision, and what an enterprise may see (only its own)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import msgspec
from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service import counters
from survey_service.analytics.pay_reference import PayReference
from survey_service.auth import Principal
from survey_service.collection.schemas import ReviewOut, SubmissionOut, SubmissionPage
from survey_service.collection.wages import WAGE_COLUMNS, WageTuple, pay_warnings, wage_rows
from survey_service.db import bulk
from survey_service.db.engine import JSONText
from survey_service.db.models import (
    Campaign,
    Enterprise,
    Form,
    FormVersion,
    Review,
    Submission,
    SubmissionRevision,
    WageRow,
    utcnow,
)
from survey_service.errors import ServiceError, conflict, not_found, unprocessable
from survey_service.forms.validation import validate_document


def data_hash(data: Any) -> str:
    return hashlib.sha256(msgspec.json.encode(data, order="sorted")).hexdigest()


@dataclass(frozen=True, slots=True)
class EncodedDocument:
    """A document checked and encoded already (an upload's): ``text`` is its JSON as
    ``data_hash`` encodes it (keys sorted), stored as it is, and ``content_hash`` that
    text's hash. The workers are read from ``employees`` (records made when asked for),
    so the document never exists as one tree of Python objects."""

    text: JSONText
    content_hash: str
    enterprise: dict[str, Any]
    employees: Sequence[Mapping[str, Any]]


Document = dict[str, Any] | EncodedDocument


def _stated_enterprise(data: Document) -> Any:
    return data.enterprise if isinstance(data, EncodedDocument) else data.get("enterprise")


def _stored(data: Document) -> tuple[Any, str]:
    """The column value and the content hash of a document: the text hashed is the text
    stored (keys sorted), so a document is encoded once."""
    if isinstance(data, EncodedDocument):
        return data.text, data.content_hash
    text = msgspec.json.encode(data, order="sorted")
    return JSONText(text.decode()), hashlib.sha256(text).hexdigest()


def parse_submission_id(raw: str | None) -> str:
    if raw is None:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise unprocessable(
            "The submission id must be a UUID.",
            [{"path": "/id", "message": "not a UUID", "keyword": "format"}],
        ) from None


@dataclass(frozen=True, slots=True)
class FormContext:
    """What a submission is checked against: the campaign's form version, compiled."""

    form: Form
    version: FormVersion
    validator: jsonschema_rs.Draft202012Validator
    # The published occupational pay, for the outlier warning (salary surveys only).
    pay_reference: PayReference | None = None


def _workers(data: Document) -> Sequence[Mapping[str, Any]]:
    if isinstance(data, EncodedDocument):
        return data.employees
    employees: Sequence[Mapping[str, Any]] = data.get("employees") or []
    return employees


async def document_warnings(
    session: AsyncSession,
    data: Document,
    status: str,
    enterprise_id: int | None,
    campaign: Campaign,
    ctx: FormContext,
    origin: SheetOrigin | None,
) -> list[dict[str, Any]]:
    """The checks that warn without refusing (a submitted salary survey's pay), located in
    the sheet for an upload. Found before the submission's row is written, so that the row
    is written once: SQLite rewrites a whole row, 20 MB of document with it, to change its
    warnings."""
    warnings: list[dict[str, Any]] = []
    if ctx.form.kind == "salary-survey" and status == "submitted" and enterprise_id is not None:
        enterprise = await session.get(Enterprise, enterprise_id)
        assert enterprise is not None
        warnings = pay_warnings(
            _workers(data),
            ctx.version.rules,
            year=campaign.year,
            district=enterprise.district,
            reference=ctx.pay_reference,
        )
    return warnings if origin is None else origin.locate(warnings)


async def sync_wage_rows(
    session: AsyncSession,
    row: Submission,
    employees: Sequence[Mapping[str, Any]],
    campaign: Campaign,
    ctx: FormContext,
    *,
    new: bool,
) -> None:
    """Replace the submission's rows in the wage table (same transaction); only a
    submitted salary survey has rows."""
    if ctx.form.kind != "salary-survey":
        return
    if not new:
        await session.execute(delete(WageRow).where(WageRow.submission_id == row.id))
    if row.status != "submitted" or row.enterprise_id is None:
        return
    enterprise = await session.get(Enterprise, row.enterprise_id)
    assert enterprise is not None
    # In slices: the tuples of a 100,000-row upload at once were 25 MB more at the peak.
    for start in range(0, len(employees), WAGE_SLICE):
        part = employees[start : start + WAGE_SLICE]
        records = wage_rows(
            part, enterprise, submission_id=row.id, campaign_id=campaign.id, first_index=start
        )
        await insert_wage_rows(session, records)


WAGE_SLICE = 5_000  # worker rows built and inserted at a time


async def insert_wage_rows(session: AsyncSession, records: list[WageTuple]) -> None:
    """Plain tuples at the driver: SQLAlchemy's Core insert spent more time building each
    row's parameters (about 10 ms of a 1,000-row survey) than the database spent storing
    them."""
    await bulk.insert_tuples(await session.connection(), "wage_rows", WAGE_COLUMNS, records)


def check_enterprise(data: Document, uscc: str | None) -> None:
    """A salary survey speaks of the invited enterprise, not another one."""
    stated = (_stated_enterprise(data) or {}).get("uscc")
    if uscc is not None and stated is not None and stated != uscc:
        raise unprocessable(
            "The document names another enterprise than the invitation's.",
            [
                {
                    "path": "/enterprise/uscc",
                    "message": "must be the invited enterprise's code",
                    "message_zh": "须为受邀企业的统一社会信用代码",
                    "keyword": "const",
                }
            ],
        )


@dataclass(frozen=True, slots=True)
class SheetOrigin:
    """Where an uploaded document's workers came from: the sheet row of each stored worker,
    the header of each key as written, and the reader's own warnings (repeated rows)."""

    rows: list[int]
    columns: dict[str, str]
    warnings: list[dict[str, Any]]

    def locate(self, warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The reader's warnings, then each pay warning with the sheet row and column its
        JSON Pointer (``/employees/5/annual_pay``) names."""
        located = list(self.warnings)
        for warning in warnings:
            _, _, index, key = [*warning["path"].split("/"), "", "", "", ""][:4]
            if index.isdigit() and int(index) < len(self.rows):
                warning = warning | {
                    "row": self.rows[int(index)],
                    "column": self.columns.get(key, key),
                }
            located.append(warning)
        return located


@dataclass(frozen=True, slots=True)
class Stored:
    submission: SubmissionOut
    created: bool


def submission_out(
    row: Submission,
    uscc: str | None,
    *,
    with_data: bool = True,
) -> SubmissionOut:
    return SubmissionOut(
        warnings=list(row.warnings or []),
        id=row.id,
        campaign_id=row.campaign_id,
        enterprise=uscc,
        status=row.status,
        review_state=row.review_state,
        revision=row.revision,
        received_at=row.received_at,
        updated_at=row.updated_at,
        data=row.data if with_data else None,
    )


def check_document(
    validator: jsonschema_rs.Draft202012Validator, schema: Any, data: Any, status: str
) -> None:
    errors = validate_document(validator, data, schema=schema, draft=status == "draft")
    if errors:
        raise unprocessable("The submission does not satisfy the form.", errors)


def require_open(campaign: Campaign) -> None:
    now = utcnow()
    if now < campaign.opens_at:
        raise ServiceError(
            "campaign-not-open", f"The campaign opens at {campaign.opens_at.isoformat()}."
        )
    if now >= campaign.closes_at:
        raise ServiceError(
            "campaign-closed", f"The campaign closed at {campaign.closes_at.isoformat()}."
        )


async def _uscc(session: AsyncSession, enterprise_id: int | None) -> str | None:
    if enterprise_id is None:
        return None
    return await session.scalar(select(Enterprise.uscc).where(Enterprise.id == enterprise_id))


async def uscc_of(session: AsyncSession, row: Submission) -> str | None:
    """The credit code of the enterprise that made ``row``."""
    return await _uscc(session, row.enterprise_id)


async def submission_page(
    session: AsyncSession, campaign_id: int, *, limit: int, after: str | None
) -> SubmissionPage:
    """A campaign's submissions (without their data) in id order, ``limit`` after the id
    ``after``, with the cursor of the next page."""
    query = (
        select(Submission, Enterprise.uscc)
        .outerjoin(Enterprise, Submission.enterprise_id == Enterprise.id)
        .where(Submission.campaign_id == campaign_id)
        .order_by(Submission.id)
    )
    if after:
        query = query.where(Submission.id > after)
    rows = list(await session.execute(query.limit(limit + 1)))
    page = rows[:limit]
    return SubmissionPage(
        items=[submission_out(s, u, with_data=False) for s, u in page],
        next_cursor=page[-1][0].id if len(rows) > limit else None,
    )


# Built once (SQLAlchemy then remembers its cache key): each survey asks it.
_EXISTING_AND_ENTERPRISE = select(
    Enterprise,
    select(Submission.id).where(Submission.id == bindparam("sid")).scalar_subquery(),
    select(Submission.id)
    .where(
        Submission.campaign_id == bindparam("campaign_id"),
        Submission.enterprise_id == bindparam("enterprise_id"),
    )
    .limit(1)
    .scalar_subquery(),
).where(Enterprise.id == bindparam("enterprise_id"))


async def _existing_and_enterprise(
    session: AsyncSession, sid: str, campaign_id: int, principal: Principal
) -> tuple[set[str], Enterprise | None]:
    """The ids among this one and the enterprise's submission in the campaign that exist,
    and the enterprise itself (not only its code: the pay checks and the wage rows read it),
    in one statement: each statement is several hops to SQLite's thread."""
    enterprise_id = principal.enterprise_id
    if enterprise_id is not None:
        params = {"sid": sid, "campaign_id": campaign_id, "enterprise_id": enterprise_id}
        row = (await session.execute(_EXISTING_AND_ENTERPRISE, params)).first()
        if row is not None:
            return {i for i in (row[1], row[2]) if i is not None}, row[0]
    query = select(Submission.id).where(
        or_(
            Submission.id == sid,
            and_(Submission.campaign_id == campaign_id, Submission.enterprise_id == enterprise_id),
        )
    )
    found = set(await session.scalars(query))
    enterprise = None if enterprise_id is None else await session.get(Enterprise, enterprise_id)
    return found, enterprise


async def create_submission(
    session: AsyncSession,
    principal: Principal,
    campaign: Campaign,
    ctx: FormContext,
    *,
    submission_id: str | None,
    data: Document,
    status: str,
    checked: bool = False,
    origin: SheetOrigin | None = None,
) -> Stored:
    sid = parse_submission_id(submission_id)
    stored, digest = _stored(data)
    found, enterprise = await _existing_and_enterprise(session, sid, campaign.id, principal)
    if sid in found:
        existing = await session.get(Submission, sid)
        assert existing is not None
        if (existing.enterprise_id, existing.campaign_id) != (principal.enterprise_id, campaign.id):
            raise not_found("Submission")  # another's: never say that it exists
        first = await session.scalar(
            select(SubmissionRevision).where(
                SubmissionRevision.submission_id == sid, SubmissionRevision.revision == 1
            )
        )
        same = first is not None and first.content_hash == digest and first.status == status
        if not same:
            raise conflict("A submission with this id exists with other data.")
        uscc = await _uscc(session, existing.enterprise_id)
        return Stored(submission_out(existing, uscc, with_data=False), created=False)
    require_open(campaign)
    if not checked:  # an upload's document was validated as a whole already
        assert not isinstance(data, EncodedDocument)
        check_document(ctx.validator, ctx.version.schema, data, status)
    uscc = enterprise.uscc if enterprise is not None else None
    check_enterprise(data, uscc)
    other = next(iter(found), None)
    if other is not None:
        raise conflict(
            "This enterprise has a submission in this campaign already; amend it instead.",
            kind="already-submitted",
            submission_id=other,
        )
    warnings = await document_warnings(
        session, data, status, principal.enterprise_id, campaign, ctx, origin
    )
    now = utcnow()
    row = Submission(
        id=sid,
        campaign_id=campaign.id,
        enterprise_id=principal.enterprise_id,
        form_version_id=campaign.form_version_id,
        status=status,
        review_state="pending",
        revision=1,
        data=stored,
        content_hash=digest,
        warnings=warnings,
        received_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    await _keep_revision(session, row, principal)
    await sync_wage_rows(session, row, _workers(data), campaign, ctx, new=True)
    counters.submissions.labels(ctx.form.kind, status).inc()
    return Stored(submission_out(row, uscc, with_data=False), created=True)


async def _keep_revision(
    session: AsyncSession, row: Submission, principal: Principal
) -> SubmissionRevision:
    """The submission as it now stands, kept as its revision ``row.revision``. Its
    document is the submission's, not repeated (``data`` NULL) until an amendment
    replaces it (``_set_aside``): an upload's document, 20 MB of JSON, is written once."""
    revision = SubmissionRevision(
        submission_id=row.id,
        revision=row.revision,
        status=row.status,
        data=None,
        content_hash=row.content_hash,
        warnings=row.warnings,
        author_token_id=principal.token_id,
        created_at=row.updated_at,
    )
    session.add(revision)
    await session.flush()
    return revision


async def _set_aside(session: AsyncSession, row: Submission) -> None:
    """Before an amendment replaces the submission's document: the revision that shared it
    gets its own copy, made by the database (the document is never read back here)."""
    await session.execute(
        update(SubmissionRevision)
        .where(SubmissionRevision.submission_id == row.id, SubmissionRevision.data.is_(None))
        .values(data=select(Submission.data).where(Submission.id == row.id).scalar_subquery())
        .execution_options(synchronize_session=False)
    )


def revision_document(revision: SubmissionRevision, row: Submission) -> dict[str, Any]:
    """The document of a kept revision of ``row``."""
    return row.data if revision.data is None else revision.data


async def visible_submission(
    session: AsyncSession, principal: Principal, submission_id: str
) -> Submission:
    """The submission if this principal may see it; otherwise 404, never 403."""
    try:
        sid = str(uuid.UUID(submission_id))
    except ValueError:
        raise not_found("Submission") from None
    row = await session.get(Submission, sid)
    if row is None:
        raise not_found("Submission")
    if principal.role == "enterprise" and (
        row.enterprise_id != principal.enterprise_id or row.campaign_id != principal.campaign_id
    ):
        raise not_found("Submission")
    return row


async def amend_submission(
    session: AsyncSession,
    principal: Principal,
    row: Submission,
    campaign: Campaign,
    ctx: FormContext,
    *,
    data: Document,
    status: str,
    checked: bool = False,
    origin: SheetOrigin | None = None,
) -> SubmissionOut:
    if row.status == "submitted" and status == "draft":
        raise conflict("A submitted survey cannot go back to draft; amend it as submitted.")
    require_open(campaign)
    if not checked:  # an upload's document was validated as a whole already
        assert not isinstance(data, EncodedDocument)
        check_document(ctx.validator, ctx.version.schema, data, status)
    uscc = await _uscc(session, row.enterprise_id)
    check_enterprise(data, uscc)
    now = utcnow()
    revision = (
        await session.scalar(
            select(func.max(SubmissionRevision.revision)).where(
                SubmissionRevision.submission_id == row.id
            )
        )
        or 0
    ) + 1
    await _set_aside(session, row)
    row.warnings = await document_warnings(
        session, data, status, row.enterprise_id, campaign, ctx, origin
    )
    row.data, row.content_hash = _stored(data)
    row.status, row.revision, row.updated_at = status, revision, now
    row.review_state = "pending"
    await _keep_revision(session, row, principal)
    await sync_wage_rows(session, row, _workers(data), campaign, ctx, new=False)
    counters.submissions.labels(ctx.form.kind, status).inc()
    return submission_out(row, uscc, with_data=False)


async def review_submission(
    session: AsyncSession, principal: Principal, row: Submission, state: str, reason: str | None
) -> ReviewOut:
    """Accept or return the current revision of a submitted survey; returning needs a reason
    the enterprise can act on. Every verdict is kept."""
    if row.status != "submitted":
        raise conflict(
            "Only a submitted survey can be reviewed; this one is a draft.",
            detail_zh="只能审核已提交的问卷，这份还是草稿。",
        )
    if state == "returned" and not (reason and reason.strip()):
        raise unprocessable(
            "A returned survey needs a reason.",
            [{"path": "/reason", "message": "required when returning",
              "message_zh": "退回须填写原因", "keyword": "required"}],
        )  # fmt: skip
    review = Review(
        submission_id=row.id,
        revision=row.revision,
        state=state,
        reason=reason,
        reviewer_token_id=principal.token_id,
    )
    session.add(review)
    row.review_state = state
    await session.flush()
    return ReviewOut(revision=review.revision, state=state, reason=reason, at=review.at)


async def review_history(session: AsyncSession, submission_id: str) -> list[ReviewOut]:
    rows = await session.scalars(
        select(Review).where(Review.submission_id == submission_id).order_by(Review.id)
    )
    return [ReviewOut(revision=r.revision, state=r.state, reason=r.reason, at=r.at) for r in rows]
