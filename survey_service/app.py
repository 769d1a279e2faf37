"""create_app(settings) -> Litestar: routes, plugins, error handlers; no logic."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.types import ASGIApp
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from survey_service import __version__, metrics
from survey_service.analytics.brief_routes import BriefController
from survey_service.analytics.guideline_routes import GuidelineController
from survey_service.analytics.national_routes import NationalLayoutController
from survey_service.analytics.release_routes import ReleaseController
from survey_service.analytics.release_store import ReleaseStore
from survey_service.analytics.score_routes import ScoreController
from survey_service.analytics.table_cache import WageTableCache
from survey_service.analytics.wage_routes import WageBenchmarkController
from survey_service.audit_routes import AuditController
from survey_service.collection.campaign_routes import CampaignChangeController
from survey_service.collection.contract_routes import ContractController
from survey_service.collection.export_jobs import keep_exports, resume_exports, stop_exports
from survey_service.collection.export_routes import ExportController
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.poll_routes import PollController, PollLinkController
from survey_service.collection.routes import (
    CampaignController,
    EnterpriseController,
    SubmissionController,
)
from survey_service.collection.submission_writer import SubmissionWriter
from survey_service.collection.upload_routes import SalaryUploadController, TemplateController
from survey_service.db.engine import Database, open_database
from survey_service.db.faults import NO_ANSWER, outage_log, unavailable_reason
from survey_service.deps import provide_db
from survey_service.errors import ServiceError, internal_error_handler, problem_details_plugin
from survey_service.forms.routes import FormController
from survey_service.forms.service import FormCache
from survey_service.json_depth import refuse_deep_json
from survey_service.logs import request_log
from survey_service.openapi import OPENAPI_PATH, components, problems
from survey_service.process_state import ProcessState
from survey_service.reports.jobs import make_queue, start_queue
from survey_service.reports.render import process_pool
from survey_service.reports.routes import ReportController
from survey_service.reports.subsetting import report_warnings, warn_when_slow
from survey_service.settings import Settings
from survey_service.shared_rates import close_shared_rates
from survey_service.tokens import TokenController
from survey_service.web.admin_pages import AdminPageController
from survey_service.web.analyst_pages import AnalystPageController
from survey_service.web.audit_pages import AuditPageController
from survey_service.web.brief_pages import (
    AdminBriefController,
    EnterpriseBriefController,
    NegotiatorPageController,
)
from survey_service.web.campaign_pages import CampaignPageController
from survey_service.web.contract_pages import ContractPageController
from survey_service.web.enterprise_pages import EnterprisePageController
from survey_service.web.export_pages import ExportPageController
from survey_service.web.form_pages import FormPageController
from survey_service.web.guideline_pages import GuidelinePageController
from survey_service.web.invitation_pages import InvitationPageController
from survey_service.web.landing import landing
from survey_service.web.pages import static_files
from survey_service.web.poll_link_pages import PollLinkPageController
from survey_service.web.poll_pages import PollPageController
from survey_service.web.problem_pages import problem_catalogue, problem_type
from survey_service.web.qr import PollLinkQRController
from survey_service.web.registry_pages import RegistryPageController
from survey_service.web.reminder_pages import ReminderPageController
from survey_service.web.review_pages import ReviewPageController
from survey_service.web.sessions import session_config
from survey_service.web.token_pages import TokenPageController
from survey_service.web.webhook_pages import WebhookPageController
from survey_service.webhooks.delivery import Worker, policy_of
from survey_service.webhooks.routes import WebhookController

# How long /health waits for the database (a host that drops packets never refuses).
HEALTH_TIMEOUT = 5.0


@get("/health", tags=["service"], responses=problems(503))
async def health(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """200 once the database answers, 503 (problem+json) while it does not."""
    db: Database = request.app.state.db
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), db.read() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        found = unavailable_reason(exc) or NO_ANSWER
        outage_log.note(found, exc, "GET /health")
        raise ServiceError(
            "database-unavailable",
            f"The database does not answer ({found.reason}): {type(exc).__name__}",
            headers={"Retry-After": str(found.retry_after)},
            reason=found.reason,
        ) from None
    body: dict[str, Any] = {
        "status": "ok",
        "version": __version__,
        "database": db.engine.dialect.name,
    }
    warnings = report_warnings()
    if warnings:
        body["warnings"] = warnings  # still 200: the service works, reports are slow
    return body


def proxy_middleware(settings: Settings) -> list[Callable[[ASGIApp], ASGIApp]]:
    """Behind trusted proxies only, the client's address and scheme come from their
    X-Forwarded-For and X-Forwarded-Proto (uvicorn's middleware: the rightmost address
    that is not a trusted proxy, so a client cannot prepend one of its choosing)."""
    if not settings.trusted_proxies:
        return []
    trusted = list(settings.trusted_proxies)

    def wrap(app: ASGIApp) -> ASGIApp:
        return cast("ASGIApp", ProxyHeadersMiddleware(cast("Any", app), trusted_hosts=trusted))

    return [wrap]


def create_app(settings: Settings, *, database: Database | None = None) -> Litestar:
    """The ASGI app. ``database`` lets tests share one engine; otherwise it is opened on
    start-up and closed on shutdown."""

    # ``state.process`` is read on each request, so a test may give an app reused between
    # tests a fresh one (tests/conftest.py).
    state = State({"settings": settings, "process": ProcessState.new(settings)})

    def provide_releases() -> ReleaseStore:
        return cast("ProcessState", state.process).release_store

    def provide_form_cache() -> FormCache:
        return cast("ProcessState", state.process).form_cache

    def provide_poll_desk() -> PollDesk:
        return cast("ProcessState", state.process).poll_desk

    def provide_submission_writer() -> SubmissionWriter:
        return cast("ProcessState", state.process).submission_writer

    def provide_wage_tables() -> WageTableCache:
        return cast("ProcessState", state.process).wage_tables

    def provide_settings() -> Settings:
        return settings

    if database is not None:
        state.db = database
        state.process.attach(database)
        # Tests: reports render in a thread (no process pool), the queue made at once.
        state.reports = make_queue(database, settings, None)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # The poll writer's task starts with the first answer; at shutdown it is closed
        # (answers handed in are committed and answered) before the engine goes.
        warn_when_slow()
        if database is not None:
            try:
                yield
            finally:
                await app.state.process.close()
            return
        app.state.db = open_database(settings.database_url)
        app.state.process.attach(app.state.db)
        renderers = process_pool(settings.report_workers)
        app.state.reports = make_queue(app.state.db, settings, renderers)
        await start_queue(app.state.reports)
        webhooks = Worker(app.state.db, policy_of(settings))
        if settings.webhooks_deliver:
            webhooks.start()
        await resume_exports(app.state.db, settings.var_dir)
        exports = asyncio.get_running_loop().create_task(
            keep_exports(app.state.db, settings.var_dir)
        )
        # A server process: what start-up built (modules, routes, mappings, schemas) lives
        # as long as the process, so move it out of the collector's way. Scanning it in
        # each full collection stopped the event loop for 60-80 ms (on the bench machine),
        # every request in flight with it; after gc.freeze() only what came later is
        # scanned.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.process.close()
            exports.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await exports
            await stop_exports()
            await webhooks.close()
            await app.state.reports.close()
            renderers.shutdown(cancel_futures=True)
            await close_shared_rates(app.state.db)
            await app.state.db.dispose()

    return Litestar(
        route_handlers=[
            health,
            landing,
            problem_catalogue,
            problem_type,
            FormController,
            TokenController,
            AuditController,
            EnterpriseController,
            GuidelineController,
            BriefController,
            ContractController,
            CampaignController,
            CampaignChangeController,
            SubmissionController,
            PollLinkController,
            PollController,
            PollPageController,
            SalaryUploadController,
            TemplateController,
            ReportController,
            ScoreController,
            WageBenchmarkController,
            NationalLayoutController,
            WebhookController,
            ExportController,
            ExportPageController,
            WebhookPageController,
            ReleaseController,
            PollLinkQRController,
            EnterprisePageController,
            AdminPageController,
            CampaignPageController,
            RegistryPageController,
            GuidelinePageController,
            ContractPageController,
            EnterpriseBriefController,
            NegotiatorPageController,
            AdminBriefController,
            InvitationPageController,
            PollLinkPageController,
            TokenPageController,
            AuditPageController,
            AnalystPageController,
            FormPageController,
            ReviewPageController,
            ReminderPageController,
            static_files(),
            *([metrics.scrape] if settings.metrics else []),
        ],
        middleware=[
            *proxy_middleware(settings),
            *([request_log] if settings.log_format == "json" else []),
            *([metrics.request_metrics] if settings.metrics else []),
            session_config(settings).middleware,
        ],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "release_store": Provide(provide_releases, sync_to_thread=False),
            "form_cache": Provide(provide_form_cache, sync_to_thread=False),
            "poll_desk": Provide(provide_poll_desk, sync_to_thread=False),
            "wage_tables": Provide(provide_wage_tables, sync_to_thread=False),
            "submission_writer": Provide(provide_submission_writer, sync_to_thread=False),
            "app_settings": Provide(provide_settings, sync_to_thread=False),
        },
        lifespan=[lifespan],
        state=state,
        plugins=[problem_details_plugin()],
        exception_handlers={Exception: internal_error_handler},
        before_request=refuse_deep_json,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="survey_service",
            version=__version__,
            path=OPENAPI_PATH,
            render_plugins=[JsonRenderPlugin()],
            components=components(),
        ),
        debug=settings.debug,
        # Logging is the process's (survey_service.logs), not replaced by Litestar's own.
        logging_config=None,
    )


def app_from_env() -> Litestar:
    """Entry point for ``uvicorn --factory survey_service.app:app_from_env``."""
    return create_app(Settings.from_env())
