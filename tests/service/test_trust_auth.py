"""Identity: API keys, signed user contexts, session tokens, secret rotation, the key admin routes and CLI."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.auth import AuthError, caller_from_headers, sign_user_context, verify_user_context
from service.container import Container
from tests.conftest import auth_headers


def signed(secret: str, claims: object) -> str:
    """A context with arbitrary claims and a valid signature (what a buggy host could send)."""
    encoded = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{encoded}.{hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).hexdigest()}"


@pytest.fixture
def app_container(container: Container) -> Container:
    """The HTTP tests here run on the empty stack."""
    return container


def test_session_tokens_and_user_contexts_are_not_interchangeable(client: TestClient, container: Container) -> None:
    secret = container.keys.ensure_tenant("demo")
    context = sign_user_context(secret, "u-maria", ["t-enterprise"])
    # A host-signed context is handed to the browser: it must not work as a bearer token by itself.
    as_token = client.get("/v1/actions", headers={"Authorization": f"Bearer st_demo~{context}"})
    assert as_token.status_code == 401
    token = client.post("/v1/sessions", json={"tenant": "demo"}, headers={"X-Sidekick-User": context}).json()["token"]
    assert client.get("/v1/actions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # ...and a session token is not a user context.
    _, key = container.keys.create_key("demo", "agent")
    with pytest.raises(AuthError):
        caller_from_headers(container.keys, f"Bearer {key}", token.split("~", 1)[1])
    # A session token is bound to its tenant: relabelling it fails.
    container.keys.ensure_tenant("rival")
    assert client.get("/v1/actions", headers={"Authorization": "Bearer st_rival~" + token.split("~", 1)[1]}
                      ).status_code == 401


@pytest.mark.parametrize("claims", [
    {"sub": "u-maria", "teams": [], "exp": float("nan")},
    {"sub": "u-maria", "teams": [], "exp": time.time() + 10 * 24 * 3600},
    {"sub": "u-maria", "teams": [], "exp": time.time() - 1},
    {"sub": "u-maria", "teams": "t-enterprise", "exp": time.time() + 60},
    {"sub": "", "teams": [], "exp": time.time() + 60},
    {"sub": "u-maria", "teams": []},
    ["u-maria"],
])
def test_signed_but_invalid_contexts_are_refused(container: Container, claims: object) -> None:
    secret = container.keys.ensure_tenant("demo")
    with pytest.raises(AuthError):
        verify_user_context(secret, signed(secret, claims))


def test_garbage_headers_are_401_not_500(client: TestClient, container: Container) -> None:
    _, key = container.keys.create_key("demo", "agent")
    for context in ("x.\u00e9\u00e9", "\u00e9.\u00e9", ".", "a" * 5000 + ".00"):
        headers = {b"Authorization": f"Bearer {key}".encode(), b"X-Sidekick-User": context.encode()}
        response = client.get("/v1/actions", headers=headers)
        assert response.status_code == 401, context
    for bearer in ("sk_\u00e9\u00e9_x", "sk__", "st_~", "st_demo~x.y", "sk_" + "a" * 12 + "_nope"):
        assert client.get("/v1/actions", headers={b"Authorization": b"Bearer " + bearer.encode()}
                          ).status_code == 401, bearer


def test_agent_keys_need_a_user_context_admin_keys_act_as_the_key(client: TestClient, container: Container) -> None:
    _, agent = container.keys.create_key("demo", "agent")
    assert client.get("/v1/actions", headers={"Authorization": f"Bearer {agent}"}).status_code == 401
    admin_id, admin = container.keys.create_key("demo", "admin", "ops")
    caller = caller_from_headers(container.keys, f"Bearer {admin}", None)
    assert (caller.user_id, caller.teams, caller.role) == (f"key:{admin_id}", (), "admin")
    assert client.get("/v1/admin/keys", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_key_admin_routes(client: TestClient, container: Container) -> None:
    admin = auth_headers(container, role="admin", user="u-lena")
    created = client.post("/v1/admin/keys", json={"role": "evaluator", "name": "nightly eval"}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "evaluator" and body["tenant_id"] == "demo" and body["key"].startswith("sk_")
    new_key = {"Authorization": f"Bearer {body['key']}"}
    assert client.get("/v1/actions", headers=new_key).status_code == 200

    listed = client.get("/v1/admin/keys", headers=admin)
    assert body["key_id"] in [k["key_id"] for k in listed.json()]
    assert "secret_hash" not in listed.text and body["key"].split("_", 2)[2] not in listed.text

    # Another tenant cannot see or revoke the key.
    rival = auth_headers(container, tenant="rival", role="admin", user="u-rival")
    assert body["key_id"] not in client.get("/v1/admin/keys", headers=rival).text
    assert client.delete(f"/v1/admin/keys/{body['key_id']}", headers=rival).status_code == 404
    assert client.get("/v1/actions", headers=new_key).status_code == 200

    revoked = client.delete(f"/v1/admin/keys/{body['key_id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/v1/actions", headers=new_key).status_code == 401
    assert client.delete(f"/v1/admin/keys/{body['key_id']}", headers=admin).status_code == 404

    agent = auth_headers(container)
    assert client.post("/v1/admin/keys", json={"role": "admin"}, headers=agent).status_code == 403
    assert client.post("/v1/admin/keys", json={"role": "root"}, headers=admin).status_code == 422


def test_secret_rotation_with_and_without_grace(client: TestClient, container: Container) -> None:
    admin = {"Authorization": f"Bearer {container.keys.create_key('demo', 'admin')[1]}"}
    _, agent_key = container.keys.create_key("demo", "agent")
    old = container.keys.signing_secret("demo")
    old_context = sign_user_context(old, "u-maria", ["t-enterprise"])
    old_session = client.post("/v1/sessions", json={"tenant": "demo"},
                              headers={"X-Sidekick-User": old_context}).json()["token"]

    def works(context: str | None = None, token: str | None = None) -> bool:
        headers = ({"Authorization": f"Bearer {token}"} if token
                   else {"Authorization": f"Bearer {agent_key}", "X-Sidekick-User": context or ""})
        return client.get("/v1/actions", headers=headers).status_code == 200

    rotated = client.post("/v1/admin/tenant/rotate-secret", json={"grace_seconds": 600}, headers=admin)
    assert rotated.status_code == 200 and rotated.json()["previous_valid_until"]
    new = rotated.json()["signing_secret"]
    assert new != old == container.keys.verification_secrets("demo")[1]
    assert works(sign_user_context(new, "u-maria", [])) and works(old_context) and works(token=old_session)

    client.post("/v1/admin/tenant/rotate-secret", json={"grace_seconds": 0}, headers=admin)
    newest = container.keys.signing_secret("demo")
    assert not works(old_context) and not works(token=old_session)
    assert not works(sign_user_context(new, "u-maria", []))
    assert works(sign_user_context(newest, "u-maria", []))
    assert client.post("/v1/admin/tenant/rotate-secret", json={"grace_seconds": -1}, headers=admin).status_code == 422


def test_cli_prints_the_secret_only_when_asked(tmp_path: Path) -> None:
    from service.cli import app

    runner = CliRunner()
    env = {"SIDEKICK_DATA_DIR": str(tmp_path)}
    plain = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--role", "admin"], env=env)
    assert plain.exit_code == 0, plain.output
    assert "sk_" in plain.output and "signing secret" not in plain.output
    shown = runner.invoke(app, ["keys", "create", "--tenant", "acme", "--show-secret"], env=env)
    assert "signing secret of acme" in shown.output
    secret = shown.output.rsplit(":", 1)[1].strip()
    rotated = runner.invoke(app, ["keys", "rotate-secret", "--tenant", "acme", "--grace", "0"], env=env)
    assert rotated.exit_code == 0 and "previous secret revoked" in rotated.output
    assert secret not in rotated.output
    listed = runner.invoke(app, ["keys", "list", "--tenant", "acme"], env=env)
    assert listed.output.count("admin") == 1 and listed.output.count("agent") == 1
