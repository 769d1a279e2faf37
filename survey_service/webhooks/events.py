"""The events a webhook can listen to, and the outbox row each one writes.

An event is recorded where its audit entry is (``auth.audit``), so it is written in the
same transaction as what it tells of: a rolled-back amendment tells nothing, a committed
one is never lost. Payloads carry ids and links, never answers or pay figures; poll answers
make no event at all (they are anonymous and never audited).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.db.models import WebhookEvent, utcnow

EVENTS: dict[str, str] = {
    "submission.received": "an enterprise's survey stored for the first time",
    "submission.amended": "a new revision of a survey",
    "submission.reviewed": "a survey accepted or returned by a reviewer",
    "upload.stored": "a salary spreadsheet stored as a survey",
    "report.done": "a PDF report rendered and stored",
    "release.made": "a campaign's figures released",
}
# The audit actions that are events, and the event each one is.
_OF_ACTION = {
    "submission.create": "submission.received",
    "submission.amend": "submission.amended",
    "submission.accepted": "submission.reviewed",
    "submission.returned": "submission.reviewed",
    "submission.upload": "upload.stored",
    "release.create": "release.made",
}


def _data(action: str, target: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The ids (and where to read more) of an audited action's target."""
    kind, _, rest = target.partition(":")
    if kind == "submission":
        submission_id, _, revision = rest.partition(":")
        data: dict[str, Any] = {"submission_id": submission_id}
        if revision:
            data["revision"] = int(revision)
        if (state := action.removeprefix("submission.")) in ("accepted", "returned"):
            data["state"] = state
        return data | {"links": {"submission": f"/api/v1/submissions/{submission_id}"}}
    if kind == "campaign":
        number = detail.get("number")
        return {
            "campaign_id": int(rest),
            "release": number,
            "kind": detail.get("kind"),
            "links": {"release": f"/api/v1/campaigns/{rest}/releases/{number}"},
        }
    return {"target": target}


def record(session: AsyncSession, event_type: str, data: dict[str, Any]) -> None:
    """Write the event to the outbox in ``session``'s transaction."""
    at: datetime = utcnow()
    session.add(
        WebhookEvent(
            type=event_type,
            created_at=at,
            payload={"type": event_type, "timestamp": at.isoformat(), "data": data},
        )
    )


def record_audited(
    session: AsyncSession, action: str, target: str | None, detail: dict[str, Any]
) -> None:
    """The event of an audited action, when it is one."""
    event_type = _OF_ACTION.get(action)
    if event_type is not None and target is not None:
        record(session, event_type, _data(action, target, detail))


def report_done(session: AsyncSession, report_id: str, kind: str) -> None:
    record(
        session,
        "report.done",
        {"report_id": report_id, "kind": kind,
         "links": {"report": f"/api/v1/reports/{report_id}",
                   "pdf": f"/api/v1/reports/{report_id}/pdf"}},
    )  # fmt: skip
