"""A nesting limit on every JSON body, checked on the raw bytes before anything parses them.

msgspec gives up past about 1,000 levels with a RecursionError (a 500), and the checks
after it (JSON Schema validation, the database's JSON encoder) recurse too. No document
this service takes nests deeper than a few levels (a form's JSON Schema, the deepest, a
dozen), so 64 leaves room and refuses a hostile ``[[[[...`` at once with a 400 problem.

The check runs as the app's ``before_request`` hook: after the guards (a caller without a
valid token costs no body read), before the handler's body is decoded. The header does not
decide what is decoded as JSON: a handler that takes ``data`` decodes it as its signature
says, and a handler that reads ``request.body()`` decodes JSON whatever the client claimed.
So every POST, PUT and PATCH body is checked (the handler reads it anyway; the request
keeps it), but two: a form sent to a handler whose ``data`` is declared a form (the
spreadsheet uploads: Litestar parses the form and never decodes JSON), and a body claimed
to be a form that does not open with a bracket (a page's form post: a JSON decoder would
stop at its first byte, and a file in it, say a workbook, has brackets that are not
nesting). A body
with fewer brackets than the limit passes at the cost of two ``bytes.count`` (a poll
answer: 0.3 µs); a larger one is reduced to its quotes and brackets and its running depth
taken with numpy over its brackets (a 3.7 MB salary survey of 10,000 workers: about 4 ms).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.params import BodyKwarg

from survey_service.errors import ServiceError

MAX_JSON_DEPTH = 64

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_QUOTE = ord('"')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1
_CHUNK = 1 << 20  # bytes of skeleton per numpy pass: bounded memory for a 20 MB body
# JSON's whitespace, then an array or object: where a JSON decoder starts to nest.
_OPENS_NESTING = re.compile(rb"[ \t\r\n]*[\[{]")


def nesting_depth(body: bytes, *, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do
    not count); for a text that is not JSON, some number no larger than its brackets. With
    ``stop_above``, counting stops at the first chunk that goes deeper.

    Escaped backslashes, then escaped quotes are dropped (left to right, as JSON reads
    them), then everything but quotes and brackets: what is left between an odd and the
    next even quote was inside a string."""
    if b"\\" in body:  # most bodies have no escape: two copies of a 0.4 MB body saved
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = body.translate(None, _NOT_STRUCTURE)
    deepest = level = quotes = 0
    for start in range(0, len(skeleton), _CHUNK):
        chars = np.frombuffer(skeleton, dtype=np.uint8, count=min(_CHUNK, len(skeleton) - start),
                              offset=start)  # fmt: skip
        # Everything in the skeleton that is not a bracket is a quote, so the quotes before
        # the k-th bracket are its position less k: the work is over the brackets alone
        # (a 1,000-row survey: 50,000 characters of skeleton, 2,000 of them brackets).
        at = np.flatnonzero(chars != _QUOTE)
        outside = ((at - np.arange(len(at)) + quotes) & 1) == 0
        running = np.cumsum(_STEP[chars[at]] * outside, dtype=np.int64) + level
        if len(running):
            deepest = max(deepest, int(running.max()))
            level = int(running[-1])
        quotes += len(chars) - len(at)
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    return nesting_depth(body, stop_above=limit) > limit


def _takes_a_form(request: Request[Any, Any, Any]) -> bool:
    """Whether the handler's ``data`` is declared a form (Litestar then parses the form)."""
    data = request.route_handler.parsed_data_field
    kwarg = data.kwarg_definition if data is not None else None
    return isinstance(kwarg, BodyKwarg) and kwarg.media_type in (
        RequestEncodingType.MULTI_PART,
        RequestEncodingType.URL_ENCODED,
    )


async def refuse_deep_json(request: Request[Any, Any, Any]) -> None:
    """The app's ``before_request`` hook: 400 for a body nested deeper than the limit,
    whatever content type it claims, unless it is read as a form (see the module)."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    claimed_form = request.headers.get("content-type", "").lower().startswith(_FORM_TYPES)
    if claimed_form and _takes_a_form(request):
        return  # parsed as the form it claims to be, streamed (an upload is not read twice)
    body = await request.body()
    if claimed_form and _OPENS_NESTING.match(body) is None:
        return
    if too_deep(body):
        raise ServiceError(
            "json-too-deep", f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
        )
