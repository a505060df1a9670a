"""The data retrieval reads and ingestion writes: chunks, record references, citations."""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# One namespace for every point id, so ids are stable across machines and backends.
POINT_NAMESPACE = uuid.UUID("6f1c4a52-3b7e-4d0b-9a51-5e0f2b8c9d11")

RecordKind = Literal["account", "opportunity", "contact", "document"]
_RECORD_RE = re.compile(r"^(account|opportunity|contact|document):(.{1,200})$")


class DocType(StrEnum):
    NOTE = "note"
    ACTIVITY = "activity"
    TRANSCRIPT = "transcript"
    EMAIL = "email"
    PRODUCT_DOC = "product_doc"
    POLICY = "policy"
    CONTRACT = "contract"
    ACCOUNT = "account"
    OPPORTUNITY = "opportunity"
    CONTACT = "contact"
    DOCUMENT = "document"


class RecordRef(BaseModel):
    """A CRM record an action is about: ``account:ACME-001``, ``opportunity:OPP-1001``,
    ``contact:C-101`` or ``document:file:transcripts/call.vtt`` (a single call or file)."""

    model_config = ConfigDict(frozen=True)

    kind: RecordKind
    id: str

    @classmethod
    def parse(cls, value: str) -> RecordRef:
        match = _RECORD_RE.match(value.strip())
        if not match:
            raise ValueError(
                f"record reference {value!r} is not of the form "
                "'account:ID', 'opportunity:ID', 'contact:ID' or 'document:ID'"
            )
        return cls(kind=match.group(1), id=match.group(2))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


def point_id(tenant_id: str, document_id: str, chunk_index: int) -> str:
    """Deterministic point id: the same chunk of the same document always lands on one point."""
    return str(uuid.uuid5(POINT_NAMESPACE, f"{tenant_id}\x1f{document_id}\x1f{chunk_index}"))


class Chunk(BaseModel):
    """One retrievable unit of text with everything a filter or a citation needs.

    Stored as the Qdrant point payload (``model_dump(mode="json")``)."""

    model_config = ConfigDict(extra="ignore")

    tenant_id: str
    document_id: str
    chunk_index: int
    text: str
    doc_type: DocType
    title: str = ""
    source_uri: str = ""
    account_id: str | None = None
    opportunity_id: str | None = None
    contact_ids: list[str] = Field(default_factory=list)
    author: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    occurred_ts: float | None = None
    """When the underlying event happened (call time, note time), epoch seconds, for ranges."""
    section: list[str] = Field(default_factory=list)
    speaker: str | None = None
    speakers: list[str] = Field(default_factory=list)
    start_s: float | None = None
    end_s: float | None = None
    acl: list[str] = Field(default_factory=list)
    """Principals allowed to read: ``user:<id>``, ``team:<id>`` or ``everyone``."""
    consent: list[str] = Field(default_factory=lambda: ["*"])
    """Purposes every linked contact consented to; ``*`` when no contact is linked."""
    content_hash: str = ""
    """Hash of the whole source document the chunk came from."""
    token_count: int = 0
    char_start: int | None = None
    """Offset of the chunk in the document's normalised text, for citations and span checks."""
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def id(self) -> str:
        return point_id(self.tenant_id, self.document_id, self.chunk_index)

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Citation(BaseModel):
    """Where a piece of evidence came from, precise enough to open it."""

    chunk_id: str
    document_id: str
    source_uri: str = ""
    title: str = ""
    doc_type: str = ""
    snippet: str = ""
    section: list[str] = Field(default_factory=list)
    speaker: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    score: float = 0.0

    @classmethod
    def from_chunk(cls, chunk: Chunk, chunk_id: str, score: float, snippet_chars: int = 320) -> Citation:
        text = chunk.text.strip()
        snippet = text if len(text) <= snippet_chars else text[: snippet_chars - 1].rstrip() + "…"
        return cls(
            chunk_id=chunk_id,
            document_id=chunk.document_id,
            source_uri=chunk.source_uri,
            title=chunk.title,
            doc_type=str(chunk.doc_type),
            snippet=snippet,
            section=chunk.section,
            speaker=chunk.speaker,
            start_s=chunk.start_s,
            end_s=chunk.end_s,
            score=round(score, 6),
        )


class SearchHit(BaseModel):
    """A chunk returned by a search, with the score of the stage that ranked it last."""

    id: str
    score: float
    chunk: Chunk
    dense: list[float] | None = Field(default=None, exclude=True)

    def citation(self) -> Citation:
        return Citation.from_chunk(self.chunk, self.id, self.score)
