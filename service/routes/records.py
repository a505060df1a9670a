from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from retrieval.identity import Caller
from retrieval.models import RecordRef
from retrieval.records import StoredRecord
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


def _visible_record(ref: str, caller: Caller, container: Container) -> tuple[RecordRef, StoredRecord]:
    try:
        parsed = RecordRef.parse(ref)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    row = container.records.get(caller.tenant_id, parsed)
    if row is None:
        raise NotFound(f"no {parsed.kind} {parsed.id}")
    if not caller.may_read(row.acl):
        raise Forbidden(f"you may not see {parsed.kind} {parsed.id}")
    return parsed, row


@router.get("/{ref}", response_model=RecordHeader)
def get_record(ref: str, caller: CallerDep, container: ContainerDep) -> RecordHeader:
    """The record's header (name, stage, owner) if the caller may see it."""
    parsed, row = _visible_record(ref, caller, container)
    container.audit.record_access(caller, "record:read", record=str(parsed))
    return RecordHeader(ref=str(parsed), kind=row.kind, id=row.id, name=row.name, stage=row.stage,
                        owner=row.owner, account_id=row.account_id)


@router.get("/{ref}/contacts", response_model=list[RecordContact])
def list_contacts(ref: str, caller: CallerDep, container: ContainerDep) -> list[RecordContact]:
    """The contacts of the record's account that the caller may see (their own record's
    visibility, or the account's), with whether each allows sales outreach: the sidebar's
    recipient picker for email drafts."""
    parsed, row = _visible_record(ref, caller, container)
    account_id = row.id if row.kind == "account" else row.account_id
    if account_id is None:
        return []
    account = container.records.get(caller.tenant_id, RecordRef(kind="account", id=account_id))
    account_visible = account is not None and caller.may_read(account.acl)
    contacts = sorted(container.records.find(caller.tenant_id, kind="contact", account_id=account_id),
                      key=lambda c: c.name)
    container.audit.record_access(caller, "record:contacts", record=str(parsed))
    return [
        RecordContact(ref=c.ref, id=c.id, name=c.name, title=c.fields.get("title") or None,
                      outreach="sales_outreach" in c.consent)
        for c in contacts if account_visible or caller.may_read(c.acl)
    ]
