"""The command line: ``python -m survey_service
serve|worker|migrate|load-forms|token|demo|report|backup|restore``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from survey_service.auth import issue_token
from survey_service.db import backup
from survey_service.db.engine import open_database
from survey_service.db.migrate import startup_lock, upgrade
from survey_service.forms.registry import load_shipped_forms
from survey_service.logs import configure_logging, logging_config
from survey_service.reports.jobs import (
    SharedQueue,
    build_pdf,
    procrastinate_conninfo,
    work_until_signalled,
)
from survey_service.reports.kinds import KINDS, ReportError, report_params
from survey_service.reports.render import process_pool, start_processes
from survey_service.settings import Settings
from survey_service.tokens import ensure_admin_token
from survey_service.web.landing import served_addresses
from survey_service.web.sessions import session_secret
from survey_service.webhooks.delivery import Worker, policy_of


async def prepare(settings: Settings) -> None:
    """Migrate, load the shipped forms and make sure an admin token and the session secret
    exist (before the server processes start, so that they share one)."""
    session_secret(settings)
    db = open_database(settings.database_url)
    try:
        async with startup_lock(db.engine):
            await upgrade(db.engine)
            await load_shipped_forms(db, settings.form_schemas_dir)
            await ensure_admin_token(db, settings.var_dir, settings.admin_token)
    finally:
        await db.dispose()


async def _migrate(settings: Settings) -> None:
    db = open_database(settings.database_url)
    try:
        async with startup_lock(db.engine):
            await upgrade(db.engine)
    finally:
        await db.dispose()


async def _load_forms(settings: Settings) -> None:
    db = open_database(settings.database_url)
    try:
        async with startup_lock(db.engine):
            changed = await load_shipped_forms(db, settings.form_schemas_dir)
        print("new versions:", ", ".join(changed) if changed else "none")
    finally:
        await db.dispose()


async def _token(settings: Settings, role: str, label: str) -> None:
    db = open_database(settings.database_url)
    try:
        async with db.transaction() as session:
            token, _ = await issue_token(session, role, label=label)  # type: ignore[arg-type]
        print(token)
    finally:
        await db.dispose()


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    # Imported here, for this command only: the demo and its generator are no part of serving.
    from survey_service.demo import fill, synthetic

    await prepare(settings)
    db = open_database(settings.database_url)
    try:
        summary = await fill.fill_demo(
            db,
            enterprises_count=_given(args.enterprises, fill.DEFAULT_ENTERPRISES),
            seed=_given(args.seed, synthetic.SEED),
            year=_given(args.year, fill.DEFAULT_YEAR),
            force=args.force,
        )
    except fill.DemoRefused as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(
        f"demo city filled in {summary.seconds:.1f} s (seed {summary.seed}): "
        f"{summary.enterprises} enterprises, {summary.worker_rows:,} worker rows"
    )
    ids = {c.form_key: c.id for c in reversed(summary.campaigns)}
    print(
        "Serve it (make run) and ask, with the admin token in "
        f"{settings.var_dir / 'admin-token'}:\n"
        f"  /api/v1/participation?year={summary.year}\n"
        f"  /api/v1/campaigns/{ids['worker-satisfaction']}/satisfaction?by=district\n"
        f"  /api/v1/campaigns/{ids['enterprise-self-assessment']}/assessments\n"
        f"  /api/v1/campaigns/{ids['salary-survey']}/progress"
    )
    return 0


def _given(option: int | None, default: int) -> int:
    return default if option is None else option


def serve(settings: Settings) -> None:
    import uvicorn

    asyncio.run(prepare(settings))
    print("survey_service serves:", *served_addresses(settings.host, settings.port), sep="\n")
    if settings.admin_token is None:
        print(f"  the admin token is in {settings.var_dir / 'admin-token'}")
    sys.stdout.flush()
    if settings.workers > 1 and settings.metrics:
        from survey_service.metrics import share_between_processes

        share_between_processes(settings.var_dir / "metrics")
    uvicorn.run(
        "survey_service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # SIGTERM: no new connection; the requests in flight finish, or are cancelled after
        # this long; then the app's shutdown runs.
        timeout_graceful_shutdown=settings.shutdown_seconds,
        log_level="info",
        log_config=logging_config(settings.log_format),
        access_log=False,
        # The app alone decides whom to believe about the client (SURVEY_TRUSTED_PROXIES);
        # uvicorn would otherwise trust X-Forwarded-For from 127.0.0.1.
        proxy_headers=False,
    )


async def _worker(settings: Settings) -> int:
    """Render the reports the servers queue (PostgreSQL), with the servers' process pool
    and job, until SIGTERM or SIGINT."""
    if settings.is_sqlite:
        print(
            "worker: refused: the report worker runs on PostgreSQL only. The embedded SQLite "
            "database is served by one process, the server, which renders the reports "
            "itself; set SURVEY_DATABASE_URL to a PostgreSQL database to run workers apart.",
            file=sys.stderr,
        )
        return 2
    db = open_database(settings.database_url)
    renderers = process_pool(settings.report_workers)
    start_processes(renderers, settings.report_workers)
    queue = SharedQueue(db, settings, renderers, procrastinate_conninfo(db))
    # It sends webhooks too, so that servers set not to (SURVEY_WEBHOOKS_DELIVER=false)
    # leave them to it.
    webhooks = Worker(db, policy_of(settings))
    if settings.webhooks_deliver:
        webhooks.start()
    try:
        await work_until_signalled(queue)
    finally:
        await webhooks.close()
        renderers.shutdown(cancel_futures=True)
        await db.dispose()
    return 0


async def _report(settings: Settings, args: argparse.Namespace) -> int:
    raw = {"campaign_id": args.campaign, "enterprise": args.enterprise, "year": args.year,
           "annex": args.annex}  # fmt: skip
    try:
        params = report_params(args.kind, {k: v for k, v in raw.items() if v is not None})
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    db = open_database(settings.database_url)
    executor = process_pool(args.workers) if args.workers > 1 else None
    try:
        pdf, pages = await build_pdf(db, settings, args.kind, params, executor)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
        if executor is not None:
            executor.shutdown()
    args.output.write_bytes(pdf)
    print(f"{args.output}: {pages} pages, {len(pdf):,} bytes")
    return 0


async def _backup(settings: Settings, output: Path | None) -> int:
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = settings.var_dir / "backups" / f"backup-{stamp}.zip"
        output.parent.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.database_url)
    try:
        outcome = await backup.backup(db, output)
    except (backup.BackupError, OSError) as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    rows = sum(t.rows for t in outcome.manifest.tables)
    print(
        f"{output}: {len(outcome.manifest.tables)} tables, {rows:,} rows, "
        f"{outcome.archive_bytes:,} bytes, schema revision {outcome.manifest.schema_revision}, "
        f"in {outcome.seconds:.1f} s"
    )
    return 0


async def _restore(settings: Settings, archive: Path, force: bool) -> int:
    db = open_database(settings.database_url)
    try:
        outcome = await backup.restore(db, archive, force=force)
    except backup.BackupError as exc:
        print(f"restore: refused, nothing was changed: {exc}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    manifest = outcome.manifest
    rows = sum(t.rows for t in manifest.tables)
    print(
        f"restored {archive} ({manifest.source_backend}, {manifest.created_at:%Y-%m-%d %H:%M} "
        f"UTC): {len(manifest.tables)} tables, {rows:,} rows, in {outcome.seconds:.1f} s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="survey_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, load forms, then serve HTTP")
    commands.add_parser(
        "worker",
        help="render the queued PDF reports until SIGTERM/SIGINT (PostgreSQL only; beside "
        "servers with SURVEY_SERVER_RENDERS_REPORTS=false)",
    )
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("load-forms", help="load form_schemas/ (new versions for changes)")
    token = commands.add_parser("token", help="create an admin or analyst token")
    token.add_argument("--role", choices=["admin", "analyst"], required=True)
    token.add_argument("--label", required=True)
    filler = commands.add_parser(
        "demo", help="fill an empty database with a synthetic city (refuses a filled one)"
    )
    # No defaults here: they are the demo's own (DEFAULT_ENTERPRISES, SEED, DEFAULT_YEAR),
    # read when the command runs, so that the other commands never import the demo.
    filler.add_argument("--enterprises", type=int, help="how many enterprises")
    filler.add_argument("--seed", type=int, help="the same seed, the same city")
    filler.add_argument("--year", type=int, help="this year's campaigns")
    filler.add_argument(
        "--force", action="store_true", help="add the demo even if the database holds data"
    )
    report = commands.add_parser("report", help="render a PDF report to a file")
    report.add_argument("kind", choices=sorted(KINDS))
    report.add_argument("--campaign", type=int, help="the campaign (wage-benchmark, enterprise)")
    report.add_argument("--enterprise", help="the enterprise's credit code (enterprise)")
    report.add_argument("--year", type=int, help="the year (participation)")
    report.add_argument(
        "--annex", action="store_true", help="list the enterprises still missing (participation)"
    )
    report.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    report.add_argument("-o", "--output", type=Path, required=True)
    saver = commands.add_parser(
        "backup", help="export the whole database to a portable archive (.zip of JSON Lines)"
    )
    saver.add_argument(
        "-o", "--output", type=Path, help="the archive (default: var/backups/backup-<time>.zip)"
    )
    loader = commands.add_parser(
        "restore", help="load an archive into an empty database (SQLite or PostgreSQL)"
    )
    loader.add_argument("archive", type=Path)
    loader.add_argument(
        "--force", action="store_true", help="replace the data of a database that is not empty"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    if args.command == "serve":
        serve(settings)
    elif args.command == "worker":
        return asyncio.run(_worker(settings))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "load-forms":
        asyncio.run(_load_forms(settings))
    elif args.command == "token":
        asyncio.run(_token(settings, args.role, args.label))
    elif args.command == "demo":
        return asyncio.run(_demo(settings, args))
    elif args.command == "report":
        return asyncio.run(_report(settings, args))
    elif args.command == "backup":
        return asyncio.run(_backup(settings, args.output))
    elif args.command == "restore":
        return asyncio.run(_restore(settings, args.archive, args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
