"""What a loader hands to the chunker: one source document cut into structural segments."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.models import DocType

Visibility = Literal["public", "team", "private"]


class Segment(BaseModel):
    """A structural unit of a document: a speaker turn, a section's text, a note body.

    Chunkers never merge text across sections, and split a segment only when it alone
    exceeds the token budget."""

    model_config = ConfigDict(extra="forbid")

    text: str
    section: list[str] = Field(default_factory=list)
    speaker: str | None = None
    start_s: float | None = None
    end_s: float | None = None


class SourceDocument(BaseModel):
    """A document with its CRM links and access metadata, before chunking.

    ``document_id`` is the stable source id used for idempotency and deletion:
    ``note:N-001``, ``activity:A-001``, ``account:ACME-001``, ``file:transcripts/x.vtt``."""

    model_config = ConfigDict(extra="forbid")

    document_id: str
    source_uri: str
    doc_type: DocType
    title: str = ""
    segments: list[Segment]
    account_id: str | None = None
    opportunity_id: str | None = None
    contact_ids: list[str] = Field(default_factory=list)
    author: str | None = None
    owner: str | None = None
    team: list[str] = Field(default_factory=list)
    visibility: Visibility = "team"
    created_at: str | None = None
    updated_at: str | None = None
    occurred_at: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(segment.text for segment in self.segments)


class LoadError(Exception):
    """A source could not be read; ``reason`` is a stable machine-readable code."""

    def __init__(self, source: str, reason: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.reason = reason
        self.message = message
