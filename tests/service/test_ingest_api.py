"""Ingestion over HTTP: uploads, CRM pushes, per-item errors, deletion."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.container import Container
from tests.conftest import auth_headers


@pytest.fixture
def app_container(container: Container) -> Container:
    """The HTTP tests here run on the empty stack."""
    return container


def auth(container: Container, role: str = "admin") -> dict[str, str]:
    return auth_headers(container, tenant="acme", user="u-admin", teams=("t-ops",), role=role)


NOTE = b"Call with Dana: they want route optimisation for 420 trucks and asked about SSO."
TRANSCRIPT = b"[00:00:01] Dana: We run 420 trucks.\n[00:00:05] Maria: Great, SSO is on Enterprise.\n"


def test_upload_batch_with_one_bad_file(client: TestClient, container: Container) -> None:
    files = [
        ("files", ("note.md", NOTE, "text/markdown")),
        ("files", ("call.txt", TRANSCRIPT, "text/plain")),
        ("files", ("broken.pdf", b"%PDF-1.4 garbage", "application/pdf")),
        ("files", ("image.exe", b"MZ\x00\x00", "application/octet-stream")),
    ]
    response = client.post("/v1/ingest", files=files, headers=auth(container))
    assert response.status_code == 200, response.text
    body = response.json()
    status = {i["document_id"]: (i["status"], i["reason"]) for i in body["items"]}
    assert status["file:uploads/note.md"] == ("added", None)
    assert status["file:uploads/call.txt"] == ("added", None)
    assert status["file:uploads/broken.pdf"][0] == "failed"
    assert status["file:uploads/image.exe"] == ("failed", "unsupported_type")
    again = client.post("/v1/ingest", files=files[:2], headers=auth(container)).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_push_records_and_delete(client: TestClient, container: Container) -> None:
    records = [{"note_id": "N-9", "account_id": "A-1", "opportunity_id": "", "contact_id": "", "author": "u-admin",
                "team": "t-ops", "visibility": "team", "created_at": "2026-10-01T10:00:00Z",
                "updated_at": "2026-10-01T10:00:00Z", "subject": "Pricing", "body": "Asked for 12% off Growth."}]
    h = auth(container)
    pushed = client.post("/v1/ingest/records", json={"records": records}, headers=h)
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["added"] == 1
    deleted = client.delete("/v1/documents/note:N-9", headers=h)
    assert deleted.status_code == 200 and deleted.json()["chunks_removed"] == 1
    assert client.delete("/v1/documents/note:N-9", headers=h).status_code == 404


def test_ingest_routes_are_admin_only(client: TestClient, container: Container) -> None:
    response = client.post("/v1/ingest/records", json={"records": [{"x": 1}]}, headers=auth(container, "agent"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")
