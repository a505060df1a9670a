"""The HTTP surface on the embedded stack: auth, problem+json, health, the summary route."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from service.auth import sign_user_context
from service.container import Container
from tests.actions.test_summary import extractive
from tests.conftest import auth_headers, scripted


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"vector_store": True, "sql": True, "chat_model": True}


def test_v1_routes_require_credentials(client: TestClient, demo_container: Container) -> None:
    body = {"record": "account:ACME-001"}
    missing = client.post("/v1/actions/summary", json=body)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"].endswith("/unauthorized")
    good = auth_headers(demo_container)
    forged = dict(good, **{"X-Sidekick-User": good["X-Sidekick-User"][:-2] + "00"})
    assert client.post("/v1/actions/summary", json=body, headers=forged).status_code == 401
    bad_key = dict(good, Authorization="Bearer sk_nope_nope")
    assert client.post("/v1/actions/summary", json=body, headers=bad_key).status_code == 401


def test_summary_route_returns_the_envelope_and_audits(client: TestClient, demo_container: Container) -> None:
    scripted(demo_container).responder = extractive
    response = client.post("/v1/actions/summary", json={"record": "account:ACME-001"},
                           headers=auth_headers(demo_container))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"id", "output", "citations", "review_flags", "prompt", "model", "usage", "latency_ms"}
    assert body["prompt"] == {"name": "summary", "version": 1}
    assert body["usage"]["prompt_tokens"] > 100
    assert body["citations"][0]["snippet"]
    from service.audit import AuditRow

    with demo_container.sessions() as session:
        rows = session.query(AuditRow).filter_by(event="action:summary").all()
    assert len(rows) == 1 and rows[0].request_id == body["id"] and rows[0].chunk_ids
    assert rows[0].user_id == "u-maria" and rows[0].output_hash


def test_bad_input_is_problem_json(client: TestClient, demo_container: Container) -> None:
    h = auth_headers(demo_container)
    for body in ({"record": "acct ACME"}, {"record": "account:ACME-001", "surprise": 1}, {}):
        response = client.post("/v1/actions/summary", content=json.dumps(body), headers=h)
        assert response.status_code == 422, body
        assert response.json()["type"].endswith("/validation-error")


def test_record_header_respects_visibility(client: TestClient, demo_container: Container) -> None:
    h = auth_headers(demo_container)
    acme = client.get("/v1/records/account:ACME-001", headers=h)
    assert acme.status_code == 200 and acme.json()["name"] == "Acme Logistics"
    assert client.get("/v1/records/account:UMBRELLA-004", headers=h).status_code == 403
    assert client.get("/v1/records/account:NOPE", headers=h).status_code == 404


def test_record_contacts_list_who_may_be_emailed(client: TestClient, demo_container: Container) -> None:
    """The recipient picker: the account's contacts the caller may see, with outreach consent."""
    priya = auth_headers(demo_container, user="u-priya")  # Maria's teammate: sees Acme through the team
    contacts = client.get("/v1/records/opportunity:OPP-1001/contacts", headers=priya).json()
    assert [c["name"] for c in contacts] == ["Dana Whitfield", "Greg Novak", "Karen Liu", "Raj Patel"]
    assert contacts[1] == {"ref": "contact:C-104", "id": "C-104", "name": "Greg Novak",
                           "title": "Procurement Manager", "outreach": True}
    initech = client.get("/v1/records/account:INITECH-003/contacts", headers=auth_headers(demo_container)).json()
    assert {c["id"]: c["outreach"] for c in initech}["C-304"] is False  # never consented
    assert client.get("/v1/records/account:UMBRELLA-004/contacts", headers=priya).status_code == 403
    tom = auth_headers(demo_container, user="u-tom", teams=("t-public-sector",))
    assert len(client.get("/v1/records/contact:C-402/contacts", headers=tom).json()) == 3
    assert client.get("/v1/records/oops/contacts", headers=tom).status_code == 400


def test_sidebar_session_exchange(client: TestClient, demo_container: Container) -> None:
    secret = demo_container.keys.ensure_tenant("demo")
    context = sign_user_context(secret, "u-maria", ["t-enterprise"])
    session = client.post("/v1/sessions", json={"tenant": "demo"}, headers={"X-Sidekick-User": context})
    assert session.status_code == 200
    token = session.json()["token"]
    actions = client.get("/v1/actions", headers={"Authorization": f"Bearer {token}"})
    assert actions.status_code == 200 and "summary" in [a["name"] for a in actions.json()]
    assert client.get("/sidebar").status_code == 200


def test_search_route_is_filtered(client: TestClient, demo_container: Container) -> None:
    maria = client.post("/v1/search", json={"query": "Umbrella municipal RFP"}, headers=auth_headers(demo_container))
    assert maria.status_code == 200
    assert all(
        "UMBRELLA" not in (h["citation"]["document_id"] + h["text"])
        for h in maria.json()["hits"]
        if h["citation"]["doc_type"] != "product_doc"
    )
    tom = client.post(
        "/v1/search",
        json={"query": "Umbrella municipal RFP", "record": "account:UMBRELLA-004"},
        headers=auth_headers(demo_container, user="u-tom", teams=("t-public-sector",)),
    )
    assert tom.json()["hits"]
    invented = client.post("/v1/search", json={"query": "Acme", "purpose": "marketing"},
                           headers=auth_headers(demo_container))
    assert invented.status_code == 422 and "unknown purpose" in invented.text
