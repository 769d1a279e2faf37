"""What every page shares: the Jinja environment (autoescaped: a form title holding
``<script>`` is shown as text), the response headers, the language switch and the static
files (one small stylesheet inlined, two small scripts; no framework)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from litestar import MediaType, Request, Response
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.router import Router
from litestar.static_files import create_static_files_router
from markupsafe import Markup

from survey_service.errors import ServiceError
from survey_service.local_time import Style, local_time, zone_label
from survey_service.web.i18n import LANG_COOKIE, Lang, lang_asked, lang_of, translate
from survey_service.web.sessions import csrf_token

WEB = Path(__file__).resolve().parent
TEMPLATES = WEB / "templates"
STATIC = WEB / "static"

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    # Poll links and pages are keys: never send them on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Scripts only from this site's files (no inline script); inline styles for the bars.
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _static_version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


STATIC_URLS = {
    name: f"/static/{name}?v={_static_version(name)}"
    for name in ("form.js", "builder.js", "admin.js")
}

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["site_css"] = Markup((STATIC / "site.css").read_text())  # noqa: S704
environment.globals["static"] = STATIC_URLS


@jinja2.pass_context
def _local(context: jinja2.runtime.Context, moment: datetime, style: Style = "minute") -> str:
    """``{{ when|local }}``: the one way a page shows a time, in the configured zone
    (``page`` puts the zone in every page's context; ``zone_note`` names it)."""
    return local_time(moment, context["time_zone"], style)


environment.filters["local"] = _local


def public_base_url(request: Request[Any, Any, Any]) -> str:
    """Where people reach the service (``SURVEY_PUBLIC_BASE_URL``), for the poll links and
    QR codes handed out; without that setting, the address this request came to."""
    configured: str | None = request.app.state.settings.public_base_url
    return configured or str(request.base_url).rstrip("/")


def static_files() -> Router:
    """``/static/...``: the scripts, cached for a day (their URLs carry a content hash)."""
    return create_static_files_router(
        path="/static",
        directories=[STATIC],
        cache_control=CacheControlHeader(max_age=86400, public=True),
        include_in_schema=False,
    )


def page(
    request: Request[Any, Any, Any],
    template: str,
    status: int = 200,
    *,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """A page in the visitor's language; ``?lang=`` is remembered in the ``lang`` cookie."""
    lang: Lang = lang_of(request)

    def t(text: str, **values: Any) -> str:
        return translate(lang, text, **values)

    zone = request.app.state.settings.zone
    label = zone_label(zone, lang)
    zone_note = f"（{label}）" if lang == "zh" else f" ({label})"
    body = environment.get_template(template).render(
        lang=lang, t=t, time_zone=zone, zone_note=zone_note, **context
    )
    cookies = []
    asked = lang_asked(request)
    if asked is not None:
        cookies.append(
            Cookie(
                key=LANG_COOKIE,
                value=asked,
                path="/",
                max_age=365 * 86400,
                httponly=True,
                samesite="lax",
            )
        )
    return Response(
        body,
        status_code=status,
        media_type=MediaType.HTML,
        headers={**PAGE_HEADERS, **(headers or {})},
        cookies=cookies,
    )


def message_page(
    request: Request[Any, Any, Any], status: int, title: str, message: str, **context: Any
) -> Response[str]:
    return page(request, "message.html", status, title=title, message=message, **context)


def refusal_page(
    request: Request[Any, Any, Any], exc: ServiceError, *, link: str, link_text: str
) -> Response[str]:
    """What the service refused, as a page: its detail and the errors it names (in Chinese
    where the problem carries it), its status, and the way back."""
    zh = lang_of(request) == "zh"
    detail = str(exc.extra.get("detail_zh") or exc.detail) if zh else str(exc.detail)
    errors = [str(e.get("message_zh") or e.get("message")) if zh else str(e.get("message"))
              for e in exc.extra.get("errors") or []]  # fmt: skip
    if errors:
        detail += "：" + "；".join(errors) if zh else ": " + "; ".join(errors)
    title = "无法完成" if zh else "Not done"
    return page(request, "message.html", exc.status_code, title=title, message=detail,
                link=link, link_text=link_text)  # fmt: skip


def signin_throttled(
    request: Request[Any, Any, Any], refused: ServiceError, *, role: str
) -> Response[str]:
    """The sign-in page again, 429 with ``Retry-After``, when its address failed too often
    (``too-many-failed-attempts``)."""
    retry = refused.headers.get("Retry-After", "60")
    error = translate(lang_of(request), "Too many failed sign-ins; try again in {seconds} s.",
                      seconds=retry)  # fmt: skip
    return page(
        request,
        "signin.html",
        429,
        headers={"Retry-After": retry},
        role=role,
        csrf=csrf_token(request),
        error=error,
    )
