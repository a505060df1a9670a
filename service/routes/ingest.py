"""Ingestion over HTTP: file uploads, CRM record pushes (webhooks), document deletion."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ingest.db import DocumentRow
from ingest.documents import LoadError
from ingest.loaders import LoadResult, Reason, SourceDefaults, load_file
from ingest.pipeline import IngestReport
from service.deps import AdminDep, ContainerDep
from service.errors import BadRequest, NotFound

router = APIRouter(prefix="/v1", tags=["ingest"])
_SAFE_NAME = str.maketrans({c: "_" for c in '/\\:*?"<>|\x00'})


class ItemPublic(BaseModel):
    document_id: str
    status: str
    chunks: int = 0
    reason: str | None = None
    message: str | None = None


class IngestPublic(BaseModel):
    run_id: int | None
    added: int
    updated: int
    unchanged: int
    failed: int
    suppressed: int = Field(0, description="records and documents of erased subjects, skipped")
    chunks: int
    records: int
    items: list[ItemPublic]


class RecordsPush(BaseModel):
    """CRM records pushed as JSON (the same shapes as the CSV/JSON exports in ingest/FORMATS.md)."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] = Field(min_length=1, max_length=5000)


def _public(report: IngestReport) -> IngestPublic:
    s = report.summary()
    return IngestPublic(
        run_id=s["run_id"], added=s["added"], updated=s["updated"], unchanged=s["unchanged"], failed=s["failed"],
        suppressed=s["suppressed"],
        chunks=s["chunks"], records=s["records"],
        items=[ItemPublic(document_id=i.document_id, status=i.status, chunks=i.chunks, reason=i.reason,
                          message=i.message) for i in report.items],
    )


@router.post("/ingest", response_model=IngestPublic)
def ingest_files(
    caller: AdminDep,
    container: ContainerDep,
    files: Annotated[list[UploadFile], File(description="Documents, transcripts, emails or CRM exports")],
    meta: Annotated[str | None, Form(description="JSON object: file name -> sidecar metadata")] = None,
) -> IngestPublic:
    """Upload files; each gets a per-item status, and one bad file never stops the rest."""
    try:
        metadata: dict[str, dict[str, Any]] = json.loads(meta) if meta else {}
        if not isinstance(metadata, dict):
            raise ValueError("meta must be a JSON object keyed by file name")
    except ValueError as exc:
        raise BadRequest(f"invalid meta: {exc}") from exc
    limit = int(container.settings.ingest.max_file_mb * 1024 * 1024)
    defaults = SourceDefaults(owner=caller.user_id, team=list(caller.teams), max_bytes=limit)
    loaded = LoadResult()
    with tempfile.TemporaryDirectory(prefix="sidekick-upload-") as tmp:
        for upload in files:
            name = Path(upload.filename or "upload").name.translate(_SAFE_NAME) or "upload"
            file_meta = dict(metadata.get(upload.filename or name, {}))
            document_id = str(file_meta.pop("document_id", f"file:uploads/{name}"))
            data = upload.file.read(limit + 1)
            if len(data) > limit:
                loaded.errors.append(LoadError(document_id, Reason.TOO_LARGE,
                                               f"{name} is larger than {container.settings.ingest.max_file_mb} MB"))
                continue
            path = Path(tmp) / name
            path.write_bytes(data)
            loaded.extend(load_file(path, document_id=document_id, meta=file_meta, defaults=defaults,
                                    source_uri=f"upload:{name}"))
        report = container.ingestor.ingest_loaded(caller.tenant_id, loaded, source="upload")
    container.audit.write(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, event="ingest",
                          detail=json.dumps(report.summary()))
    return _public(report)


@router.post("/ingest/records", response_model=IngestPublic)
def push_records(body: RecordsPush, caller: AdminDep, container: ContainerDep) -> IngestPublic:
    """Push CRM records as JSON (accounts, contacts, opportunities, notes, activities)."""
    defaults = SourceDefaults(owner=caller.user_id, team=list(caller.teams))
    with tempfile.TemporaryDirectory(prefix="sidekick-push-") as tmp:
        path = Path(tmp) / "records.json"
        path.write_text(json.dumps({"records": body.records}), encoding="utf-8")
        loaded = load_file(path, document_id="push:records", meta={}, defaults=defaults, source_uri="push:records")
        report = container.ingestor.ingest_loaded(caller.tenant_id, loaded, source="push")
    container.audit.write(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, event="ingest",
                          detail=json.dumps(report.summary()))
    return _public(report)


class DeletedPublic(BaseModel):
    document_id: str
    chunks_removed: int


@router.delete("/documents/{document_id:path}", response_model=DeletedPublic)
def delete_document(document_id: str, caller: AdminDep, container: ContainerDep) -> DeletedPublic:
    """Remove a document's chunks and its record of ingestion."""
    with container.sessions() as session:
        known = session.get(DocumentRow, (caller.tenant_id, document_id)) is not None
    if not known:
        raise NotFound(f"no document {document_id}")
    removed = container.ingestor.delete_document(caller.tenant_id, document_id)
    container.audit.write(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role,
                          event="document:delete", record=document_id, detail=f"{removed} chunks")
    return DeletedPublic(document_id=document_id, chunks_removed=removed)
