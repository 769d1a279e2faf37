"""Keys in the order a form shows them.

A form version's JSON objects (``rules.duties``, ``rules.dimensions``, ``schema.properties``)
lose their key order in PostgreSQL's JSONB; the lists of its UI hints (``ui.order``, a
section's ``order``) keep it. Whatever is listed follows the form's lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def in_form_order(keys: Iterable[str], order: Sequence[Any]) -> list[str]:
    """``keys`` as ``order`` lists them; keys it does not list come last, sorted."""
    position = {key: i for i, key in enumerate(order) if isinstance(key, str)}
    return sorted(keys, key=lambda k: (position.get(k, len(position)), k))


def reorder(items: dict[str, T], order: Sequence[Any]) -> dict[str, T]:
    return {key: items[key] for key in in_form_order(items, order)}
