"""Admin routes for the caller's tenant: API keys and the user-context signing secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from retrieval.identity import Role
from service.audit import as_utc
from service.auth import DEFAULT_ROTATION_GRACE_S, KEY_ID_RE, MAX_CONTEXT_TTL_S, ApiKeyRow
from service.deps import AdminDep, ContainerDep
from service.errors import NotFound

router = APIRouter(prefix="/v1/admin", tags=["admin"])

KeyId = Annotated[str, Path(pattern=KEY_ID_RE.pattern, description="12 hex characters")]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field(default="", max_length=128, description="What the key is for, e.g. 'crm-backend'")


class KeyPublic(BaseModel):
    key_id: str
    tenant_id: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKeyRow) -> KeyPublic:
        return cls(key_id=row.key_id, tenant_id=row.tenant_id, role=row.role, name=row.name,
                   created_at=as_utc(row.created_at), revoked_at=as_utc(row.revoked_at) if row.revoked_at else None)


class KeyCreated(KeyPublic):
    key: str = Field(description="The full API key. Shown once: only its hash is stored.")


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        default=DEFAULT_ROTATION_GRACE_S, ge=0, le=MAX_CONTEXT_TTL_S,
        description="How long the previous secret keeps verifying; 0 revokes it at once (a leaked secret)",
    )


class SecretRotated(BaseModel):
    signing_secret: str = Field(description="The new secret: give it to the CRM host's backend")
    previous_valid_until: datetime | None


@router.post("/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyCreate, caller: AdminDep, container: ContainerDep) -> KeyCreated:
    """Create an API key in the caller's tenant; the response is the only time the key is shown."""
    key_id, key = container.keys.create_key(caller.tenant_id, body.role, body.name)
    row = container.keys.get_key(caller.tenant_id, key_id)
    assert row is not None
    container.audit.record_access(caller, "admin:key_create", detail=f"{key_id} role={body.role}")
    return KeyCreated(**KeyPublic.of(row).model_dump(), key=key)


@router.get("/keys", response_model=list[KeyPublic])
def list_keys(caller: AdminDep, container: ContainerDep) -> list[KeyPublic]:
    """The tenant's keys, revoked ones included; never the secrets."""
    return [KeyPublic.of(row) for row in container.keys.list_keys(caller.tenant_id)]


@router.delete("/keys/{key_id}", response_model=KeyPublic)
def revoke_key(key_id: KeyId, caller: AdminDep, container: ContainerDep) -> KeyPublic:
    """Revoke a key at once. Another tenant's key id is simply not found."""
    if not container.keys.revoke(caller.tenant_id, key_id):
        raise NotFound(f"no active key {key_id}")
    row = container.keys.get_key(caller.tenant_id, key_id)
    assert row is not None
    container.audit.record_access(caller, "admin:key_revoke", detail=key_id)
    return KeyPublic.of(row)


@router.post("/tenant/rotate-secret", response_model=SecretRotated)
def rotate_secret(body: RotateSecret, caller: AdminDep, container: ContainerDep) -> SecretRotated:
    """Replace the tenant's user-context signing secret. The previous one keeps verifying for
    ``grace_seconds`` so the CRM host can switch without breaking open sidebars."""
    secret, until = container.keys.rotate_secret(caller.tenant_id, body.grace_seconds)
    container.audit.record_access(caller, "admin:rotate_secret", detail=f"grace_seconds={body.grace_seconds}")
    return SecretRotated(signing_secret=secret,
                         previous_valid_until=datetime.fromtimestamp(until, UTC) if until else None)
