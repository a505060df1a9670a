"""Who is asking: the caller an authenticated request (or an operator tool) acts as.

The route builds a :class:`Caller` from credentials; the caller produces the
:class:`~retrieval.filters.AccessContext` every search filter is built from. So a tenant's
trip from route to vector store is route -> identity -> filter, and auth, audit, reviews
and actions all read the caller from here, the lowest layer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from retrieval.filters import EVERYONE, AccessContext, user_principals

Role = Literal["agent", "admin", "evaluator"]
ROLES: tuple[str, ...] = get_args(Role)


class Caller(BaseModel):
    """Who runs an action: tenant, CRM user, teams and role. Principals come from these only."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    user_id: str
    teams: tuple[str, ...] = ()
    role: Role = "agent"

    def access(self, purpose: str) -> AccessContext:
        """The access context of a search made for ``purpose`` (a consent purpose)."""
        return AccessContext.for_user(self.tenant_id, self.user_id, self.teams, purpose)

    def may_read(self, acl: Iterable[str]) -> bool:
        """Whether any of the caller's principals is in ``acl`` (see ``acl_principals``), the
        rule the search filter applies to chunks, applied to a record header."""
        return not {*user_principals(self.user_id, self.teams), EVERYONE}.isdisjoint(acl)
