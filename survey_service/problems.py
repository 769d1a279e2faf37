"""The catalogue of problems the service answers with, as data: one entry per problem type,
each with a stable slug, its HTTP status, a title in English and in Chinese and what it
means. A problem's ``type`` is the relative URI ``/problems/<slug>`` (RFC 9457 allows a
relative reference, resolved against the service), and ``GET /problems/<slug>`` answers
with its entry (``survey_service.web.problem_pages``).

Services raise ``survey_service.errors.ServiceError`` naming one of these slugs;
``survey_service.errors`` turns it (and what the framework raises, by status) into
problem+json. A client tells problems apart by ``type``, never by their English text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PROBLEMS_PATH = "/problems"

ProblemKind = Literal[
    "bad-request",
    "invalid-json",
    "json-too-deep",
    "not-in-release",
    "unauthorized",
    "forbidden",
    "campaign-not-open",
    "campaign-closed",
    "poll-not-open",
    "poll-closed",
    "code-required",
    "code-not-accepted",
    "not-found",
    "method-not-allowed",
    "conflict",
    "already-submitted",
    "already-answered",
    "campaign-still-open",
    "no-release-yet",
    "report-not-ready",
    "export-not-ready",
    "link-withdrawn",
    "payload-too-large",
    "unprocessable",
    "validation-failed",
    "spreadsheet-refused",
    "rows-refused",
    "not-releasable",
    "edit-checks-failed",
    "too-many-requests",
    "too-many-failed-attempts",
    "too-many-answers",
    "internal-error",
    "database-unavailable",
    "not-stored",
]


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One kind of problem: what a client branches on, and what a person reads."""

    slug: ProblemKind
    status: int
    title: str
    title_zh: str
    description: str

    @property
    def uri(self) -> str:
        return f"{PROBLEMS_PATH}/{self.slug}"


_TYPES = (
    # 400
    ProblemType(
        "bad-request", 400, "Bad Request", "请求有误",
        "A parameter or the request itself cannot be read (a cursor, a release number, "
        "a filter).",
    ),
    ProblemType(
        "invalid-json", 400, "Invalid JSON", "JSON 格式错误",
        "The request body is not valid JSON.",
    ),
    ProblemType(
        "json-too-deep", 400, "JSON nested too deeply", "JSON 嵌套层数过多",
        "The JSON body nests deeper than the service reads.",
    ),
    ProblemType(
        "not-in-release", 400, "Not in the release", "发布数据中没有这张表",
        "The release's protected structure does not answer this table; `detail` says why.",
    ),
    # 401, 403
    ProblemType(
        "unauthorized", 401, "Unauthorized", "需要有效的令牌",
        "No valid bearer token (missing, unknown, expired or revoked), or no session.",
    ),
    ProblemType(
        "forbidden", 403, "Forbidden", "无权进行此操作",
        "The token's role may not do this, or a signed-in browser sent no CSRF token.",
    ),
    ProblemType(
        "campaign-not-open", 403, "Campaign not open", "调查尚未开始",
        "The campaign takes no survey before it opens; `detail` gives the time.",
    ),
    ProblemType(
        "campaign-closed", 403, "Campaign closed", "调查已经结束",
        "The campaign has closed and takes no more surveys.",
    ),
    ProblemType(
        "poll-not-open", 403, "Poll not open yet", "问卷尚未开始",
        "The poll takes no answer before it opens; `message_zh`/`message_en` give the time.",
    ),
    ProblemType(
        "poll-closed", 403, "Poll closed", "问卷已经结束",
        "The poll has closed and takes no more answers.",
    ),
    ProblemType(
        "code-required", 403, "Code required", "需要参与码",
        "This poll link takes answers only with one of the union's one-time codes.",
    ),
    ProblemType(
        "code-not-accepted", 403, "Code not accepted", "参与码无效或已用过",
        "The one-time code is unknown or has been used already.",
    ),
    # 404, 405
    ProblemType(
        "not-found", 404, "Not Found", "找不到",
        "Not found, or not this token's to see.",
    ),
    ProblemType(
        "method-not-allowed", 405, "Method Not Allowed", "不支持此请求方法",
        "The address does not take this HTTP method.",
    ),
    # 409
    ProblemType(
        "conflict", 409, "Conflict", "与当前状态冲突",
        "Conflicts with the current state: a retry with other data, a published version, "
        "a link made meanwhile.",
    ),
    ProblemType(
        "already-submitted", 409, "Already submitted", "已经提交过",
        "The enterprise has a submission in this campaign already (`submission_id`): amend "
        "it instead.",
    ),
    ProblemType(
        "already-answered", 409, "Already answered from this device", "本设备已经作答",
        "An answer was already sent from this device through this link.",
    ),
    ProblemType(
        "campaign-still-open", 409, "Campaign still open", "调查仍在进行",
        "A campaign still collecting is released only with `during_collection`.",
    ),
    ProblemType(
        "no-release-yet", 409, "No release yet", "尚未发布数据",
        "The campaign has no release yet, and analysts read only releases.",
    ),
    ProblemType(
        "report-not-ready", 409, "Report not ready", "报告尚未生成",
        "The report is still queued or rendering, or it failed (`detail` says why).",
    ),
    ProblemType(
        "export-not-ready", 409, "Export not ready", "导出文件尚未生成",
        "The export is still queued or being written, or it failed (`detail` says why).",
    ),
    # 410, 413
    ProblemType(
        "link-withdrawn", 410, "Poll link withdrawn", "链接已收回",
        "The poll link was withdrawn; the union hands out the current one.",
    ),
    ProblemType(
        "payload-too-large", 413, "Request Entity Too Large", "请求内容过大",
        "The request body is larger than the service accepts.",
    ),
    # 422
    ProblemType(
        "unprocessable", 422, "Unprocessable Entity", "无法处理此请求",
        "Well-formed, but the request cannot be carried out as asked; `detail` says why.",
    ),
    ProblemType(
        "validation-failed", 422, "Validation failed", "数据未通过校验",
        "The data is not valid: `errors` lists what to correct, with JSON Pointers.",
    ),
    ProblemType(
        "spreadsheet-refused", 422, "Spreadsheet refused", "表格文件无法读取",
        "The spreadsheet cannot or must not be read; `detail_zh` and `errors` say why.",
    ),
    ProblemType(
        "rows-refused", 422, "Rows refused", "部分行有错误",
        "Rows of the sheet are not valid, so nothing was stored; `errors` names each row "
        "and column.",
    ),
    ProblemType(
        "not-releasable", 422, "Not releasable", "无法发布",
        "The campaign cannot be released: nothing counted yet, unusable settings, or a "
        "form kind without releases.",
    ),
    ProblemType(
        "edit-checks-failed", 422, "Edit checks failed", "未通过审核",
        "Records fail the official edit checks of the national layout, so nothing was "
        "exported: `errors` lists each failure (enterprise `uscc`, employee `row`, `field`, "
        "`rule`, `value`), `failure_count` how many there are.",
    ),
    # 429
    ProblemType(
        "too-many-requests", 429, "Too many requests", "请求过于频繁",
        "This token made too many requests; `Retry-After` says when to try again.",
    ),
    ProblemType(
        "too-many-failed-attempts", 429, "Too many failed attempts", "失败次数过多",
        "Too many unknown tokens came from this address; `Retry-After` says when to try "
        "again.",
    ),
    ProblemType(
        "too-many-answers", 429, "Too many answers", "提交的人较多",
        "The poll link takes a limited number of answers a minute; `Retry-After` says when "
        "to try again.",
    ),
    # 500, 503
    ProblemType(
        "internal-error", 500, "Internal Server Error", "服务器内部错误",
        "The service met an unexpected error; it has been logged.",
    ),
    ProblemType(
        "database-unavailable", 503, "Service unavailable", "数据库暂时不可用",
        "The database cannot serve just now (`reason`); nothing was done, `Retry-After` "
        "says when to try again.",
    ),
    ProblemType(
        "not-stored", 503, "Not stored", "暂未保存",
        "The write could not be stored and was not received; send it again after "
        "`Retry-After`.",
    ),
)  # fmt: skip

CATALOGUE: dict[ProblemKind, ProblemType] = {problem.slug: problem for problem in _TYPES}


def problem_uri(kind: ProblemKind) -> str:
    """The ``type`` of a problem: ``/problems/<slug>``."""
    return CATALOGUE[kind].uri
