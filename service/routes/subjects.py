"""Data-subject rights for admins: export everything about a contact or account, or erase it.

The rules (what is deleted, redacted and tombstoned) are in ``service/subjects.py``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from service.deps import AdminDep, ContainerDep
from service.subjects import SUBJECT_ID_PATTERN, erase_subject, export_subject, resolve_subject

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])

SubjectId = Annotated[str, Path(pattern=SUBJECT_ID_PATTERN,
                                description="A contact or account id, optionally as contact:ID or account:ID")]


class ErasurePublic(BaseModel):
    subject: str = Field(description="The subject's pseudonym in the audit trail from now on")
    chunks: int = Field(description="Chunks deleted from the vector store")
    documents: int
    records: int = Field(description="CRM records deleted")
    review_items: int
    audit_tombstoned: int
    chunks_redacted: int = Field(description="Chunks of other documents whose mentions were redacted")
    cached_replies: int = Field(description="Cached model replies built on the subject's data")


@router.delete("/{subject_id}", response_model=ErasurePublic)
def erase(subject_id: SubjectId, caller: AdminDep, container: ContainerDep) -> ErasurePublic:
    """Right to be forgotten: remove the subject's chunks, documents, records and review items,
    redact mentions elsewhere, and tombstone the audit records that name them."""
    subject = resolve_subject(container, caller.tenant_id, subject_id)
    report = erase_subject(container, caller, subject)
    return ErasurePublic(subject=report.token, chunks=report.chunks, documents=report.documents,
                         records=report.records, review_items=report.review_items,
                         audit_tombstoned=report.audit_tombstoned, chunks_redacted=report.chunks_redacted,
                         cached_replies=report.cached_replies)


@router.get("/{subject_id}/export")
def export(subject_id: SubjectId, caller: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """Portability: the subject's CRM records, documents with their chunk texts, mentions in
    other documents, the audit records that reference them and their review items."""
    subject = resolve_subject(container, caller.tenant_id, subject_id)
    return export_subject(container, caller, subject)
