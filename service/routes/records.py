from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from ingest.db import CrmRecordRow
from retrieval.identity import Caller
from retrieval.models import RecordRef
from service.auth import Forbidden
from service.container import Container
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


class RecordContact(BaseModel):
    ref: str
    id: str
    name: str
    title: str | None
    outreach: bool
    """Whether the contact consented to ``sales_outreach`` (email drafts need it)."""


def _visible(row: CrmRecordRow, caller: Caller) -> bool:
    return (
        row.visibility == "public"
        or row.owner == caller.user_id
        or (row.visibility == "team" and bool(set(row.team or []) & set(caller.teams)))
    )


def _visible_record(ref: str, caller: Caller, container: Container) -> tuple[RecordRef, CrmRecordRow]:
    try:
        parsed = RecordRef.parse(ref)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    row = container.crm_record(caller.tenant_id, parsed.kind, parsed.id)
    if row is None:
        raise NotFound(f"no {parsed.kind} {parsed.id}")
    if not _visible(row, caller):
        raise Forbidden(f"you may not see {parsed.kind} {parsed.id}")
    return parsed, row


@router.get("/{ref}", response_model=RecordHeader)
def get_record(ref: str, caller: CallerDep, container: ContainerDep) -> RecordHeader:
    """The record's header (name, stage, owner) if the caller may see it."""
    parsed, row = _visible_record(ref, caller, container)
    container.audit.record_access(caller, "record:read", record=str(parsed))
    return RecordHeader(ref=str(parsed), kind=row.kind, id=row.record_id, name=row.name, stage=row.stage,
                        owner=row.owner, account_id=row.account_id)


@router.get("/{ref}/contacts", response_model=list[RecordContact])
def list_contacts(ref: str, caller: CallerDep, container: ContainerDep) -> list[RecordContact]:
    """The contacts of the record's account that the caller may see (their own record's
    visibility, or the account's), with whether each allows sales outreach: the sidebar's
    recipient picker for email drafts."""
    parsed, row = _visible_record(ref, caller, container)
    account_id = row.record_id if row.kind == "account" else row.account_id
    if account_id is None:
        return []
    account = container.crm_record(caller.tenant_id, "account", account_id)
    account_visible = account is not None and _visible(account, caller)
    with container.sessions() as session:
        contacts = session.scalars(select(CrmRecordRow).where(
            CrmRecordRow.tenant_id == caller.tenant_id, CrmRecordRow.kind == "contact",
            CrmRecordRow.account_id == account_id).order_by(CrmRecordRow.name)).all()
    container.audit.record_access(caller, "record:contacts", record=str(parsed))
    return [
        RecordContact(ref=f"contact:{c.record_id}", id=c.record_id, name=c.name,
                      title=(c.fields or {}).get("title") or None, outreach="sales_outreach" in (c.consent or []))
        for c in contacts if account_visible or _visible(c, caller)
    ]
