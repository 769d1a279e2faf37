"""The pages' two languages: Chinese by default, English on ``?lang=en`` (remembered in a
``lang`` cookie that holds only the language), and the words of the pages themselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from litestar.connection import ASGIConnection

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
LANG_COOKIE = "lang"


def lang_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Lang:
    asked = connection.query_params.get("lang") or connection.cookies.get(LANG_COOKIE)
    return "en" if asked == "en" else "zh"


def lang_asked(connection: ASGIConnection[Any, Any, Any, Any]) -> Lang | None:
    """The language named in the query, which the response then remembers in the cookie."""
    asked = connection.query_params.get("lang")
    return "en" if asked == "en" else "zh" if asked == "zh" else None


def pick(text: Any, lang: Lang) -> str:
    """A ``{"zh", "en"}`` text in ``lang`` (the other language when that one is missing)."""
    if isinstance(text, Mapping):
        other: Lang = "zh" if lang == "en" else "en"
        return str(text.get(lang) or text.get(other) or "")
    return "" if text is None else str(text)


def schema_text(schema: Mapping[str, Any], key: str, lang: Lang) -> str:
    """A schema's ``title`` or ``description``; English from its ``x-en`` annotations."""
    if lang == "en":
        english = schema.get("x-en")
        if isinstance(english, Mapping) and english.get(key):
            return str(english[key])
    value = schema.get(key)
    return "" if value is None else str(value)


# The pages' own words. Keys are English phrases so the templates read naturally.
WORDS: dict[str, str] = {
    "required": "必答",
    "optional": "选填",
    "Submit": "提交",
    "Next": "下一页",
    "Back": "上一页",
    "Part {n} of {total}": "第 {n} 部分，共 {total} 部分",
    "Please check these {n} points:": "请检查以下 {n} 处：",
    "This question needs an answer": "此题必答",
    "Choose one of the options": "请从选项中选择",
    "Yes": "是",
    "No": "否",
    "Add a row": "添加一行",
    "Remove row {n}": "删除第 {n} 行",
    "Remove": "删除",
    "row {n}": "第 {n} 行",
    "Answer only when “{field}” is {values}.": "仅当“{field}”为{values}时作答。",
    " or ": "或",
    "Closes": "截止时间",
    "Run by {organisers}, for the workers of {enterprise}.": (
        "本问卷由{organisers}组织，面向{enterprise}的职工。"
    ),
    "One-time code (handed out by the union; each code works once; required)": (
        "参与码（工会发放，每个码只能用一次；必填）"
    ),
    "The code only prevents a second answer; it is not stored with your answers.": (
        "参与码只用来防止重复提交，不与您的答卷关联保存。"
    ),
    "One-time code": "参与码",
    "Thank you": "感谢您的参与",
    "Your answers were saved anonymously. You can close this page now.": (
        "您的答卷已匿名保存，现在可以关闭本页面。"
    ),
    "中文": "中文",
    "English": "English",
    "Language": "语言",
    "Answers are kept on this device until you submit.": "提交前，您的答案只暂存在本设备上。",
    "Unsaved answers from your last visit were restored.": "已恢复您上次未提交的答案。",
    "Sign in": "登录",
    "Sign out": "退出",
    "Invitation code": "邀请码",
    "Admin token": "管理员令牌",
    "Enterprise sign-in": "企业登录",
    "Administrator sign-in": "管理员登录",
    "Paste the invitation code from the bureau's letter.": "请粘贴人社局邀请函中的邀请码。",
    "The code is unknown, expired or withdrawn.": "邀请码无效、已过期或已被收回。",
    "The token is unknown, expired, revoked or not an administrator's.": (
        "令牌无效、已过期、已被撤销或不是管理员令牌。"
    ),
    "The form has expired; please try again.": "页面已过期，请重新操作。",
    "Your session has ended; please sign in again.": "登录已失效，请重新登录。",
    "Too many failed sign-ins; try again in {seconds} s.": (
        "登录失败次数过多，请 {seconds} 秒后再试。"
    ),
}


def translate(lang: Lang, text: str, **values: Any) -> str:
    """The page text ``text`` (its English wording) in ``lang``, with ``{name}`` filled."""
    phrase = WORDS.get(text, text) if lang == "zh" else text
    return phrase.format(**values) if values else phrase
