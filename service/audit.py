"""Append-only audit trail: one record per action call and per data-access route.

Append-only is enforced in code: a session listener refuses to flush an update or a delete
of an :class:`AuditRow`, and refuses bulk UPDATE/DELETE statements on the table. The one
exception is :meth:`AuditLog.tombstone`, the erasure rewrite (see ``service/subjects.py``),
which runs in a session marked for it and may only update. In production, also grant the
service's database role INSERT and SELECT (and UPDATE for erasure) on ``audit_log``, never
DELETE, so the guarantee does not rest on this process alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, Select, String, Text, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, sessionmaker

from actions.base import Action, ActionResponse
from retrieval.identity import Caller

_TOMBSTONE = "sidekick.audit.tombstone"


class AuditBase(DeclarativeBase):
    pass


class AuditRow(AuditBase):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The caller's team principals: with ``user_id`` and ``purpose``, why the access was allowed."""
    purpose: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event: Mapped[str] = mapped_column(String(64))  # action:<name> | search | subject:erase | audit:query | ...
    record: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prompt_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    chunk_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    verdicts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review_flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    output_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[str] = mapped_column(Text, default="")
    tombstoned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    """Set when an erasure rewrote this row (subject ids hashed, free text dropped)."""


AUDIT_COLUMNS: tuple[str, ...] = tuple(c.name for c in AuditRow.__table__.columns)


class AuditImmutable(Exception):
    """Something tried to change or delete an audit record outside the erasure rewrite."""


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _context: object, _instances: object) -> None:
    if any(isinstance(obj, AuditRow) for obj in session.deleted):
        raise AuditImmutable("audit records are append-only: they cannot be deleted")
    if not session.info.get(_TOMBSTONE) and any(
        isinstance(obj, AuditRow) and session.is_modified(obj) for obj in session.dirty
    ):
        raise AuditImmutable("audit records are append-only: they cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(m.class_ is AuditRow for m in state.all_mappers):
        raise AuditImmutable("audit records are append-only: no bulk UPDATE or DELETE")


def output_hash(output: Any) -> str:
    return hashlib.sha256(json.dumps(output, sort_keys=True, default=str).encode()).hexdigest()


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class AuditQuery:
    """Filters for reading the trail; ``event`` ending in ``*`` matches a prefix (``action:*``)."""

    user: str | None = None
    event: str | None = None
    record: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, stmt: Select[tuple[AuditRow]], tenant_id: str) -> Select[tuple[AuditRow]]:
        stmt = stmt.where(AuditRow.tenant_id == tenant_id)
        if self.user is not None:
            stmt = stmt.where(AuditRow.user_id == self.user)
        if self.event is not None:
            if self.event.endswith("*"):
                prefix = self.event[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(AuditRow.event.like(prefix + "%", escape="\\"))
            else:
                stmt = stmt.where(AuditRow.event == self.event)
        if self.record is not None:
            stmt = stmt.where(AuditRow.record == self.record)
        if self.status is not None:
            stmt = stmt.where(AuditRow.status == self.status)
        # Aware UTC bounds: PostgreSQL compares instants; SQLite's DateTime writes the UTC fields.
        if self.since is not None:
            stmt = stmt.where(AuditRow.at >= as_utc(self.since))
        if self.until is not None:
            stmt = stmt.where(AuditRow.at < as_utc(self.until))
        return stmt

    def as_detail(self) -> dict[str, str]:
        values = {"user": self.user, "event": self.event, "status": self.status,
                  "since": self.since.isoformat() if self.since else None,
                  "until": self.until.isoformat() if self.until else None}
        return {k: v for k, v in values.items() if v is not None}


class AuditLog:
    """Writes and reads the trail. There is no update or delete path except :meth:`tombstone`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def write(self, **fields: Any) -> None:
        with self._sessions() as session:
            session.add(AuditRow(**fields))
            session.commit()

    def action_succeeded(self, caller: Caller, action: Action[Any, Any], record: str | None,
                         response: ActionResponse[Any]) -> None:
        """One row per action call: who, why, what was retrieved, verdicts, flags, tokens, latency."""
        self.write(
            tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, event=f"action:{action.name}",
            teams=list(caller.teams), purpose=action.purpose,
            record=record, request_id=response.id, prompt_name=response.prompt.name,
            prompt_version=response.prompt.version, model=response.model, chunk_ids=response.retrieved_chunk_ids,
            verdicts=[v.model_dump(mode="json") for v in response.verdicts],
            review_flags=[f.code for f in response.review_flags], prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens, latency_ms=response.latency_ms,
            output_hash=output_hash(response.output.model_dump(mode="json")),
        )

    def action_failed(self, caller: Caller, action: Action[Any, Any], record: str | None, error: Exception) -> None:
        self.write(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role,
                   event=f"action:{action.name}", record=record, status="error",
                   detail=f"{type(error).__name__}: {error}"[:2000])

    def record_access(self, caller: Caller, event: str, *, record: str | None = None, **fields: Any) -> None:
        """One row for a data-access route, with the caller's principals."""
        self.write(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, teams=list(caller.teams),
                   event=event, record=record, **fields)

    def query(self, tenant_id: str, flt: AuditQuery, *, limit: int = 100,
              before_id: int | None = None) -> list[AuditRow]:
        """Newest first; page with ``before_id`` = the last id of the previous page (keyset pagination)."""
        stmt = flt.apply(select(AuditRow), tenant_id)
        if before_id is not None:
            stmt = stmt.where(AuditRow.id < before_id)
        with self._sessions() as session:
            return list(session.scalars(stmt.order_by(AuditRow.id.desc()).limit(limit)))

    def iter_rows(self, tenant_id: str, flt: AuditQuery, *, page: int = 1000) -> Iterator[AuditRow]:
        """Every matching row, newest first, read a page at a time (CSV export, erasure scans)."""
        before: int | None = None
        while True:
            rows = self.query(tenant_id, flt, limit=page, before_id=before)
            yield from rows
            if len(rows) < page:
                return
            before = rows[-1].id

    def referencing(self, tenant_id: str, records: set[str], chunk_ids: set[str]) -> list[AuditRow]:
        """Rows about any of ``records`` or that retrieved any of ``chunk_ids``.

        Scans the tenant's trail in Python: JSON containment differs between SQLite and
        PostgreSQL, and erasures and exports are rare."""
        return [row for row in self.iter_rows(tenant_id, AuditQuery()) if _references(row, records, chunk_ids)]

    def tombstone(self, tenant_id: str, records: set[str], chunk_ids: set[str],
                  pseudonym: Callable[[str], str]) -> int:
        """The erasure rewrite: in every row that references the subject, replace the subject's
        record refs and erased chunk ids by ``pseudonym(value)`` and drop free text (``detail``,
        verdict messages and details, which may quote the subject). Ids, times, events, users,
        prompt, model, token counts, flags and output hashes stay. Returns rows rewritten."""
        ids = [row.id for row in self.referencing(tenant_id, records, chunk_ids)]
        now = datetime.now(UTC)
        with self._sessions() as session:
            session.info[_TOMBSTONE] = True
            for start in range(0, len(ids), 500):
                for row in session.scalars(select(AuditRow).where(AuditRow.id.in_(ids[start:start + 500]))):
                    if row.record is not None and _normal(row.record) in records:
                        row.record = pseudonym(_normal(row.record))
                    row.chunk_ids = [pseudonym(c) if c in chunk_ids else c for c in row.chunk_ids or []]
                    row.verdicts = [_bare_verdict(v) for v in row.verdicts or []]
                    row.detail = ""
                    row.tombstoned_at = now
            session.commit()
        return len(ids)


def _normal(record: str) -> str:
    """``" account:X "`` and ``account:X`` are the same record (inputs are stored as given)."""
    return record.strip()


def _references(row: AuditRow, records: set[str], chunk_ids: set[str]) -> bool:
    if row.record is not None and _normal(row.record) in records:
        return True
    return bool(chunk_ids.intersection(row.chunk_ids or ()))


def _bare_verdict(verdict: dict[str, Any]) -> dict[str, Any]:
    return {k: verdict.get(k) for k in ("guard", "decision", "reason")}


def audit_dict(row: AuditRow) -> dict[str, Any]:
    """A row as plain JSON-ready values (API responses, CSV, subject export)."""
    out: dict[str, Any] = {name: getattr(row, name) for name in AUDIT_COLUMNS}
    for name in ("at", "tombstoned_at"):
        if out[name] is not None:
            out[name] = as_utc(out[name]).isoformat()
    return out


def csv_cells(row: AuditRow, columns: Sequence[str] = AUDIT_COLUMNS) -> list[str]:
    """CSV cells: lists and dicts as JSON; text that a spreadsheet would run as a formula is quoted."""
    values = audit_dict(row)
    cells = []
    for name in columns:
        value = values[name]
        if isinstance(value, list | dict):
            cell = json.dumps(value, sort_keys=True)
        elif value is None:
            cell = ""
        else:
            cell = str(value)
        if isinstance(value, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            cell = "'" + cell
        cells.append(cell)
    return cells
