"""The shipped deployment files (docs/deploy/) run from a folder of one's own: the systemd
units' command lines and environment, the env file as systemd reads it, and Debian's nginx
with the shipped site. Used by tests/integration/test_nginx.py, bench.load and
docs/deploy/check_guide.py (the README's deployment guide followed step by step)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.paths import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "docs" / "deploy"
SHIPPED_SITE = DEPLOY / "nginx.conf"
INSTALL_DIR = "/srv/survey_service"  # where the units expect the checkout
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_INSTALLED = Path(NGINX).exists()
HOST = "127.0.0.1"


class DeployError(Exception):
    """A deployment step that did not do what the guide says."""


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines, as systemd's ``EnvironmentFile=`` reads them (comments and blank
    lines skipped; the shipped file has no quoting)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def unit_service(unit: str) -> list[tuple[str, str]]:
    """The ``[Service]`` lines of a shipped unit (``docs/deploy/<unit>``) in order, as
    (key, value): ``Environment=`` may occur more than once."""
    lines: list[tuple[str, str]] = []
    section = ""
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            lines.append((key, value))
    return lines


def unit_command(unit: str, instance: str = "", root: Path = PROJECT_ROOT) -> list[str]:
    """The unit's ``ExecStart=`` command line, with the checkout at ``root`` instead of
    /srv/survey_service and ``%i`` the instance."""
    (command,) = [v for k, v in unit_service(unit) if k == "ExecStart"]
    return command.replace(INSTALL_DIR, str(root)).replace("%i", instance).split()


def unit_environment(unit: str, instance: str = "") -> dict[str, str]:
    """The unit's own ``Environment=`` settings (the env file's come from EnvironmentFile)."""
    values: dict[str, str] = {}
    for key, value in unit_service(unit):
        if key == "Environment":
            name, _, setting = value.replace("%i", instance).partition("=")
            values[name] = setting
    return values


def nginx_site(ports: list[int], listen: int, folder: Path) -> str:
    """The shipped site with these servers' ports, this port to listen on and a log file in
    ``folder``: nothing else changed."""
    text = SHIPPED_SITE.read_text(encoding="utf-8")
    upstreams = [line for line in text.splitlines() if line.strip().startswith("server 127.")]
    assert len(upstreams) == 2
    lines = [f"    server {HOST}:{port} max_fails=1 fail_timeout=10s;" for port in ports]
    text = text.replace(upstreams[0], "\n".join(lines)).replace(upstreams[1] + "\n", "")
    text = text.replace("listen 80;", f"listen {HOST}:{listen};")
    return text.replace("/var/log/nginx/survey.access.log", str(folder / "access.log"))


def start_nginx(
    folder: Path, site: str, *, worker_connections: int = 256
) -> subprocess.Popen[bytes]:
    """Debian's nginx in the foreground, everything it writes in ``folder``, serving
    ``site`` as its only site (as sites-enabled/ would hold it); the load bench asks for
    more ``worker_connections``."""
    (folder / "site.conf").write_text(site, encoding="utf-8")
    temp = {kind: folder / kind for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (folder / "nginx.conf").write_text(
        f"""user root;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"};
events {{ worker_connections {worker_connections}; }}
http {{
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder / "site.conf"};
}}
""",
        encoding="utf-8",
    )
    test = subprocess.run(
        [NGINX, "-t", "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if test.returncode != 0:
        raise DeployError(f"nginx -t refused the site:\n{test.stderr}")
    return subprocess.Popen(
        [NGINX, "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf"),
         "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )  # fmt: skip


async def until_nginx_up(
    client: httpx.AsyncClient, base: str, nginx: subprocess.Popen[bytes]
) -> None:
    for _ in range(100):
        if nginx.poll() is not None:
            raise DeployError(f"nginx exited: {nginx.stderr.read() if nginx.stderr else b''!r}")
        try:
            if (await client.get(base + "/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise DeployError("nginx did not answer")


def stop_nginx(nginx: subprocess.Popen[bytes] | None) -> None:
    if nginx is not None and nginx.poll() is None:
        nginx.terminate()
        nginx.wait(timeout=10)
