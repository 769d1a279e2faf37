"""Every setting the service reads from the environment is in the README's Configuration
table (as datasette's test_docs does for its settings)."""

from __future__ import annotations

import re

from tests.paths import PROJECT_ROOT


def test_every_environment_setting_is_documented_in_the_readme() -> None:
    read = set(re.findall(r'"(SURVEY_[A-Z_]+)"', (PROJECT_ROOT / "survey_service" /
                                                  "settings.py").read_text()))  # fmt: skip
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(SURVEY_[A-Z_]+)`", table))
    assert len(read) >= 15
    assert read - documented == set()
