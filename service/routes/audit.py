"""Reading the audit trail (admins): filtered pages as JSON, or everything matching as CSV.

Every read is itself audited (``audit:query``, ``audit:export``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from retrieval.identity import Caller
from service.audit import AUDIT_COLUMNS, AuditQuery, as_utc, audit_dict, csv_cells
from service.container import Container
from service.deps import AdminDep, ContainerDep
from service.errors import BadRequest

router = APIRouter(prefix="/v1", tags=["audit"])


def audit_filters(
    user: Annotated[str | None, Query(max_length=128, description="CRM user id or key:<key id>")] = None,
    event: Annotated[str | None, Query(max_length=64, description="Exact event, or a prefix ending in *")] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]+$",
                                        description="Shorthand for event=action:<name>")] = None,
    record: Annotated[str | None, Query(max_length=256, description="e.g. account:ACME-001")] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive; UTC without offset")]
    = None,
    until: Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive")] = None,
) -> AuditQuery:
    if action is not None:
        if event is not None:
            raise BadRequest("give either event or action, not both")
        event = f"action:{action}"
    if since is not None and until is not None and as_utc(since) >= as_utc(until):
        raise BadRequest("from must be before to")
    return AuditQuery(user=user, event=event, record=record, status=status, since=since, until=until)


FiltersDep = Annotated[AuditQuery, Depends(audit_filters)]


class AuditPublic(BaseModel):
    id: int
    at: datetime
    tenant_id: str
    user_id: str
    role: str
    teams: list[str]
    purpose: str | None
    event: str
    record: str | None
    request_id: str | None
    prompt_name: str | None
    prompt_version: int | None
    model: str | None
    chunk_ids: list[str]
    verdicts: list[dict[str, Any]]
    review_flags: list[str]
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    output_hash: str | None
    status: str
    detail: str
    tombstoned_at: datetime | None


class AuditPage(BaseModel):
    items: list[AuditPublic]
    next_cursor: str | None
    """Pass as ``cursor`` for the next (older) page; null on the last page."""


def _audit_read(container: Container, caller: Caller, event: str, flt: AuditQuery, **extra: Any) -> None:
    container.audit.record_access(caller, event, record=flt.record, detail=json.dumps({**flt.as_detail(), **extra}))


@router.get("/audit", response_model=AuditPage)
def read_audit(
    flt: FiltersDep, caller: AdminDep, container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,17}$", description="next_cursor of the page before")]
    = None,
) -> AuditPage:
    """The tenant's audit records, newest first, one page at a time."""
    rows = container.audit.query(caller.tenant_id, flt, limit=limit + 1, before_id=int(cursor) if cursor else None)
    page = rows[:limit]
    _audit_read(container, caller, "audit:query", flt, limit=limit, cursor=cursor)
    return AuditPage(items=[AuditPublic(**audit_dict(r)) for r in page],
                     next_cursor=str(page[-1].id) if len(rows) > limit else None)


@router.get("/audit.csv", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "Every matching record, newest first"}})
def export_audit(flt: FiltersDep, caller: AdminDep, container: ContainerDep) -> StreamingResponse:
    """Every matching audit record as CSV (lists as JSON; cells that a spreadsheet would run as formulas are quoted)."""
    _audit_read(container, caller, "audit:export", flt)
    rows = container.audit.iter_rows(caller.tenant_id, flt)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(AUDIT_COLUMNS)
        for row in rows:
            writer.writerow(csv_cells(row))
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
