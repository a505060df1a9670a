from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from ingest.db import CrmRecordRow
from retrieval.models import RecordRef
from service.auth import Forbidden
from service.deps import CallerDep, ContainerDep
from service.errors import BadRequest, NotFound

router = APIRouter(prefix="/v1/records", tags=["records"])


class RecordHeader(BaseModel):
    ref: str
    kind: str
    id: str
    name: str
    stage: str | None
    owner: str | None
    account_id: str | None


@router.get("/{ref}", response_model=RecordHeader)
def get_record(ref: str, caller: CallerDep, container: ContainerDep) -> RecordHeader:
    """The record's header (name, stage, owner) if the caller may see it."""
    try:
        parsed = RecordRef.parse(ref)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    with container.sessions() as session:
        row = session.scalars(select(CrmRecordRow).where(
            CrmRecordRow.tenant_id == caller.tenant_id, CrmRecordRow.kind == parsed.kind,
            CrmRecordRow.record_id == parsed.id)).first()
    if row is None:
        raise NotFound(f"no {parsed.kind} {parsed.id}")
    visible = (
        row.visibility == "public"
        or row.owner == caller.user_id
        or (row.visibility == "team" and bool(set(row.team or []) & set(caller.teams)))
    )
    if not visible:
        raise Forbidden(f"you may not see {parsed.kind} {parsed.id}")
    container.audit.record_access(caller, "record:read", record=str(parsed))
    return RecordHeader(ref=str(parsed), kind=row.kind, id=row.record_id, name=row.name, stage=row.stage,
                        owner=row.owner, account_id=row.account_id)
