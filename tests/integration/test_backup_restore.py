"""Backup and restore through the command line, on both backends and across them.

A database is filled through the API (forms, enterprises, a salary survey with JSON
submissions, an amendment, a review and a spreadsheet upload, a release of it (binary
columns), a worker poll with answers, a rendered PDF report, the audit log all that
leaves), backed up with ``python -m survey_service backup`` and restored with ``python -m
survey_service restore`` into an empty database of each backend (SQLite into PostgreSQL
and back). The restored database holds the same rows in every table, the API answers the
same (to the byte for the PDF), and new writes go on from there. An archive that was
tampered with, made at another schema revision, or meant for a database that holds data
is refused and nothing is written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import pytest
from sqlalchemy import inspect, select

from survey_service.app import create_app
from survey_service.db import archive
from survey_service.db.backup import BackupError, backup, model_tables, restore
from survey_service.db.engine import Database, open_database
from survey_service.db.migrate import upgrade
from survey_service.forms.registry import load_shipped_forms
from tests.conftest import BACKENDS, Service
from tests.factories import (
    answer_poll,
    bearer,
    create_campaign,
    invite,
    poll_link,
    register_enterprises,
    submit,
    upload_salaries,
)
from tests.integration.analytics.release_helpers import release
from tests.integration.faults.server import (
    numbered_answer,
    private_postgres,
)
from tests.integration.reports.report_helpers import wait_for
from tests.paths import PROJECT_ROOT
from tests.samples import POLL_ANSWER, enterprise, salary_document, uscc

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out

YEAR = 2023
CLI_TIMEOUT = 120


def _cli(url: str, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")} | {
        "SURVEY_DATABASE_URL": url,
        "SURVEY_VAR_DIR": str(var_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "survey_service", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


async def _fill(service: Service) -> dict[str, Any]:
    """A little of everything, through the API; the ids the comparison needs."""
    client, admin = service.client, service.admin
    await register_enterprises(service, *range(6))
    salary = await create_campaign(service, year=YEAR)
    tokens = await invite(service, salary, *range(6))
    submissions = [
        await submit(service, salary, tokens[n], salary_document(uscc(n))) for n in range(4)
    ]
    amended = salary_document(uscc(0))
    amended["employees"] = amended["employees"] * 2
    response = await client.put(
        f"/api/v1/submissions/{submissions[0]}",
        json={"data": amended},
        headers=bearer(tokens[0]),
    )
    assert response.status_code == 200, response.text
    response = await client.post(
        f"/api/v1/submissions/{submissions[1]}/review",
        json={"state": "returned", "reason": "请核对第2行的工资构成"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    sheet = "occupation,months_worked,annual_pay,education\n" + "".join(
        f"6-01-02-03,12,{52_000 + 300 * i},bachelor\n" for i in range(12)
    )
    response = await upload_salaries(service, salary, tokens[4], sheet.encode(), "payroll.csv")
    assert response.status_code == 201, response.text
    submissions.append(response.json()["submission_id"])
    await release(service, salary)

    poll = await create_campaign(service, "worker-satisfaction", year=YEAR)
    slug = (await poll_link(service, poll, 0))["link"]
    for i in range(6):
        response = await answer_poll(service, slug, numbered_answer(i, POLL_ANSWER))
        assert response.status_code == 201, response.text
    client.cookies.clear()

    response = await client.post(
        "/api/v1/reports",
        json={"type": "participation", "year": YEAR},
        headers=admin,
    )
    assert response.status_code == 202, response.text
    report = response.json()["id"]
    done = await wait_for(service, admin, report)
    assert done["status"] == "done"
    return {
        "salary": salary,
        "poll": poll,
        "submissions": submissions,
        "report": report,
        "as_of": done["params"]["as_of"],  # the instant the circular counted at
    }


def _paths(ids: dict[str, Any]) -> list[str]:
    salary, poll = ids["salary"], ids["poll"]
    paths = [
        "/api/v1/forms",
        "/api/v1/forms/salary-survey",
        "/api/v1/forms/worker-satisfaction",
        "/api/v1/enterprises",
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{salary}",
        f"/api/v1/campaigns/{salary}/progress",
        f"/api/v1/campaigns/{salary}/submissions",
        f"/api/v1/campaigns/{salary}/benchmarks/wages?by=occupation",
        f"/api/v1/campaigns/{salary}/benchmarks/wages?by=district&format=csv",
        f"/api/v1/campaigns/{salary}/benchmarks/wages?by=district&release=live",
        f"/api/v1/campaigns/{salary}/releases",
        f"/api/v1/campaigns/{salary}/releases/1",
        f"/api/v1/campaigns/{poll}/poll-links",
        f"/api/v1/campaigns/{poll}/satisfaction?by=enterprise",
        f"/api/v1/participation?year={YEAR}&as_of={quote(ids['as_of'])}",
        "/api/v1/tokens",
        f"/api/v1/reports/{ids['report']}",
        f"/api/v1/reports/{ids['report']}/pdf",
    ]
    for sid in ids["submissions"]:
        paths += [f"/api/v1/submissions/{sid}", f"/api/v1/submissions/{sid}/reviews"]
    return paths


async def _answers(client: httpx.AsyncClient, admin: dict[str, str], paths: list[str]) -> Any:
    """What the API answers to each path: its status and its JSON (or its bytes)."""
    out = {}
    for path in paths:
        response = await client.get(path, headers=admin)
        assert response.status_code == 200, f"{path}: {response.text[:300]}"
        if "json" not in response.headers["content-type"]:
            out[path] = response.content
            continue
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            # When and how (numpy on SQLite, SQL on PostgreSQL) the figures were computed:
            # not what they are.
            body["meta"].pop("method", None)
            body["meta"].pop("generated_at", None)
        out[path] = body
    return out


def _differences(before: Any, after: Any, where: str = "") -> list[str]:
    """Where two answers differ (the first few places), for the assertion's message."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(set(before) | set(after), key=str)
        found = [d for k in keys for d in _differences(before.get(k), after.get(k), f"{where}/{k}")]
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                 for d in _differences(b, a, f"{where}/{i}")]  # fmt: skip
    else:
        found = [] if before == after else [f"{where}: {before!r:.200} != {after!r:.200}"]
    return found[:10]


async def _rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the models, in key order."""
    out = {}
    async with db.read() as session:
        for table in model_tables():
            query = select(table).order_by(*table.primary_key.columns)
            out[table.name] = [dict(row._mapping) for row in await session.execute(query)]
    return out


@pytest.fixture
async def filled(service: Service) -> dict[str, Any]:
    return await _fill(service)


async def _empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
        return
    async with private_postgres("survey_restore") as (url, _):
        yield url


@pytest.mark.timeout(240)
async def test_a_backup_restores_into_either_backend_with_the_same_answers(
    service: Service, filled: dict[str, Any], tmp_path: Path
) -> None:
    saved = tmp_path / "backup.zip"
    done = _cli(service.settings.database_url, tmp_path / "var", "backup", "-o", str(saved))
    assert done.returncode == 0, done.stderr
    assert "rows" in done.stdout
    with zipfile.ZipFile(saved) as opened:
        manifest = msgspec.json.decode(opened.read(archive.MANIFEST))
    assert manifest["source_backend"] == service.db.engine.dialect.name
    assert {t["name"] for t in manifest["tables"]} == {t.name for t in model_tables()}
    paths = _paths(filled)
    before = await _answers(service.client, service.admin, paths)
    rows = await _rows(service.db)
    for backend in BACKENDS:
        async for target in _empty_database(backend, tmp_path / backend):
            done = _cli(target, tmp_path / "var", "restore", str(saved))
            assert done.returncode == 0, done.stderr
            assert "restored" in done.stdout
            await _check_restored(service, target, filled, rows, before)


async def _check_restored(
    service: Service, url: str, filled: dict[str, Any], rows: Any, before: Any
) -> None:
    """The same rows in every table, the same answers, and writes go on."""
    restored = open_database(url)
    app = create_app(service.settings, database=restored)
    try:
        assert await _rows(restored) == rows
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            after = await _answers(client, service.admin, _paths(filled))
            assert after == before, _differences(before, after)
            # Writes go on from the restored ids (PostgreSQL's sequences were moved on).
            response = await client.post(
                "/api/v1/enterprises", json=[enterprise(40), enterprise(41)], headers=service.admin
            )
            assert response.status_code == 201, response.text
            response = await client.post(
                f"/api/v1/campaigns/{filled['salary']}/invitations",
                json={"enterprises": [uscc(40)]},
                headers=service.admin,
            )
            assert response.status_code == 201, response.text
    finally:
        await app.state.reports.close()
        await restored.dispose()


@pytest.fixture
async def saved(service: Service, filled: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "backup.zip"
    await backup(service.db, path)
    return path


@pytest.fixture
async def small_backup(tmp_path: Path) -> Path:
    """The archive of a database holding only the shipped forms (no API needed)."""
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'small.db'}")
    try:
        await upgrade(db.engine)
        await load_shipped_forms(db, PROJECT_ROOT / "form_schemas")
        path = tmp_path / "small.zip"
        await backup(db, path)
    finally:
        await db.dispose()
    return path


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of the archive with some members replaced (None: left out)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            content = change.get(info.filename, old.read(info.filename))
            if content is not None:
                new.writestr(info.filename, content)


def _tampered(saved: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Archives changed in one way each, and what the refusal names."""
    with zipfile.ZipFile(saved) as opened:
        manifest = msgspec.json.decode(opened.read(archive.MANIFEST))
        forms = opened.read("tables/forms.jsonl")
    out: dict[str, tuple[Path, str]] = {}

    def variant(name: str, change: dict[str, bytes | None], says: str) -> None:
        path = tmp_path / f"{name}.zip"
        _rewrite(saved, path, change)
        out[name] = (path, says)

    variant(
        "a changed row",
        {"tables/forms.jsonl": forms.replace(b"salary-survey", b"salary-surveY", 1)},
        "sha256",
    )
    variant("a table left out", {"tables/form_versions.jsonl": None}, "missing")
    fewer = dict(manifest)
    fewer["tables"] = [
        dict(t, rows=t["rows"] - 1) if t["name"] == "enterprises" else t for t in manifest["tables"]
    ]
    variant("a row count", {archive.MANIFEST: msgspec.json.encode(fewer)}, "rows")
    older = dict(manifest, schema_revision="0002")
    variant("another revision", {archive.MANIFEST: msgspec.json.encode(older)}, "revision")
    variant("no manifest", {archive.MANIFEST: None}, "manifest")
    not_zip = tmp_path / "not-a-zip.zip"
    not_zip.write_bytes(b"PK\x03\x04 not really")
    out["not a zip"] = (not_zip, "zip")
    return out


async def test_a_tampered_archive_is_refused_and_nothing_is_written(
    small_backup: Path, tmp_path: Path
) -> None:
    saved = small_backup
    url = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    db = open_database(url)
    try:
        for name, (path, says) in _tampered(saved, tmp_path).items():
            with pytest.raises(BackupError, match=says):
                await restore(db, path)
            async with db.engine.connect() as conn:
                tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            assert tables == [], f"{name}: the refused restore left tables {tables}"
        await restore(db, saved)  # the archive as it was made is taken
        shipped = list((PROJECT_ROOT / "form_schemas").glob("*.json"))
        assert len((await _rows(db))["forms"]) == len(shipped)
    finally:
        await db.dispose()
    # The command line says why and exits with 1.
    path, _ = _tampered(saved, tmp_path)["a changed row"]
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    done = _cli(fresh, tmp_path / "var", "restore", str(path))
    assert done.returncode == 1
    assert "sha256" in done.stderr
    assert "Traceback" not in done.stderr


async def test_a_database_with_data_is_refused_unless_forced(
    service: Service, saved: Path, tmp_path: Path
) -> None:
    backend = "sqlite" if service.db.is_sqlite else "postgresql"
    async for url in _empty_database(backend, tmp_path):
        db = open_database(url)
        try:
            await restore(db, saved)
            # The restored service takes a write: the database is no longer empty.
            app = create_app(service.settings, database=db)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.post(
                    "/api/v1/enterprises", json=enterprise(50), headers=service.admin
                )
                assert response.status_code == 201, response.text
            await app.state.reports.close()
            with pytest.raises(BackupError, match="not empty"):
                await restore(db, saved)
            assert len((await _rows(db))["enterprises"]) == 7
            await restore(db, saved, force=True)
            assert await _rows(db) == await _rows(service.db)
        finally:
            await db.dispose()
