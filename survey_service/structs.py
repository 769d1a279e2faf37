"""The one msgspec base for request and response bodies.

``forbid_unknown_fields`` makes a typo'd request field an error instead of being ignored;
``omit_defaults`` keeps responses small; ``kw_only`` lets subclasses add defaults freely.
"""

from __future__ import annotations

import msgspec


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A request body."""


class Out(msgspec.Struct, kw_only=True):
    """A response body (every field always present)."""
