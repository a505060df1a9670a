"""Idempotent, incremental ingestion: sources -> chunks -> vectors -> Qdrant, runs -> SQL.

- A document whose content hash is unchanged is skipped without embedding.
- A changed document replaces its chunks in one store call (deterministic point ids,
  stale tail deleted in the same write, atomic for readers).
- Chunks of many documents are embedded together in batches, so small notes do not
  leave the embedder idle (the embedder is the pipeline's bottleneck).
- Every run is recorded in SQL with counts and per-item errors; one bad item never stops
  the rest.
- Records and documents linking an erased contact or account (the suppression list,
  ``erased_subjects``) are skipped with status ``suppressed``: erasure survives re-ingest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingest.chunking import chunk_document
from ingest.db import CrmRecordRow, DocumentRow, ErasedSubjectRow, IngestRunRow, subject_key, utcnow
from ingest.documents import LoadError, SourceDocument
from ingest.loaders import CrmRecord, LoadResult, SourceDefaults, load_paths
from retrieval.embedder import Embedder
from retrieval.filters import admin_filter
from retrieval.models import Chunk
from retrieval.sparse import Bm25Encoder
from retrieval.store import PointData, VectorStore

Progress = Callable[[int, int], None]
"""Called with (documents done, documents total)."""


@dataclass
class ItemStatus:
    document_id: str
    status: str  # added | updated | unchanged | failed | suppressed
    chunks: int = 0
    reason: str | None = None
    message: str | None = None


@dataclass
class IngestReport:
    run_id: int | None = None
    items: list[ItemStatus] = field(default_factory=list)
    records: int = 0
    records_changed: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def chunks(self) -> int:
        return sum(item.chunks for item in self.items if item.status in ("added", "updated"))

    @property
    def changed(self) -> bool:
        return bool(self.count("added") or self.count("updated") or self.records_changed)

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "failed": self.count("failed"),
            "suppressed": self.count("suppressed"),
            "chunks": self.chunks,
            "records": self.records,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Pending:
    doc: SourceDocument
    chunks: list[Chunk]
    status: str


class Ingestor:
    def __init__(
        self,
        *,
        store: VectorStore,
        embedder: Embedder,
        sparse: Bm25Encoder,
        sessions: sessionmaker[Session],
        chunk_tokens: int = 220,
        overlap_tokens: int = 30,
        embed_batch: int = 256,
        max_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._sparse = sparse
        self._sessions = sessions
        self._chunk_tokens = chunk_tokens
        self._overlap = overlap_tokens
        self._embed_batch = embed_batch
        self._max_bytes = max_bytes

    # -- entry points --------------------------------------------------------------------
    def ingest_paths(
        self,
        tenant_id: str,
        paths: Sequence[Path],
        *,
        root: Path | None = None,
        defaults: SourceDefaults | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        defaults = defaults or SourceDefaults()
        if defaults.max_bytes is None:
            defaults = defaults.model_copy(update={"max_bytes": self._max_bytes})
        loaded = load_paths(list(paths), root=root, defaults=defaults)
        source = ", ".join(str(p) for p in paths)
        return self.ingest_loaded(tenant_id, loaded, source=source, progress=progress)

    def ingest_loaded(
        self, tenant_id: str, loaded: LoadResult, *, source: str = "", progress: Progress | None = None
    ) -> IngestReport:
        import time

        start = time.perf_counter()
        report = IngestReport()
        with self._sessions() as session:
            run = IngestRunRow(tenant_id=tenant_id, source=source[:2000])
            session.add(run)
            session.commit()
            report.run_id = run.id
        report.items.extend(_failed(err) for err in loaded.errors)
        erased = self.erased_keys(tenant_id)
        records, documents = [], []
        for rec in loaded.records:
            if _links_erased(erased, [(rec.kind, rec.id), ("account", rec.account_id)]):
                report.items.append(ItemStatus(f"{rec.kind}:{rec.id}", "suppressed", reason="subject_erased",
                                               message="an erased contact or account; not stored again"))
            else:
                records.append(rec)
        for doc in loaded.documents:
            if _links_erased(erased, [("account", doc.account_id), *(("contact", c) for c in doc.contact_ids)]):
                report.items.append(ItemStatus(doc.document_id, "suppressed", reason="subject_erased",
                                               message="links an erased contact or account; not stored again"))
            else:
                documents.append(doc)
        report.records, report.records_changed = self._save_records(tenant_id, records)
        consent = self.contact_consent(tenant_id)
        self._ingest_documents(tenant_id, documents, consent, report, progress)
        if report.changed and hasattr(self._store, "optimize"):
            self._store.optimize()
        report.seconds = time.perf_counter() - start
        self._finish_run(report)
        return report

    def delete_document(self, tenant_id: str, document_id: str) -> int:
        """Remove a document's chunks and its SQL row; returns the chunks removed."""
        removed = self._store.delete_where(admin_filter(tenant_id, document_id=document_id))
        with self._sessions() as session:
            row = session.get(DocumentRow, (tenant_id, document_id))
            if row is not None:
                session.delete(row)
                session.commit()
        return removed

    # -- the suppression list ---------------------------------------------------------------
    def suppress(self, tenant_id: str, kind: str, record_ids: Iterable[str]) -> None:
        """Remember erased subjects (hashed ids) so ingestion never stores them again."""
        with self._sessions() as session:
            for record_id in record_ids:
                key = subject_key(kind, record_id)
                if session.get(ErasedSubjectRow, (tenant_id, kind, key)) is None:
                    session.add(ErasedSubjectRow(tenant_id=tenant_id, kind=kind, key=key))
            session.commit()

    def lift_suppression(self, tenant_id: str, kind: str, record_id: str) -> bool:
        """Forget one erased subject (e.g. the person became a customer again, with consent)."""
        with self._sessions() as session:
            row = session.get(ErasedSubjectRow, (tenant_id, kind, subject_key(kind, record_id)))
            if row is None:
                return False
            session.delete(row)
            session.commit()
        return True

    def erased_keys(self, tenant_id: str) -> set[tuple[str, str]]:
        with self._sessions() as session:
            rows = session.scalars(select(ErasedSubjectRow).where(ErasedSubjectRow.tenant_id == tenant_id))
            return {(row.kind, row.key) for row in rows}

    # -- records and consent ---------------------------------------------------------------
    def contact_consent(self, tenant_id: str) -> dict[str, list[str]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(CrmRecordRow).where(CrmRecordRow.tenant_id == tenant_id, CrmRecordRow.kind == "contact")
            )
            return {row.record_id: list(row.consent or []) for row in rows}

    def _save_records(self, tenant_id: str, records: Iterable[CrmRecord]) -> tuple[int, int]:
        count = changed = 0
        consent_changed: list[str] = []
        with self._sessions() as session:
            for rec in records:
                count += 1
                row = session.get(CrmRecordRow, (tenant_id, rec.kind, rec.id))
                values = _record_values(rec)
                if row is None:
                    session.add(CrmRecordRow(tenant_id=tenant_id, kind=rec.kind, record_id=rec.id, **values))
                    changed += 1
                    continue
                if any(getattr(row, key) != value for key, value in values.items()):
                    if rec.kind == "contact" and list(row.consent or []) != values["consent"]:
                        consent_changed.append(rec.id)
                    for key, value in values.items():
                        setattr(row, key, value)
                    changed += 1
            session.commit()
        for contact_id in consent_changed:
            self.apply_consent(tenant_id, contact_id)
        return count, changed

    def set_consent(self, tenant_id: str, contact_id: str, purposes: Sequence[str]) -> bool:
        """Record a contact's consent and apply it to every stored chunk that mentions them."""
        with self._sessions() as session:
            row = session.get(CrmRecordRow, (tenant_id, "contact", contact_id))
            if row is None:
                return False
            row.consent = sorted(set(purposes))
            session.commit()
        self.apply_consent(tenant_id, contact_id)
        return True

    def apply_consent(self, tenant_id: str, contact_id: str) -> int:
        """Recompute the ``consent`` payload of every document linked to the contact."""
        consent = self.contact_consent(tenant_id)
        with self._sessions() as session:
            rows = [
                row
                for row in session.scalars(select(DocumentRow).where(DocumentRow.tenant_id == tenant_id))
                if contact_id in (row.contact_ids or [])
            ]
        for row in rows:
            purposes = _intersect([consent.get(c, []) for c in row.contact_ids])
            self._store.set_payload_where(
                admin_filter(tenant_id, document_id=row.document_id), {"consent": purposes}
            )
        return len(rows)

    # -- documents ------------------------------------------------------------------------
    def _ingest_documents(
        self,
        tenant_id: str,
        docs: Sequence[SourceDocument],
        consent: dict[str, list[str]],
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        with self._sessions() as session:
            known = {
                row.document_id: row.content_hash
                for row in session.scalars(select(DocumentRow).where(DocumentRow.tenant_id == tenant_id))
            }
        pending: list[_Pending] = []
        pending_chunks = 0
        done = 0
        for doc in docs:
            try:
                chunks = chunk_document(
                    doc, tenant_id, chunk_tokens=self._chunk_tokens,
                    overlap_tokens=self._overlap, contact_consent=consent,
                )
            except Exception as exc:  # a chunker bug must not sink the batch
                report.items.append(ItemStatus(doc.document_id, "failed", reason="chunking_failed", message=str(exc)))
                continue
            digest = chunks[0].content_hash if chunks else ""
            if known.get(doc.document_id) == digest:
                report.items.append(ItemStatus(doc.document_id, "unchanged", chunks=len(chunks)))
                done += 1
                if progress:
                    progress(done, len(docs))
                continue
            if not chunks:
                report.items.append(ItemStatus(doc.document_id, "failed", reason="no_text", message="no text to index"))
                continue
            status = "updated" if doc.document_id in known else "added"
            pending.append(_Pending(doc, chunks, status))
            pending_chunks += len(chunks)
            if pending_chunks >= self._embed_batch:
                done += self._flush(tenant_id, pending, report, report.run_id)
                if progress:
                    progress(done, len(docs))
                pending, pending_chunks = [], 0
        if pending:
            done += self._flush(tenant_id, pending, report, report.run_id)
        if progress:
            progress(len(docs), len(docs))

    def _flush(self, tenant_id: str, pending: list[_Pending], report: IngestReport, run_id: int | None) -> int:
        texts = [chunk.text for item in pending for chunk in item.chunks]
        dense = self._embedder.embed_documents(texts)
        sparse = self._sparse.encode_documents(texts)
        offset = 0
        with self._sessions() as session:
            for item in pending:
                n = len(item.chunks)
                points = [
                    PointData(chunk, dense[offset + i], sparse[offset + i]) for i, chunk in enumerate(item.chunks)
                ]
                offset += n
                try:
                    self._store.replace_document(tenant_id, item.doc.document_id, points)
                except Exception as exc:
                    report.items.append(
                        ItemStatus(item.doc.document_id, "failed", reason="store_failed", message=str(exc))
                    )
                    continue
                session.merge(_document_row(tenant_id, item.doc, item.chunks, run_id))
                report.items.append(ItemStatus(item.doc.document_id, item.status, chunks=n))
            session.commit()
        return len(pending)

    def _finish_run(self, report: IngestReport) -> None:
        with self._sessions() as session:
            run = session.get(IngestRunRow, report.run_id)
            if run is None:
                return
            run.finished_at = utcnow()
            run.added = report.count("added")
            run.updated = report.count("updated")
            run.unchanged = report.count("unchanged")
            run.failed = report.count("failed")
            run.chunks = report.chunks
            run.seconds = report.seconds
            run.status = "completed" if not run.failed else "completed_with_errors"
            run.errors = [
                {"document_id": i.document_id, "reason": i.reason, "message": i.message}
                for i in report.items
                if i.status == "failed"
            ]
            session.commit()


def _links_erased(erased: set[tuple[str, str]], refs: Iterable[tuple[str, str | None]]) -> bool:
    """Does any of these (kind, id) references name an erased contact or account?"""
    return bool(erased) and any((kind, subject_key(kind, rid)) in erased for kind, rid in refs
                                if rid and kind in ("contact", "account"))


def _failed(err: LoadError) -> ItemStatus:
    return ItemStatus(err.source, "failed", reason=err.reason, message=err.message)


def _intersect(sets: Sequence[Sequence[str]]) -> list[str]:
    if not sets:
        return ["*"]
    common = set(sets[0])
    for purposes in sets[1:]:
        common &= set(purposes)
    return sorted(common)


def _record_values(rec: CrmRecord) -> dict[str, Any]:
    return {
        "name": rec.name or "",
        "account_id": rec.account_id,
        "stage": rec.stage,
        "owner": rec.owner,
        "team": list(rec.team),
        "visibility": rec.visibility,
        "consent": sorted(rec.consent),
        "fields": dict(rec.fields),
    }


def _document_row(tenant_id: str, doc: SourceDocument, chunks: list[Chunk], run_id: int | None) -> DocumentRow:
    return DocumentRow(
        tenant_id=tenant_id,
        document_id=doc.document_id,
        source_uri=doc.source_uri,
        doc_type=str(doc.doc_type),
        title=doc.title,
        content_hash=chunks[0].content_hash,
        chunk_count=len(chunks),
        account_id=doc.account_id,
        opportunity_id=doc.opportunity_id,
        contact_ids=list(doc.contact_ids),
        metadata_json={
            "owner": doc.owner, "team": doc.team, "visibility": doc.visibility,
            "occurred_at": doc.occurred_at, "author": doc.author,
        },
        ingested_at=utcnow(),
        run_id=run_id,
    )
