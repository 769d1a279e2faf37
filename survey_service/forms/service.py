"""Forms and their versions: create, new draft, publish, retire, look up; and the in-process
caches that keep the hot read path (a form's current schema) off the database.

A published version never changes: its content hash is fixed at publication, and only its
status may move on to ``retired``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from survey_service.auth import Principal, audit
from survey_service.db.engine import Database
from survey_service.db.models import Form, FormVersion, utcnow
from survey_service.errors import ServiceError, conflict, not_found, unprocessable
from survey_service.forms.builder import BuilderError, build_schema, check_builder_fields
from survey_service.forms.builder_readback import description_of
from survey_service.forms.schemas import (
    Description,
    FormCreate,
    FormDetail,
    FormSummary,
    Title,
    VersionContent,
)
from survey_service.forms.schemas import VersionOut as VersionBody
from survey_service.forms.validation import SchemaError, ValidatorCache, compile_schema


def content_hash(schema: Any, ui: Any, rules: Any) -> str:
    canonical = msgspec.json.encode({"schema": schema, "ui": ui, "rules": rules}, order="sorted")
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class VersionContentResolved:
    schema: dict[str, Any]
    ui: dict[str, Any]
    rules: dict[str, Any]


def resolve_content(body: VersionContent, title: Title) -> VersionContentResolved:
    """Turn a request's schema or builder fields into checked schema + UI hints + rules."""
    if (body.schema is None) == (body.fields is None):
        raise ServiceError(
            "unprocessable", "Give either `schema` or `fields` (builder fields), not both."
        )
    if body.fields is not None and body.ui is not None:
        raise ServiceError(
            "unprocessable", "`ui` hints go with a `schema`; builder `fields` make their own."
        )
    if body.fields is not None:
        issues = check_builder_fields(body.fields)
        if issues:
            raise unprocessable("The builder fields are not consistent.", list(issues))
        try:
            built = build_schema(body.fields, title=title, description=body.description)
        except BuilderError as exc:
            raise unprocessable("The builder fields are not consistent.", exc.errors) from None
        schema, ui = built.schema, built.ui
    else:
        assert body.schema is not None
        schema, ui = with_description(body.schema, body.description), body.ui or {}
    try:
        compile_schema(schema)
    except SchemaError as exc:
        raise unprocessable(
            "The JSON Schema cannot be used.",
            [{"path": "/schema" + exc.path, "message": exc.message, "keyword": "$schema"}],
        ) from None
    return VersionContentResolved(schema, ui, body.rules or {})


def with_description(schema: dict[str, Any], description: Description | None) -> dict[str, Any]:
    """``schema`` with ``description`` as its annotations (Chinese; English in ``x-en``);
    the schema itself when none is given."""
    if description is None:
        return schema
    english = dict(schema.get("x-en") or {})
    english.pop("description", None)
    if description.en:
        english["description"] = description.en
    out = {k: v for k, v in schema.items() if k != "x-en"} | {"description": description.zh}
    return out | ({"x-en": english} if english else {})


def form_status(versions: list[FormVersion]) -> str:
    statuses = {v.status for v in versions}
    if "published" in statuses:
        return "published"
    if "retired" in statuses:
        return "retired"
    return "draft"


def current_version(versions: list[FormVersion]) -> FormVersion | None:
    published = [v for v in versions if v.status == "published"]
    return max(published, key=lambda v: v.number) if published else None


async def get_form(session: AsyncSession, key: str) -> Form:
    form = await session.scalar(select(Form).where(Form.key == key))
    if form is None:
        raise not_found(f"Form {key!r}")
    return form


async def versions_of(session: AsyncSession, form: Form) -> list[FormVersion]:
    rows = await session.scalars(
        select(FormVersion).where(FormVersion.form_id == form.id).order_by(FormVersion.number)
    )
    return list(rows)


async def lock_form(session: AsyncSession, form: Form) -> None:
    """Serialise the writes to one form's versions (PostgreSQL row lock; SQLite write
    transactions are serial already), so that a check and the write it allows cannot be
    interleaved with another writer's: two new versions never get the same number, and an
    edit never lands on a version published meanwhile."""
    await session.execute(select(Form.id).where(Form.id == form.id).with_for_update())


async def get_version(session: AsyncSession, form: Form, number: int) -> FormVersion:
    version = await session.scalar(
        select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.number == number)
    )
    if version is None:
        raise not_found(f"Version {number} of form {form.key!r}")
    return version


def version_out(v: FormVersion) -> VersionBody:
    return VersionBody(
        number=v.number,
        status=v.status,
        content_hash=v.content_hash,
        created_at=v.created_at,
        published_at=v.published_at,
        retired_at=v.retired_at,
    )


def shown_version(versions: list[FormVersion]) -> FormVersion | None:
    """The version a form is described by: its current one, else its latest draft."""
    return current_version(versions) or (
        max(versions, key=lambda v: v.number) if versions else None
    )


def summary(form: Form, versions: list[FormVersion]) -> FormSummary:
    current = current_version(versions)
    shown = shown_version(versions)
    description, description_en = description_of(shown.schema) if shown else (None, None)
    return FormSummary(
        key=form.key,
        kind=form.kind,
        title=form.title_zh,
        title_en=form.title_en,
        current_version=current.number if current else None,
        status=form_status(versions),
        description=description,
        description_en=description_en,
    )


def detail(form: Form, versions: list[FormVersion]) -> FormDetail:
    s = summary(form, versions)
    current = current_version(versions)
    return FormDetail(
        key=s.key,
        kind=s.kind,
        title=s.title,
        title_en=s.title_en,
        current_version=s.current_version,
        status=s.status,
        description=s.description,
        description_en=s.description_en,
        versions=[version_out(v) for v in versions],
        schema=current.schema if current else None,
        ui=current.ui if current else None,
        rules=current.rules if current else None,
    )


async def list_forms(session: AsyncSession) -> list[FormSummary]:
    forms = list(await session.scalars(select(Form).order_by(Form.key)))
    all_versions = list(await session.scalars(select(FormVersion)))
    by_form: dict[int, list[FormVersion]] = {}
    for v in all_versions:
        by_form.setdefault(v.form_id, []).append(v)
    return [summary(f, by_form.get(f.id, [])) for f in forms]


async def published_versions(session: AsyncSession) -> list[tuple[Form, FormVersion]]:
    """Every published version with its form (what a campaign may run), by form key and
    newest version first."""
    rows = await session.execute(
        select(Form, FormVersion)
        .join(FormVersion, FormVersion.form_id == Form.id)
        .where(FormVersion.status == "published")
        .order_by(Form.key, FormVersion.number.desc())
    )
    return [(form, version) for form, version in rows]


async def create_form(session: AsyncSession, body: FormCreate) -> Form:
    if await session.scalar(select(Form.id).where(Form.key == body.key)) is not None:
        raise conflict(f"A form with key {body.key!r} exists; add a version to it instead.")
    content = resolve_content(body, body.title)
    form = Form(key=body.key, kind=body.kind, title_zh=body.title.zh, title_en=body.title.en)
    session.add(form)
    try:
        await session.flush()
    except IntegrityError:  # created by a concurrent request since the check above
        raise conflict(
            f"A form with key {body.key!r} exists; add a version to it instead."
        ) from None
    session.add(_new_version(form, 1, content))
    await session.flush()
    return form


def _new_version(form: Form, number: int, content: VersionContentResolved) -> FormVersion:
    return FormVersion(
        form_id=form.id,
        number=number,
        status="draft",
        schema=content.schema,
        ui=content.ui,
        rules=content.rules,
        content_hash=content_hash(content.schema, content.ui, content.rules),
    )


async def add_version(session: AsyncSession, form: Form, body: VersionContent) -> FormVersion:
    content = resolve_content(body, Title(zh=form.title_zh, en=form.title_en))
    await lock_form(session, form)
    last = await session.scalar(
        select(func.max(FormVersion.number)).where(FormVersion.form_id == form.id)
    )
    version = _new_version(form, (last or 0) + 1, content)
    session.add(version)
    await session.flush()
    return version


async def reopen(session: AsyncSession, form: Form) -> tuple[FormVersion, bool]:
    """A draft to edit the form in: its latest version when that is a draft already
    (``False``: nothing made), else a new draft with the content of its current version
    (or its latest, when it has none published). A published version never changes: the
    draft becomes the next version once published."""
    await lock_form(session, form)
    versions = await versions_of(session, form)
    if not versions:
        raise not_found(f"A version of form {form.key!r}")
    latest = max(versions, key=lambda v: v.number)
    if latest.status == "draft":
        return latest, False
    source = current_version(versions) or latest
    content = VersionContentResolved(dict(source.schema), dict(source.ui), dict(source.rules))
    version = _new_version(form, latest.number + 1, content)
    session.add(version)
    await session.flush()
    return version, True


async def update_draft(
    session: AsyncSession, form: Form, number: int, body: VersionContent
) -> FormVersion:
    await lock_form(session, form)
    version = await get_version(session, form, number)
    if version.status != "draft":
        raise conflict(f"Version {number} is {version.status}; a published version never changes.")
    content = resolve_content(body, Title(zh=form.title_zh, en=form.title_en))
    version.schema, version.ui, version.rules = content.schema, content.ui, content.rules
    version.content_hash = content_hash(content.schema, content.ui, content.rules)
    await session.flush()
    return version


async def publish(session: AsyncSession, form: Form, number: int) -> FormVersion:
    await lock_form(session, form)
    version = await get_version(session, form, number)
    if version.status == "retired":
        raise conflict(f"Version {number} is retired and cannot be published again.")
    if version.status == "draft":
        version.status = "published"
        version.published_at = utcnow()
        await session.flush()
    return version


async def retire(session: AsyncSession, form: Form, number: int) -> FormVersion:
    await lock_form(session, form)
    version = await get_version(session, form, number)
    if version.status == "draft":
        raise conflict(f"Version {number} is a draft; only a published version can be retired.")
    if version.status == "published":
        version.status = "retired"
        version.retired_at = utcnow()
        await session.flush()
    return version


@dataclass(slots=True)
class SchemaBytes:
    version_id: int
    number: int
    content_hash: str
    body: bytes
    schema: Any


@dataclass(slots=True)
class FormCache:
    """Per-process caches: compiled validators and encoded schemas of published versions
    (immutable, kept), and each form's current version number (trusted for ``ttl`` s).

    When the current number expires, one request per form asks the database again while
    the others keep serving the number they had, so expiry never stalls a burst.

    It reads through its own handle on the database (``attach``, when the database opens),
    so a route that fetches a schema names one dependency: Litestar resolves two or more
    in a task group per request, which cost the schema route a quarter of its throughput.
    """

    ttl: float
    db: Database | None = None
    validators: ValidatorCache = field(default_factory=ValidatorCache)
    _schemas: dict[tuple[str, int], SchemaBytes] = field(default_factory=dict)
    _current: dict[str, tuple[float, int]] = field(default_factory=dict)
    _refreshing: dict[str, asyncio.Lock] = field(default_factory=dict)

    def forget_current(self, key: str) -> None:
        self._current.pop(key, None)

    def attach(self, db: Database) -> None:
        self.db = db

    def _database(self) -> Database:
        if self.db is None:
            raise RuntimeError("the form cache reads the database once it is attached")
        return self.db

    async def schema_bytes(self, key: str, number: int | None) -> SchemaBytes:
        db = self._database()
        if number is not None:
            return self._schemas.get((key, number)) or await self._load(db, key, number)
        hit = self._current.get(key)
        if hit is not None and (hit[0] > time.monotonic() or self._lock(key).locked()):
            return self._schemas[(key, hit[1])]
        async with self._lock(key):
            hit = self._current.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return self._schemas[(key, hit[1])]
            current = await self._current_number(db, key)
            entry = self._schemas.get((key, current)) or await self._load(db, key, current)
            self._current[key] = (time.monotonic() + self.ttl, current)
            return entry

    def _lock(self, key: str) -> asyncio.Lock:
        return self._refreshing.setdefault(key, asyncio.Lock())

    async def _current_number(self, db: Database, key: str) -> int:
        async with db.read() as session:
            form_id = await session.scalar(select(Form.id).where(Form.key == key))
            if form_id is None:
                raise not_found(f"Form {key!r}")
            number = await session.scalar(
                select(func.max(FormVersion.number)).where(
                    FormVersion.form_id == form_id, FormVersion.status == "published"
                )
            )
        if number is None:
            raise not_found(f"A published version of form {key!r}")
        return int(number)

    async def _load(self, db: Database, key: str, number: int) -> SchemaBytes:
        async with db.read() as session:
            version = await session.scalar(
                select(FormVersion)
                .join(Form, FormVersion.form_id == Form.id)
                .where(Form.key == key, FormVersion.number == number)
            )
        if version is None or version.status == "draft":
            raise not_found(f"Published version {number} of form {key!r}")
        entry = SchemaBytes(
            version.id,
            version.number,
            version.content_hash,
            msgspec.json.encode(version.schema),
            version.schema,
        )
        self._schemas[(key, number)] = entry
        return entry


async def change_version_status(
    db: Database,
    cache: FormCache,
    principal: Principal,
    key: str,
    number: int,
    action: Literal["publish", "retire"],
) -> FormVersion:
    """Publish or retire version ``number`` of form ``key`` with its audit record, for the
    API and the bureau's pages alike; the cache forgets the form's current version at once."""
    async with db.transaction() as session:
        form = await get_form(session, key)
        change = publish if action == "publish" else retire
        version = await change(session, form, number)
        audit(session, principal, f"form.{action}", f"form:{key}:{number}")
    cache.forget_current(key)
    return version
