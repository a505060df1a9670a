"""The one place a search filter is built.

Every search goes through :func:`build_filter`, which always adds the tenant, the caller's
ACL principals and the consent purpose. Stores accept only a :class:`ScopedFilter`, which
cannot be made any other way, so no code path can search without them.

Conditions are kept in a small backend-neutral form (:class:`Cond`) that each vector-store
backend translates to its own filter type."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from retrieval.models import DocType, RecordRef

EVERYONE = "everyone"
ANY_PURPOSE = "*"


@dataclass(frozen=True)
class Cond:
    """One condition on a payload key.

    ``op``: ``eq`` (value), ``any`` (values: the field, or one of its list items, is one of
    them), ``range`` (gte/lte on a number)."""

    key: str
    op: Literal["eq", "any", "range"]
    values: tuple[str, ...] = ()
    gte: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class FilterSpec:
    """``must`` conditions all hold, ``must_not`` none holds."""

    must: tuple[Cond, ...] = ()
    must_not: tuple[Cond, ...] = ()


class AccessContext(BaseModel):
    """Who is asking, and why: the part of a filter the caller cannot widen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenant_id: str = Field(min_length=1)
    principals: tuple[str, ...] = Field(min_length=1)
    """ACL principals of the caller, e.g. ``user:u-maria``, ``team:t-enterprise``."""
    purpose: str = Field(min_length=1)
    """Why the data is read (consent purpose), e.g. ``sales_insights``, ``sales_outreach``."""

    @field_validator("principals")
    @classmethod
    def _with_everyone(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*value, EVERYONE)))

    @classmethod
    def for_user(
        cls, tenant_id: str, user_id: str, teams: list[str] | tuple[str, ...], purpose: str
    ) -> AccessContext:
        return cls(tenant_id=tenant_id, principals=user_principals(user_id, teams), purpose=purpose)


def user_principals(user_id: str, teams: Sequence[str]) -> tuple[str, ...]:
    """The ACL principals a CRM user reads with: ``user:<id>`` and ``team:<id>`` per team."""
    return (f"user:{user_id}", *(f"team:{team}" for team in teams))


def acl_principals(visibility: str, owner: str | None, teams: Sequence[str]) -> list[str]:
    """Who may read something with this visibility: ``public`` -> everyone; ``private`` -> its
    owner; ``team`` -> its owner and its teams. Chunks carry this list as their ``acl``
    payload; record headers are checked against it the same way."""
    if visibility == "public":
        return [EVERYONE]
    owner_principal = [f"user:{owner}"] if owner else []
    if visibility == "private":
        return owner_principal
    return owner_principal + [f"team:{team}" for team in teams]


class SearchScope(BaseModel):
    """What part of the tenant's data an action asks for. Only ever narrows a search."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    record: RecordRef | None = None
    doc_types: tuple[DocType, ...] = ()
    document_ids: tuple[str, ...] = ()
    since_ts: float | None = None
    until_ts: float | None = None


@dataclass(frozen=True)
class ScopedFilter:
    """A filter that carries the tenant, ACL and consent conditions. Build with build_filter."""

    spec: FilterSpec
    tenant_id: str
    _token: object = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self._token is not _BUILDER_TOKEN:
            raise TypeError("ScopedFilter must be created by retrieval.filters.build_filter")


_BUILDER_TOKEN = object()

_RECORD_KEYS = {
    "account": "account_id",
    "opportunity": "opportunity_id",
    "contact": "contact_ids",
    "document": "document_id",
}


def build_filter(access: AccessContext, scope: SearchScope | None = None) -> ScopedFilter:
    """The filter for one search: tenant AND acl AND consent AND the requested scope."""
    scope = scope or SearchScope()
    must: list[Cond] = [
        Cond("tenant_id", "eq", (access.tenant_id,)),
        Cond("acl", "any", access.principals),
        Cond("consent", "any", (access.purpose, ANY_PURPOSE)),
    ]
    if scope.record is not None:
        must.append(Cond(_RECORD_KEYS[scope.record.kind], "eq", (scope.record.id,)))
    if scope.doc_types:
        must.append(Cond("doc_type", "any", tuple(str(t) for t in scope.doc_types)))
    if scope.document_ids:
        must.append(Cond("document_id", "any", scope.document_ids))
    if scope.since_ts is not None or scope.until_ts is not None:
        must.append(Cond("occurred_ts", "range", gte=scope.since_ts, lte=scope.until_ts))
    return ScopedFilter(FilterSpec(must=tuple(must)), access.tenant_id, _BUILDER_TOKEN)


def admin_filter(tenant_id: str, **equals: str) -> FilterSpec:
    """A tenant-bound filter for maintenance writes (deletion, consent updates, erasure).

    Not accepted by searches; only by the store's write and scroll operations."""
    must = [Cond("tenant_id", "eq", (tenant_id,))]
    for key, value in equals.items():
        must.append(Cond(key, "eq", (value,)))
    return FilterSpec(must=tuple(must))


# Payload fields that filters use, and their index types.
KEYWORD_FIELDS = (
    "tenant_id",
    "document_id",
    "doc_type",
    "account_id",
    "opportunity_id",
    "contact_ids",
    "acl",
    "consent",
    "content_hash",
)
FLOAT_FIELDS = ("occurred_ts",)
