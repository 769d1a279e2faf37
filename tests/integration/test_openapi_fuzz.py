"""Schemathesis against the OpenAPI document of a running server: for every operation,
requests generated from the document (its examples, the coverage phase's boundary and
missing-value cases, and hypothesis-fuzzed valid and invalid data) never meet a 5xx, and
every answer is documented: status code, media type, headers and body schema. Routes that
need a token get a real one (admin, or the invitation's for the enterprise routes) and are
also sent without it (they must answer 401).

One uvicorn process on a free loopback port serves a fresh SQLite file that holds the
shipped forms and a little of everything: three enterprises, a salary survey, a poll and a
self-assessment campaign, invitations, a submitted survey and poll links. Path parameters
are bound to those records half of the time (the rest are generated), so the fuzzing
reaches past the 404s. Bounded and deterministic: at most ``MAX_EXAMPLES`` fuzzed cases
an operation, a fixed seed, derandomized hypothesis; the whole run takes well under a
minute here.

Checks left out, and why: ``positive_data_acceptance`` (data valid under the document may
still break a business rule, and then the answer is a documented 422 or 409 by design);
``allow_header_conformance`` (Litestar 2 lists only the first handler's methods in the
automatic OPTIONS answer, litestar-org/litestar#4169, fixed in Litestar 3); the stateful
checks (no links are declared between operations).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.form_fetch import free_port, server_env, start_server, stop_server, wait_ready
from survey_service.__main__ import prepare
from survey_service.settings import Settings
from tests.paths import PROJECT_ROOT
from tests.samples import enterprise, salary_document, uscc

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out

MAX_EXAMPLES = 25
MAX_SECONDS = 300  # a bound on the whole run, never reached here (it takes about a minute)
SEED = 20230228  # the notice's date
METHODS = ("get", "head", "put", "post", "delete", "patch")
ENTERPRISE_ROUTES = (
    ("POST", "/api/v1/campaigns/{campaign_id}/submissions"),
    ("POST", "/api/v1/campaigns/{campaign_id}/salary-uploads"),
    ("PUT", "/api/v1/submissions/{submission_id}"),
)


@dataclass(frozen=True)
class Live:
    base: str
    admin: str
    enterprise: str  # enterprise 1's invitation to the salary survey
    campaigns: dict[str, int]  # form key -> campaign id
    spare_poll: int  # a poll whose links the fuzzer may issue and rotate
    submission: str
    link: str  # enterprise 1's poll link
    spare_link: str  # enterprise 2's: the one the fuzzer may revoke
    spare_token: int  # an analyst token the fuzzer may revoke
    operations: int  # in the OpenAPI document


def _window() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "year": now.year,
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=30)).isoformat(),
        # The per-link limit would answer 429 (documented) long before the fuzzer is done.
        "settings": {"poll_rate_per_minute": 1_000_000},
    }


def _fill(base: str, admin: str) -> Live:
    """Through the API, as an admin would."""
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as client:

        def ok(response: httpx.Response) -> Any:
            assert response.status_code in {200, 201}, response.text
            return response.json()

        ok(client.post("/api/v1/enterprises", json=[enterprise(n) for n in (1, 2, 3)]))
        campaigns = {
            key: ok(
                client.post(
                    "/api/v1/campaigns", json={"form_key": key, "title": f"fuzz {key}"} | _window()
                )
            )["id"]
            for key in ("salary-survey", "worker-satisfaction", "enterprise-self-assessment")
        }
        # Where the fuzzer may issue and rotate links: rotating enterprise 1's link in the
        # poll above would leave the answer routes nothing but 404s.
        spare_poll = ok(
            client.post(
                "/api/v1/campaigns",
                json={"form_key": "worker-satisfaction", "title": "fuzz spare poll"} | _window(),
            )
        )["id"]
        salary = campaigns["salary-survey"]
        invited = ok(
            client.post(
                f"/api/v1/campaigns/{salary}/invitations", json={"enterprises": [uscc(1), uscc(2)]}
            )
        )
        token = next(i["token"] for i in invited if i["uscc"] == uscc(1))
        document = salary_document(uscc(1))
        submitted = ok(
            client.post(
                f"/api/v1/campaigns/{salary}/submissions",
                json={"data": document, "status": "submitted"},
                headers={"Authorization": f"Bearer {token}"},
            )
        )
        # Released, so that the wage tables answer from a release as analysts read them.
        ok(client.post(f"/api/v1/campaigns/{salary}/releases", json={"during_collection": True}))
        poll = campaigns["worker-satisfaction"]
        links = [
            ok(client.post(f"/api/v1/campaigns/{poll}/poll-links", json={"enterprise": uscc(n)}))
            for n in (1, 2)
        ]
        spare = ok(client.post("/api/v1/tokens", json={"role": "analyst", "label": "to revoke"}))
        paths = ok(client.get("/schema/openapi.json"))["paths"].values()
    return Live(
        base=base,
        admin=admin,
        enterprise=token,
        campaigns=campaigns,
        spare_poll=spare_poll,
        submission=submitted["id"],
        link=links[0]["link"],
        spare_link=links[1]["link"],
        spare_token=spare["id"],
        operations=sum(method in METHODS for item in paths for method in item),
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    var_dir: Path = tmp_path_factory.mktemp("fuzz")
    env = server_env(var_dir)
    env["SURVEY_ADMIN_TOKEN"] = admin = secrets.token_urlsafe(32)
    env["SURVEY_REPORT_WORKERS"] = "1"
    # Schemathesis sends bad tokens on purpose; the guessing throttle (tested on its own in
    # tests/integration/security) would turn its later 401s into 429s, and the per-token
    # rate would cut the run short.
    env["SURVEY_AUTH_FAILURES_PER_MINUTE"] = "0"
    env["SURVEY_TOKEN_RATE_PER_MINUTE"] = "0"
    asyncio.run(prepare(Settings.from_env(env)))
    port, log_path = free_port(), var_dir / "server.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = start_server(env, port, log, app="survey_service.app:app_from_env")
        try:
            wait_ready(process, base, log_path)
            yield _fill(base, admin)
        finally:
            stop_server(process)
    errors = [line for line in log_path.read_text().splitlines() if "Traceback" in line]
    assert errors == [], log_path.read_text()


def _operation(method: str, path: str, **overrides: Any) -> dict[str, Any]:
    return {"include-name": f"{method} {path}", **overrides}


def fuzz_config(live: Live) -> dict[str, Any]:
    """schemathesis.toml, as a dict: the tokens, where path parameters are bound to the
    records made above, and the checks."""
    salary = live.campaigns["salary-survey"]
    poll = live.campaigns["worker-satisfaction"]
    assessment = live.campaigns["enterprise-self-assessment"]
    enterprise_auth = {"Authorization": f"Bearer {live.enterprise}"}

    def half(name: str) -> dict[str, Any]:
        return {"dictionary": name, "probability": 0.5}

    def bound(method: str, path: str, **parameters: Any) -> dict[str, Any]:
        return _operation(method, path, parameters=parameters)

    operations = [
        _operation(method, path, headers=enterprise_auth) for method, path in ENTERPRISE_ROUTES
    ]
    operations += [
        # Campaign routes see a campaign of the right form.
        bound("GET", "/api/v1/campaigns/{campaign_id}/satisfaction", **{
            "path.campaign_id": poll}),
        bound("GET", "/api/v1/campaigns/{campaign_id}/assessments", **{
            "path.campaign_id": assessment}),
        bound("GET", "/api/v1/campaigns/{campaign_id}/poll-links", **{
            "path.campaign_id": half("poll")}),
        bound("POST", "/api/v1/campaigns/{campaign_id}/poll-links", **{
            "path.campaign_id": live.spare_poll}),
        bound("GET", "/api/v1/campaigns/{campaign_id}/poll-links/{link}/qr.png", **{
            "path.campaign_id": poll, "path.link": half("link")}),
        bound("GET", "/api/v1/campaigns/{campaign_id}/poll-links/{link}/qr.svg", **{
            "path.campaign_id": poll, "path.link": half("link")}),
        # What the fuzzer may withdraw or replace is a spare, never what the other routes
        # rely on (inviting enterprise 1 again to the salary survey would revoke its token).
        bound("POST", "/api/v1/campaigns/{campaign_id}/invitations", **{
            "path.campaign_id": assessment}),
        bound("POST", "/api/v1/campaigns/{campaign_id}/poll-links/{link}/revoke", **{
            "path.campaign_id": poll, "path.link": live.spare_link}),
        bound("POST", "/api/v1/campaigns/{campaign_id}/invitations/{uscc}/revoke", **{
            "path.campaign_id": salary, "path.uscc": uscc(2)}),
        bound("POST", "/api/v1/tokens/{token_id}/revoke", **{"path.token_id": live.spare_token}),
    ]  # fmt: skip
    # The builder's recursive field schema makes ~16,000 coverage cases each: fuzzed only.
    operations += [
        _operation(method, path, phases={"coverage": {"enabled": False}})
        for method, path in (
            ("POST", "/api/v1/forms"),
            ("POST", "/api/v1/forms/{key}/versions"),
            ("PUT", "/api/v1/forms/{key}/versions/{number}"),
        )
    ]
    return {
        "seed": SEED,
        "dictionaries": {
            "campaign": {"values": [salary]},
            "poll": {"values": [poll]},
            "link": {"values": [live.link]},
            "submission": {"values": [live.submission]},
            "form": {"values": ["salary-survey", "worker-satisfaction"]},
        },
        "headers": {"Authorization": f"Bearer {live.admin}"},
        "hooks": "tests.integration.fuzz_hooks",
        "workers": 1,
        "request-timeout": 30,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {
            "positive_data_acceptance": {"enabled": False},
            "allow_header_conformance": {"enabled": False},
            "use_after_free": {"enabled": False},
            "ensure_resource_availability": {"enabled": False},
        },
        "parameters": {
            "path.campaign_id": half("campaign"),
            "path.submission_id": half("submission"),
            "path.link": half("link"),
            "path.key": half("form"),
        },
        "operations": operations,
    }


def toml(config: dict[str, Any]) -> str:
    """Enough TOML for ``fuzz_config``: top-level keys, inline tables and arrays (a JSON
    string is a TOML basic string)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(item) for item in v) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(item)}" for k, item in v.items()) + "}"

    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in config.items())


def test_every_answer_is_documented_and_none_is_a_server_error(live: Live, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(toml(fuzz_config(live)), encoding="utf-8")
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
        "run", f"{live.base}/schema/openapi.json",
        "--no-color", "--output-truncate", "true",
        "--report", "pytest", "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=MAX_SECONDS, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tested = re.search(r"^\s*Tested: (\d+)$", done.stdout, re.MULTILINE)
    assert tested is not None, done.stdout
    assert int(tested[1]) == live.operations, done.stdout
