"""The campaign form of the bureau's pages: its fields, what a post of it makes (the
``CampaignIn`` body the API takes), the values an existing campaign shows in it, and the
service's errors (JSON Pointers into that body) placed next to the field they are about.

Everything typed is kept as typed, so a form that comes back with an error shows it again.
The settings the form does not edit (``campaign_settings.FORM_KEYS`` are the ones it does;
say the sampling weights) are kept as they are on an edit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from survey_service.collection.campaign_settings import FORM_KEYS
from survey_service.collection.schemas import CampaignIn, CampaignOut
from survey_service.db.models import Form, FormVersion
from survey_service.web.i18n import Lang

# The text fields, as the template names its inputs.
TEXT_FIELDS = (
    "form", "title", "year", "campaign_year", "opens_at", "closes_at",
    "audience_industries", "audience_above_designated_size", "audience_has_union",
    "audience_min_staff", "disclosure_min_enterprises", "disclosure_min_workers",
    "disclosure_p_percent", "disclosure_dominance_n", "disclosure_dominance_k",
    "annual_min_months", "anonymity_min_group", "anonymity_min_group_comments",
    "poll_rate_per_minute", "organisers_zh", "organisers_en", "response_target",
)  # fmt: skip
FIELDS = (*TEXT_FIELDS, "audience_districts", "requires_review")
# Each field's label, in the form and in the list of errors above it.
LABELS: dict[str, tuple[str, str]] = {
    "form": ("表单及版本", "Form and version"),
    "title": ("活动名称", "Title"),
    "year": ("数据年份", "Year the data speak of"),
    "campaign_year": ("所属年度活动", "Campaign year"),
    "opens_at": ("开始", "Opens"),
    "closes_at": ("截止", "Closes"),
    "audience_districts": ("区县", "Districts"),
    "audience_industries": ("行业", "Industries"),
    "audience_above_designated_size": ("规模以上企业", "Above designated size"),
    "audience_has_union": ("已建工会", "Has a trade union"),
    "audience_min_staff": ("职工人数不少于", "At least this many staff"),
    "requires_review": ("需要审核", "Review required"),
    "response_target": ("目标填报率（%）", "Target response rate (%)"),
    "disclosure_min_enterprises": ("每格至少企业数", "Enterprises per cell, at least"),
    "disclosure_min_workers": ("每格至少职工数", "Workers per cell, at least"),
    "disclosure_p_percent": ("p% 规则的 p", "p of the p% rule"),
    "disclosure_dominance_n": ("优势规则 (n,k) 的 n", "Dominance rule (n,k): n"),
    "disclosure_dominance_k": ("优势规则 (n,k) 的 k（%）", "Dominance rule (n,k): k (%)"),
    "annual_min_months": ("计入年度工资表的最少工作月数", "Months that make a full year"),
    "anonymity_min_group": ("每组至少答卷数（少于此数只显示份数）",
                            "Answers per group, at least (fewer: the count only)"),
    "anonymity_min_group_comments": ("显示意见所需的最少答卷数", "Answers needed to show comments"),
    "poll_rate_per_minute": ("每个链接每分钟最多答卷数", "Answers a link takes a minute, at most"),
    "organisers_zh": ("组织单位（中文）", "Organisers (Chinese)"),
    "organisers_en": ("组织单位（英文）", "Organisers (English)"),
}  # fmt: skip


def labels(lang: Lang) -> dict[str, str]:
    return {name: zh if lang == "zh" else en for name, (zh, en) in LABELS.items()}


WHOLE = {
    "year", "campaign_year", "audience_min_staff", "disclosure_min_enterprises",
    "disclosure_min_workers", "disclosure_dominance_n", "annual_min_months",
    "anonymity_min_group", "anonymity_min_group_comments", "poll_rate_per_minute",
}  # fmt: skip
DECIMAL = {"disclosure_p_percent", "disclosure_dominance_k", "response_target"}
MAX_TEXT = 400  # longer than any field takes: refused here before anything reads it
# Where an error about a whole object is shown: the object's first field.
_OBJECT_FIELDS = {
    "disclosure": "disclosure_min_enterprises",
    "disclosure_dominance": "disclosure_dominance_n",
    "anonymity": "anonymity_min_group",
    "organisers": "organisers_zh",
    "audience": "audience_districts",
    "form_key": "form",
    "form_version": "form",
    "window": "opens_at",
}


@dataclass(frozen=True, slots=True)
class FormChoice:
    """One published version a campaign may run: ``salary-survey@2``."""

    value: str
    key: str
    number: int
    kind: str
    title: str
    current: bool


def form_choices(published: Sequence[tuple[Form, FormVersion]], lang: Lang) -> list[FormChoice]:
    seen: set[str] = set()
    out = []
    for form, version in published:  # newest version of each form first
        title = (form.title_en if lang == "en" else None) or form.title_zh
        out.append(
            FormChoice(f"{form.key}@{version.number}", form.key, version.number, form.kind, title,
                       current=form.key not in seen)
        )  # fmt: skip
        seen.add(form.key)
    return out


@dataclass
class CampaignForm:
    """What the form shows: the text of each field, the districts ticked, the errors by
    field and those that belong to no one field."""

    values: dict[str, str] = field(default_factory=dict)
    districts: list[str] = field(default_factory=list)
    requires_review: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def add_error(self, name: str | None, message: str) -> None:
        if name is None:
            self.general.append(message)
        elif name not in self.errors:
            self.errors[name] = message


def posted_form(fields: Mapping[str, list[str]]) -> CampaignForm:
    form = CampaignForm()
    for name in TEXT_FIELDS:
        form.values[name] = (fields.get(name) or [""])[0].strip()[:MAX_TEXT]
    form.districts = [d for d in fields.get("audience_districts", []) if d][:50]
    form.requires_review = bool((fields.get("requires_review") or [""])[0])
    return form


def _number_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _instant_text(moment: datetime, zone: ZoneInfo, *, end: bool) -> str:
    """A day alone when the instant is a local midnight (an end: the day before, which
    the campaign takes answers through), else the time with its offset."""
    here = moment.astimezone(zone)
    if here.time() == here.time().min and here.tzinfo is not None:
        day = (here - timedelta(days=1)) if end else here
        return f"{day:%Y-%m-%d}"
    return here.replace(microsecond=0).isoformat()


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def campaign_form(campaign: CampaignOut, zone: ZoneInfo) -> CampaignForm:
    """The form filled with a campaign as it stands."""
    settings = campaign.settings
    disclosure = _object(settings.get("disclosure"))
    dominance = _object(disclosure.get("dominance"))
    anonymity = _object(settings.get("anonymity"))
    organisers = settings.get("organisers")
    if isinstance(organisers, str):
        organisers = {"zh": organisers}
    organisers = organisers if isinstance(organisers, dict) else {}
    audience = campaign.audience
    flags = {True: "yes", False: "no", None: ""}
    target = settings.get("response_target")
    values = {
        "form": f"{campaign.form_key}@{campaign.form_version}",
        "title": campaign.title,
        "year": str(campaign.year),
        "campaign_year": str(campaign.campaign_year),
        "opens_at": _instant_text(campaign.opens_at, zone, end=False),
        "closes_at": _instant_text(campaign.closes_at, zone, end=True),
        "audience_industries": ", ".join(audience.get("industries") or []),
        "audience_above_designated_size": flags.get(audience.get("above_designated_size"), ""),
        "audience_has_union": flags.get(audience.get("has_union"), ""),
        "audience_min_staff": _number_text(audience.get("min_staff")),
        "disclosure_min_enterprises": _number_text(disclosure.get("min_enterprises")),
        "disclosure_min_workers": _number_text(disclosure.get("min_workers")),
        "disclosure_p_percent": _number_text(disclosure.get("p_percent")),
        "disclosure_dominance_n": _number_text(dominance.get("n")),
        "disclosure_dominance_k": _number_text(dominance.get("k")),
        "annual_min_months": _number_text(settings.get("annual_min_months")),
        "anonymity_min_group": _number_text(anonymity.get("min_group")),
        "anonymity_min_group_comments": _number_text(anonymity.get("min_group_comments")),
        "poll_rate_per_minute": _number_text(settings.get("poll_rate_per_minute")),
        "organisers_zh": str(organisers.get("zh") or ""),
        "organisers_en": str(organisers.get("en") or ""),
        "response_target": _number_text(round(target * 100, 2))
        if isinstance(target, int | float) and not isinstance(target, bool)
        else "",
    }
    return CampaignForm(
        values=values,
        districts=list(audience.get("districts") or []),
        requires_review=campaign.requires_review,
    )


# --- from the form to the API's body --------------------------------------------------------


def _parse_number(form: CampaignForm, name: str, lang: Lang) -> int | float | None:
    text = form.value(name).replace(",", "").replace("，", "").removesuffix("%").strip()
    if not text:
        return None
    try:
        if name in WHOLE:
            return int(text)
        number = float(text)
    except ValueError:
        whole = name in WHOLE
        form.add_error(
            name,
            ("应为整数" if whole else "应为数字")
            if lang == "zh"
            else ("a whole number" if whole else "a number"),
        )
        return None
    if not math.isfinite(number):
        form.add_error(name, "应为数字" if lang == "zh" else "a number")
        return None
    return number


def _flag(text: str) -> bool | None:
    return {"yes": True, "no": False}.get(text)


def campaign_body(
    form: CampaignForm, base_settings: Mapping[str, Any], lang: Lang
) -> dict[str, Any] | None:
    """The API's body for the posted form (the settings it does not edit taken from
    ``base_settings``), or None when a field is not even readable (its error is in
    ``form``)."""
    numbers = {name: _parse_number(form, name, lang) for name in WHOLE | DECIMAL}
    required = {"form": form.value("form"), "title": form.value("title"),
                "year": form.value("year"), "opens_at": form.value("opens_at"),
                "closes_at": form.value("closes_at")}  # fmt: skip
    for name, text in required.items():
        if not text:
            form.add_error(name, "必填" if lang == "zh" else "required")
    key, _, number = form.value("form").rpartition("@")
    if form.value("form") and (not key or not number.isdigit()):
        form.add_error("form", "请选择表单" if lang == "zh" else "choose a form")
    if form.errors:
        return None
    industries = [c for c in re.split(r"[\s,，、;；]+", form.value("audience_industries")) if c]
    audience = {
        "districts": form.districts or None,
        "industries": industries or None,
        "above_designated_size": _flag(form.value("audience_above_designated_size")),
        "has_union": _flag(form.value("audience_has_union")),
        "min_staff": numbers["audience_min_staff"],
    }
    settings = {k: v for k, v in base_settings.items() if k not in FORM_KEYS}
    disclosure: dict[str, Any] = {
        k: numbers[f"disclosure_{k}"]
        for k in ("min_enterprises", "min_workers", "p_percent")
        if numbers[f"disclosure_{k}"] is not None
    }
    n, k = numbers["disclosure_dominance_n"], numbers["disclosure_dominance_k"]
    if n is not None or k is not None:
        disclosure["dominance"] = {x: v for x, v in (("n", n), ("k", k)) if v is not None}
    anonymity = {
        k: numbers[f"anonymity_{k}"]
        for k in ("min_group", "min_group_comments")
        if numbers[f"anonymity_{k}"] is not None
    }
    organisers = {
        lang_: form.value(f"organisers_{lang_}")
        for lang_ in ("zh", "en")
        if form.value(f"organisers_{lang_}")
    }
    target = numbers["response_target"]
    optional = {
        "disclosure": disclosure or None,
        "annual_min_months": numbers["annual_min_months"],
        "anonymity": anonymity or None,
        "poll_rate_per_minute": numbers["poll_rate_per_minute"],
        "organisers": organisers or None,
        "response_target": round(target / 100, 6) if target is not None else None,
    }
    settings |= {k: v for k, v in optional.items() if v is not None}
    body = {
        "form_key": key,
        "form_version": int(number),
        "title": form.value("title"),
        "year": numbers["year"],
        "campaign_year": numbers["campaign_year"],
        "opens_at": form.value("opens_at"),
        "closes_at": form.value("closes_at"),
        "audience": {k: v for k, v in audience.items() if v is not None},
        "requires_review": form.requires_review,
        "settings": settings,
    }
    return {k: v for k, v in body.items() if v is not None}


def to_campaign_in(form: CampaignForm, body: dict[str, Any], lang: Lang) -> CampaignIn | None:
    """The body as ``CampaignIn``, or None with the field's error in ``form``."""
    try:
        return msgspec.convert(body, CampaignIn)
    except msgspec.ValidationError as exc:
        text = str(exc)
        message, _, where = text.partition(" - at `$")
        path = re.sub(r"\[(\d+)\]", r"/\1", where.rstrip("`")).replace(".", "/")
        form.add_error(field_of(path), _msgspec_text(message, lang))
        return None


def _msgspec_text(message: str, lang: Lang) -> str:
    if lang != "zh":
        return message
    for pattern, zh in (
        (r"of length >= 1$", "必填"),
        (r"of length <= (\d+)$", "最多 {} 个字符"),
        (r"of length >= (\d+)$", "至少 {} 个字符"),
        (r">= (\S+)$", "应不小于 {}"),
        (r"<= (\S+)$", "应不大于 {}"),
    ):
        found = re.search(pattern, message)
        if found:
            return zh.format(*found.groups())
    return f"填写有误（{message}）"


def field_of(path: str) -> str | None:
    """The form field a JSON Pointer into the body is about (None: the form as a whole)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["settings"]:
        parts = parts[1:]
    name = "_".join(parts)
    if not name:
        return None
    for known in sorted(FIELDS, key=len, reverse=True):
        if name == known or name.startswith(known + "_"):
            return known
    for prefix, shown in sorted(_OBJECT_FIELDS.items(), key=lambda i: -len(i[0])):
        if name == prefix or name.startswith(prefix + "_"):
            return shown
    return None


def place_errors(form: CampaignForm, detail: str, errors: Sequence[Any], lang: Lang) -> None:
    """The service's problem in the form: each error at its field, the detail otherwise."""
    placed = False
    for error in errors:
        if not isinstance(error, dict):
            continue
        message = str(error.get("message_zh") if lang == "zh" and error.get("message_zh")
                      else error.get("message") or detail)  # fmt: skip
        form.add_error(field_of(str(error.get("path") or "")), message)
        placed = True
    if not placed:
        form.add_error(None, detail)
