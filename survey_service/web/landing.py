"""The landing page at ``/``: where a newcomer goes next (the administrators' pages, the
enterprises' pages, the analysts' page, the API's OpenAPI document). ``serve`` prints the
same addresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Request, Response, get

from survey_service.openapi import OPENAPI_DOCUMENT
from survey_service.web.pages import page


@dataclass(frozen=True, slots=True)
class Entrance:
    """One address a newcomer may want, with what it is for in both languages."""

    path: str
    name_zh: str
    name_en: str
    about_zh: str
    about_en: str


ENTRANCES: tuple[Entrance, ...] = (
    Entrance(
        "/admin",
        "管理员",
        "Administrators",
        "用管理员令牌登录：调查活动、进度、表单设计、问卷链接和二维码、下载。",
        "Sign in with an administrator token: campaigns, progress, the form builder, "
        "poll links and QR codes, downloads.",
    ),
    Entrance(
        "/e",
        "企业填报",
        "Enterprises",
        "用人社局邀请函中的邀请码登录，在线填写或上传工资表，提交后查看。",
        "Sign in with the invitation code from the bureau's letter; fill in or upload the "
        "payroll, submit, look back at it.",
    ),
    Entrance(
        "/analyst",
        "分析员",
        "Analysts",
        "用分析员令牌登录：已发布的工资价位统计表、分布图、下载和工资价位报告。",
        "Sign in with an analyst's token: the released wage tables, their spread by group, "
        "the downloads and the wage guide.",
    ),
    Entrance(
        OPENAPI_DOCUMENT,
        "接口文档（OpenAPI）",
        "API documentation (OpenAPI)",
        "每个接口的路径、参数、权限和错误格式（JSON）。",
        "Every endpoint's path, parameters, permissions and error shape (JSON).",
    ),
)


def served_addresses(host: str, port: int) -> list[str]:
    """The lines ``serve`` prints when it starts: the landing page and each entrance."""
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    lines = [f"  {'landing page':<28} {base}/"]
    lines += [f"  {entrance.name_en:<28} {base}{entrance.path}" for entrance in ENTRANCES]
    return lines


@get("/", media_type=MediaType.HTML, include_in_schema=False)
async def landing(request: Request[Any, Any, Any]) -> Response[str]:
    """What the service is and where to go: the admin's pages, the enterprises', the API."""
    return page(request, "landing.html", entrances=ENTRANCES)
