"""The review queue: flagged results queued, listed, decided over HTTP by the right people,
audited, and exported as eval feedback rows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from actions.registry import ACTIONS
from actions.summary import SummaryInput
from retrieval.identity import Caller
from service.audit import AuditRow
from service.container import Container
from service.reviews import ReviewQueue, export_feedback
from tests.actions.test_summary import extractive
from tests.conftest import MARIA, PRIYA, auth_headers, scripted

DATASET_KEYS = {"id", "action", "tenant", "user", "teams", "record", "inputs", "reference", "relevant_doc_ids", "notes"}


def flagged_item(container: Container, caller: Caller = MARIA, record: str = "account:ACME-001") -> str:
    scripted(container).responder = extractive
    inp = SummaryInput(record=record)
    response = container.runner.run(ACTIONS["summary"], inp, caller)  # queues flagged results itself
    assert response.review_flags, "the extractive reply invents a fact and cites a missing chunk"
    items, _ = ReviewQueue(container.sessions).list_items(caller)
    queued = [item.id for item in items if item.request_id == response.id]
    assert len(queued) == 1, "the action runner puts a flagged result in the queue exactly once"
    assert queued[0] is not None
    return queued[0]


def test_unflagged_results_are_not_queued(demo_container: Container) -> None:
    def clean(messages: Any, schema: Any) -> str:
        return json.dumps({"headline": "Deal in progress.", "key_facts": [], "open_questions": [], "risks": [],
                           "next_steps": []})

    scripted(demo_container).responder = clean
    response = demo_container.runner.run(ACTIONS["summary"], SummaryInput(record="account:ACME-001"), MARIA)
    assert response.review_flags == []
    assert ReviewQueue(demo_container.sessions).enqueue_if_flagged(response, MARIA, "account:ACME-001") is None
    assert ReviewQueue(demo_container.sessions).list_items(MARIA)[1] == 0


def test_agent_sees_and_decides_only_their_own_items(client: TestClient, demo_container: Container) -> None:
    mine = flagged_item(demo_container)
    theirs = flagged_item(demo_container, PRIYA)
    maria = auth_headers(demo_container, user="u-maria")
    page = client.get("/v1/reviews", headers=maria).json()
    assert page["total"] == 1 and [i["id"] for i in page["items"]] == [mine]
    item = client.get(f"/v1/reviews/{mine}", headers=maria).json()
    assert item["status"] == "pending" and item["record"] == "account:ACME-001"
    assert {f["code"] for f in item["flags"]} >= {"low_grounding", "unknown_citation"}
    assert item["output"]["record"] == "account:ACME-001" and item["citations"]
    for method, body in (("get", None), ("post", {"decision": "approve"})):
        other = client.request(method.upper(), f"/v1/reviews/{theirs}", headers=maria, json=body)
        assert other.status_code == 404 and other.json()["type"].endswith("/not-found")
    decided = client.post(f"/v1/reviews/{mine}", headers=maria, json={"decision": "approve", "comment": "fine"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved" and decided.json()["reviewer"] == "u-maria"
    again = client.post(f"/v1/reviews/{mine}", headers=maria, json={"decision": "reject", "comment": "no"})
    assert again.status_code == 409 and again.json()["type"].endswith("/review-decided")


def test_admin_sees_the_tenant_other_tenants_and_evaluators_see_nothing(
        client: TestClient, demo_container: Container) -> None:
    first = flagged_item(demo_container)
    second = flagged_item(demo_container, PRIYA, "account:INITECH-003")
    admin = auth_headers(demo_container, user="u-lena", role="admin")
    page = client.get("/v1/reviews", headers=admin).json()
    assert {i["id"] for i in page["items"]} == {first, second}
    assert client.get("/v1/reviews?record=account:INITECH-003", headers=admin).json()["total"] == 1
    assert client.get("/v1/reviews?action=qa", headers=admin).json()["total"] == 0
    paged = client.get("/v1/reviews?limit=1&offset=1", headers=admin).json()
    assert paged["total"] == 2 and len(paged["items"]) == 1 and paged["items"][0]["id"] == first  # newest first
    assert client.get("/v1/reviews?limit=0", headers=admin).status_code == 422
    outsider = auth_headers(demo_container, user="u-eve", role="admin", tenant="other")
    assert client.get("/v1/reviews", headers=outsider).json()["total"] == 0
    assert client.get(f"/v1/reviews/{first}", headers=outsider).status_code == 404
    assert client.post(f"/v1/reviews/{first}", headers=outsider, json={"decision": "approve"}).status_code == 404
    evaluator = auth_headers(demo_container, user="u-eval", role="evaluator")
    assert client.get("/v1/reviews", headers=evaluator).status_code == 403
    decided = client.post(f"/v1/reviews/{second}", headers=admin,
                          json={"decision": "reject", "comment": "invented a HIPAA certification"})
    assert decided.json()["status"] == "rejected"
    assert client.get("/v1/reviews?status=pending", headers=admin).json()["total"] == 1


def test_decisions_are_validated_and_audited(client: TestClient, demo_container: Container) -> None:
    item_id = flagged_item(demo_container)
    maria = auth_headers(demo_container, user="u-maria")
    for body in ({"decision": "edit"}, {"decision": "reject"}, {"decision": "approve", "edited_output": {}},
                 {"decision": "maybe"}, {"decision": "approve", "extra": 1}):
        bad = client.post(f"/v1/reviews/{item_id}", headers=maria, json=body)
        assert bad.status_code == 422 and bad.json()["type"].endswith("/validation-error"), body
    output = client.get(f"/v1/reviews/{item_id}", headers=maria).json()["output"]
    wrong = client.post(f"/v1/reviews/{item_id}", headers=maria,
                        json={"decision": "edit", "edited_output": {"headline": 3}})
    assert wrong.status_code == 422 and wrong.json()["type"].endswith("/review-edit-invalid")
    edited = dict(output, risks=[], headline="Acme: 25% approved, order form next.")
    ok = client.post(f"/v1/reviews/{item_id}", headers=maria,
                     json={"decision": "edit", "comment": "removed the invented risk", "edited_output": edited})
    assert ok.status_code == 200 and ok.json()["edited_output"]["headline"].startswith("Acme: 25%")
    with demo_container.sessions() as session:
        rows = list(session.scalars(select(AuditRow).where(AuditRow.event.like("review:%"))))
    assert [(r.event, r.user_id, r.record) for r in rows] == [("review:edit", "u-maria", "account:ACME-001")]
    assert "removed the invented risk" in rows[0].detail and rows[0].output_hash


def test_feedback_export_has_the_eval_row_shape(client: TestClient, demo_container: Container) -> None:
    approved, edited, rejected, pending = (flagged_item(demo_container) for _ in range(4))
    queue = ReviewQueue(demo_container.sessions)
    maria = auth_headers(demo_container, user="u-maria")
    client.post(f"/v1/reviews/{approved}", headers=maria, json={"decision": "approve"})
    output = queue.get("demo", edited).output  # type: ignore[union-attr]
    client.post(f"/v1/reviews/{edited}", headers=maria,
                json={"decision": "edit", "edited_output": dict(output, risks=[]), "comment": "dropped a risk"})
    client.post(f"/v1/reviews/{rejected}", headers=maria, json={"decision": "reject", "comment": "wrong account"})
    rows = export_feedback(demo_container, "demo")
    assert [r["id"] for r in rows] == [f"review-{i}" for i in (approved, edited, rejected)]  # pending stays out
    assert pending not in json.dumps(rows)
    for row in rows:
        assert set(row) == DATASET_KEYS
        assert row["action"] == "summary" and row["tenant"] == "demo" and row["user"] == "u-maria"
        assert row["teams"] == ["t-enterprise"] and row["inputs"]["record"] == "account:ACME-001"
    by_decision = {r["reference"]["decision"]: r for r in rows}
    assert by_decision["approve"]["reference"]["output"] == by_decision["approve"]["reference"]["original_output"]
    assert by_decision["edit"]["reference"]["output"]["risks"] == []
    assert by_decision["reject"]["reference"]["output"] is None and by_decision["reject"]["relevant_doc_ids"] == []
    assert by_decision["approve"]["relevant_doc_ids"] and all(
        d.startswith(("note:", "file:", "activity:", "account:", "opportunity:", "contact:"))
        for d in by_decision["approve"]["relevant_doc_ids"])
    assert "low_grounding" in by_decision["approve"]["reference"]["flags"]
    assert export_feedback(demo_container.sessions, "other") == []


def test_erasure_removes_the_items_of_a_record(demo_container: Container) -> None:
    acme = flagged_item(demo_container)
    initech = flagged_item(demo_container, record="account:INITECH-003")
    queue = ReviewQueue(demo_container.sessions)
    assert queue.delete_for_records("other", ["account:ACME-001"]) == 0
    assert queue.delete_for_records("demo", ["account:ACME-001"]) == 1
    assert queue.get("demo", acme) is None and queue.get("demo", initech) is not None


@pytest.mark.integration
def test_queue_on_postgresql() -> None:
    import uuid

    from sqlalchemy import text

    from actions.base import ActionResponse, PromptRef
    from actions.summary import SummaryOutput
    from guardrails.verdicts import Decision, ReasonCode, ReviewFlag, Verdict
    from prompts.chat import Usage
    from service.db import create_schema, make_engine, make_sessions
    from service.reviews import ReviewDecision
    from tests.conftest import postgres_or_skip

    url = postgres_or_skip()
    schema = f"sidekick_reviews_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{url}?options=-csearch_path%3D{schema}")
    try:
        create_schema(engine)
        queue = ReviewQueue(make_sessions(engine))
        verdict = Verdict(guard="tone", decision=Decision.FLAG, reason=ReasonCode.UNPROFESSIONAL_TONE, message="rude")
        response = ActionResponse[SummaryOutput](
            id="req-1", action="summary", output=SummaryOutput(record="account:ACME-001", headline="h", key_facts=[],
                                                               open_questions=[], risks=[], next_steps=[]),
            citations=[], review_flags=[ReviewFlag(code=ReasonCode.UNPROFESSIONAL_TONE, message="rude", guard="tone")],
            verdicts=[verdict], prompt=PromptRef(name="summary", version=1), model="m", usage=Usage(), latency_ms=1.0)
        item = queue.enqueue(response, MARIA, "account:ACME-001", {"record": "account:ACME-001"})
        rows, total = queue.list_items(MARIA, status="pending", record="account:ACME-001")
        assert total == 1 and rows[0].verdicts[0]["reason"] == "unprofessional_tone"
        queue.decide("demo", item, "u-maria", ReviewDecision(decision="reject", comment="rude"))
        (row,) = queue.export_feedback("demo")
        assert row["reference"]["decision"] == "reject" and row["inputs"] == {"record": "account:ACME-001"}
        assert queue.delete_for_records("demo", ["account:ACME-001"]) == 1
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
