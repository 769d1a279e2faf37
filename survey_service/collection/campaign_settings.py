"""The campaign settings the service reads, checked when a campaign is made or changed, so
that a threshold which makes no sense is refused there (next to its field) rather than when
the first release or table is asked for.

``settings`` stays an open object (keys the service does not read are kept as given); the
ones below are read by the analytics, the polls and the campaign page:

- ``disclosure``: ``min_enterprises``, ``min_workers`` (whole numbers >= 1), ``p_percent``
  (0-100), ``dominance`` ``{n, k}`` or null (``analytics.disclosure.DisclosureRules``);
- ``annual_min_months``: the months that make a full year in the annual tables (1-12);
- ``anonymity``: ``min_group``, ``min_group_comments`` of a worker poll (whole numbers >= 1);
- ``poll_rate_per_minute``: answers a poll link takes a minute (whole number >= 1);
- ``organisers``: who runs a poll, a text or ``{"zh", "en"}``;
- ``enterprise_weights``: ``{uscc: sampling weight > 0}`` (admins only see it);
- ``response_target``: the share of invited enterprises the bureau expects to submit
  (0-1), drawn beside each district's response rate on the campaign page.
"""

from __future__ import annotations

import math
from typing import Any

from survey_service.analytics.disclosure import DisclosureRules

DISCLOSURE_KEYS = ("min_enterprises", "min_workers", "p_percent", "dominance")
ANONYMITY_KEYS = ("min_group", "min_group_comments")
# The keys the campaign form edits field by field (the others are kept as they are).
FORM_KEYS = (
    "disclosure",
    "annual_min_months",
    "anonymity",
    "poll_rate_per_minute",
    "organisers",
    "response_target",
)


def _error(path: str, message: str, message_zh: str, keyword: str = "settings") -> dict[str, Any]:
    return {"path": path, "message": message, "message_zh": message_zh, "keyword": keyword}


def _whole(value: Any, low: int, high: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole_error(path: str, low: int, high: int | None = None) -> dict[str, Any]:
    if high is None:
        return _error(path, f"a whole number, at least {low}", f"应为不小于 {low} 的整数")
    return _error(path, f"a whole number from {low} to {high}", f"应为 {low} 到 {high} 的整数")


def _disclosure_errors(raw: Any) -> list[dict[str, Any]]:
    base = "/settings/disclosure"
    if not isinstance(raw, dict):
        return [_error(base, "an object of thresholds", "应为一组阈值")]
    errors = [
        _error(f"{base}/{key}", f"unknown disclosure setting {key!r}", f"未知的保密设置 {key!r}")
        for key in raw
        if key not in DISCLOSURE_KEYS
    ]
    for key in ("min_enterprises", "min_workers"):
        if key in raw and not _whole(raw[key], 1):
            errors.append(_whole_error(f"{base}/{key}", 1))
    if "p_percent" in raw and not (_number(raw["p_percent"]) and 0 <= raw["p_percent"] <= 100):
        errors.append(_error(f"{base}/p_percent", "a percentage from 0 to 100", "应为 0 到 100"))
    dominance = raw.get("dominance")
    if dominance is not None:
        if not isinstance(dominance, dict) or set(dominance) != {"n", "k"}:
            errors.append(
                _error(f"{base}/dominance", "{n, k} or null", "应同时给出 n 和 k，或都不填")
            )
        else:
            if not _whole(dominance["n"], 1):
                errors.append(_whole_error(f"{base}/dominance/n", 1))
            if not (_number(dominance["k"]) and 0 < dominance["k"] <= 100):
                errors.append(
                    _error(f"{base}/dominance/k", "a percentage above 0, at most 100",
                           "应大于 0 且不大于 100")
                )  # fmt: skip
    if not errors:
        try:  # the analytics' own reading of them, as a last word
            DisclosureRules.from_settings(raw)
        except (ValueError, TypeError, KeyError) as exc:
            errors.append(_error(base, str(exc), f"保密阈值不可用：{exc}"))
    return errors


def _anonymity_errors(raw: Any) -> list[dict[str, Any]]:
    base = "/settings/anonymity"
    if not isinstance(raw, dict):
        return [_error(base, "an object of thresholds", "应为一组阈值")]
    errors = [
        _error(f"{base}/{key}", f"unknown anonymity setting {key!r}", f"未知的匿名设置 {key!r}")
        for key in raw
        if key not in ANONYMITY_KEYS
    ]
    errors += [
        _whole_error(f"{base}/{k}", 1) for k in ANONYMITY_KEYS if k in raw and not _whole(raw[k], 1)
    ]
    return errors


def _organisers_errors(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str) and raw.strip() and len(raw) <= 200:
        return []
    if (
        isinstance(raw, dict)
        and raw
        and set(raw) <= {"zh", "en"}
        and all(isinstance(v, str) and len(v) <= 200 for v in raw.values())
    ):
        return []
    return [
        _error("/settings/organisers", 'a text or {"zh", "en"}, at most 200 characters each',
               "应为不超过 200 字的文字")
    ]  # fmt: skip


def _weights_errors(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict) and all(_number(w) and w > 0 for w in raw.values()):
        return []
    return [
        _error("/settings/enterprise_weights", "an object of USCC -> positive number",
               "应为统一社会信用代码到正数权重的对应")
    ]  # fmt: skip


def settings_errors(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """What is wrong with the settings the service reads (JSON Pointer paths); empty when
    nothing is."""
    errors: list[dict[str, Any]] = []
    if "disclosure" in settings and settings["disclosure"] is not None:
        errors += _disclosure_errors(settings["disclosure"])
    if "annual_min_months" in settings and not _whole(settings["annual_min_months"], 1, 12):
        errors.append(_whole_error("/settings/annual_min_months", 1, 12))
    if "anonymity" in settings and settings["anonymity"] is not None:
        errors += _anonymity_errors(settings["anonymity"])
    if "poll_rate_per_minute" in settings and not _whole(settings["poll_rate_per_minute"], 1):
        errors.append(_whole_error("/settings/poll_rate_per_minute", 1))
    if "organisers" in settings and settings["organisers"] is not None:
        errors += _organisers_errors(settings["organisers"])
    if "enterprise_weights" in settings and settings["enterprise_weights"] is not None:
        errors += _weights_errors(settings["enterprise_weights"])
    target = settings.get("response_target")
    if target is not None and not (_number(target) and 0 < target <= 1):
        errors.append(
            _error(
                "/settings/response_target", "a share above 0, at most 1", "应大于 0 且不大于 100%"
            )
        )
    return errors


def response_target(settings: dict[str, Any]) -> float | None:
    """The share of invited enterprises expected to submit, when the campaign sets one."""
    target = settings.get("response_target")
    if isinstance(target, int | float) and not isinstance(target, bool) and 0 < target <= 1:
        return float(target)
    return None
