"""A contact's consent purposes: read and change them, effective on the next search or action.

Who may change consent: an admin, or the contact's owner in the CRM (the agent who holds
the relationship and hears the customer withdraw). Other agents and evaluators may not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from actions.registry import ACTIONS
from retrieval.identity import Caller
from retrieval.models import RecordRef
from retrieval.records import StoredRecord
from service.auth import Forbidden
from service.container import Container
from service.deps import CallerDep, ContainerDep
from service.errors import NotFound

router = APIRouter(prefix="/v1/contacts", tags=["consent"])

BASE_PURPOSES = ("sales_insights", "sales_outreach")
ContactId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")]


def known_purposes() -> set[str]:
    """The purposes data can be read for: the base ones and every registered action's."""
    return set(BASE_PURPOSES) | {action.purpose for action in ACTIONS.values()}


class ConsentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purposes: list[str] = Field(max_length=32, description="Every purpose the contact agrees to; [] withdraws all")

    @field_validator("purposes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - known_purposes())
        if unknown:
            raise ValueError(f"unknown purposes {unknown}; known: {sorted(known_purposes())}")
        return sorted(set(value))


class ConsentPublic(BaseModel):
    contact_id: str
    purposes: list[str]
    previous: list[str] | None = None


def _contact(container: Container, caller: Caller, contact_id: str) -> StoredRecord:
    row = container.records.get(caller.tenant_id, RecordRef(kind="contact", id=contact_id))
    if row is None:
        raise NotFound(f"no contact {contact_id}")
    if caller.role != "admin" and not (caller.role == "agent" and row.owner == caller.user_id):
        raise Forbidden(f"only an admin or the contact's owner may manage consent of {contact_id}")
    return row


@router.get("/{contact_id}/consent", response_model=ConsentPublic)
def read_consent(contact_id: ContactId, caller: CallerDep, container: ContainerDep) -> ConsentPublic:
    """The purposes the contact agreed to (admin or the contact's owner)."""
    row = _contact(container, caller, contact_id)
    container.audit.record_access(caller, "consent:read", record=f"contact:{contact_id}")
    return ConsentPublic(contact_id=contact_id, purposes=list(row.consent))


@router.put("/{contact_id}/consent", response_model=ConsentPublic)
def update_consent(contact_id: ContactId, body: ConsentUpdate, caller: CallerDep,
                   container: ContainerDep) -> ConsentPublic:
    """Replace the contact's purposes; every stored chunk linked to the contact is updated
    before this returns, so the next search or action already obeys it."""
    row = _contact(container, caller, contact_id)
    previous = list(row.consent)
    container.ingestor.set_consent(caller.tenant_id, contact_id, body.purposes)
    container.audit.record_access(caller, "consent:update", record=f"contact:{contact_id}",
                                  detail=f"{','.join(previous)} -> {','.join(body.purposes)}")
    return ConsentPublic(contact_id=contact_id, purposes=body.purposes, previous=previous)
