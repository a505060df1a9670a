"""Identity: API keys bound to a tenant and role, and a signed CRM user context.

- API key: ``Authorization: Bearer sk_<key id>_<secret>``; only a SHA-256 of the secret is
  stored (the secret is 192 random bits, so a slow password hash adds nothing). Keys are
  created and revoked with ``sidekick keys`` or the admin routes.
- User context: ``X-Sidekick-User: <payload>.<signature>`` where payload is base64url JSON
  ``{"sub": user id, "teams": [...], "exp": epoch seconds}`` and signature is the hex
  HMAC-SHA256 of the payload with the tenant's signing secret. The CRM host signs it; the
  user id and team ids become the caller's ACL principals. ``exp`` may be at most
  :data:`MAX_CONTEXT_TTL_S` ahead, so a leaked context cannot be replayed for long.
- Agent keys always need a user context (an agent acts for a CRM user). Admin and
  evaluator keys may omit it; they then act as ``key:<key id>`` with no team, which sees
  only tenant-public data in searches and is what the audit trail records.
- Sidebar session token: ``Bearer st_<tenant>~<payload>.<signature>``, issued by
  ``POST /v1/sessions`` for a host-signed context, valid 15 minutes, role ``agent``. It is
  signed with a key *derived* from the tenant secret, so a user context (which the host
  hands to the browser) can never be used as a session token, nor the other way round.

Secret rotation (``POST /v1/admin/tenant/rotate-secret`` or ``sidekick keys rotate-secret``):
the new secret signs from now on; the previous one keeps verifying for a grace period
(default one hour, 0 = revoke at once, for a leaked secret) so the CRM host can deploy the
new secret without breaking open sidebars. Only one previous secret is kept."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Float, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from retrieval.identity import ROLES, Caller, Role

SESSION_TTL_S = 15 * 60
MAX_CONTEXT_TTL_S = 24 * 3600
DEFAULT_ROTATION_GRACE_S = 3600
KEY_ID_RE = re.compile(r"^[0-9a-f]{12}$")
_MAX_ID_CHARS = 128
_MAX_TEAMS = 100


class AuthBase(DeclarativeBase):
    pass


class TenantRow(AuthBase):
    __tablename__ = "tenants"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    signing_secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128), nullable=True)
    previous_valid_until: Mapped[float | None] = mapped_column(Float, nullable=True)
    """Epoch seconds (a float, not a DateTime: SQLite drops time zones)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


class ApiKeyRow(AuthBase):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuthError(Exception):
    """Credentials missing or wrong (401)."""


class Forbidden(Exception):
    """Authenticated, but the role may not do this (403)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """API keys and per-tenant signing secrets in the SQL store."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def ensure_tenant(self, tenant_id: str) -> str:
        """Create the tenant if needed; return its user-context signing secret."""
        with self._sessions() as session:
            row = session.get(TenantRow, tenant_id)
            if row is None:
                row = TenantRow(tenant_id=tenant_id, signing_secret=secrets.token_hex(32))
                session.add(row)
                session.commit()
            return row.signing_secret

    def create_key(self, tenant_id: str, role: Role, name: str = "") -> tuple[str, str]:
        """Return (key id, full key). The full key is shown once and never stored."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self.ensure_tenant(tenant_id)
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        with self._sessions() as session:
            session.add(ApiKeyRow(key_id=key_id, tenant_id=tenant_id, role=role, name=name,
                                  secret_hash=_hash(secret)))
            session.commit()
        return key_id, f"sk_{key_id}_{secret}"

    def get_key(self, tenant_id: str, key_id: str) -> ApiKeyRow | None:
        with self._sessions() as session:
            row = session.get(ApiKeyRow, key_id)
            return row if row is not None and row.tenant_id == tenant_id else None

    def revoke(self, tenant_id: str, key_id: str) -> bool:
        """Revoke an active key of this tenant; False if there is none (another tenant's key included)."""
        with self._sessions() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.tenant_id != tenant_id or row.revoked_at is not None:
                return False
            row.revoked_at = datetime.now(UTC)
            session.commit()
            return True

    def list_keys(self, tenant_id: str) -> list[ApiKeyRow]:
        with self._sessions() as session:
            return list(session.scalars(
                select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id).order_by(ApiKeyRow.created_at)))

    def authenticate(self, bearer: str | None) -> tuple[str, Role, str]:
        """Check an API key; return (tenant id, role, key id)."""
        if not bearer or not bearer.startswith("sk_") or bearer.count("_") < 2:
            raise AuthError("missing or malformed API key")
        _, key_id, secret = bearer.split("_", 2)
        presented = _hash(secret)  # hashed before the lookup so unknown ids take as long
        row = None
        if KEY_ID_RE.match(key_id):
            with self._sessions() as session:
                row = session.get(ApiKeyRow, key_id)
        stored = row.secret_hash if row is not None else _hash("")
        if row is None or row.revoked_at is not None or not hmac.compare_digest(stored, presented):
            raise AuthError("invalid or revoked API key")
        return row.tenant_id, row.role, row.key_id  # type: ignore[return-value]

    def signing_secret(self, tenant_id: str) -> str:
        """The secret new user contexts and session tokens are signed with."""
        with self._sessions() as session:
            row = session.get(TenantRow, tenant_id)
            if row is None:
                raise AuthError(f"unknown tenant {tenant_id}")
            return row.signing_secret

    def verification_secrets(self, tenant_id: str) -> list[str]:
        """The current secret, plus the previous one while its rotation grace period lasts."""
        with self._sessions() as session:
            row = session.get(TenantRow, tenant_id)
            if row is None:
                raise AuthError(f"unknown tenant {tenant_id}")
            valid = [row.signing_secret]
            if row.previous_secret and (row.previous_valid_until or 0.0) > time.time():
                valid.append(row.previous_secret)
            return valid

    def rotate_secret(self, tenant_id: str, grace_s: int = DEFAULT_ROTATION_GRACE_S) -> tuple[str, float | None]:
        """Replace the tenant's signing secret; return (new secret, epoch until which the old one verifies)."""
        if grace_s < 0:
            raise ValueError("grace_s must be >= 0")
        self.ensure_tenant(tenant_id)
        with self._sessions() as session:
            row = session.get(TenantRow, tenant_id)
            assert row is not None
            until = time.time() + grace_s if grace_s else None
            row.previous_secret = row.signing_secret if grace_s else None
            row.previous_valid_until = until
            row.signing_secret = secrets.token_hex(32)
            session.commit()
            return row.signing_secret, until


# -- signed payloads ----------------------------------------------------------------------
def _session_key(secret: str) -> str:
    """Session tokens are signed with a key derived from the tenant secret (domain separation)."""
    return hmac.new(secret.encode(), b"sidekick-session-token-v1", hashlib.sha256).hexdigest()


def _sign(secret: str, claims: dict[str, Any]) -> str:
    payload = json.dumps(claims, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).hexdigest()
    return f"{encoded}.{signature}"


def _verify(secrets_: list[str], token: str) -> dict[str, Any]:
    """The claims of a token signed by any of ``secrets_``; AuthError otherwise."""
    encoded, _, signature = token.rpartition(".")
    presented = signature.encode()  # bytes: compare_digest rejects non-ASCII str with TypeError
    if not any(
        hmac.compare_digest(hmac.new(s.encode(), encoded.encode(), hashlib.sha256).hexdigest().encode(), presented)
        for s in secrets_
    ):
        raise AuthError("user context signature does not match")
    try:
        data = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError as exc:
        raise AuthError("user context is not base64url JSON") from exc
    if not isinstance(data, dict):
        raise AuthError("user context must be a JSON object")
    return data


def _principal(claims: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """Validate sub, teams and exp; return (user id, team ids)."""
    user, teams, exp = claims.get("sub"), claims.get("teams", []), claims.get("exp")
    if not isinstance(user, str) or not 0 < len(user) <= _MAX_ID_CHARS:
        raise AuthError("user context needs a user id (sub) of 1-128 characters")
    if not isinstance(teams, list) or len(teams) > _MAX_TEAMS or not all(
        isinstance(t, str) and 0 < len(t) <= _MAX_ID_CHARS for t in teams
    ):
        raise AuthError("user context teams must be a list of team ids")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise AuthError("user context needs a numeric expiry (exp)")
    now = time.time()
    if exp < now:
        raise AuthError("user context has expired")
    if exp > now + MAX_CONTEXT_TTL_S:
        raise AuthError("user context expiry is too far ahead (at most 24 hours)")
    return user, tuple(dict.fromkeys(teams))


def sign_user_context(secret: str, user_id: str, teams: list[str], ttl_s: int = 3600) -> str:
    """What the CRM host's backend does: sign ``{"sub", "teams", "exp"}`` with the tenant secret."""
    return _sign(secret, {"sub": user_id, "teams": teams, "exp": int(time.time()) + ttl_s})


def verify_user_context(secret: str | list[str], token: str | None) -> tuple[str, tuple[str, ...]]:
    """(user id, team ids) of a host-signed context; AuthError when missing, forged or expired."""
    if not token or "." not in token:
        raise AuthError("missing signed user context (X-Sidekick-User)")
    return _principal(_verify([secret] if isinstance(secret, str) else secret, token))


def issue_session(keys: KeyStore, tenant_id: str, user_context: str | None,
                  ttl_s: int = SESSION_TTL_S) -> tuple[str, int]:
    """Exchange a host-signed user context for a short-lived agent session token.

    Lets the sidebar call the API without ever holding an API key in the browser."""
    user, teams = verify_user_context(keys.verification_secrets(tenant_id), user_context)
    claims = {"typ": "session", "tid": tenant_id, "sub": user, "teams": list(teams),
              "exp": int(time.time()) + ttl_s}
    token = _sign(_session_key(keys.signing_secret(tenant_id)), claims)
    return f"st_{tenant_id}~{token}", ttl_s


def _session_caller(keys: KeyStore, bearer: str) -> Caller:
    tenant_id, _, token = bearer[3:].partition("~")
    if not tenant_id or "." not in token:
        raise AuthError("malformed session token")
    claims = _verify([_session_key(s) for s in keys.verification_secrets(tenant_id)], token)
    if claims.get("typ") != "session" or claims.get("tid") != tenant_id:
        raise AuthError("not a session token of this tenant")
    user, teams = _principal(claims)
    return Caller(tenant_id=tenant_id, user_id=user, teams=teams, role="agent")


def caller_from_headers(keys: KeyStore, authorization: str | None, user_context: str | None) -> Caller:
    """An API key (plus a signed user context; optional for admin and evaluator keys), or a session token."""
    bearer = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else None
    if bearer and bearer.startswith("st_"):
        return _session_caller(keys, bearer)
    tenant_id, role, key_id = keys.authenticate(bearer)
    if user_context is None and role != "agent":
        return Caller(tenant_id=tenant_id, user_id=f"key:{key_id}", teams=(), role=role)
    user, teams = verify_user_context(keys.verification_secrets(tenant_id), user_context)
    return Caller(tenant_id=tenant_id, user_id=user, teams=teams, role=role)
