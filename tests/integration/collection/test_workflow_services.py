"""The collection workflows called as services, without HTTP, on SQLite and PostgreSQL: the
one call that the API's route and the enterprise's page both make, checked for what it
stores (revisions, audit records, poll answers) and what it refuses."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from survey_service.auth import Principal, principal_by_id, token_digest
from survey_service.collection import saving
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.progress import campaign_progress
from survey_service.db.models import AccessToken, AuditEntry, PollResponse, SubmissionRevision
from tests.conftest import Service
from tests.factories import invited, open_poll
from tests.samples import POLL_ANSWER, salary_document, uscc


async def _principal(service: Service, token: str) -> Principal:
    async with service.db.read() as session:
        token_id = await session.scalar(
            select(AccessToken.id).where(AccessToken.token_hash == token_digest(token))
        )
    assert token_id is not None
    found = await principal_by_id(service.db, token_id)
    assert found is not None
    return found


def _desk(service: Service) -> PollDesk:
    """The app's own desk: the one the routes and pages are given."""
    found: PollDesk = service.app.state.process.poll_desk
    return found


async def test_storing_a_survey_creates_it_then_amends_it_as_a_revision(
    service: Service,
) -> None:
    campaign_id, token = await invited(service)
    principal = await _principal(service, token)
    forms = service.app.state.process.form_cache
    releases = service.app.state.process.release_store
    document = salary_document(uscc(1))
    first = await saving.store_document(
        service.db, forms, releases, principal, campaign_id, document, "draft"
    )
    drafted = copy.deepcopy(document)
    document["employees"][0]["annual_pay"] += 1000
    second = await saving.store_document(
        service.db, forms, releases, principal, campaign_id, document, "submitted"
    )
    assert second.id == first.id
    assert (first.revision, second.revision) == (1, 2)
    assert second.status == "submitted"
    async with service.db.read() as session:
        revisions = list(
            await session.scalars(
                select(SubmissionRevision.revision).where(
                    SubmissionRevision.submission_id == first.id
                )
            )
        )
        # The document is stored once: the current revision's is the submission's, and
        # the replaced one was set aside with the revision that had it.
        kept = {
            revision: data
            for revision, data in await session.execute(
                select(SubmissionRevision.revision, SubmissionRevision.data).where(
                    SubmissionRevision.submission_id == first.id
                )
            )
        }
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("submission.%"))
                .order_by(AuditEntry.id)
            )
        )
        progress = await campaign_progress(session, campaign_id)
    assert sorted(revisions) == [1, 2]
    assert kept == {1: drafted, 2: None}
    assert actions == ["submission.create", "submission.amend"]
    assert (progress.overall.invited, progress.overall.submitted) == (1, 1)


async def test_a_survey_is_stored_only_in_the_principals_own_campaign(service: Service) -> None:
    campaign_id, token = await invited(service)
    principal = await _principal(service, token)
    forms = service.app.state.process.form_cache
    releases = service.app.state.process.release_store
    with pytest.raises(Exception) as refused:
        await saving.store_salary_upload(
            service.db, forms, releases, principal, campaign_id + 1, upload=None,  # type: ignore[arg-type]
            partial=False,
        )  # fmt: skip
    assert getattr(refused.value, "status_code", None) == 404


async def test_the_poll_desk_stores_an_answer_and_refuses_a_second_from_the_device(
    service: Service,
) -> None:
    _, slug = await open_poll(service)
    desk = _desk(service)
    poll = await desk.open_poll(slug)
    day = await desk.receive_answer(poll, POLL_ANSWER, None, answered_here=False)
    with pytest.raises(Exception) as again:
        await desk.receive_answer(poll, POLL_ANSWER, None, answered_here=True)
    assert getattr(again.value, "status_code", None) == 409
    async with service.db.read() as session:
        stored = list(await session.scalars(select(PollResponse)))
    assert [(r.data, r.day) for r in stored] == [(POLL_ANSWER, day)]


async def test_a_withdrawn_link_is_gone_from_the_desk_at_once(service: Service) -> None:
    _, slug = await open_poll(service)
    desk = _desk(service)
    poll = await desk.open_poll(slug)  # now in the desk's cache
    revoked = await service.client.post(
        f"/api/v1/campaigns/{poll.campaign.id}/poll-links/{slug}/revoke", headers=service.admin
    )
    assert revoked.status_code == 204
    with pytest.raises(Exception) as gone:
        await desk.open_poll(slug)
    assert getattr(gone.value, "status_code", None) == 410
