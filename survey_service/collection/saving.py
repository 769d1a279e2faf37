"""Storing an enterprise's survey, once for every door it comes through: the API's routes,
the spreadsheet upload and the enterprise's pages call these with the per-process caches
they are given (the compiled validators, the loaded wage releases), never a request."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import UploadFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service import counters
from survey_service.analytics.pay_reference import PayReference, published_medians
from survey_service.analytics.release_store import ReleaseStore
from survey_service.auth import Principal, audit
from survey_service.collection import campaigns, submissions, uploads
from survey_service.collection.schemas import SubmissionOut
from survey_service.db.engine import Database
from survey_service.db.models import Enterprise, Form, FormVersion, Submission
from survey_service.errors import ServiceError, not_found
from survey_service.forms.service import FormCache
from survey_service.forms.validation import validate_document
from survey_service.webhooks import events as webhook_events


def form_context(
    form_cache: FormCache, form: Form, version: FormVersion, reference: PayReference | None
) -> submissions.FormContext:
    validator = form_cache.validators.get(version.id, version.schema)
    return submissions.FormContext(form, version, validator, reference)


async def pay_reference(store: ReleaseStore, db: Database, campaign_id: int) -> PayReference | None:
    """The published occupational medians the outlier warning compares with (read outside
    the write transaction; None where no release publishes them)."""
    async with db.read() as session:
        return await published_medians(session, store, campaign_id)


async def own_submission(
    session: AsyncSession, campaign_id: int, enterprise_id: int | None
) -> Submission | None:
    """The enterprise's submission in the campaign, if it has one (at most one)."""
    found: Submission | None = await session.scalar(
        select(Submission).where(
            Submission.campaign_id == campaign_id, Submission.enterprise_id == enterprise_id
        )
    )
    return found


async def store_document(
    db: Database,
    form_cache: FormCache,
    store: ReleaseStore,
    principal: Principal,
    campaign_id: int,
    data: submissions.Document,
    status: str,
    *,
    action: str | None = None,
    checked: bool = False,
    origin: submissions.SheetOrigin | None = None,
    reference: PayReference | None = None,
    **audited: Any,
) -> SubmissionOut:
    """The enterprise's survey created, or amended as a new revision when it has one, in
    one transaction with its audit record: ``submission.create`` or ``submission.amend``,
    or ``action`` (``submission.upload``) for either."""
    if reference is None:
        reference = await pay_reference(store, db, campaign_id)
    async with db.transaction() as session:
        campaign, version, form = await campaigns.load_campaign(session, campaign_id)
        ctx = form_context(form_cache, form, version, reference)
        existing = await own_submission(session, campaign_id, principal.enterprise_id)
        if existing is None:
            stored = await submissions.create_submission(
                session, principal, campaign, ctx, submission_id=None, data=data,
                status=status, checked=checked, origin=origin,
            )  # fmt: skip
            out = stored.submission
            default = ("submission.create", f"submission:{out.id}")
        else:
            out = await submissions.amend_submission(
                session, principal, existing, campaign, ctx, data=data, status=status,
                checked=checked, origin=origin,
            )  # fmt: skip
            default = ("submission.amend", f"submission:{out.id}:{out.revision}")
        if action is None:
            audit(session, principal, default[0], default[1], **audited)
        else:
            audit(session, principal, action, f"submission:{out.id}", **audited)
            # An upload is also the survey received or amended, for whoever listens to that.
            webhook_events.record_audited(session, default[0], default[1], {})
    return out


async def store_salary_upload(
    db: Database,
    form_cache: FormCache,
    store: ReleaseStore,
    principal: Principal,
    campaign_id: int,
    upload: UploadFile,
    *,
    partial: bool,
) -> tuple[int, dict[str, Any]]:
    """Check an uploaded sheet and store it as the enterprise's survey: ``(201, body)``, or
    ``(422, body)`` with the errors by row and column and nothing stored (the API's answer
    and the enterprise page's both)."""
    if principal.campaign_id != campaign_id:
        raise not_found(f"Campaign {campaign_id}")
    async with db.read() as session:
        campaign, version, form = await campaigns.load_campaign(session, campaign_id)
        enterprise = await session.get(Enterprise, principal.enterprise_id)
    schema = uploads.row_schema(version.schema)
    if form.kind != "salary-survey" or schema is None or enterprise is None:
        raise ServiceError("unprocessable", "This campaign's form takes no salary spreadsheet.")
    submissions.require_open(campaign)
    sheet = await uploads.read_upload(upload, schema)
    reference = await pay_reference(store, db, campaign_id)
    ctx = form_context(form_cache, form, version, reference)
    enterprise_part = uploads.enterprise_part(enterprise)
    check = uploads.check_rows(
        sheet,
        validate_document(
            ctx.validator,
            {"enterprise": enterprise_part, "employees": list(sheet.records)},
            schema=version.schema,
        ),
    )
    body: dict[str, Any] = {
        "rows_accepted": 0,
        "rows_rejected": len(check.rejected_rows),
        "errors": check.errors,
        "warnings": list(sheet.warnings),
    }
    counters.upload_rows.labels("rejected").inc(len(check.rejected_rows))
    if (check.errors and not partial) or not check.accepted:
        counters.salary_uploads.labels("refused").inc()
        return 422, body | {"submission_id": None}
    employees = sheet.records
    if check.rejected_rows:  # the rows left are checked as they stand
        employees = employees.subset(check.accepted)
        submissions.check_document(
            ctx.validator, version.schema,
            {"enterprise": enterprise_part, "employees": list(employees)}, "submitted",
        )  # fmt: skip
    document = uploads.encode_document(enterprise_part, employees)
    origin = submissions.SheetOrigin(
        check.accepted_rows,
        sheet.columns,
        [dict(w) for w in sheet.warnings] + uploads.left_out(check),
    )
    out = await store_document(
        db, form_cache, store, principal, campaign_id, document, "submitted",
        action="submission.upload", checked=True, origin=origin, reference=reference,
        rows=len(check.accepted), rejected=len(check.rejected_rows),
    )  # fmt: skip
    counters.salary_uploads.labels("stored").inc()
    counters.upload_rows.labels("accepted").inc(len(check.accepted))
    body |= {
        "submission_id": out.id,
        "rows_accepted": len(check.accepted),
        "warnings": out.warnings,
    }
    return 201, body
