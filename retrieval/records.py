"""Typed lookup of the CRM records (accounts, opportunities, contacts) ingestion stored.

Actions read record names from here (the record label in a prompt, a recipient's name,
the other customers a draft must not name); the service's routes read headers, owners,
consent and an account's contacts; erasure reads a subject's records. One protocol, one
SQL implementation (:class:`ingest.records.SqlCrmRecords`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from retrieval.filters import acl_principals
from retrieval.models import RecordRef


@dataclass(frozen=True)
class StoredRecord:
    """One CRM record as stored: its header, access metadata, consent and original columns."""

    kind: str
    id: str
    name: str = ""
    account_id: str | None = None
    stage: str | None = None
    owner: str | None = None
    team: tuple[str, ...] = ()
    visibility: str = "team"
    consent: tuple[str, ...] = ()
    """Purposes a contact agreed to; empty means none."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def acl(self) -> list[str]:
        """Who may read the record: the rule chunks carry (see ``acl_principals``)."""
        return acl_principals(self.visibility, self.owner, self.team)

    @property
    def label(self) -> str:
        """How a prompt names the record: ``account Acme Logistics (ACME-001)``."""
        return f"{self.kind} {self.name} ({self.id})" if self.name else f"{self.kind} {self.id}"


class CrmRecords(Protocol):
    """Read access to a tenant's CRM records."""

    def get(self, tenant_id: str, ref: RecordRef) -> StoredRecord | None:
        """The record ``ref`` names, or None (documents are not CRM records: always None)."""
        ...

    def find(self, tenant_id: str, *, kind: str | None = None, account_id: str | None = None,
             limit: int | None = None) -> list[StoredRecord]:
        """Records of one kind and/or linked to one account, ordered by kind then id."""
        ...


def record_label(records: CrmRecords, tenant_id: str, ref: RecordRef) -> str:
    """How a prompt names a record: the CRM name when there is one, else its kind and id."""
    if ref.kind == "document":
        return f"the document {ref.id}"
    found = records.get(tenant_id, ref)
    return found.label if found is not None else f"{ref.kind} {ref.id}"


def account_names(records: CrmRecords, tenant_id: str) -> dict[str, str]:
    """Account id -> name of every named customer account of a tenant."""
    return {r.id: r.name for r in records.find(tenant_id, kind="account") if r.name}
