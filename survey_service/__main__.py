"""The command line: ``python -m survey_service serve|migrate|load-forms|token``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from survey_service.auth import issue_token
from survey_service.db.engine import open_database
from survey_service.db.migrate import upgrade
from survey_service.forms.registry import load_shipped_forms
from survey_service.settings import Settings
from survey_service.tokens import ensure_admin_token
from survey_service.web.sessions import session_secret


async def prepare(settings: Settings) -> None:
    """Migrate, load the shipped forms and make sure an admin token and the session secret
    exist (before the server processes start, so that they share one)."""
    session_secret(settings)
    db = open_database(settings.database_url)
    try:
        await upgrade(db.engine)
        await load_shipped_forms(db, settings.form_schemas_dir)
        await ensure_admin_token(db, settings.var_dir, settings.admin_token)
    finally:
        await db.dispose()


async def _migrate(settings: Settings) -> None:
    db = open_database(settings.database_url)
    try:
        await upgrade(db.engine)
    finally:
        await db.dispose()


async def _load_forms(settings: Settings) -> None:
    db = open_database(settings.database_url)
    try:
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


def serve(settings: Settings) -> None:
    import uvicorn

    asyncio.run(prepare(settings))
    uvicorn.run(
        "survey_service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="survey_service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="migrate, load forms, then serve HTTP")
    commands.add_parser("migrate", help="apply the database migrations")
    commands.add_parser("load-forms", help="load form_schemas/ (new versions for changes)")
    token = commands.add_parser("token", help="create an admin or analyst token")
    token.add_argument("--role", choices=["admin", "analyst"], required=True)
    token.add_argument("--label", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.command == "serve":
        serve(settings)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "load-forms":
        asyncio.run(_load_forms(settings))
    elif args.command == "token":
        asyncio.run(_token(settings, args.role, args.label))
    return 0


if __name__ == "__main__":
    sys.exit(main())
