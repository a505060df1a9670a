"""Every /v1 route, enumerated from the app: credentials, roles, tenant isolation and bad input.

New routes are covered automatically. A route with a path parameter, a required query
parameter or an action input this file has no sample for fails ``test_samples_cover_every_route``
with what to add to the tables below."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import func, select

from ingest.db import CrmRecordRow, DocumentRow
from prompts.chat import ChatMessage
from retrieval.filters import admin_filter
from service.app import MAX_JSON_BODY
from service.audit import AuditRow
from service.container import Container
from service.deps import require_admin
from service.reviews import ReviewItemRow
from tests.conftest import auth_headers, scripted

# -- samples ---------------------------------------------------------------------------------
ACTION_INPUTS: dict[str, dict[str, Any]] = {
    "summary": {"record": "account:ACME-001"},
    "email_draft": {"contact_id": "C-101", "record": "opportunity:OPP-1001"},
    "field_fill": {"record": "opportunity:OPP-1001", "fields": [{"name": "next_step", "type": "text"}]},
    "compliance_check": {"draft": "Hi there, we can offer 40% off if you sign today.", "record": "account:ACME-001"},
    "qa": {"question": "What are the next steps on the Acme deal?", "record": "account:ACME-001"},
}
"""One input per registered action, naming the demo tenant's records."""

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/search"): {"query": "Dana Whitfield pricing decision", "record": "account:ACME-001"},
    ("POST", "/v1/sessions"): {"tenant": "demo"},
    ("POST", "/v1/ingest/records"): {"records": [{
        "note_id": "N-900", "account_id": "ACME-001", "opportunity_id": "", "contact_id": "C-101", "author": "u-x",
        "team": "t-x", "visibility": "team", "created_at": "2026-10-01T10:00:00Z",
        "updated_at": "2026-10-01T10:00:00Z", "subject": "Probe", "body": "A note pushed by the sweep."}]},
    ("POST", "/v1/admin/keys"): {"role": "agent", "name": "sweep"},
    ("POST", "/v1/admin/tenant/rotate-secret"): {"grace_seconds": 3600},
    ("PUT", "/v1/contacts/{contact_id}/consent"): {"purposes": []},
    ("POST", "/v1/reviews/{item_id}"): {"decision": "reject", "comment": "probe"},
    ("POST", "/v1/admin/prompts/{name}/drafts"): {"note": "sweep"},
    ("PUT", "/v1/admin/prompts/{name}/versions/{version}"): {"note": "sweep"},
    ("POST", "/v1/admin/prompts/{name}/versions/{version}/preview"): {"record": "account:ACME-001"},
    ("POST", "/v1/admin/prompts/{name}/versions/{version}/dry-run"): {"record": "account:ACME-001"},
    ("POST", "/v1/admin/prompts/{name}/versions/{version}/evaluate"): {"dataset": "demo", "limit": 1},
    ("POST", "/v1/admin/prompts/{name}/versions/{version}/publish"): {"require_gate": False},
}
"""JSON bodies of the other routes that take one (path templates as FastAPI declares them)."""

QUERIES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/v1/admin/prompts/{name}/diff"): {"from": 1, "to": 1},
}
"""Required query parameters."""

UPLOADS = {("POST", "/v1/ingest"): {"files": ("probe.md", b"# Probe\nA probe upload.", "text/markdown")}}

PATH_IDS: dict[str, str] = {
    "ref": "account:ACME-001", "subject_id": "C-101", "contact_id": "C-101", "document_id": "note:N-002",
    "name": "summary", "version": "1",
    # filled from the demo stack by the fixture: "key_id", "item_id"
}
"""Path parameters: ids of the demo tenant's data."""

MARKERS = ("Whitfield", "Columbus, OH", "Raj Patel", "Hannah Cole", "Samsara", "Globex", "Initech", "Umbrella",
           "Northwind", "u-maria", "dana.whitfield", "614-555", "REVIEW-SECRET-OUTPUT")
"""Text that appears only in the demo tenant's data (not in shipped prompts or code)."""


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    route: APIRoute

    @property
    def admin_only(self) -> bool:
        def needs(dep: Dependant) -> bool:
            return dep.call is require_admin or any(needs(d) for d in dep.dependencies)

        return needs(self.route.dependant)

    @property
    def json_model(self) -> type[BaseModel] | None:
        params = self.route.dependant.body_params
        if len(params) == 1 and type(params[0].field_info).__name__ == "Body":
            model = params[0].field_info.annotation
            return model if isinstance(model, type) and issubclass(model, BaseModel) else None
        return None

    def url(self, ids: dict[str, str]) -> str:
        path = self.template
        for param in self.route.dependant.path_params:
            path = path.replace("{" + param.name + ":path}", ids[param.name]).replace("{" + param.name + "}",
                                                                                     ids[param.name])
        return path

    def body(self) -> dict[str, Any] | None:
        if self.template.startswith("/v1/actions/") and self.method == "POST":
            return ACTION_INPUTS[self.template.removeprefix("/v1/actions/").removesuffix("/stream")]
        return BODIES.get((self.method, self.template))

    def send(self, client: TestClient, headers: dict[str, str], ids: dict[str, str], **overrides: Any) -> Any:
        kwargs: dict[str, Any] = {"headers": headers, "params": QUERIES.get((self.method, self.template))}
        if (self.method, self.template) in UPLOADS:
            kwargs["files"] = UPLOADS[(self.method, self.template)]
        elif self.body() is not None:
            kwargs["json"] = self.body()
        kwargs.update(overrides)
        return client.request(self.method, self.url(ids), **kwargs)


def v1_calls(app: FastAPI) -> list[Call]:
    calls: list[Call] = []
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, APIRoute) and (ctx.path or "").startswith("/v1"):
            calls.extend(Call(method, ctx.path or route.path, route) for method in sorted(route.methods or ()))
    return calls


# -- fixtures --------------------------------------------------------------------------------
def generic_reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    return "{}" if schema is not None else "ok"


@pytest.fixture
def app_container(demo_container: Container) -> Container:
    """The demo stack, its scripted model answering with ``generic_reply``."""
    chat = scripted(demo_container)
    chat.responder = generic_reply
    return demo_container


@pytest.fixture
def ids(demo_container: Container) -> dict[str, str]:
    key_id, _ = demo_container.keys.create_key("demo", "agent", "crm-backend")
    with demo_container.sessions() as session:
        session.add(ReviewItemRow(id="11111111-2222-3333-4444-555555555555", tenant_id="demo", action="summary",
                                  request_id="req-1", record="account:ACME-001", user_id="u-maria",
                                  output={"headline": "REVIEW-SECRET-OUTPUT"}))
        session.commit()
    return {**PATH_IDS, "key_id": key_id, "item_id": "11111111-2222-3333-4444-555555555555"}


def demo_state(container: Container) -> dict[str, Any]:
    """What a foreign or rejected request must never change."""
    with container.sessions() as session:
        counts = {table.__name__: session.scalar(select(func.count()).select_from(table)
                                                 .where(table.tenant_id == "demo"))
                  for table in (DocumentRow, CrmRecordRow, ReviewItemRow)}
        consent = session.get(CrmRecordRow, ("demo", "contact", "C-101")).consent  # type: ignore[union-attr]
        review = session.get(ReviewItemRow, "11111111-2222-3333-4444-555555555555")
    return {**counts, "points": container.store.count(admin_filter("demo")), "consent": consent,
            "secret": container.keys.signing_secret("demo"),
            "keys": sorted((k.key_id, k.revoked_at is None) for k in container.keys.list_keys("demo")),
            "review": review.status if review else None}


def is_problem(response: Any, status: int | tuple[int, ...]) -> bool:
    statuses = (status,) if isinstance(status, int) else status
    return (response.status_code in statuses
            and response.headers["content-type"].startswith("application/problem+json"))


# -- tests -----------------------------------------------------------------------------------
def test_samples_cover_every_route(client: TestClient, ids: dict[str, str]) -> None:
    calls = v1_calls(client.app)  # type: ignore[arg-type]
    assert len(calls) >= 20
    for call in calls:
        missing = [p.name for p in call.route.dependant.path_params if p.name not in ids]
        assert not missing, f"{call.method} {call.template}: add sample ids for {missing} to PATH_IDS"
        required = {q.alias for q in call.route.dependant.query_params if q.field_info.is_required()}
        missing = sorted(required - set(QUERIES.get((call.method, call.template), {})))
        assert not missing, f"{call.method} {call.template}: add required query parameters {missing} to QUERIES"
        if call.route.dependant.body_params:
            assert call.body() is not None or (call.method, call.template) in UPLOADS, (
                f"{call.method} {call.template}: add a sample body to BODIES (or ACTION_INPUTS)")
        model = call.json_model
        if model is not None:
            assert model.model_config.get("extra") == "forbid", f"{call.template}: {model.__name__} allows extras"


def test_every_route_refuses_missing_or_forged_credentials(
    client: TestClient, demo_container: Container, ids: dict[str, str]
) -> None:
    good = auth_headers(demo_container, role="admin")
    forged_context = dict(good, **{"X-Sidekick-User": good["X-Sidekick-User"][:-4] + "0000"})
    foreign_context = dict(good, **{"X-Sidekick-User": auth_headers(demo_container, tenant="rival")["X-Sidekick-User"]})
    before = demo_state(demo_container)
    session = client.post("/v1/sessions", json={"tenant": "demo"},
                          headers={"X-Sidekick-User": good["X-Sidekick-User"]}).json()["token"]
    forged_session = {"Authorization": "Bearer " + session[:-4] + "0000"}
    for call in v1_calls(client.app):  # type: ignore[arg-type]
        for name, headers in (("none", {}), ("forged context", forged_context),
                              ("context signed by another tenant", foreign_context),
                              ("forged session", forged_session), ("revoked-looking key",
                                                                   {"Authorization": "Bearer sk_000000000000_x"})):
            response = call.send(client, headers, ids)
            assert is_problem(response, 401), (call.method, call.template, name, response.status_code)
            assert response.json()["type"].endswith("/unauthorized")
    assert demo_state(demo_container) == before


def test_admin_routes_refuse_other_roles(client: TestClient, demo_container: Container, ids: dict[str, str]) -> None:
    agent, evaluator = auth_headers(demo_container), auth_headers(demo_container, role="evaluator")
    before = demo_state(demo_container)
    token = client.post("/v1/sessions", json={"tenant": "demo"},
                        headers={"X-Sidekick-User": agent["X-Sidekick-User"]}).json()["token"]
    admin_calls = [c for c in v1_calls(client.app) if c.admin_only]  # type: ignore[arg-type]
    assert {c.template for c in admin_calls} >= {"/v1/admin/keys", "/v1/audit", "/v1/audit.csv",
                                                  "/v1/subjects/{subject_id}", "/v1/admin/tenant/rotate-secret"}
    for call in admin_calls:
        for headers in (agent, evaluator, {"Authorization": f"Bearer {token}"}):
            response = call.send(client, headers, ids)
            assert is_problem(response, 403), (call.method, call.template, response.status_code)
    assert demo_state(demo_container) == before


def test_no_route_serves_another_tenants_data(client: TestClient, demo_container: Container,
                                               ids: dict[str, str]) -> None:
    chunk_ids = [cid for cid, _ in demo_container.store.scroll(admin_filter("demo"))]
    rival_admin = auth_headers(demo_container, tenant="rival", user="u-rival", teams=("t-enterprise",), role="admin")
    before = demo_state(demo_container)
    chat = scripted(demo_container)
    for call in v1_calls(client.app):  # type: ignore[arg-type]
        response = call.send(client, rival_admin, ids)
        sent = call.url(ids) + json.dumps(call.body() or {})
        assert response.status_code != 500, (call.method, call.template, response.text[:300])
        leaked = [m for m in (*MARKERS, *chunk_ids) if m in response.text and m not in sent]
        assert not leaked, (call.method, call.template, leaked[:3])
    prompts = json.dumps([c["messages"] for c in chat.calls])
    assert not [m for m in (*MARKERS, *chunk_ids) if m in prompts], "demo data reached a rival's prompt"
    assert demo_state(demo_container) == before


def test_malformed_ids_are_problems_and_change_nothing(client: TestClient, demo_container: Container,
                                                       ids: dict[str, str]) -> None:
    admin = auth_headers(demo_container, role="admin")
    before = demo_state(demo_container)
    audit_rows = _audit_count(demo_container)
    for call in v1_calls(client.app):  # type: ignore[arg-type]
        for param in call.route.dependant.path_params:
            for bad in ("bad id", "x" * 300, "..%2F..%2Fetc", "C-101;DROP", "%00"):
                response = call.send(client, admin, {**ids, param.name: bad})
                assert is_problem(response, (400, 404, 405, 422)), (call.template, bad, response.status_code)
    assert demo_state(demo_container) == before
    assert _audit_count(demo_container) == audit_rows, "a refused request wrote an audit record"


def test_unknown_fields_are_422_and_change_nothing(client: TestClient, demo_container: Container,
                                                   ids: dict[str, str]) -> None:
    admin = auth_headers(demo_container, role="admin")
    before = demo_state(demo_container)
    checked = 0
    for call in v1_calls(client.app):  # type: ignore[arg-type]
        body = call.body()
        if call.json_model is None or body is None:
            continue
        response = call.send(client, admin, ids, json={**body, "surprise": 1})
        assert is_problem(response, 422), (call.template, response.status_code)
        assert "extra_forbidden" in [e["type"] for e in response.json()["errors"]], call.template
        checked += 1
    assert checked >= 12
    assert demo_state(demo_container) == before


def test_oversized_bodies_are_413_before_anything_runs(client: TestClient, demo_container: Container,
                                                       ids: dict[str, str]) -> None:
    admin = auth_headers(demo_container, role="admin")
    before = demo_state(demo_container)
    audit_rows = _audit_count(demo_container)
    huge = json.dumps({"query": "x" * (MAX_JSON_BODY + 10)}).encode()
    for call in v1_calls(client.app):  # type: ignore[arg-type]
        if call.json_model is None:
            continue
        for content in (huge, iter([huge[:MAX_JSON_BODY // 2], huge[MAX_JSON_BODY // 2:]])):  # declared, chunked
            response = call.send(client, dict(admin, **{"Content-Type": "application/json"}), ids, content=content)
            assert is_problem(response, 413), (call.template, response.status_code)
            assert response.json()["type"].endswith("/payload-too-large")
    # Uploads have their own, larger limit: a 1.5 MB file is judged by the ingest route, not refused.
    upload = client.post("/v1/ingest", headers=auth_headers(demo_container, tenant="rival", role="admin"),
                         files={"files": ("big.bin", b"\0" * (MAX_JSON_BODY * 3 // 2), "application/octet-stream")})
    assert upload.status_code == 200 and upload.json()["failed"] == 1
    assert demo_state(demo_container) == before
    assert _audit_count(demo_container) == audit_rows


def _audit_count(container: Container) -> int:
    with container.sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.tenant_id == "demo")) or 0

