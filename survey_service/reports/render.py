"""HTML (Jinja templates in ``reports/``, found by ``survey_service.shipped``) to PDF
(WeasyPrint), section by section.

WeasyPrint lays out about two pages a second here, on one core. A report is cut into
sections (the cover and method, each block of the wage tables, the charts, ...) that are
rendered in parallel by a pool of processes and joined with pypdf. The running header and
the page numbers ("第 3 页 共 41 页") cannot be known inside a section, so they are set
afterwards: one light overlay document with a header and footer per page, rendered once
the page count is known and stamped onto the joined pages.
"""

from __future__ import annotations

import io
import multiprocessing
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from survey_service.shipped import report_templates_dir

TEMPLATES = report_templates_dir()


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a report: its running title and its HTML."""

    title: str
    html: str


def _money(value: Any) -> str:
    return "" if value is None else f"{float(value):,.0f}"


def _pct(value: Any, digits: int = 1) -> str:
    """A rate as a percentage; "—" for none (nobody it could be a share of)."""
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def _signed_pct(value: Any) -> str:
    return "" if value is None else f"{float(value) * 100:+.1f}%"


@cache
def environment(directory: Path = TEMPLATES) -> jinja2.Environment:
    """One per process: its templates are compiled once, not for every report."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,  # every figure and name is text, a form title with <script> too
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=_money, pct=_pct, signed_pct=_signed_pct)
    env.globals["flag"] = _flag
    return env


def _flag(rate: float | None, target: float | None) -> str:
    """The CSS class of a rate below its target."""
    return "flag" if rate is not None and target is not None and rate < target else ""


def render_section(html: str, base_url: str) -> bytes:
    """One section to PDF (runs in a worker process; WeasyPrint is imported there, not in
    a server process that renders nothing)."""
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html, base_url=base_url).write_pdf()
    return pdf


def _overlay(
    env: jinja2.Environment, title: str, running: Sequence[str | None], mark: str | None
) -> bytes:
    html = env.get_template("overlay.html").render(title=title, pages=running, mark=mark)
    return render_section(html, str(TEMPLATES))


def compose(
    env: jinja2.Environment,
    title: str,
    parts: Sequence[tuple[Section, bytes]],
    *,
    subject: str = "",
    numbered_from: int = 2,
    mark: str | None = None,
) -> tuple[bytes, int]:
    """Join the sections' PDFs and stamp the running header and page numbers on every page
    from ``numbered_from`` (the cover carries none): the PDF and its page count. ``mark``
    (征求意见稿) is printed in the middle of every header."""
    from pypdf import PdfReader, PdfWriter  # half a second to import; only reports need it

    from survey_service.reports.fonts import share_fonts

    writer = PdfWriter()
    running: list[str | None] = []
    for section, pdf in parts:
        reader = PdfReader(io.BytesIO(pdf))
        for page in reader.pages:
            writer.add_page(page)
            running.append(section.title if len(running) + 1 >= numbered_from else None)
    overlay = PdfReader(io.BytesIO(_overlay(env, title, running, mark)))
    for page, stamp, label in zip(writer.pages, overlay.pages, running, strict=True):
        if label is not None:
            page.merge_page(stamp)
        page.compress_content_streams()  # stamping leaves them uncompressed
    writer.add_metadata(
        {
            "/Title": title,
            "/Subject": subject,
            "/Creator": "survey_service",
            "/CreationDate": datetime.now().strftime("D:%Y%m%d%H%M%S"),
        }
    )
    share_fonts(writer)
    writer.compress_identical_objects()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(running)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for rendering, started by ``spawn``: a server process holds
    threads (the database driver's) that a fork must not copy."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_warm,
    )


def start_processes(pool: ProcessPoolExecutor, workers: int) -> None:
    """Start the pool's processes now (each loading WeasyPrint, see ``_warm``), rather than
    at the first report: for the worker command, whose only work is rendering. A spawn pool
    starts one process per task waiting, so one empty task each."""
    for _ in range(workers):
        pool.submit(_started)


def _started() -> None:
    """Nothing: the process's initializer has done the work by the time this runs."""


def _warm() -> None:
    # Ctrl+C at a terminal goes to the whole process group: the pool's processes leave it
    # to their parent, which finishes the sections in flight and then shuts them down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Load WeasyPrint's fonts and styles once per worker, not in the first section.
    render_section("<p>预热</p>", str(TEMPLATES))
