"""Request and response bodies of the forms API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from survey_service.forms.builder import BuilderField
from survey_service.structs import Body, Out

FormKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9-]{1,62}[a-z0-9]$")]
FormKind = Literal["salary-survey", "poll", "self-assessment", "custom"]


class Title(Body, kw_only=True):
    zh: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    en: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Description(Body, kw_only=True):
    zh: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    en: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class VersionContent(Body, kw_only=True):
    """A version's content: a JSON Schema (with UI hints) or builder fields, not both;
    ``description`` (what the form is for, shown above it) goes into the version's schema
    as its ``description`` and ``x-en.description`` annotations."""

    schema: dict[str, Any] | None = None
    ui: dict[str, Any] | None = None
    rules: dict[str, Any] | None = None
    fields: list[BuilderField] | None = None
    description: Description | None = None


class FormCreate(VersionContent, kw_only=True):
    key: FormKey
    kind: FormKind = "custom"
    title: Title


class VersionOut(Out, kw_only=True):
    number: int
    status: str
    content_hash: str
    created_at: datetime
    published_at: datetime | None
    retired_at: datetime | None


class FormSummary(Out, kw_only=True):
    key: str
    kind: str
    title: str
    title_en: str | None
    current_version: int | None
    status: str
    # Of the current version (the latest draft while none is published).
    description: str | None = None
    description_en: str | None = None


class FormDetail(FormSummary, kw_only=True):
    versions: list[VersionOut]
    schema: dict[str, Any] | None
    ui: dict[str, Any] | None
    rules: dict[str, Any] | None


class ValidationResult(Out, kw_only=True):
    valid: bool
    errors: list[dict[str, Any]]
