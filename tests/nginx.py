"""Debian's nginx running the deployment's site (docs/deploy/nginx.conf) in front of given
server ports, for tests/integration/test_nginx.py and bench.load: the shipped file with only
its ports and log file changed, under a main configuration of the caller's folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.paths import PROJECT_ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
INSTALLED = Path(NGINX).exists()
SHIPPED = PROJECT_ROOT / "docs" / "deploy" / "nginx.conf"


def site(ports: list[int], listen: int, folder: Path, host: str = "127.0.0.1") -> str:
    """The shipped site with these server ports (one or two), nginx's own port and a log
    file in ``folder``: nothing else changed."""
    text = SHIPPED.read_text(encoding="utf-8")
    upstreams = [line for line in text.splitlines() if line.strip().startswith("server 127.")]
    if len(upstreams) != 2 or not 1 <= len(ports) <= 2:
        raise ValueError(f"{SHIPPED} names {len(upstreams)} servers; asked for {len(ports)}")
    text = text.replace(upstreams[0], f"    server {host}:{ports[0]} max_fails=1 fail_timeout=10s;")
    second = f"    server {host}:{ports[1]} max_fails=1 fail_timeout=10s;" if len(ports) > 1 else ""
    text = text.replace(upstreams[1], second)
    text = text.replace("listen 80;", f"listen {host}:{listen};")
    return text.replace("/var/log/nginx/survey.access.log", str(folder / "access.log"))


def start_nginx(
    folder: Path, site_text: str, *, worker_connections: int = 256
) -> subprocess.Popen[bytes]:
    """nginx in the foreground (one worker process) with ``site_text`` as its only site,
    its pid, logs and temporary files in ``folder`` (which must exist and be empty)."""
    (folder / "site.conf").write_text(site_text, encoding="utf-8")
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
    return subprocess.Popen(
        [NGINX, "-e", "stderr", "-p", str(folder), "-c", str(folder / "nginx.conf"),
         "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )  # fmt: skip
