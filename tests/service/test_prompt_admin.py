"""The prompt builder's admin API over the ingested demo corpus, with the extractive model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from prompts.extractive import ExtractiveChatModel
from retrieval.embedder import SentenceTransformerEmbedder
from service.audit import AuditRow
from service.container import Container
from tests.conftest import auth_headers, demo_stack

BASE = "/v1/admin/prompts"


@pytest.fixture
def builder(demo_dir: Path, tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Container]:
    built = demo_stack(demo_dir, tmp_path / "data", embedder, chat=ExtractiveChatModel())
    yield built
    built.close()


@pytest.fixture
def app_container(builder: Container) -> Container:
    return builder


def key(container: Container, role: str = "admin", tenant: str = "demo") -> dict[str, str]:
    _, secret = container.keys.create_key(tenant, role)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {secret}"}


def new_draft(client: TestClient, admin: dict[str, str], name: str = "summary") -> dict[str, Any]:
    response = client.post(f"{BASE}/{name}/drafts", json={"note": "try"}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def audit_events(container: Container, prefix: str) -> list[AuditRow]:
    with container.sessions() as session:
        return list(session.scalars(select(AuditRow).where(AuditRow.event.startswith(prefix)).order_by(AuditRow.id)))


def test_admin_routes_need_the_admin_role(client: TestClient, builder: Container) -> None:
    assert client.get(BASE).status_code == 401
    denied = client.get(BASE, headers=auth_headers(builder))
    assert denied.status_code == 403
    assert denied.json()["type"].endswith("/forbidden")
    listing = client.get(BASE, headers=key(builder))
    assert listing.status_code == 200
    summary = next(p for p in listing.json() if p["name"] == "summary")
    assert (summary["action"], summary["published_version"], summary["drafts"]) == ("summary", 1, [])
    assert {v["name"] for v in summary["variables"]} == {"record_label", "evidence", "focus", "max_bullets"}


def test_edit_publish_and_the_next_action_call_uses_the_new_version(client: TestClient, builder: Container) -> None:
    admin = key(builder)
    draft = new_draft(client, admin)
    url = f"{BASE}/summary/versions/{draft['version']}"
    user = draft["template"]["user"]

    bad = client.put(url, json={"user": user + "\nTone: {{ tone }}"}, headers=admin)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"].endswith("/template-invalid")
    assert bad.json()["problems"] == ["variable 'tone' is used but not declared"]
    assert client.get(url, headers=admin).json()["template"]["user"] == user  # nothing saved

    saved = client.put(url, json={"user": user + "\nWrite for a CFO.", "note": "CFO tone"}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["note"] == "CFO tone"

    before = client.post("/v1/actions/summary", json={"record": "account:ACME-001"}, headers=auth_headers(builder))
    assert before.json()["prompt"] == {"name": "summary", "version": 1}

    published = client.post(f"{url}/publish", json={"note": "go"}, headers=admin)
    assert published.status_code == 200, published.text
    assert published.json()["replaced_version"] == 1
    after = client.post("/v1/actions/summary", json={"record": "account:ACME-001"}, headers=auth_headers(builder))
    assert after.status_code == 200
    assert after.json()["prompt"] == {"name": "summary", "version": draft["version"]}

    rolled = client.post(f"{BASE}/summary/versions/1/rollback", headers=admin)
    assert rolled.status_code == 200 and rolled.json()["replaced_version"] == draft["version"]
    again = client.post("/v1/actions/summary", json={"record": "account:ACME-001"}, headers=auth_headers(builder))
    assert again.json()["prompt"]["version"] == 1

    events = [(r.event, r.prompt_version) for r in audit_events(builder, "prompt:")]
    assert events == [("prompt:publish", draft["version"]), ("prompt:rollback", 1)]
    assert client.put(url, json={"user": user}, headers=admin).json()["type"].endswith("/prompt-state")


def test_preview_shows_the_exact_messages_on_a_real_record(client: TestClient, builder: Container) -> None:
    admin = key(builder)
    draft = new_draft(client, admin)
    url = f"{BASE}/summary/versions/{draft['version']}"
    client.put(url, json={"user": draft["template"]["user"].replace("Summarise", "PREVIEW-MARK Summarise")},
               headers=admin).raise_for_status()
    response = client.post(f"{url}/preview", json={"record": "account:ACME-001", "inputs": {"max_bullets": 2}},
                           headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["called_model"] is True
    assert body["acting_as"] == {"user_id": "u-maria", "teams": ["t-enterprise"]}  # the record's owner
    system, user = body["messages"]
    assert user["content"].startswith("PREVIEW-MARK Summarise account Acme Logistics (ACME-001).")
    assert "up to 2 bullets" in user["content"]
    assert '<evidence id="E1"' in user["content"]  # the real retrieval ran
    assert body["prompt_tokens"] == system["tokens"] + user["tokens"] + 10
    assert body["request"]["max_tokens"] == draft["template"]["params"]["max_tokens"]
    assert len(body["retrieved_chunk_ids"]) > 3
    assert audit_events(builder, "prompt:preview")[0].detail == "as u-maria"

    # the published version is unchanged, and a wrong input type is a clear 400
    assert "PREVIEW-MARK" not in builder.prompts.get("demo", "summary").template.user
    wrong = client.post(f"{url}/preview", json={"record": "account:ACME-001", "inputs": {"max_bullets": "many"}},
                        headers=admin)
    assert wrong.status_code == 400 and "max_bullets" in wrong.json()["detail"]


def test_dry_run_returns_the_envelope_without_publishing(client: TestClient, builder: Container) -> None:
    admin = key(builder)
    draft = new_draft(client, admin)
    response = client.post(f"{BASE}/summary/versions/{draft['version']}/dry-run",
                           json={"record": "opportunity:OPP-1003"}, headers=admin)
    assert response.status_code == 200, response.text
    envelope = response.json()["envelope"]
    assert envelope["prompt"] == {"name": "summary", "version": draft["version"]}
    assert envelope["model"] == "extractive"
    assert envelope["citations"] and envelope["output"]["headline"]
    assert response.json()["acting_as"]["user_id"] == "u-james"
    assert builder.prompts.get("demo", "summary").version == 1


def test_diff_between_versions(client: TestClient, builder: Container) -> None:
    admin = key(builder)
    draft = new_draft(client, admin)
    client.put(f"{BASE}/summary/versions/{draft['version']}",
               json={"params": {"temperature": 0.7, "max_tokens": 400}}, headers=admin).raise_for_status()
    diff = client.get(f"{BASE}/summary/diff", params={"from": 1, "to": draft["version"]}, headers=admin).json()
    assert [p["part"] for p in diff["parts"] if p["changed"]] == ["params"]
    params = next(p for p in diff["parts"] if p["part"] == "params")
    assert {"op": "replace", "left": "temperature = 0.1", "right": "temperature = 0.7",
            "left_no": 1, "right_no": 1} in params["rows"]


def test_evaluate_compares_with_the_published_version_and_gates_publish(client: TestClient,
                                                                        builder: Container) -> None:
    admin = key(builder)
    draft = new_draft(client, admin)
    url = f"{BASE}/summary/versions/{draft['version']}"
    # without an eval of the draft's current text, a gated publish is refused
    refused = client.post(f"{url}/publish", json={"require_gate": True, "gate_profile": "smoke"}, headers=admin)
    assert refused.status_code == 409 and "evaluate it first" in refused.json()["detail"]

    result = client.post(f"{url}/evaluate", json={"limit": 2}, headers=admin)
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["cases"], body["draft_version"], body["published_version"]) == (2, draft["version"], 1)
    rows = {r["metric"]: r for r in body["metrics"]}
    assert rows["cases"]["draft"] == rows["cases"]["published"] == 2.0
    assert rows["error_rate"]["draft"] == 0.0
    # same text as v1 and a deterministic model: the scores match
    assert rows["rouge_l"]["draft"] == pytest.approx(rows["rouge_l"]["published"])

    passed = client.post(f"{url}/publish", json={"require_gate": True, "gate_profile": "smoke"}, headers=admin)
    assert passed.status_code == 200, passed.text
    assert passed.json()["gate"]["passed"] is True
    assert "gate smoke passed" in audit_events(builder, "prompt:publish")[0].detail


def test_other_tenants_cannot_see_or_change_a_tenants_prompts(client: TestClient, builder: Container) -> None:
    draft = new_draft(client, key(builder))
    other = key(builder, tenant="globex")
    url = f"{BASE}/summary/versions/{draft['version']}"
    assert client.get(url, headers=other).json()["type"].endswith("/prompt-not-found")
    assert client.post(f"{url}/publish", json={}, headers=other).status_code == 404
    assert [v["version"] for v in client.get(f"{BASE}/summary/versions", headers=other).json()] == [1]
