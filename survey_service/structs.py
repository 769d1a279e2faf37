"""The one msgspec base for request and response bodies.

``forbid_unknown_fields`` makes a typo'd request field an error instead of being ignored;
``omit_defaults`` keeps responses small; ``kw_only`` lets subclasses add defaults freely.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

# A stored whole number named in a request (an id, a version number): PostgreSQL's int4.
# A larger one is refused as invalid (422) instead of reaching the database driver, which
# cannot bind it and would fail the request with a 500.
INT4_MAX = 2**31 - 1
RowId = Annotated[int, msgspec.Meta(ge=1, le=INT4_MAX)]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A request body."""


class Out(msgspec.Struct, kw_only=True):
    """A response body (every field always present)."""
