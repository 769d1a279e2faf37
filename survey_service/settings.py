"""One typed settings object, read from the environment (``SURVEY_*``)."""

from __future__ import annotations

import ipaddress
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from survey_service.shipped import form_schemas_dir


def _default_var_dir() -> Path:
    """``var/`` in the working directory (the checkout's for ``make run``): never inside the
    package, which an installed wheel puts in a read-only ``site-packages``."""
    return Path.cwd() / "var"


def _default_database_url() -> str:
    return f"sqlite+aiosqlite:///{_default_var_dir() / 'survey.db'}"


LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where the reminders' e-mail goes out (``SURVEY_SMTP_*``); no host: no e-mail."""

    host: str
    sender: str  # the From address
    port: int = 587
    user: str | None = None
    password: str | None = None
    # Upgrade the connection with STARTTLS (and refuse a server that cannot); off only for
    # a relay on this machine or a test sink.
    starttls: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str]) -> SmtpSettings | None:
        host = env.get("SURVEY_SMTP_HOST", "").strip()
        if not host:
            return None
        sender = env.get("SURVEY_SMTP_FROM", "").strip()
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", sender):
            raise ValueError(
                f"SURVEY_SMTP_FROM={sender!r} is not an e-mail address; it is needed when "
                "SURVEY_SMTP_HOST is set"
            )
        return cls(
            host=host,
            sender=sender,
            port=int(env.get("SURVEY_SMTP_PORT") or 587),
            user=env.get("SURVEY_SMTP_USER") or None,
            password=env.get("SURVEY_SMTP_PASSWORD") or None,
            starttls=env.get("SURVEY_SMTP_STARTTLS", "true").lower() not in {"0", "false", "no"},
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # After SIGTERM a server waits this long for the requests in flight, then cancels them
    # and still shuts down cleanly; then as long again for the report it is rendering (on
    # SQLite). Twice this stays below the unit's TimeoutStopSec=60, after which systemd
    # would SIGKILL it.
    shutdown_seconds: int = 25
    var_dir: Path = field(default_factory=_default_var_dir)
    # The shipped forms: the wheel's copy, or the checkout's form_schemas/ (see shipped.py).
    form_schemas_dir: Path = field(default_factory=form_schemas_dir)
    admin_token: str | None = None
    max_body_bytes: int = 20 * 1024 * 1024
    # Requests a minute one access token may make (a burst of as many, then refilled
    # evenly); 0: no limit. Per server process.
    token_rate_per_minute: int = 1200
    # Failed tokens and sign-ins a minute one client address may make before its further
    # attempts are refused unseen (see survey_service.guessing); 0: no throttle.
    auth_failures_per_minute: int = 10
    # How long a process trusts its cached "current published version" of a form before
    # asking the database again; other processes see a new publication within this time.
    form_cache_seconds: float = 1.0
    # The participation targets (JSON); None: the shipped reference/data one.
    participation_targets: Path | None = None
    # Processes that render report sections in parallel (WeasyPrint uses one core each).
    report_workers: int = field(default_factory=lambda: min(os.cpu_count() or 1, 4))
    # Whether each server process also renders reports (PostgreSQL). False: the servers
    # only queue them and ``python -m survey_service worker`` processes render. On SQLite
    # the server is the only process that can render, so False is ignored there.
    server_renders_reports: bool = True
    # The pages' session cookies are encrypted with a key derived from this secret; when
    # unset, one is generated into var/session-secret (mode 0600) on first start.
    session_secret: str | None = None
    # Send the session cookie only over HTTPS (set it behind a TLS-terminating proxy).
    secure_cookies: bool = False
    # The zone in which people read and type times: the pages show times in it, and a
    # campaign's date-only opens_at/closes_at are days of it (an IANA name).
    time_zone: str = "Asia/Shanghai"
    # The address people reach the service at (``https://survey.example.cn``): poll links
    # and their QR codes are built on it. None: the address of the admin's own request.
    public_base_url: str | None = None
    # The SMTP server the reminders are sent through; None (the default): no e-mail, the
    # reminders page offers the list and the text to send by other means.
    smtp: SmtpSettings | None = None
    # The reverse proxies (addresses or networks) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; empty (the default): those headers are ignored and
    # the client is the TCP peer, so nobody can pick the address the throttles count.
    trusted_proxies: tuple[str, ...] = ()
    # Count and time requests and serve them at /metrics to admins (survey_service.metrics).
    metrics: bool = True
    # "text" (the default) or "json": every log record as one JSON object a line, and one
    # line per request (survey_service.logs), for a log collector.
    log_format: str = "text"
    # Webhooks may point at private, loopback and link-local addresses and plain http (a
    # test receiver, an intranet system); off, only https on public addresses.
    webhooks_allow_private: bool = False
    # Whether this process sends webhook deliveries (False: it only records the events,
    # which another server or the `worker` command sends); and a factor on the pauses
    # between attempts (a positive number).
    webhooks_deliver: bool = True
    webhook_retry_scale: float = 1.0
    debug: bool = False

    def __post_init__(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise ValueError(
                f"SURVEY_LOG_FORMAT is {' or '.join(LOG_FORMATS)}, not {self.log_format!r}"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"SURVEY_TRUSTED_PROXIES: {proxy!r} is not an IP address or network "
                    "(e.g. 127.0.0.1 or 10.0.0.0/8)"
                ) from None
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"SURVEY_TIME_ZONE={self.time_zone!r} is not a known time zone "
                "(an IANA name such as Asia/Shanghai)"
            ) from None
        if not (math.isfinite(self.webhook_retry_scale) and self.webhook_retry_scale > 0):
            raise ValueError(
                f"SURVEY_WEBHOOK_RETRY_SCALE={self.webhook_retry_scale!r} is not a positive "
                "number (1 keeps the documented pauses)"
            )
        if self.public_base_url is not None and not re.fullmatch(
            r"https?://[^/?#\s]+(/[^?#\s]*)?", self.public_base_url
        ):
            raise ValueError(
                f"SURVEY_PUBLIC_BASE_URL={self.public_base_url!r} is not an http(s) address "
                "such as https://survey.example.cn"
            )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        defaults = cls()
        var_dir = Path(env.get("SURVEY_VAR_DIR", str(defaults.var_dir)))
        database_url = env.get("SURVEY_DATABASE_URL") or (
            f"sqlite+aiosqlite:///{var_dir / 'survey.db'}"
        )
        return cls(
            database_url=database_url,
            host=env.get("SURVEY_HOST", defaults.host),
            port=int(env.get("SURVEY_PORT", defaults.port)),
            workers=int(env.get("SURVEY_WORKERS", defaults.workers)),
            shutdown_seconds=int(env.get("SURVEY_SHUTDOWN_SECONDS", defaults.shutdown_seconds)),
            var_dir=var_dir,
            form_schemas_dir=Path(env.get("SURVEY_FORM_SCHEMAS", str(defaults.form_schemas_dir))),
            admin_token=env.get("SURVEY_ADMIN_TOKEN") or None,
            max_body_bytes=int(env.get("SURVEY_MAX_BODY_BYTES", defaults.max_body_bytes)),
            token_rate_per_minute=int(
                env.get("SURVEY_TOKEN_RATE_PER_MINUTE", defaults.token_rate_per_minute)
            ),
            auth_failures_per_minute=int(
                env.get("SURVEY_AUTH_FAILURES_PER_MINUTE", defaults.auth_failures_per_minute)
            ),
            form_cache_seconds=float(
                env.get("SURVEY_FORM_CACHE_SECONDS", defaults.form_cache_seconds)
            ),
            participation_targets=(
                Path(env["SURVEY_PARTICIPATION_TARGETS"])
                if env.get("SURVEY_PARTICIPATION_TARGETS")
                else None
            ),
            report_workers=int(env.get("SURVEY_REPORT_WORKERS", defaults.report_workers)),
            server_renders_reports=env.get("SURVEY_SERVER_RENDERS_REPORTS", "true").lower()
            not in {"0", "false", "no", "off"},
            session_secret=env.get("SURVEY_SESSION_SECRET") or None,
            secure_cookies=env.get("SURVEY_SECURE_COOKIES", "") in {"1", "true", "yes"},
            time_zone=env.get("SURVEY_TIME_ZONE") or defaults.time_zone,
            public_base_url=(env.get("SURVEY_PUBLIC_BASE_URL") or "").rstrip("/") or None,
            smtp=SmtpSettings.from_env(env),
            trusted_proxies=tuple(
                p.strip() for p in env.get("SURVEY_TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            metrics=env.get("SURVEY_METRICS", "true").lower() not in {"0", "false", "no", "off"},
            log_format=env.get("SURVEY_LOG_FORMAT", "").strip().lower() or defaults.log_format,
            webhooks_allow_private=env.get("SURVEY_WEBHOOKS_ALLOW_PRIVATE", "").lower()
            in {"1", "true", "yes", "on"},
            webhooks_deliver=env.get("SURVEY_WEBHOOKS_DELIVER", "true").lower()
            not in {"0", "false", "no", "off"},
            webhook_retry_scale=float(
                env.get("SURVEY_WEBHOOK_RETRY_SCALE", defaults.webhook_retry_scale)
            ),
            debug=env.get("SURVEY_DEBUG", "") in {"1", "true", "yes"},
        )
