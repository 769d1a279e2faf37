"""Dependencies that route handlers name in their signatures."""

from __future__ import annotations

from typing import TypeAlias

from litestar.datastructures import State
from litestar.di import NamedDependency

from survey_service.db.engine import Database

DB: TypeAlias = NamedDependency[Database]


def provide_db(state: State) -> Database:
    db: Database = state.db
    return db
