"""Data subjects (a contact or an account): export everything stored about them, or erase it.

What erasure (``DELETE /v1/subjects/{id}``) removes, and why:

- **Linked documents**, whole: every document whose metadata links the subject. For a
  contact, documents listing it in ``contact_ids`` (its CRM record, notes, activities, the
  emails and call transcripts it took part in); for an account, everything with its
  ``account_id`` plus documents linking any of its contacts. Chunks and SQL rows go, even
  when a document also links other people: what someone said in a call or wrote in an email
  is their personal data, and chunk boundaries do not separate speakers.
- **Mentions** in other documents: chunks whose text names the subject (full name, email,
  phone, record id, account name and web domain; a first or last name alone only inside the
  subject's account's documents, and only when no other contact of that account shares it).
  These are redacted in place to ``[erased]`` and re-embedded, so neither text nor vectors
  keep the name, and the rest of the document (another person's note) survives. The bias is
  to over-redact: a first name that is also a common word is replaced too.
- **CRM records**: the contact; or the account, its opportunities and its contacts.
- **Review items and cached model replies** about the subject's records, or built on its
  chunks or on chunks that named it (their outputs and snippets may quote it).
- **Audit rows** about the subject or that retrieved its erased chunks are rewritten to a
  tombstone (:meth:`service.audit.AuditLog.tombstone`): record refs and erased chunk ids
  become ``erased:<hash>``, salted with a value drawn for this erasure and never stored, so
  no one (operators included) can link them back to the subject, while the rows of one
  erasure share tokens. Free text goes. Employee user ids stay: they are the accountability
  the trail exists for, not the subject's data. The erasure's own audit row carries the
  subject's token, never its id.

Cost: export and erasure scan the tenant's chunks (for mentions), documents and audit trail
in Python. That suits a rare admin call up to ~10^5 chunks; beyond, a full-text payload
index on chunk text is the next step.

- **Suppression list**: the erased contact ids (for an account: the account and its
  contacts) are remembered as SHA-256 hashes in ``erased_subjects``; ingestion skips CRM
  records and documents that link them (status ``suppressed``), so a CRM sync or re-upload
  does not bring them back. A new, unlinked document that merely names the person is not
  caught: the CRM, as the system of record, must erase too."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.db import DocumentRow
from retrieval.filters import admin_filter
from retrieval.identity import Caller
from retrieval.models import Chunk, RecordRef
from retrieval.records import StoredRecord
from retrieval.store import PointData
from service.audit import audit_dict
from service.container import Container
from service.errors import Conflict, NotFound
from service.reviews import ReviewItemRow

SubjectKind = Literal["contact", "account"]
SUBJECT_ID_PATTERN = r"^(?:(?:contact|account):)?[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
REDACTED = "[erased]"
_SCAN_LIMIT = 1_000_000


class SubjectNotFound(NotFound):
    """Nothing is stored about this subject in the caller's tenant."""


class AmbiguousSubject(Conflict):
    """A bare id names both a contact and an account: use ``contact:ID`` or ``account:ID``."""


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    id: str

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.id}"


def resolve_subject(container: Container, tenant_id: str, raw: str) -> Subject:
    """``contact:C-101``, ``account:ACME-001`` or a bare id, found by CRM record or by document links."""
    prefix, _, ident = raw.rpartition(":")
    kinds: tuple[SubjectKind, ...] = ("contact", "account")
    if prefix in kinds:
        kinds = (prefix,)  # type: ignore[assignment]
    found: list[SubjectKind] = [k for k in kinds
                                if container.records.get(tenant_id, RecordRef(kind=k, id=ident)) is not None]
    if not found:  # no CRM record, but documents may still link the subject
        with container.sessions() as session:
            docs = list(session.scalars(select(DocumentRow).where(DocumentRow.tenant_id == tenant_id)))
            if "contact" in kinds and any(ident in (d.contact_ids or []) for d in docs):
                found.append("contact")
            if "account" in kinds and any(d.account_id == ident for d in docs):
                found.append("account")
    if len(found) > 1:
        raise AmbiguousSubject(f"{ident} is both a contact and an account: use contact:{ident} or account:{ident}")
    if not found:
        raise SubjectNotFound(f"nothing is stored about {raw}")
    return Subject(found[0], ident)


# -- finding names in text ------------------------------------------------------------------
def _strong(value: str) -> str:
    words = [re.escape(w) for w in value.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


def _phone(value: str) -> str | None:
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7:
        return None
    return r"(?<!\d)(?:\+?\d{1,3}[\s.-]?)?\(?" + r"[\s().-]{0,3}".join(digits[-10:]) + r"(?!\d)"


@dataclass(frozen=True)
class Redactor:
    """Finds and replaces a subject's identifiers in chunk text."""

    anywhere: re.Pattern[str] | None
    """Full names, emails, phones, ids, account names: matched case-insensitively anywhere."""
    local: re.Pattern[str] | None
    """First or last names alone: whole words, case-sensitive, only in ``account_id``'s documents."""
    account_id: str | None

    def sub(self, value: str, account_id: str | None) -> str:
        """``value`` with the identifiers replaced; ``account_id`` is where the value was found."""
        local = self.local if self.account_id is not None and account_id == self.account_id else None
        for pattern in (self.anywhere, local):
            if pattern is not None:
                value = pattern.sub(REDACTED, value)
        return value

    def redact(self, chunk: Chunk) -> Chunk | None:
        """The chunk with identifiers replaced, or None when it names nothing of the subject."""
        def sub(value: str) -> str:
            return self.sub(value, chunk.account_id)

        update: dict[str, Any] = {
            "text": sub(chunk.text), "title": sub(chunk.title),
            "speaker": sub(chunk.speaker) if chunk.speaker else chunk.speaker,
            "speakers": [sub(s) for s in chunk.speakers], "section": [sub(s) for s in chunk.section],
            "extra": {k: sub(v) if isinstance(v, str) else v for k, v in chunk.extra.items()},
        }
        if all(update[k] == getattr(chunk, k) for k in update):
            return None
        return chunk.model_copy(update=update)


def build_redactor(subject: Subject, records: list[StoredRecord], account_contacts: list[StoredRecord]) -> Redactor:
    """Identifiers of ``records`` (the subject's CRM rows); ``account_contacts`` decide which
    first and last names are unambiguous inside the account."""
    strong: set[str] = {_strong(subject.id)}
    local: set[str] = set()
    account_id = subject.id if subject.kind == "account" else None
    erased_ids = {r.id for r in records}
    for rec in records:
        fields = rec.fields
        strong.add(_strong(rec.id))
        if rec.kind == "opportunity":
            continue  # opportunity names are deal titles; their documents go with the account
        if rec.name and (rec.kind == "account" or len(rec.name.split()) > 1):
            strong.add(_strong(rec.name))
        for key in ("email", "website"):
            value = str(fields.get(key) or "").strip()
            value = re.sub(r"^https?://(www\.)?", "", value).rstrip("/")
            if len(value) >= 4:
                strong.add(_strong(value))
        phone = _phone(str(fields.get("phone") or ""))
        if phone:
            strong.add(phone)
        if rec.kind == "contact":
            account_id = account_id or rec.account_id
            others = [c for c in account_contacts if c.id not in erased_ids]
            for key in ("first_name", "last_name"):
                name = str(fields.get(key) or "").strip()
                if len(name) >= 3 and all(str(c.fields.get(key) or "") != name for c in others):
                    local.add(r"\b" + re.escape(name) + r"\b")

    def compile_(parts: set[str], flags: int) -> re.Pattern[str] | None:
        return re.compile("|".join(sorted(parts, key=len, reverse=True)), flags) if parts else None

    return Redactor(compile_(strong, re.IGNORECASE), compile_(local, 0), account_id)


# -- the subject's footprint ------------------------------------------------------------------
@dataclass
class Footprint:
    """Everything stored about a subject in one tenant."""

    subject: Subject
    records: list[StoredRecord]
    documents: list[DocumentRow]
    chunks: list[tuple[str, Chunk]]
    """Chunks of linked documents (to delete)."""
    redactor: Redactor
    mentions: dict[str, list[tuple[str, Chunk, Chunk]]] = field(default_factory=dict)
    """Per other document: (chunk id, chunk, redacted chunk) for chunks that name the subject."""

    @property
    def document_ids(self) -> set[str]:
        return {d.document_id for d in self.documents} | {c.document_id for _, c in self.chunks}

    @property
    def chunk_ids(self) -> set[str]:
        return {cid for cid, _ in self.chunks}

    @property
    def refs(self) -> set[str]:
        """How audit rows and review items name the subject's records and documents."""
        refs = {self.subject.ref} | {r.ref for r in self.records}
        return refs | {f"document:{d}" for d in self.document_ids} | self.document_ids


def footprint(container: Container, tenant_id: str, subject: Subject) -> Footprint:
    store, crm = container.store, container.records
    own = crm.get(tenant_id, RecordRef(kind=subject.kind, id=subject.id))
    account_id = subject.id if subject.kind == "account" else own.account_id if own is not None else None
    # an account's records are the account and everything linked to it; a contact's, itself
    of_account = crm.find(tenant_id, account_id=subject.id) if subject.kind == "account" else []
    records = list({r.ref: r for r in ([own] if own is not None else []) + of_account}.values())
    account_contacts = crm.find(tenant_id, kind="contact", account_id=account_id) if account_id else []
    contacts = {r.id for r in records if r.kind == "contact"} | ({subject.id} if subject.kind == "contact" else set())
    with container.sessions() as session:
        documents = [
            d for d in session.scalars(select(DocumentRow).where(DocumentRow.tenant_id == tenant_id))
            if (subject.kind == "account" and d.account_id == subject.id) or contacts & set(d.contact_ids or [])
        ]
    specs = [admin_filter(tenant_id, contact_ids=c) for c in sorted(contacts)]
    if subject.kind == "account":
        specs.append(admin_filter(tenant_id, account_id=subject.id))
    chunks = {cid: chunk for spec in specs for cid, chunk in store.scroll(spec, limit=_SCAN_LIMIT)}
    fp = Footprint(subject, records, documents, sorted(chunks.items()),
                   build_redactor(subject, records, account_contacts))
    linked = fp.document_ids
    mentions: dict[str, list[tuple[str, Chunk, Chunk]]] = defaultdict(list)
    for cid, chunk in store.scroll(admin_filter(tenant_id), limit=_SCAN_LIMIT):
        if chunk.document_id not in linked and (redacted := fp.redactor.redact(chunk)) is not None:
            mentions[chunk.document_id].append((cid, chunk, redacted))
    fp.mentions = dict(mentions)
    return fp


# -- review items and cached replies ----------------------------------------------------------
def review_rows(session: Session, tenant_id: str, refs: set[str], chunk_ids: set[str],
                request_ids: set[str]) -> list[ReviewItemRow]:
    """Review items of the subject: about one of its records, produced by a call that read its
    chunks (``request_ids`` from the audit trail), or citing its chunks. Their outputs and
    citation snippets may quote the subject."""
    rows = session.scalars(select(ReviewItemRow).where(ReviewItemRow.tenant_id == tenant_id))
    return [
        row for row in rows
        if (row.record is not None and row.record.strip() in refs) or row.request_id in request_ids
        or chunk_ids.intersection(str(c.get("chunk_id")) for c in row.citations or [])
    ]


def _review_dict(row: ReviewItemRow) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in ReviewItemRow.__table__.columns}


# -- export and erasure ---------------------------------------------------------------------
def _record_dict(row: StoredRecord) -> dict[str, Any]:
    return {"kind": row.kind, "id": row.id, "name": row.name, "account_id": row.account_id,
            "stage": row.stage, "owner": row.owner, "team": list(row.team), "visibility": row.visibility,
            "consent": list(row.consent), "fields": dict(row.fields),
            "updated_at": row.updated_at.isoformat() if row.updated_at else None}


def export_subject(container: Container, caller: Caller, subject: Subject) -> dict[str, Any]:
    """Everything stored about the subject, as JSON-ready data (portability)."""
    tenant_id = caller.tenant_id
    fp = footprint(container, tenant_id, subject)
    by_doc: dict[str, list[tuple[str, Chunk]]] = defaultdict(list)
    for cid, chunk in fp.chunks:
        by_doc[chunk.document_id].append((cid, chunk))
    rows = {d.document_id: d for d in fp.documents}
    documents = []
    for doc_id in sorted(fp.document_ids):
        row = rows.get(doc_id)
        meta = {"doc_type": row.doc_type, "title": row.title, "source_uri": row.source_uri,
                "account_id": row.account_id, "opportunity_id": row.opportunity_id, "contact_ids": row.contact_ids,
                "metadata": row.metadata_json, "ingested_at": row.ingested_at.isoformat()} if row else {}
        chunks = [{"chunk_id": cid, **c.model_dump(mode="json", exclude={"tenant_id", "document_id"})}
                  for cid, c in sorted(by_doc.get(doc_id, []), key=lambda p: p[1].chunk_index)]
        documents.append({"document_id": doc_id, **meta, "chunks": chunks})
    mentions = [{"chunk_id": cid, "document_id": chunk.document_id, "text": chunk.text}
                for items in fp.mentions.values() for cid, chunk, _ in items]
    audit_rows = container.audit.referencing(tenant_id, fp.refs, fp.chunk_ids)
    with container.sessions() as session:
        reviews = [_review_dict(r) for r in review_rows(session, tenant_id, fp.refs, fp.chunk_ids,
                                                         {r.request_id for r in audit_rows if r.request_id})]
    export = {"subject": {"kind": subject.kind, "id": subject.id}, "tenant_id": tenant_id,
              "records": [_record_dict(r) for r in fp.records], "documents": documents, "mentions": mentions,
              "audit": [audit_dict(r) for r in audit_rows], "review_items": reviews}
    container.audit.record_access(caller, "subject:export", record=subject.ref, detail=json.dumps(
        {"records": len(fp.records), "documents": len(documents), "audit": len(audit_rows)}))
    return json.loads(json.dumps(export, default=str))


@dataclass(frozen=True)
class ErasureReport:
    chunks: int
    documents: int
    records: int
    review_items: int
    audit_tombstoned: int
    chunks_redacted: int
    cached_replies: int
    token: str
    """The subject's pseudonym in the audit trail (``erased:<hash>``)."""


def _redact_mentions(container: Container, tenant_id: str, fp: Footprint) -> int:
    """Rewrite and re-embed every document that names the subject; returns chunks changed.

    Whole documents are re-written (``replace_document`` keeps only the points it is given),
    embedded in one batch as the ingestor does."""
    store = container.store
    documents: list[tuple[str, list[Chunk]]] = []
    for doc_id, items in sorted(fp.mentions.items()):
        changed = {cid: new for cid, _, new in items}
        chunks = [changed.get(cid, c) for cid, c in store.scroll(admin_filter(tenant_id, document_id=doc_id))]
        documents.append((doc_id, sorted(chunks, key=lambda c: c.chunk_index)))
    texts = [c.text for _, chunks in documents for c in chunks]
    if not texts:
        return 0
    dense, sparse = container.embedder.embed_documents(texts), container.sparse.encode_documents(texts)
    offset = 0
    for doc_id, chunks in documents:
        store.replace_document(tenant_id, doc_id, [PointData(c, dense[offset + i], sparse[offset + i])
                                                   for i, c in enumerate(chunks)])
        offset += len(chunks)
    return sum(len(items) for items in fp.mentions.values())


def erase_subject(container: Container, caller: Caller, subject: Subject) -> ErasureReport:
    """Erase the subject (see the module docstring). Vectors go first, SQL after: if a step
    fails, the SQL rows still name the subject and the erasure can simply be run again."""
    tenant_id = caller.tenant_id
    fp = footprint(container, tenant_id, subject)
    refs, erased_chunks = fp.refs, fp.chunk_ids
    # Outputs built on a chunk that named the subject may quote the name, even after redaction.
    touched = erased_chunks | {cid for items in fp.mentions.values() for cid, _, _ in items}
    request_ids = {r.request_id for r in container.audit.referencing(tenant_id, refs, touched) if r.request_id}

    # The suppression list first, so an ingest running meanwhile cannot store the subject again.
    for kind in ("contact", "account"):
        container.ingestor.suppress(tenant_id, kind, [r.id for r in fp.records if r.kind == kind])
    removed = sum(container.store.delete_where(admin_filter(tenant_id, document_id=d)) for d in sorted(fp.document_ids))
    redacted = _redact_mentions(container, tenant_id, fp)
    with container.sessions() as session:
        for doc_id in fp.document_ids:
            row = session.get(DocumentRow, (tenant_id, doc_id))
            if row is not None:
                session.delete(row)
        for doc_id in fp.mentions:
            row = session.get(DocumentRow, (tenant_id, doc_id))
            if row is not None:  # the content hash stays, so re-ingesting an unchanged source skips it
                row.title = fp.redactor.sub(row.title, row.account_id)
        reviews = review_rows(session, tenant_id, refs, touched, request_ids)
        for item in reviews:
            session.delete(item)
        session.commit()
    container.records.delete(tenant_id, fp.records)  # last: while they remain, a re-run finds the subject
    cache = container.action_cache
    cached = sum(cache.purge(tenant_id, record=r) for r in sorted(refs))
    if touched:  # purge() with no chunk ids would empty the tenant's whole cache
        cached += cache.purge(tenant_id, chunk_ids=touched)

    salt = secrets.token_bytes(16)  # never stored: tokens cannot be linked back to the subject

    def pseudonym(value: str) -> str:
        return "erased:" + hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()[:24]

    tombstoned = container.audit.tombstone(tenant_id, refs, erased_chunks, pseudonym)
    report = ErasureReport(chunks=removed, documents=len(fp.document_ids), records=len(fp.records),
                           review_items=len(reviews), audit_tombstoned=tombstoned, chunks_redacted=redacted,
                           cached_replies=cached, token=pseudonym(subject.ref))
    counts = {k: v for k, v in report.__dict__.items() if k != "token"}
    container.audit.record_access(caller, "subject:erase", record=report.token, detail=json.dumps(counts))
    return report
