"""What a server process keeps between requests: caches of what does not change (form
versions, releases, tables of a data version), each link's poll, and the limits that live
in the process on SQLite. ``create_app`` makes one and hands its parts to the routes."""

from __future__ import annotations

from dataclasses import dataclass

from survey_service.analytics.release_store import ReleaseStore
from survey_service.analytics.table_cache import WageTableCache
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.polls import LinkRateLimiter, PollCache
from survey_service.collection.submission_writer import SubmissionWriter
from survey_service.db.engine import Database
from survey_service.forms.service import FormCache
from survey_service.guessing import GuessingThrottle
from survey_service.ratelimit import Rates
from survey_service.settings import Settings


@dataclass(frozen=True, slots=True)
class ProcessState:
    form_cache: FormCache
    token_limiter: Rates
    guessing: GuessingThrottle
    poll_desk: PollDesk
    release_store: ReleaseStore  # wage releases loaded and their tables: a release never changes
    wage_tables: WageTableCache
    submission_writer: SubmissionWriter  # new submissions, group-committed

    @classmethod
    def new(cls, settings: Settings) -> ProcessState:
        form_cache = FormCache(ttl=settings.form_cache_seconds)
        release_store = ReleaseStore()
        return cls(
            form_cache=form_cache,
            token_limiter=Rates("token"),
            guessing=GuessingThrottle(settings.auth_failures_per_minute),
            # A link's poll is trusted as long as a form's current version.
            poll_desk=PollDesk(
                cache=PollCache(ttl=settings.form_cache_seconds),
                limiter=LinkRateLimiter(),
                forms=form_cache,
                zone=settings.zone,
            ),
            release_store=release_store,
            wage_tables=WageTableCache(),
            submission_writer=SubmissionWriter(form_cache, release_store),
        )

    def attach(self, db: Database) -> None:
        """Read and write through ``db`` once it is open; the limits move into it when it
        is PostgreSQL (``survey_service.ratelimit``)."""
        self.form_cache.attach(db)
        self.poll_desk.attach(db)
        self.submission_writer.attach(db)
        self.token_limiter.attach(db)
        self.guessing.attach(db)

    async def close(self) -> None:
        """Answers and submissions handed in are committed and answered before the
        engine goes."""
        await self.poll_desk.close()
        await self.submission_writer.close()
