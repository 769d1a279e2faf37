"""The checkout's folders the tests read: the tests run from a checkout, while the service
finds its shipped data through ``survey_service.shipped`` (a wheel has no checkout)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
