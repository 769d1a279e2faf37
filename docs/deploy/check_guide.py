"""Follow the README's deployment guide ("Deployment with PostgreSQL, several processes and
nginx") step by step on this machine, from a clean PostgreSQL database, and check each step
through nginx. Run from the checkout, with the test dependencies (`make test` installs
them):

    .venv/bin/python docs/deploy/check_guide.py [--host 127.0.0.1] [--port 5432] [--user postgres]

The user must be allowed to create roles and databases. Every step prints one line; the
first that fails prints the logs and ends the run with status 1. What it does, in the
guide's order (its numbers):

1. PostgreSQL: a role and a database of that role, both named ``survey_guide_<random>``
   (``createuser``, ``createdb -O``); the env file is docs/deploy/env.example with its
   values filled (this database's URL, a var/ folder, nginx's address, a random session
   secret), the rest as shipped.
2. ``.venv/bin/python -m survey_service migrate`` with the env file's settings.
3. Two server processes and the worker, each started with its unit's ``ExecStart=`` and
   ``Environment=`` lines (docs/deploy/survey-server@.service with instances of free ports,
   docs/deploy/survey-worker.service), the checkout in place of /srv/survey_service, the
   env file as their ``EnvironmentFile=``.
4. Debian's nginx with docs/deploy/nginx.conf (``nginx -t`` first), its upstream listing
   the two servers' ports and listening on a free port instead of 80. Through it: /health;
   with the admin token the servers wrote to var/admin-token, an enterprise registered, a
   salary survey opened and the enterprise invited; the enterprise submits its salary
   spreadsheet; a worker poll's link takes an answer; a report is asked for and the worker
   process renders it (its log names the job), its PDF downloaded.
5. Backups: ``pg_dump -Fc`` of the database as its role (``pg_restore -l`` lists the
   submissions' rows in it) and ``python -m survey_service backup -o FILE``.
6. Upgrade: the servers and the worker stopped (SIGTERM, each exits 0), ``migrate`` again
   (the schema, as ``pg_dump --schema-only`` prints it, unchanged), the servers started
   again and the submission read back through nginx.

Then everything is stopped and the database and its role are dropped, whatever happened.
Not done here: ``git clone``, ``make fonts``, the ``survey`` system user and systemd
itself (the processes are this script's children).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import difflib
import io
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import pytest  # noqa: E402

from tests.deployment import (  # noqa: E402
    DEPLOY,
    HOST,
    DeployError,
    nginx_site,
    read_env_file,
    start_nginx,
    stop_nginx,
    unit_command,
    unit_environment,
    until_nginx_up,
)
from tests.factories import bearer, window  # noqa: E402
from tests.integration.faults.server import (  # noqa: E402
    Server,
    free_port,
    invite,
    open_campaign,
    poll_link,
)
from tests.samples import POLL_ANSWER, enterprise  # noqa: E402

SERVERS = 2
UPLOAD = [["occupation", "months_worked", "annual_pay", "education"]] + [
    ["6-01-02-03", 12, 60_000 + 100 * n, "bachelor"] for n in range(20)
]
WAIT_SECONDS = 60  # a bound on a stuck step, not a performance figure


class Guide:
    def __init__(self, folder: Path, pg: argparse.Namespace) -> None:
        self.folder = folder
        self.pg = pg
        self.name = f"survey_guide_{secrets.token_hex(4)}"
        self.listen = free_port()
        self.base = f"http://{HOST}:{self.listen}"
        self.env_file = folder / "env"
        self.servers: list[Server] = []
        self.worker: Server | None = None
        self.nginx: subprocess.Popen[bytes] | None = None

    # -- the programs the guide runs ----------------------------------------------------

    def pg_args(self, user: str) -> list[str]:
        return ["-h", self.pg.host, "-p", str(self.pg.port), "-U", user]

    def run(self, argv: list[str], what: str) -> str:
        done = subprocess.run(  # noqa: S603 (the guide's own commands)
            argv, env=self.process_env(), capture_output=True, text=True, cwd=ROOT,
            timeout=WAIT_SECONDS, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise DeployError(f"{what}: `{' '.join(argv)}` exited {done.returncode}:\n"
                              f"{done.stdout}{done.stderr}")  # fmt: skip
        return done.stdout

    def process_env(self) -> dict[str, str]:
        """What a unit's process sees: the env file over an environment without SURVEY_*."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
        if self.env_file.exists():
            env |= read_env_file(self.env_file)
        return env

    def cli(self, *args: str) -> list[str]:
        return [str(ROOT / ".venv" / "bin" / "python"), "-m", "survey_service", *args]

    # -- the steps -------------------------------------------------------------------------

    def create_database(self) -> None:
        self.run(["createuser", *self.pg_args(self.pg.user), self.name], "createuser")
        self.run(["createdb", *self.pg_args(self.pg.user), "-O", self.name, self.name],
                 "createdb")  # fmt: skip

    def write_env_file(self) -> None:
        shipped = read_env_file(DEPLOY / "env.example")
        filled = {
            "SURVEY_DATABASE_URL": f"postgresql+asyncpg://{self.name}@{self.pg.host}:"
            f"{self.pg.port}/{self.name}",
            "SURVEY_VAR_DIR": str(self.folder / "var"),
            "SURVEY_PUBLIC_BASE_URL": self.base,
            "SURVEY_SESSION_SECRET": secrets.token_hex(32),
        }
        assert set(filled) <= set(shipped), "a value to fill is no longer in env.example"
        lines = []
        for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines():
            key = line.partition("=")[0]
            lines.append(f"{key}={filled[key]}" if key in filled else line)
        self.env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert read_env_file(self.env_file) == shipped | filled

    def schema(self) -> str:
        """The schema as ``pg_dump --schema-only`` prints it, less the random key of its
        ``\\restrict`` lines (pg_dump 15.14 and later)."""
        dump = self.run(["pg_dump", "--schema-only", *self.pg_args(self.name), self.name],
                        "pg_dump --schema-only")  # fmt: skip
        return "".join(line for line in dump.splitlines(True)
                       if not line.startswith(("\\restrict ", "\\unrestrict ")))  # fmt: skip

    async def start_processes(self, client: httpx.AsyncClient, ports: list[int]) -> None:
        """The units, started at once as ``systemctl enable --now`` starts them."""
        self.servers = [
            Server(
                self.process_env() | unit_environment("survey-server@.service", str(port)),
                self.folder / f"server-{port}.log",
                port=port,
                argv=unit_command("survey-server@.service", str(port)),
            )
            for port in ports
        ]
        self.worker = Server(self.process_env(), self.folder / "worker.log",
                             argv=unit_command("survey-worker.service"))  # fmt: skip
        for process in [*self.servers, self.worker]:
            process.start()
        for server in self.servers:
            await server.wait_healthy(client)

    def stop_processes(self) -> None:
        """``systemctl stop``: SIGTERM, and each must stop cleanly (``Server.stopped_cleanly``)
        within the units' timeouts."""
        running = [p for p in [*self.servers, self.worker] if p is not None and p.process]
        for process in running:
            process.terminate()
        for process in running:
            assert process.process is not None
            process.process.wait(timeout=WAIT_SECONDS)
            if not process.stopped_cleanly():
                raise DeployError(f"{process.log_path.name} ended with "
                                  f"{process.process.returncode}:\n{process.log()}")  # fmt: skip

    async def check_through_nginx(self, client: httpx.AsyncClient) -> str:
        """The service's work through nginx; returns the stored submission's id."""
        health = await client.get(self.base + "/health")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok", health.text
        step("/health through nginx")

        token_file = self.folder / "var" / "admin-token"
        admin = bearer(token_file.read_text(encoding="utf-8").strip())
        year = datetime.now(UTC).year
        registered = await client.post(self.base + "/api/v1/enterprises",
                                       json=[enterprise(1)], headers=admin)  # fmt: skip
        assert registered.status_code == 201, registered.text
        salary = await open_campaign(client, self.base, admin, "salary-survey", year)
        tokens = await invite(client, self.base, admin, salary, [enterprise(1)["uscc"]])
        step("an admin registers an enterprise, opens a salary survey and invites it")

        out = io.StringIO()
        csv.writer(out).writerows(UPLOAD)
        upload = await client.post(
            f"{self.base}/api/v1/campaigns/{salary}/salary-uploads",
            files={"file": ("payroll.csv", out.getvalue().encode(), "text/csv")},
            headers=bearer(tokens[enterprise(1)["uscc"]]),
        )
        assert upload.status_code == 201, upload.text
        submission = str(upload.json()["submission_id"])
        step("the enterprise submits its salary spreadsheet")

        response = await client.post(
            self.base + "/api/v1/campaigns",
            json={"form_key": "worker-satisfaction", "title": "guide poll", "year": year}
            | window(),
            headers=admin,
        )
        assert response.status_code == 201, response.text
        slug, codes = await poll_link(client, self.base, admin, int(response.json()["id"]),
                                      enterprise(1)["uscc"], codes=1)  # fmt: skip
        answer = await client.post(f"{self.base}/api/v1/polls/{slug}/responses",
                                   json={"data": POLL_ANSWER, "code": codes[0]})  # fmt: skip
        assert answer.status_code == 201, answer.text
        step("a worker answers the poll")

        asked = await client.post(self.base + "/api/v1/reports",
                                  json={"type": "participation", "year": year},
                                  headers=admin)  # fmt: skip
        assert asked.status_code == 202, asked.text
        report = asked.json()["id"]
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                status = (await client.get(f"{self.base}/api/v1/reports/{report}",
                                           headers=admin)).json()["status"]  # fmt: skip
                assert status != "failed"
                if status == "done":
                    break
                await asyncio.sleep(0.1)
        assert self.worker is not None
        assert re.search(rf"Starting job render_report\[\d+\]\(report_id='{report}'\)",
                         self.worker.log()), "the worker process did not render it"  # fmt: skip
        pdf = await client.get(f"{self.base}/api/v1/reports/{report}/pdf", headers=admin)
        assert pdf.status_code == 200, pdf.text
        assert pdf.content.startswith(b"%PDF")
        step("a report is asked for; the worker process renders it")
        return submission

    def backups(self) -> None:
        dump = self.folder / "survey.dump"
        self.run(["pg_dump", "-Fc", *self.pg_args(self.name), "-f", str(dump), self.name],
                 "pg_dump")  # fmt: skip
        listing = self.run(["pg_restore", "-l", str(dump)], "pg_restore -l")
        assert "TABLE DATA public submissions" in listing, listing
        archive = self.folder / "backup.zip"
        self.run(self.cli("backup", "-o", str(archive)), "survey_service backup")
        assert archive.stat().st_size > 0
        step("backups: pg_dump -Fc and survey_service backup")


STARTED = time.monotonic()


def step(done: str) -> None:
    print(f"ok ({time.monotonic() - STARTED:4.1f} s): {done}", flush=True)


async def follow(folder: Path, pg: argparse.Namespace) -> None:
    guide = Guide(folder, pg)
    try:
        guide.create_database()
        guide.write_env_file()
        step(f"1. database {guide.name} of role {guide.name}; env file from env.example")
        guide.run(guide.cli("migrate"), "migrate")
        step("2. migrate")
        ports = [free_port() for _ in range(SERVERS)]
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                await guide.start_processes(client, ports)
                step(f"3. {SERVERS} servers (ports {ports}) and the worker, from the units")
                site = folder / "nginx"
                site.mkdir()
                guide.nginx = start_nginx(site, nginx_site(ports, guide.listen, site))
                await until_nginx_up(client, guide.base, guide.nginx)
                step(f"4. nginx with docs/deploy/nginx.conf on {guide.base}")
                submission = await guide.check_through_nginx(client)
                guide.backups()

                guide.stop_processes()
                step("6. servers and worker stopped by SIGTERM, each cleanly")
                schema = guide.schema()
                guide.run(guide.cli("migrate"), "migrate again")
                if guide.schema() != schema:
                    raise DeployError(
                        "migrate again changed a current schema:\n"
                        + "".join(
                            difflib.unified_diff(
                                schema.splitlines(True), guide.schema().splitlines(True)
                            )
                        )
                    )
                step("6. migrate again: the schema unchanged")
                await guide.start_processes(client, ports)
                again = await client.get(f"{guide.base}/api/v1/submissions/{submission}",
                                         headers=bearer((folder / "var" / "admin-token")
                                                        .read_text().strip()))  # fmt: skip
                assert again.status_code == 200, again.text
                step("6. servers started again; the submission read back through nginx")
                guide.stop_processes()
            except BaseException:
                for process in [*guide.servers, guide.worker]:
                    if process is not None:
                        print(f"--- {process.log_path.name}\n{process.log()}", file=sys.stderr)
                raise
            finally:
                stop_nginx(guide.nginx)
                for process in [*guide.servers, guide.worker]:
                    if process is not None:
                        process.kill()
    finally:
        guide.run(["dropdb", *guide.pg_args(pg.user), "--if-exists", "--force", guide.name],
                  "dropdb")  # fmt: skip
        guide.run(["dropuser", *guide.pg_args(pg.user), "--if-exists", guide.name], "dropuser")
        step(f"database {guide.name} and its role dropped")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    pg = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="survey-guide-") as folder:
        try:
            asyncio.run(follow(Path(folder), pg))
        except (DeployError, AssertionError, TimeoutError, pytest.fail.Exception) as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
    print("the guide's steps all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
