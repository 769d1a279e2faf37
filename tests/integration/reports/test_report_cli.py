"""``python -m survey_service report`` through its command line against each backend's test
database (``SURVEY_DATABASE_URL``): the same PDF as the worker makes, written to a file;
bad arguments and a report that cannot be made exit non-zero with the reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import Service, run_cli
from tests.factories import create_campaign, invite, register_enterprises, submit
from tests.integration.analytics.score_helpers import assessment_document
from tests.integration.reports.report_helpers import text_of
from tests.samples import enterprise

pytestmark = pytest.mark.slow  # seconds each; `pytest -m "not slow"` leaves them out


def _report(service: Service, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(service, var_dir, "report", *args)


async def test_the_cli_writes_the_circular_to_a_file(service: Service, tmp_path: Path) -> None:
    await register_enterprises(service, enterprise(1, "610202"), enterprise(2, "610204"))
    assessment = await create_campaign(service, "enterprise-self-assessment", year=2023)
    tokens = await invite(service, assessment, 1, 2)
    await submit(service, assessment, tokens[1], assessment_document(1))
    out = tmp_path / "circular.pdf"
    done = _report(
        service, tmp_path, "participation", "--year", "2023", "--annex", "--workers", "1",
        "-o", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"{out}:" in done.stdout
    text = text_of(PdfReader(out))
    assert "2023年度“双爱”活动参与情况通报" in text
    assert "全市登记企业 2 家，1 家参加" in text
    assert enterprise(2)["uscc"] in text  # the annex: still missing


async def test_the_cli_says_why_it_cannot(service: Service, tmp_path: Path) -> None:
    out = tmp_path / "none.pdf"
    done = _report(service, tmp_path, "participation", "--year", "1999", "-o", str(out))
    assert done.returncode == 1
    assert "no campaign in 1999" in done.stderr
    assert not out.exists()
    done = _report(service, tmp_path, "wage-benchmark", "-o", str(out))
    assert done.returncode == 2
    assert "campaign_id" in done.stderr
