""":class:`retrieval.records.CrmRecords` over the ``crm_records`` table ingestion writes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.db import CrmRecordRow
from retrieval.models import RecordRef
from retrieval.records import StoredRecord


def _stored(row: CrmRecordRow) -> StoredRecord:
    return StoredRecord(kind=row.kind, id=row.record_id, name=row.name or "", account_id=row.account_id,
                        stage=row.stage, owner=row.owner, team=tuple(row.team or ()), visibility=row.visibility,
                        consent=tuple(row.consent or ()), fields=dict(row.fields or {}), updated_at=row.updated_at)


class SqlCrmRecords:
    """CRM records in the service's SQL store (SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def get(self, tenant_id: str, ref: RecordRef) -> StoredRecord | None:
        if ref.kind == "document":
            return None
        with self._sessions() as session:
            row = session.get(CrmRecordRow, (tenant_id, ref.kind, ref.id))
            return _stored(row) if row is not None else None

    def find(self, tenant_id: str, *, kind: str | None = None, account_id: str | None = None,
             limit: int | None = None) -> list[StoredRecord]:
        query = select(CrmRecordRow).where(CrmRecordRow.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(CrmRecordRow.kind == kind)
        if account_id is not None:
            query = query.where(CrmRecordRow.account_id == account_id)
        query = query.order_by(CrmRecordRow.kind, CrmRecordRow.record_id).limit(limit)
        with self._sessions() as session:
            return [_stored(row) for row in session.scalars(query)]

    def delete(self, tenant_id: str, records: Iterable[StoredRecord]) -> int:
        """Erasure: remove these records; returns how many were there."""
        removed = 0
        with self._sessions() as session:
            for rec in records:
                result = session.execute(delete(CrmRecordRow).where(
                    CrmRecordRow.tenant_id == tenant_id, CrmRecordRow.kind == rec.kind,
                    CrmRecordRow.record_id == rec.id))
                removed += int(getattr(result, "rowcount", 0) or 0)
            session.commit()
        return removed
