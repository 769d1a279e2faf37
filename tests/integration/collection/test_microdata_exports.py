"""Microdata exports on SQLite and PostgreSQL, every format read back (the csv module,
calamine, pyreadstat) and compared with the surveys as the API returns them: one row per
survey with its enterprise and status, the employees as their own table joined by
submission id; text never a formula; a district's staff get their district only; polls
are never exported."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import tempfile
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyreadstat
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import delete

from survey_service.collection import export_jobs
from survey_service.db.models import Export, ReleaseSurvey, utcnow
from tests.conftest import Service
from tests.factories import bearer, create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.release_helpers import release
from tests.samples import enterprise, salary_document, uscc

HOSTILE = "=cmd|' /C calc'!A0"
NAME = re.compile(r"（([A-Za-z0-9_]+)）$")


async def _one_survey(service: Service) -> tuple[int, str]:
    """A campaign with one enterprise's salary survey: the campaign's id and the survey's."""
    await register_enterprises(service, 1)
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1)
    return campaign_id, await submit(service, campaign_id, tokens[1], salary_document(uscc(1)))


async def _export(
    service: Service, campaign_id: int, fmt: str, headers: dict[str, str], **body: Any
) -> Any:
    asked = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/exports", json={"format": fmt} | body, headers=headers
    )
    assert asked.status_code == 202, asked.text
    export = asked.json()
    for _ in range(200):
        export = (
            await service.client.get(f"/api/v1/exports/{export['id']}", headers=headers)
        ).json()
        if export["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.05)
    assert export["status"] == "done", export
    got = await service.client.get(export["file"], headers=headers)
    assert got.status_code == 200, got.text
    return export, got.content


def _csv_tables(content: bytes) -> dict[str, list[dict[str, str]]]:
    tables = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8")
            assert text.startswith("\ufeff")
            reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
            header = [NAME.search(h).group(1) for h in next(reader)]  # type: ignore[union-attr]
            tables[name] = [dict(zip(header, row, strict=True)) for row in reader]
    return tables


def _stat_tables(content: bytes, fmt: str) -> dict[str, tuple[Any, Any]]:
    found = {}
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            path = Path(tmp) / name
            path.write_bytes(archive.read(name))
            read = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
            frame, meta = read(str(path), output_format="dict")
            found[name] = (frame, meta)
    return found


async def test_every_format_reads_back_as_the_api_gives_the_surveys(service: Service) -> None:
    await register_enterprises(service, enterprise(1, "610202"), enterprise(2, "610203"))
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2)
    ids = {}
    for n in (1, 2):
        document = salary_document(uscc(n))
        document["enterprise"]["legal_representative"] = HOSTILE if n == 1 else "王建国"
        document["employees"][0]["annual_pay"] = 68000 + n
        ids[n] = await submit(service, campaign_id, tokens[n], document)
    api = {
        n: (await service.client.get(f"/api/v1/submissions/{sid}", headers=service.admin)).json()
        for n, sid in ids.items()
    }
    form = (await service.client.get("/api/v1/forms/salary-survey", headers=service.admin)).json()
    education = form["schema"]["properties"]["employees"]["items"]["properties"]["education"]
    codes = education["enum"]
    labels = {c: education["x-enum-labels"][c]["zh"] for c in codes}

    _, content = await _export(service, campaign_id, "csv", service.admin)
    tables = _csv_tables(content)
    assert set(tables) == {"submissions.csv", "employees.csv"}
    surveys = {row["submission_id"]: row for row in tables["submissions.csv"]}
    assert set(surveys) == set(ids.values())
    for n, sid in ids.items():
        data = api[n]["data"]
        row = surveys[sid]
        assert row["reg_uscc"] == uscc(n)
        assert row["status"] == api[n]["status"]
        assert row["revision"] == str(api[n]["revision"])
        assert float(row["enterprise_wage_bill"]) == data["enterprise"]["wage_bill"]
        employees = [r for r in tables["employees.csv"] if r["submission_id"] == sid]
        assert len(employees) == len(data["employees"])
        for row, sent in zip(employees, data["employees"], strict=True):
            assert row["occupation"] == sent["occupation"]
            assert float(row["annual_pay"]) == sent["annual_pay"]
            assert row["education"] == sent.get("education", "")
            assert (
                row["union_member"]
                == {True: "true", False: "false", None: ""}[sent.get("union_member")]
            )
    assert surveys[ids[1]]["enterprise_legal_representative"] == "'" + HOSTILE

    _, content = await _export(service, campaign_id, "xlsx", service.admin)
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert book.sheet_names[:2] == ["问卷", "职工工资明细"]
    sheet = book.get_sheet_by_name("职工工资明细").to_python()
    header = [NAME.search(h).group(1) for h in sheet[0]]  # type: ignore[union-attr]
    rows = [dict(zip(header, r, strict=True)) for r in sheet[1:]]
    first = next(r for r in rows if r["submission_id"] == ids[2] and r["row"] == 1)
    sent = api[2]["data"]["employees"][0]
    assert first["annual_pay"] == sent["annual_pay"] == 68002
    assert first["education"] == labels[sent["education"]]  # the Chinese label
    assert first["union_member"] == "是"
    assert "职业代码（occupation）" in sheet[0]

    for fmt in ("sav", "dta"):
        _, content = await _export(service, campaign_id, fmt, service.admin)
        found = _stat_tables(content, fmt)
        assert set(found) == {f"submissions.{fmt}", f"employees.{fmt}"}
        frame, meta = found[f"employees.{fmt}"]
        assert (
            dict(zip(meta.column_names, meta.column_labels, strict=True))["annual_pay"]
            == "年度应发工资"
        )
        assert meta.variable_value_labels["education"] == {
            float(i) if fmt == "sav" else i: labels[c] for i, c in enumerate(codes, start=1)
        }
        order = [i for i, s in enumerate(frame["submission_id"]) if s == ids[2]]
        for i, sent in zip(order, api[2]["data"]["employees"], strict=True):
            assert frame["annual_pay"][i] == sent["annual_pay"]
            if "education" in sent:
                assert codes[int(frame["education"][i]) - 1] == sent["education"]
            if "union_member" in sent:
                assert frame["union_member"][i] == int(sent["union_member"])
            else:  # missing
                assert frame["union_member"][i] is None or math.isnan(frame["union_member"][i])
        surveys_frame, survey_meta = found[f"submissions.{fmt}"]
        assert sorted(surveys_frame["submission_id"]) == sorted(ids.values())
        assert "企业基本情况 - 从业人员数" in survey_meta.column_labels


async def test_district_staff_export_their_district_and_polls_are_never_exported(
    service: Service,
) -> None:
    await register_enterprises(service, enterprise(1, "610202"), enterprise(2, "610203"))
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2)
    ids = {n: await submit(service, campaign_id, tokens[n], salary_document(uscc(n)))
           for n in (1, 2)}  # fmt: skip
    staff = bearer(await service.token("district", district="610202"))
    export, content = await _export(service, campaign_id, "csv", staff)
    assert export["district"] == "610202"
    assert export["surveys"] == 1
    surveys = _csv_tables(content)["submissions.csv"]
    assert [row["submission_id"] for row in surveys] == [ids[1]]
    # Another district's staff cannot read it; the bureau's export is the city's.
    other = bearer(await service.token("district", district="610203"))
    hidden = await service.client.get(f"/api/v1/exports/{export['id']}", headers=other)
    assert hidden.status_code == 404
    assert (await service.client.get(export["file"], headers=other)).status_code == 404
    city, _ = await _export(service, campaign_id, "csv", service.admin)
    assert city["surveys"] == 2
    assert (
        await service.client.get(f"/api/v1/exports/{city['id']}", headers=staff)
    ).status_code == 404

    poll = await create_campaign(service, "worker-satisfaction")
    refused = await service.client.post(
        f"/api/v1/campaigns/{poll}/exports", json={"format": "csv"}, headers=service.admin
    )
    assert refused.status_code == 422
    assert "anonymous" in refused.json()["detail"]


async def test_old_files_expire_and_one_person_has_few_exports_at_once(service: Service) -> None:
    campaign_id, _ = await _one_survey(service)
    old, _ = await _export(service, campaign_id, "csv", service.admin)
    files = list((service.settings.var_dir / "exports").glob(f"{old['id']}.*"))
    assert len(files) == 1
    async with service.db.transaction() as session:
        row = await session.get(Export, old["id"])
        assert row is not None
        row.created_at = utcnow() - timedelta(days=8)
        who = row.requested_by
    # Expired as soon as it is a week old, before any sweep deleted its file.
    aged = await service.client.get(f"/api/v1/exports/{old['id']}", headers=service.admin)
    assert (aged.json()["status"], aged.json()["file"]) == ("expired", None)
    kept = await service.client.get(f"/api/v1/exports/{old['id']}/file", headers=service.admin)
    assert kept.status_code == 409, kept.text
    assert files[0].exists()
    await _export(service, campaign_id, "csv", service.admin)
    expired = (
        await service.client.get(f"/api/v1/exports/{old['id']}", headers=service.admin)
    ).json()
    assert (expired["status"], expired["file"]) == ("expired", None)
    assert not files[0].exists()
    gone = await service.client.get(f"/api/v1/exports/{old['id']}/file", headers=service.admin)
    assert gone.status_code == 409
    # Three still being made (as a stopped process would leave them): no fourth.
    async with service.db.transaction() as session:
        for _ in range(3):
            session.add(Export(id=str(uuid.uuid4()), campaign_id=campaign_id, format="csv",
                               status="queued", requested_by=who, created_at=utcnow()))  # fmt: skip
    busy = await service.client.post(
        f"/api/v1/campaigns/{campaign_id}/exports", json={"format": "csv"}, headers=service.admin
    )
    assert busy.status_code == 409, busy.text


async def test_a_release_exports_the_surveys_as_its_snapshot_held_them(service: Service) -> None:
    await register_enterprises(
        service, enterprise(1, "610202"), enterprise(2, "610203"), enterprise(3, "610202")
    )
    campaign_id = await create_campaign(service)
    tokens = await invite(service, campaign_id, 1, 2, 3)
    ids = {n: await submit(service, campaign_id, tokens[n], salary_document(uscc(n)))
           for n in (1, 2)}  # fmt: skip
    first = await service.client.get(f"/api/v1/submissions/{ids[1]}", headers=service.admin)
    sent = first.json()["data"]["employees"]
    made = await release(service, campaign_id)
    # After the release: enterprise 1 amends twice, enterprise 3 answers.
    for pay in (91000, 92000):
        amended = salary_document(uscc(1))
        amended["employees"][0]["annual_pay"] = pay
        answer = await service.client.put(
            f"/api/v1/submissions/{ids[1]}", json={"data": amended}, headers=bearer(tokens[1])
        )
        assert answer.status_code == 200, answer.text
    ids[3] = await submit(service, campaign_id, tokens[3], salary_document(uscc(3)))

    export, content = await _export(
        service, campaign_id, "csv", service.admin, release=made["number"]
    )
    assert (export["release"], export["surveys"]) == (made["number"], 2)
    tables = _csv_tables(content)
    surveys = {row["submission_id"]: row for row in tables["submissions.csv"]}
    assert set(surveys) == {ids[1], ids[2]}
    assert (surveys[ids[1]]["revision"], surveys[ids[1]]["status"]) == ("1", "submitted")
    pays = [float(r["annual_pay"]) for r in tables["employees.csv"]
            if r["submission_id"] == ids[1]]  # fmt: skip
    assert pays == [e["annual_pay"] for e in sent]

    live, content = await _export(service, campaign_id, "csv", service.admin)
    assert (live["release"], live["surveys"]) == (None, 3)
    tables = _csv_tables(content)
    now = {row["submission_id"]: row for row in tables["submissions.csv"]}
    assert now[ids[1]]["revision"] == "3"
    pays = [float(r["annual_pay"]) for r in tables["employees.csv"]
            if r["submission_id"] == ids[1]]  # fmt: skip
    assert pays[0] == 92000

    # A district's staff get their district's surveys of the release: enterprise 1 only
    # (enterprise 3, of the same district, answered after it).
    staff = bearer(await service.token("district", district="610202"))
    theirs, content = await _export(service, campaign_id, "xlsx", staff, release=made["number"])
    assert theirs["surveys"] == 1
    book = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("问卷")
    rows = book.to_python()
    header = [NAME.search(h).group(1) for h in rows[0]]  # type: ignore[union-attr]
    assert [dict(zip(header, r, strict=True))["submission_id"] for r in rows[1:]] == [ids[1]]

    # A release that does not exist, or one made before releases recorded their surveys.
    url = f"/api/v1/campaigns/{campaign_id}/exports"
    missing = await service.client.post(
        url, json={"format": "csv", "release": 9}, headers=service.admin
    )
    assert missing.status_code == 404, missing.text
    async with service.db.transaction() as session:
        await session.execute(delete(ReleaseSurvey))
    old = await service.client.post(
        url, json={"format": "csv", "release": made["number"]}, headers=service.admin
    )
    assert old.status_code == 422, old.text
    assert "before releases recorded" in old.json()["detail"]


async def test_one_attempt_makes_an_export_and_a_stopped_ones_is_taken_over(
    service: Service,
) -> None:
    campaign_id, sid = await _one_survey(service)
    now = utcnow()
    ids = {"stopped": str(uuid.uuid4()), "alive": str(uuid.uuid4())}
    async with service.db.transaction() as session:
        for name, heard in (("stopped", now - timedelta(minutes=10)), ("alive", now)):
            session.add(Export(id=ids[name], campaign_id=campaign_id, format="csv",
                               status="running", requested_by="admin", created_at=now,
                               claimed_by=name, heartbeat_at=heard))  # fmt: skip
    # A process starts: it takes over the export whose process stopped, not the other.
    await export_jobs.resume_exports(service.db, service.settings.var_dir)
    for _ in range(200):
        shown = await service.client.get(f"/api/v1/exports/{ids['stopped']}",
                                         headers=service.admin)  # fmt: skip
        if shown.json()["status"] != "running":
            break
        await asyncio.sleep(0.05)
    assert shown.json()["status"] == "done", shown.json()
    got = await service.client.get(shown.json()["file"], headers=service.admin)
    assert [r["submission_id"] for r in _csv_tables(got.content)["submissions.csv"]] == [sid]
    other = await service.client.get(f"/api/v1/exports/{ids['alive']}", headers=service.admin)
    assert other.json()["status"] == "running"  # still the live process's
    # The stopped attempt, were it to wake, learns it was taken over and records nothing.
    late = export_jobs.Claim(service.db, ids["stopped"], "stopped", said=-1e9)
    with pytest.raises(export_jobs.Superseded):
        await late.heartbeat()
    assert not await late.finish(status="failed", reason="late")
    again = await service.client.get(f"/api/v1/exports/{ids['stopped']}", headers=service.admin)
    assert again.json()["status"] == "done"
    # Nor does its file replace the one made: it is deleted instead.
    final = next((service.settings.var_dir / "exports").glob(f"{ids['stopped']}.zip"))
    kept = final.read_bytes()
    made = final.with_suffix(".zip.stopped.part")
    made.write_bytes(b"an older export")
    assert not await late.finish((made, final), status="done")
    assert (final.read_bytes(), made.exists()) == (kept, False)
    # A file lost from the disk is a clear refusal, not a server error.
    for path in (service.settings.var_dir / "exports").glob(f"{ids['stopped']}.*"):
        path.unlink()
    lost = await service.client.get(shown.json()["file"], headers=service.admin)
    assert lost.status_code == 409, lost.text
    assert "missing" in lost.json()["detail"]


async def test_asks_at_the_same_moment_cannot_pass_the_limit_together(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id, _ = await _one_survey(service)
    monkeypatch.setattr(export_jobs, "start", lambda *_: None)  # they stay queued
    url = f"/api/v1/campaigns/{campaign_id}/exports"
    answers = await asyncio.gather(
        *(
            service.client.post(url, json={"format": "csv"}, headers=service.admin)
            for _ in range(2 * export_jobs.AT_ONCE)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [202] * export_jobs.AT_ONCE + [409] * export_jobs.AT_ONCE, codes


async def test_a_running_server_takes_over_a_stopped_export(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign_id, _ = await _one_survey(service)
    monkeypatch.setattr(export_jobs, "SWEEP_SECONDS", 0.05)
    sweep = asyncio.create_task(export_jobs.keep_exports(service.db, service.settings.var_dir))
    try:
        stopped = str(uuid.uuid4())
        heard = utcnow() - timedelta(minutes=10)  # its process died then
        async with service.db.transaction() as session:
            session.add(Export(id=stopped, campaign_id=campaign_id, format="csv",
                               status="running", requested_by="admin", created_at=utcnow(),
                               claimed_by="gone", heartbeat_at=heard))  # fmt: skip
        for _ in range(200):
            shown = await service.client.get(f"/api/v1/exports/{stopped}", headers=service.admin)
            if shown.json()["status"] == "done":
                break
            await asyncio.sleep(0.05)
        assert shown.json()["status"] == "done", shown.json()
    finally:
        sweep.cancel()


async def test_a_stopping_server_gives_its_exports_back_and_leftovers_go(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_enterprises(service, 1)
    campaign_id = await create_campaign(service)
    exports = service.settings.var_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    never = asyncio.Event()

    async def stuck(*_: Any) -> Any:
        await never.wait()

    monkeypatch.setattr(export_jobs, "_write", stuck)
    asked = await service.client.post(f"/api/v1/campaigns/{campaign_id}/exports",
                                      json={"format": "csv"}, headers=service.admin)  # fmt: skip
    export_id = asked.json()["id"]
    url = f"/api/v1/exports/{export_id}"
    for _ in range(100):
        if (await service.client.get(url, headers=service.admin)).json()["status"] == "running":
            break
        await asyncio.sleep(0.02)
    (exports / f"{export_id}.zip.abc.part").write_bytes(b"being made")
    # What a killed attempt left: a partial file and a part, beside a finished export's file.
    dead = str(uuid.uuid4())
    async with service.db.transaction() as session:
        session.add(Export(id=dead, campaign_id=campaign_id, format="sav", status="failed",
                           requested_by="admin", created_at=utcnow()))  # fmt: skip
    for name in (f"{dead}.zip.x.part", f"{dead}.zip.x.employees.1.sav"):
        (exports / name).write_bytes(b"wage rows")
    await export_jobs.resume_exports(service.db, service.settings.var_dir)
    left = sorted(p.name for p in exports.iterdir())
    assert left == [f"{export_id}.zip.abc.part"]  # the running export's own, kept

    await export_jobs.stop_exports()
    shown = await service.client.get(f"/api/v1/exports/{export_id}", headers=service.admin)
    assert shown.json()["status"] == "queued"  # any server makes it at once
    async with service.db.read() as session:
        row = await session.get(Export, export_id)
        assert row is not None
        assert (row.claimed_by, row.heartbeat_at) == (None, None)
