"""Dependencies that route handlers name in their signatures."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from survey_service.analytics.release_store import ReleaseStore
from survey_service.analytics.table_cache import WageTableCache
from survey_service.collection.poll_answers import PollDesk
from survey_service.collection.submission_writer import SubmissionWriter
from survey_service.db.engine import Database
from survey_service.forms.service import FormCache
from survey_service.settings import Settings
from survey_service.structs import INT4_MAX

DB: TypeAlias = NamedDependency[Database]
# The wage releases loaded in this process and their tables (one store per app).
Releases: TypeAlias = NamedDependency[ReleaseStore]
# The compiled validators and encoded schemas of published form versions (one per app).
Forms: TypeAlias = NamedDependency[FormCache]
# The settings the app was made with (named `app_settings`: a body may hold `settings`,
# and Litestar takes a field named like a dependency for the server's own mistake).
Config: TypeAlias = NamedDependency[Settings]
# Live wage tables computed in this process (admins' live view).
WageTables: TypeAlias = NamedDependency[WageTableCache]
# Opening polls and taking their answers in this process (one per app).
Polls: TypeAlias = NamedDependency[PollDesk]
# New submissions stored together with those arriving at the same time (one per app).
Submissions: TypeAlias = NamedDependency[SubmissionWriter]
# An id or version number in a path: within the database's integer (see structs.RowId).
PathId: TypeAlias = Annotated[int, PathParameter(ge=1, le=INT4_MAX)]
# Which release of a campaign's scores to read.
ReleaseChoice: TypeAlias = Annotated[
    str | None,
    QueryParameter(
        pattern=r"^(live|[1-9][0-9]{0,8})$",
        description="a release's number; default the latest (analysts) or `live` (admins, "
        "the live view, and their default)",
    ),
]


def provide_db(state: State) -> Database:
    db: Database = state.db
    return db
