"""Rendering what the bureau's pages print (letters, posters) off the event loop: in the
report workers' process pool when the server has one, else in a thread."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import anyio.to_thread
from litestar import Request

from survey_service.reports.letters import pdf_of

PDF = "application/pdf"


async def rendered_pdf(request: Request[Any, Any, Any], html: str) -> bytes:
    executor = getattr(request.app.state.reports, "executor", None)
    if executor is None:
        return await anyio.to_thread.run_sync(pdf_of, html)
    pdf: bytes = await asyncio.get_running_loop().run_in_executor(
        executor, functools.partial(pdf_of, html)
    )
    return pdf
