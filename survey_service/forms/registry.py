"""The shipped forms in ``form_schemas/``: loaded at start; a changed file becomes a new
published version, an unchanged one is left alone."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select

from survey_service.db.engine import Database
from survey_service.db.models import Form, FormVersion, utcnow
from survey_service.forms.schemas import FormKind, Title
from survey_service.forms.service import content_hash
from survey_service.forms.validation import compile_schema
from survey_service.structs import Body

log = logging.getLogger(__name__)


class FormFile(Body, kw_only=True, forbid_unknown_fields=False):
    key: str
    kind: FormKind
    title: Title
    schema: dict[str, Any]
    ui: dict[str, Any] = msgspec.field(default_factory=dict)
    rules: dict[str, Any] = msgspec.field(default_factory=dict)


def read_form_files(directory: Path) -> list[FormFile]:
    if not directory.is_dir():
        # Not an empty list: a service started without its forms would look fine.
        raise FileNotFoundError(
            f"the shipped forms folder {directory} does not exist (SURVEY_FORM_SCHEMAS)"
        )
    files = []
    for path in sorted(directory.glob("*.json")):
        form = msgspec.json.decode(path.read_bytes(), type=FormFile)
        if form.key != path.stem:
            raise ValueError(f"{path.name}: key {form.key!r} does not match the file name")
        compile_schema(form.schema)
        files.append(form)
    return files


async def load_shipped_forms(db: Database, directory: Path) -> list[str]:
    """Create or update the shipped forms; returns the keys that got a new version."""
    changed: list[str] = []
    for spec in read_form_files(directory):
        digest = content_hash(spec.schema, spec.ui, spec.rules)
        async with db.transaction() as session:
            form = await session.scalar(select(Form).where(Form.key == spec.key))
            if form is None:
                form = Form(key=spec.key, kind=spec.kind, title_zh=spec.title.zh)
                session.add(form)
            form.title_zh, form.title_en, form.kind = spec.title.zh, spec.title.en, spec.kind
            await session.flush()
            versions = list(
                await session.scalars(select(FormVersion).where(FormVersion.form_id == form.id))
            )
            if any(v.content_hash == digest and v.status != "draft" for v in versions):
                continue
            session.add(
                FormVersion(
                    form_id=form.id,
                    number=max((v.number for v in versions), default=0) + 1,
                    status="published",
                    schema=spec.schema,
                    ui=spec.ui,
                    rules=spec.rules,
                    content_hash=digest,
                    published_at=utcnow(),
                )
            )
            changed.append(spec.key)
    if changed:
        log.info("loaded shipped forms: %s", ", ".join(changed))
    return changed
