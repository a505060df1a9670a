"""Shared types of the loaders: what every loader is given and what it returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.documents import LoadError, Segment, SourceDocument, Visibility
from ingest.loaders.sidecar import Sidecar
from retrieval.models import DocType

DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class Reason(StrEnum):
    """Stable ``LoadError.reason`` codes (documented for users in ``ingest/FORMATS.md``)."""

    NOT_FOUND = "not_found"
    UNREADABLE = "unreadable"
    UNSUPPORTED_TYPE = "unsupported_type"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    CORRUPT = "corrupt"
    BAD_ENCODING = "bad_encoding"
    BAD_ROW = "bad_row"
    BAD_METADATA = "bad_metadata"
    NO_TEXT = "no_text"
    PARSER_UNAVAILABLE = "parser_unavailable"


class SourceDefaults(BaseModel):
    """Ownership and limits applied to files that do not say otherwise (no sidecar)."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = None
    team: list[str] = Field(default_factory=list)
    visibility: Visibility = "team"
    max_bytes: int | None = None
    """Largest file accepted; ``None`` means ``DEFAULT_MAX_BYTES`` (25 MB)."""

    @property
    def byte_limit(self) -> int:
        return self.max_bytes if self.max_bytes is not None else DEFAULT_MAX_BYTES


class CrmRecord(BaseModel):
    """An account, opportunity or contact row, as the service stores it in SQL."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["account", "opportunity", "contact"]
    id: str
    name: str = ""
    account_id: str | None = None
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None
    close_date: str | None = None
    owner: str | None = None
    team: list[str] = Field(default_factory=list)
    visibility: Visibility = "team"
    consent: list[str] = Field(default_factory=list)
    """Purposes the contact agreed to (contacts only); empty means no consent."""
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    """Every original column of the row, unmodified."""


@dataclass
class LoadResult:
    """What a batch of sources produced; errors are data, one per failed item."""

    documents: list[SourceDocument] = field(default_factory=list)
    records: list[CrmRecord] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Paths deliberately not loaded: hidden files, sidecars without their file."""

    def extend(self, other: LoadResult) -> None:
        self.documents.extend(other.documents)
        self.records.extend(other.records)
        self.errors.extend(other.errors)
        self.skipped.extend(other.skipped)


@dataclass(frozen=True)
class FileSource:
    """One file to load, with the identity and metadata the dispatcher resolved for it."""

    path: Path
    document_id: str
    source_uri: str
    sidecar: Sidecar
    defaults: SourceDefaults

    @property
    def label(self) -> str:
        """How messages name the file: its id without the ``file:`` prefix."""
        return self.document_id.removeprefix("file:")

    def error(self, reason: Reason, message: str) -> LoadError:
        return LoadError(self.document_id, reason, message)

    def document(
        self,
        *,
        doc_type: DocType,
        title: str,
        segments: list[Segment],
        author: str | None = None,
        occurred_at: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> SourceDocument:
        """Build the file's document. Sidecar values win over what the file itself says
        (the arguments), which wins over the defaults."""
        side, defaults = self.sidecar, self.defaults
        return SourceDocument(
            document_id=self.document_id,
            source_uri=self.source_uri,
            segments=segments,
            doc_type=side.doc_type or doc_type,
            title=side.title or title,
            account_id=side.account_id,
            opportunity_id=side.opportunity_id,
            contact_ids=side.contact_ids,
            author=side.author or author,
            owner=side.owner or defaults.owner,
            team=side.team or list(defaults.team),
            visibility=side.visibility or defaults.visibility,
            created_at=side.created_at,
            updated_at=side.updated_at,
            occurred_at=side.occurred_at or occurred_at,
            metadata={**(metadata or {}), **side.extra_keys()},
        )


Loader = Callable[[FileSource], LoadResult]
"""A family loader: reads one file. Raises ``LoadError`` when the whole file fails;
reports per-row problems in ``LoadResult.errors``."""
