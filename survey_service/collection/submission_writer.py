"""The process's writer of new submissions (the API's ``POST .../submissions``): documents
arriving while another batch commits are created together in one transaction, each in its
own savepoint, and each request learns its outcome only once that transaction has
committed (``group_commit``). A submission refused (invalid, a conflict, a closed
campaign) is left out of the batch and the others still commit.

Each batch loads a campaign, its form and the published pay reference once, inside the
write transaction, however many of its documents belong to the campaign. The window is
0 by default: a lone submission is written at once (no wait for company), and under load
the batches form by themselves while the one before commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.analytics.pay_reference import chosen_release, medians_of, release_columns
from survey_service.analytics.release_store import ReleaseStore
from survey_service.auth import Principal, audit
from survey_service.collection import submissions
from survey_service.collection.group_commit import GroupCommit
from survey_service.collection.saving import form_context
from survey_service.db.engine import Database
from survey_service.db.models import Campaign, Form, FormVersion
from survey_service.errors import ServiceError, not_found
from survey_service.forms.service import FormCache

MAX_BATCH = 16  # documents per transaction: a 1,000-row survey is 0.4 MB of JSON

# The campaign, its form and the release the outlier warning compares with, in one
# statement, built once: SQLAlchemy remembers a statement's cache key, and building this
# one (three aliased subqueries) for each batch cost more than running it.
_CONTEXT = (
    select(Campaign, FormVersion, Form, *release_columns(Campaign.id, Campaign.year, Form.key))
    .join(FormVersion, Campaign.form_version_id == FormVersion.id)
    .join(Form, FormVersion.form_id == Form.id)
    .where(Campaign.id == bindparam("campaign_id"))
)


@dataclass(frozen=True, slots=True)
class NewSubmission:
    """One decoded submission waiting to be checked and stored."""

    principal: Principal
    campaign_id: int
    submission_id: str | None
    data: dict[str, Any]
    status: str


Contexts = dict[int, tuple[Campaign, submissions.FormContext]]


@dataclass(slots=True)
class SubmissionWriter:
    """Made once per process (``ProcessState``); ``attach`` when the database opens."""

    forms: FormCache
    releases: ReleaseStore
    window: float = 0.0
    max_batch: int = MAX_BATCH
    db: Database | None = None
    writer: GroupCommit[NewSubmission, submissions.Stored] | None = None

    def attach(self, db: Database) -> None:
        self.db = db
        self.writer = GroupCommit(self._flush, window=self.window, max_batch=self.max_batch)

    async def close(self) -> None:
        """Submissions handed in are committed and answered before the engine goes."""
        if self.writer is not None:
            await self.writer.close()

    async def create(self, item: NewSubmission) -> submissions.Stored:
        """The submission stored (201) or found again (a retry, 200); returns once its
        transaction has committed, raises its refusal, or a 503 problem if the batch
        failed."""
        if self.writer is None:
            raise RuntimeError("the submission writer stores once the database is attached")
        return await self.writer.submit(item)

    async def _flush(self, items: Sequence[NewSubmission]) -> list[submissions.Stored | Exception]:
        assert self.db is not None
        if len(items) == 1:  # no savepoint: the transaction is the one submission's
            try:
                async with self.db.transaction() as session:
                    return [await self._create(session, items[0], {}, savepoint=False)]
            except (ServiceError, IntegrityError) as exc:
                return [exc]
        outcomes: list[submissions.Stored | Exception] = []
        contexts: Contexts = {}
        async with self.db.transaction() as session:
            for item in items:
                try:
                    outcomes.append(await self._create(session, item, contexts, savepoint=True))
                except (ServiceError, IntegrityError) as exc:
                    outcomes.append(exc)
        return outcomes  # the block has ended: committed

    async def _create(
        self,
        session: AsyncSession,
        item: NewSubmission,
        contexts: Contexts,
        *,
        savepoint: bool,
    ) -> submissions.Stored:
        campaign, ctx = await self._context(session, item.campaign_id, contexts)
        async with session.begin_nested() if savepoint else nullcontext():
            stored = await submissions.create_submission(
                session, item.principal, campaign, ctx, submission_id=item.submission_id,
                data=item.data, status=item.status,
            )  # fmt: skip
            if stored.created:
                target = f"submission:{stored.submission.id}"
                audit(session, item.principal, "submission.create", target)
                await session.flush()  # the audit row inside the savepoint
        return stored

    async def _context(
        self, session: AsyncSession, campaign_id: int, contexts: Contexts
    ) -> tuple[Campaign, submissions.FormContext]:
        found = contexts.get(campaign_id)
        if found is None:
            row = (await session.execute(_CONTEXT, {"campaign_id": campaign_id})).first()
            if row is None:
                raise not_found(f"Campaign {campaign_id}")
            campaign, version, form, own, previous_id, previous = row
            reference = None
            if form.kind == "salary-survey":
                release = chosen_release(campaign_id, campaign.year, own, previous_id, previous)
                reference = await medians_of(session, self.releases, campaign_id, release)
            found = campaign, form_context(self.forms, form, version, reference)
            contexts[campaign_id] = found
        return found
