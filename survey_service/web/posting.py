"""What a page's form post carries: its text fields, the CSRF token, and the action the
button pressed asks for (submit, save a draft, add or remove a table row)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from survey_service.web.sessions import CSRF_FIELD

ACTION_FIELD = "_action"


@dataclass(frozen=True, slots=True)
class Posted:
    fields: dict[str, list[str]]
    files: dict[str, UploadFile]
    csrf: str | None
    action: str

    @property
    def row_action(self) -> bool:
        """A table row added or removed: the page comes back, nothing is stored."""
        return self.action.startswith(("add_row:", "remove_row:"))

    @property
    def added_row(self) -> str | None:
        """The table a row is added to (``add_row:employees``), if that is the action."""
        return self.action.removeprefix("add_row:") if self.action.startswith("add_row:") else None

    def answer_fields(self) -> dict[str, list[str]]:
        """The answers, without a row the action removes (``remove_row:employees.3``)."""
        if not self.action.startswith("remove_row:"):
            return self.fields
        prefix = self.action.removeprefix("remove_row:") + "."
        return {k: v for k, v in self.fields.items() if not k.startswith(prefix)}


async def read_post(request: Request[Any, Any, Any]) -> Posted:
    form = await request.form()
    fields: dict[str, list[str]] = {}
    files: dict[str, UploadFile] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields.setdefault(key, []).append(value)
        elif isinstance(value, UploadFile):
            files[key] = value
    csrf = next(iter(fields.pop(CSRF_FIELD, [])), None)
    action = (fields.pop(ACTION_FIELD, None) or ["submit"])[0]
    return Posted(fields, files, csrf, action)
