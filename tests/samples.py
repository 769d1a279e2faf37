"""Sample data shared by the integration tests."""

from __future__ import annotations

import copy
from typing import Any

from survey_service.forms.formats import uscc_check_character
from tests.unit.test_shipped_forms import salary_document as _salary_document


def uscc(n: int) -> str:
    """The n-th synthetic unified social credit code of a Tongchuan enterprise."""
    first17 = f"91610200MA{n:06d}X"
    return first17 + uscc_check_character(first17)


def enterprise(n: int, district: str = "610202", **extra: Any) -> dict[str, Any]:
    return {
        "uscc": uscc(n),
        "name": f"铜川示例企业{n}有限公司",
        "district": district,
        "industry": "C30",
        "size_class": "medium",
        "staff_count": 150,
        "has_union": True,
        "above_designated_size": True,
        **extra,
    }


def salary_document(uscc_code: str) -> dict[str, Any]:
    document = copy.deepcopy(_salary_document())
    document["enterprise"]["uscc"] = uscc_code
    return document
