"""Sidecar metadata: ``X.ext.meta.json`` next to ``X.ext`` (or the ``meta`` of an upload).

Known keys set the document's CRM links, ownership and dates; unknown keys are kept in
``SourceDocument.metadata``. A sidecar that is not a JSON object, or whose values do not
fit, makes the file fail with ``bad_metadata`` rather than load with the wrong access."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.documents import Visibility
from ingest.loaders.fields import normalize_datetime, split_list
from retrieval.models import DocType

SIDECAR_SUFFIX = ".meta.json"


class SidecarError(ValueError):
    """The sidecar exists but cannot be used; the message says why."""


class Sidecar(BaseModel):
    """Validated sidecar keys; every field is optional."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    doc_type: DocType | None = None
    account_id: str | None = None
    opportunity_id: str | None = None
    contact_ids: list[str] = Field(default_factory=list)
    owner: str | None = None
    team: list[str] = Field(default_factory=list)
    visibility: Visibility | None = None
    occurred_at: str | None = None
    author: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @field_validator("contact_ids", "team", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> list[str]:
        return split_list(value)

    @field_validator("occurred_at", "created_at", "updated_at")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        return normalize_datetime(value) if value else None

    def extra_keys(self) -> dict[str, Any]:
        """Keys the sidecar format does not define, for ``SourceDocument.metadata``."""
        return dict(self.model_extra or {})


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def parse_sidecar(meta: Mapping[str, Any] | None) -> Sidecar:
    """Validate sidecar keys given as a mapping (an upload's ``meta``)."""
    if meta is None:
        return Sidecar()
    if not isinstance(meta, Mapping):
        raise SidecarError("metadata must be a JSON object")
    try:
        return Sidecar.model_validate(dict(meta))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SidecarError(problems) from None


def read_sidecar(path: Path) -> Sidecar:
    """The sidecar of ``path``, or an empty one when there is none."""
    side = sidecar_path(path)
    if not side.is_file():
        return Sidecar()
    try:
        meta = json.loads(side.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SidecarError(f"{side.name} is not valid JSON: {exc}") from None
    return parse_sidecar(meta)
