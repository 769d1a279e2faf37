"""A second app on the test service's database, with some settings changed (the public
address, the time zone), for the tests of what those settings change."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from survey_service.app import create_app
from tests.conftest import Service


@asynccontextmanager
async def client_with(service: Service, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(service.settings, **settings), database=service.db)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client
    finally:
        await app.state.reports.close()
