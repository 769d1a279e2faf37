"""Where the shipped data is: the forms (``form_schemas/``) and the report templates and
their CSS (``reports/``).

Both folders live at the top of the repository. The wheel carries them inside the package
as ``survey_service/_shipped/form_schemas`` and ``survey_service/_shipped/reports``
(``[tool.hatch.build.targets.wheel.force-include]`` in ``pyproject.toml``), found here
through ``importlib.resources``. A checkout (the editable install of ``make run`` and the
tests) has no ``_shipped`` folder in its package, so the checkout's own top-level folders
are used: an edit there shows at once, without reinstalling. (An editable install also
copies the folders into ``site-packages/survey_service/_shipped``, a copy never read: the
package is imported from the checkout.)
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

ShippedFolder = Literal["form_schemas", "reports"]

# The folder inside the package where the wheel puts the shipped data.
PACKAGED = "_shipped"


def shipped_dir(name: ShippedFolder) -> Path:
    """The folder ``name``: the wheel's copy inside the installed package, else the
    checkout's top-level one (returned even when missing, so the error names it)."""
    package = files("survey_service")
    if isinstance(package, Path) and (package / PACKAGED / name).is_dir():
        return package / PACKAGED / name
    return Path(__file__).resolve().parent.parent / name


def form_schemas_dir() -> Path:
    """The shipped forms (the default of ``SURVEY_FORM_SCHEMAS``)."""
    return shipped_dir("form_schemas")


def report_templates_dir() -> Path:
    """The reports' Jinja templates and their CSS."""
    return shipped_dir("reports")
