"""The golden-set schema: one JSON object per line, one case per object (see ``eval/README.md``).

A case names the action to run, its inputs, the caller it runs as, the record in scope,
the reference it is scored against, and what a good retrieval returns. A self-contained
case also carries the documents it needs; the eval runner ingests them into an isolated
collection. Set-wide options (a corpus folder to ingest, a shared documents file, a
version) live in an optional sidecar manifest ``<set>.jsonl.meta.json``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.documents import Segment, SourceDocument, Visibility
from retrieval.models import DocType, RecordRef

SCHEMA_VERSION = 1
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-cased, whitespace collapsed: how quotes are matched against chunk text."""
    return _SPACE.sub(" ", text).strip().lower()


class RelevantItem(BaseModel):
    """One unit of evidence a good retrieval returns; retrieval metrics count these units.

    A retrieved chunk *covers* the item when its id is in ``chunk_ids``, or when it belongs
    to one of ``document_ids`` (any document when empty) and, if ``quotes`` are given,
    contains one of them (case and whitespace insensitive)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    document_ids: list[str] = Field(default_factory=list)
    chunk_ids: list[str] = Field(default_factory=list)
    quotes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> RelevantItem:
        if not (self.document_ids or self.chunk_ids or self.quotes):
            raise ValueError(f"relevant item {self.id!r} names no document, chunk or quote")
        return self

    def covers(self, chunk_id: str, document_id: str, text: str) -> bool:
        if chunk_id in self.chunk_ids:
            return True
        if not (self.document_ids or self.quotes):
            return False
        if self.document_ids and document_id not in self.document_ids:
            return False
        if not self.quotes:
            return True
        haystack = normalise(text)
        return any(normalise(q) in haystack for q in self.quotes)


class EvalSegment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    speaker: str | None = None
    section: list[str] = Field(default_factory=list)


class EvalDocument(BaseModel):
    """A document shipped inside a golden set, ingested like any other source.

    Give ``text`` (one block) or ``segments`` (speaker turns, sections). Documents are
    public to the tenant unless a visibility and owner/team say otherwise."""

    model_config = ConfigDict(extra="forbid")

    document_id: str
    text: str | None = None
    segments: list[EvalSegment] = Field(default_factory=list)
    title: str = ""
    doc_type: DocType = DocType.DOCUMENT
    visibility: Visibility = "public"
    owner: str | None = None
    team: list[str] = Field(default_factory=list)
    account_id: str | None = None
    opportunity_id: str | None = None
    contact_ids: list[str] = Field(default_factory=list)
    occurred_at: str | None = None
    tenant: str | None = None
    """Tenant to ingest into; the case's (or the manifest's) tenant when unset."""

    @model_validator(mode="after")
    def _has_text(self) -> EvalDocument:
        if not (self.text or self.segments):
            raise ValueError(f"document {self.document_id!r} has neither text nor segments")
        return self

    def source_document(self) -> SourceDocument:
        if self.segments:
            segments = [Segment(text=s.text, speaker=s.speaker, section=s.section) for s in self.segments]
        else:
            segments = [Segment(text=self.text or "")]
        return SourceDocument(
            document_id=self.document_id, source_uri=f"eval:{self.document_id}", doc_type=self.doc_type,
            title=self.title, segments=segments, account_id=self.account_id,
            opportunity_id=self.opportunity_id, contact_ids=self.contact_ids, owner=self.owner,
            team=self.team, visibility=self.visibility, occurred_at=self.occurred_at,
        )


class GoldenCase(BaseModel):
    """One row of a golden set. Unknown keys are rejected so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    action: str = Field(min_length=1)
    tenant: str = "eval"
    user: str = "u-eval"
    teams: list[str] = Field(default_factory=list)
    record: str | None = None
    """The record in scope (``account:ID``, ``document:ID``...); passed as the input's
    ``record`` when the action's input has that field and ``inputs`` does not set it."""
    inputs: dict[str, Any] = Field(default_factory=dict)
    optional_inputs: dict[str, Any] = Field(default_factory=dict)
    """Passed only when the action's input model declares the key (e.g. chat ``history``)."""
    reference: dict[str, Any] = Field(default_factory=dict)
    relevant_doc_ids: list[str] = Field(default_factory=list)
    """Shorthand: each id is a relevant item covered by any chunk of that document."""
    relevant: list[RelevantItem] = Field(default_factory=list)
    documents: list[EvalDocument] = Field(default_factory=list)
    notes: str = ""
    tags: list[str] = Field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    @model_validator(mode="after")
    def _check(self) -> GoldenCase:
        if self.record is not None:
            RecordRef.parse(self.record)
        if self.schema_version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is newer than this code ({SCHEMA_VERSION})")
        return self

    def relevant_items(self) -> list[RelevantItem]:
        """``relevant`` plus one item per ``relevant_doc_ids`` entry."""
        known = {item.id for item in self.relevant}
        extra = [RelevantItem(id=d, document_ids=[d]) for d in self.relevant_doc_ids if d not in known]
        return [*self.relevant, *extra]


class CorpusPath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    """File or folder, relative to the manifest."""
    root: str | None = None
    """Folder document ids are relative to (defaults to ``path`` when it is a folder)."""
    tenant: str | None = None


class GoldenManifest(BaseModel):
    """Optional ``<set>.jsonl.meta.json``: name, version and set-wide sources."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    version: str = "1"
    description: str = ""
    tenant: str = "eval"
    """Tenant of the manifest's documents and corpus unless they say otherwise."""
    corpus: list[CorpusPath] = Field(default_factory=list)
    documents: str | None = None
    """A JSONL file of :class:`EvalDocument` shared by every case, relative to the manifest."""


class SetSource(BaseModel):
    """Where part of a run's cases came from: recorded in every run for provenance."""

    name: str
    path: str
    sha256: str
    """Of the set's files (cases, manifest, documents): a changed set shows up in ``compare``."""
    version: str = "1"
    rows: int = 0


class GoldenSet(BaseModel):
    """A loaded set: its cases, the sources to ingest, and where it came from."""

    name: str
    version: str = "1"
    sources: list[SetSource] = Field(default_factory=list)
    cases: list[GoldenCase]
    documents: list[EvalDocument] = Field(default_factory=list)
    """Set-wide documents (each case's own ``documents`` are ingested too)."""
    corpus: list[tuple[Path, Path | None, str]] = Field(default_factory=list)
    """(path, root, tenant) of files and folders to ingest with the product's loaders."""
    default_tenant: str = "eval"
