"""Where the service looks for its shipped data and writes its own: a checkout reads its
top-level ``form_schemas/`` and ``reports/`` (an installed wheel its copies inside the
package: tests/integration/test_installed_wheel.py), and ``var/`` is in the working
directory, never inside the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey_service import shipped
from survey_service.forms.registry import read_form_files
from survey_service.settings import Settings
from tests.paths import PROJECT_ROOT


def test_a_checkout_reads_its_own_top_level_folders() -> None:
    assert shipped.form_schemas_dir() == PROJECT_ROOT / "form_schemas"
    assert shipped.report_templates_dir() == PROJECT_ROOT / "reports"
    assert Settings.from_env({}).form_schemas_dir == PROJECT_ROOT / "form_schemas"
    assert (shipped.report_templates_dir() / "style.css").is_file()


def test_the_forms_folder_setting_wins(tmp_path: Path) -> None:
    settings = Settings.from_env({"SURVEY_FORM_SCHEMAS": str(tmp_path)})
    assert settings.form_schemas_dir == tmp_path


def test_local_data_goes_to_var_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.var_dir == tmp_path / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var' / 'survey.db'}"
    assert Settings().var_dir == tmp_path / "var"


def test_a_missing_forms_folder_is_an_error_not_no_forms(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="SURVEY_FORM_SCHEMAS"):
        read_form_files(tmp_path / "nowhere")
