"""Data-subject rights on the demo corpus: export, erasure (contact and account), consent."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from actions.cache import ActionCacheRow
from ingest.db import CrmRecordRow, DocumentRow, ErasedSubjectRow
from prompts.chat import ChatMessage
from retrieval.filters import admin_filter
from retrieval.models import Chunk
from retrieval.records import StoredRecord
from service.audit import AuditRow
from service.container import Container
from service.reviews import ReviewItemRow
from service.subjects import Subject, build_redactor
from tests.actions.test_summary import extractive
from tests.conftest import DEMO_CORPUS, auth_headers, scripted
from tests.service.test_trust_routes import ACTION_INPUTS

# Dana Whitfield (C-101, VP Operations at Acme) as she appears in the corpus.
STRONG = re.compile(r"Dana\s+Whitfield|dana\.whitfield@acme-logistics\.com|614-555-0142|(?<![\w-])C-101(?![\w-])", re.I)
LOCAL = re.compile(r"\bDana\b|\bWhitfield\b")
PERSONAL = re.compile(r"\bDana\b|Whitfield|dana\.whitfield|614-555-0142")


def names_dana(chunk: Chunk) -> bool:
    blob = " ".join([chunk.text, chunk.title, chunk.speaker or "", *chunk.speakers, *chunk.section])
    return bool(STRONG.search(blob) or (chunk.account_id == "ACME-001" and LOCAL.search(blob)))


def reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """Cites evidence for a summary; a minimal reply otherwise (the prompt is what is checked)."""
    if schema is not None and "key_facts" in schema.get("properties", {}):
        return extractive(messages, schema)
    return "{}" if schema is not None else "Thanks for your time."


def test_redactor_rules() -> None:
    dana = StoredRecord(kind="contact", id="C-1", name="Dana Whitfield", account_id="A-1",
                        fields={"first_name": "Dana", "last_name": "Whitfield", "email": "dana.w@x.com",
                                "phone": "+1 614-555-0142"})
    other = StoredRecord(kind="contact", id="C-2", name="Dana Cole", account_id="A-1",
                         fields={"first_name": "Dana", "last_name": "Cole"})
    redactor = build_redactor(Subject("contact", "C-1"), [dana], [dana, other])
    assert redactor.sub("Call (614) 555 0142, +1.614.555.0142 or mail DANA.W@X.COM", "B-9") == (
        "Call [erased], [erased] or mail [erased]")
    assert redactor.sub("dana  whitfield and C-1 (not C-10)", None) == "[erased] and [erased] (not C-10)"
    assert redactor.sub("Whitfield said so", "A-1") == "[erased] said so"  # unique in her account
    assert redactor.sub("Dana said so", "A-1") == "Dana said so"  # Dana Cole is there too: ambiguous
    assert redactor.sub("Whitfield said so", "B-9") == "Whitfield said so"  # elsewhere, a bare surname is not her
    assert redactor.sub("the whitfield file", "A-1") == "the whitfield file"  # names alone are case-sensitive


@pytest.fixture
def app_container(demo_container: Container) -> Container:
    """The demo stack, its scripted model answering with ``reply``."""
    chat = scripted(demo_container)
    chat.responder = reply
    return demo_container


def points(container: Container) -> dict[str, Chunk]:
    return dict(container.store.scroll(admin_filter("demo")))


def search_texts(client: TestClient, headers: dict[str, str], query: str, **body: Any) -> list[dict[str, Any]]:
    response = client.post("/v1/search", json={"query": query, "top_k": 30, **body}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["hits"]  # type: ignore[no-any-return]


def add_review_item(container: Container, item_id: str, record: str, request_id: str) -> None:
    with container.sessions() as session:
        session.add(ReviewItemRow(id=item_id, tenant_id="demo", action="summary", request_id=request_id,
                                  record=record, user_id="u-maria", output={"headline": "flagged"}))
        session.commit()


def test_export_returns_everything_about_a_contact(client: TestClient, demo_container: Container) -> None:
    maria = auth_headers(demo_container)
    admin = auth_headers(demo_container, role="admin", user="u-lena")
    searched = search_texts(client, maria, "Dana Whitfield VP Operations", record="contact:C-101")
    add_review_item(demo_container, "r-1", "contact:C-101", "req-x")
    response = client.get("/v1/subjects/C-101/export", headers=admin)
    assert response.status_code == 200, response.text
    export = response.json()
    assert export["subject"] == {"kind": "contact", "id": "C-101"}
    assert export["records"][0]["fields"]["email"] == "dana.whitfield@acme-logistics.com"
    with demo_container.sessions() as session:
        linked = {d.document_id for d in session.scalars(select(DocumentRow)) if "C-101" in d.contact_ids}
    assert {d["document_id"] for d in export["documents"]} == linked
    assert all(d["chunks"] and d["chunks"][0]["text"] for d in export["documents"])
    assert {m["document_id"] for m in export["mentions"]} >= {"note:N-001", "activity:A-004"}
    searched_ids = {h["chunk_id"] for h in searched}
    assert any(searched_ids & set(row["chunk_ids"]) for row in export["audit"] if row["event"] == "search")
    assert [r["id"] for r in export["review_items"]] == ["r-1"]
    with demo_container.sessions() as session:
        row = session.scalars(select(AuditRow).where(AuditRow.event == "subject:export")).one()
    assert row.record == "contact:C-101" and row.user_id == "u-lena"
    # the export is tenant-bound and the id must name a subject
    rival = auth_headers(demo_container, tenant="rival", role="admin")
    assert client.get("/v1/subjects/C-101/export", headers=rival).status_code == 404
    assert client.get("/v1/subjects/C-999/export", headers=admin).status_code == 404


def test_erasing_a_contact_leaves_nothing_of_them(client: TestClient, demo_container: Container) -> None:
    maria = auth_headers(demo_container)
    lena = auth_headers(demo_container, user="u-lena", teams=("t-enterprise", "t-midmarket"))
    admin = auth_headers(demo_container, role="admin", user="u-admin")
    chat = scripted(demo_container)

    # Before: Dana is findable, a summary reads her chunks, a review item and a cached reply exist.
    assert any(PERSONAL.search(h["text"]) for h in search_texts(client, maria, "Dana Whitfield VP Operations"))
    summary = client.post("/v1/actions/summary", json={"record": "account:ACME-001"}, headers=maria)
    assert summary.status_code == 200, summary.text
    add_review_item(demo_container, "r-acme", "account:ACME-001", summary.json()["id"])
    add_review_item(demo_container, "r-globex", "account:GLOBEX-002", "req-globex")
    with demo_container.sessions() as session:  # the action runner itself queues a flagged summary
        built_on_her = [r.id for r in session.scalars(select(ReviewItemRow))
                        if r.request_id == summary.json()["id"]]
    assert "r-acme" in built_on_her
    before = points(demo_container)
    with demo_container.sessions() as session:
        linked_docs = {d.document_id: d.chunk_count for d in session.scalars(select(DocumentRow))
                       if "C-101" in d.contact_ids}
        cached_before = session.scalars(select(ActionCacheRow)).all()
    erased_ids = {cid for cid, c in before.items() if c.document_id in linked_docs}
    expected_redacted = {cid for cid, c in before.items() if c.document_id not in linked_docs and names_dana(c)}
    assert set(summary.json()["retrieved_chunk_ids"]) & erased_ids, "the summary read Dana's chunks"
    assert len(expected_redacted) >= 6 and cached_before

    response = client.delete("/v1/subjects/C-101", headers=admin)
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts["documents"] == len(linked_docs) == 10
    assert counts["chunks"] == len(erased_ids) == sum(linked_docs.values())
    assert counts["records"] == 1 and counts["review_items"] == len(built_on_her)
    assert counts["chunks_redacted"] == len(expected_redacted)
    assert counts["audit_tombstoned"] >= 2 and counts["cached_replies"] >= 1
    token = counts["subject"]
    assert token.startswith("erased:")

    # The vector store: Dana's documents are gone, mentions elsewhere redacted, the rest identical.
    after = points(demo_container)
    assert set(after) == set(before) - erased_ids
    for cid, chunk in after.items():
        assert not PERSONAL.search(chunk.model_dump_json()), (chunk.document_id, chunk.text[:200])
        assert "C-101" not in chunk.contact_ids
        if cid in expected_redacted:
            assert "[erased]" in chunk.text + chunk.title and chunk.document_id == before[cid].document_id
        else:
            assert chunk == before[cid], f"{chunk.document_id} was changed but does not name the subject"

    # SQL: record and documents gone; other records untouched; one review item deleted, the other kept.
    with demo_container.sessions() as session:
        assert session.get(CrmRecordRow, ("demo", "contact", "C-101")) is None
        assert session.get(CrmRecordRow, ("demo", "contact", "C-102")).consent  # type: ignore[union-attr]
        assert not [d for d in session.scalars(select(DocumentRow)) if d.document_id in linked_docs]
        assert [r.id for r in session.scalars(select(ReviewItemRow))] == ["r-globex"]
        assert not [r for r in session.scalars(select(ActionCacheRow)) if set(r.chunk_ids) & erased_ids]
        audit = session.scalars(select(AuditRow).where(AuditRow.tenant_id == "demo").order_by(AuditRow.id)).all()
    # The audit trail keeps every row, with no trace of the subject's identity.
    dump = json.dumps([{c: getattr(r, c) for c in ("user_id", "record", "chunk_ids", "detail", "verdicts")}
                       for r in audit])
    assert not PERSONAL.search(dump) and "C-101" not in dump
    assert not erased_ids & {c for r in audit for c in r.chunk_ids}
    summary_row = next(r for r in audit if r.request_id == summary.json()["id"])
    assert summary_row.tombstoned_at and summary_row.user_id == "u-maria" and summary_row.output_hash
    assert any(c.startswith("erased:") for c in summary_row.chunk_ids)
    assert audit[-1].event == "subject:erase" and audit[-1].record == token

    # Searches and every action afterwards find nothing of her, whoever asks and why.
    chat.calls.clear()
    for headers in (maria, lena):
        for purpose in ("sales_insights", "sales_outreach"):
            for query in ("Dana Whitfield", "dana.whitfield@acme-logistics.com", "VP Operations Acme decision",
                          "Dana wants one platform", "614-555-0142"):
                for hit in search_texts(client, headers, query, purpose=purpose):
                    assert not PERSONAL.search(hit["text"] + json.dumps(hit["citation"])), hit["text"][:200]
                    assert hit["citation"]["document_id"] not in linked_docs
    for name, body in [*ACTION_INPUTS.items(), ("summary", {"record": "contact:C-101"})]:
        result = client.post(f"/v1/actions/{name}", json=body, headers=maria)
        assert result.status_code in (200, 502), (name, result.text[:300])
        assert not PERSONAL.search(result.text), (name, result.text[:300])
    prompts = json.dumps([c["messages"] for c in chat.calls])
    assert chat.calls and not PERSONAL.search(prompts)
    assert client.get("/v1/records/contact:C-101", headers=maria).status_code == 404
    assert client.get("/v1/subjects/C-101/export", headers=admin).status_code == 404
    assert client.delete("/v1/subjects/C-101", headers=admin).status_code == 404

    # Another subject is untouched: Raj (C-102) is still found.
    assert any("Raj" in h["text"] for h in search_texts(client, maria, "Raj Patel fleet manager pilot"))


def test_erasing_an_account_removes_everything_with_its_id(client: TestClient, demo_container: Container) -> None:
    james = auth_headers(demo_container, user="u-james", teams=("t-midmarket",))
    admin = auth_headers(demo_container, role="admin")
    before = points(demo_container)
    with demo_container.sessions() as session:
        docs = {d.document_id: d.chunk_count for d in session.scalars(select(DocumentRow))
                if d.account_id == "NORTHWIND-005"}
    globex = {cid: c for cid, c in before.items() if c.account_id == "GLOBEX-002"}
    assert any("Northwind" in h["text"] for h in search_texts(client, james, "Northwind Couriers onboarding"))

    counts = client.delete("/v1/subjects/account:NORTHWIND-005", headers=admin).json()
    assert counts["records"] == 6  # the account, 2 opportunities, 3 contacts
    assert counts["documents"] == len(docs) and counts["chunks"] == sum(docs.values())
    after = points(demo_container)
    assert not [c for c in after.values() if c.account_id == "NORTHWIND-005" or "Northwind" in c.model_dump_json()]
    assert {cid: c for cid, c in after.items() if c.account_id == "GLOBEX-002"} == globex
    with demo_container.sessions() as session:
        left = session.scalars(select(CrmRecordRow).where(CrmRecordRow.account_id == "NORTHWIND-005")).all()
    assert not left
    for hit in search_texts(client, james, "Northwind Couriers onboarding Olivia Grant"):
        assert "Northwind" not in hit["text"] and "Olivia Grant" not in hit["text"]


def test_an_erased_subject_does_not_come_back_with_the_next_sync(client: TestClient,
                                                                demo_container: Container) -> None:
    """The suppression list: re-ingesting the whole demo corpus after erasing a contact and
    an account stores none of their records or linked documents again, and the documents
    that only mentioned them stay redacted (unchanged sources are skipped)."""
    admin = auth_headers(demo_container, role="admin")
    assert client.delete("/v1/subjects/contact:C-101", headers=admin).status_code == 200
    assert client.delete("/v1/subjects/account:NORTHWIND-005", headers=admin).status_code == 200
    with demo_container.sessions() as session:
        assert "C-101" not in json.dumps([r.key for r in session.scalars(select(ErasedSubjectRow))])  # hashed

    report = demo_container.ingestor.ingest_paths("demo", [DEMO_CORPUS], root=DEMO_CORPUS)
    suppressed = {i.document_id for i in report.items if i.status == "suppressed"}
    assert {"contact:C-101", "account:NORTHWIND-005", "contact:C-501"} <= suppressed
    assert report.count("added") == report.count("updated") == report.count("failed") == 0
    after = points(demo_container).values()
    assert not [c for c in after if "C-101" in c.contact_ids or names_dana(c)]
    assert not [c for c in after if c.account_id == "NORTHWIND-005" or "Northwind" in c.model_dump_json()]
    with demo_container.sessions() as session:
        crm = session.scalars(select(CrmRecordRow)).all()
    assert not [r for r in crm if r.record_id == "C-101" or "NORTHWIND-005" in (r.record_id, r.account_id)]

    # Lifting the suppression (the company became a customer again) lets the next sync store it.
    assert demo_container.ingestor.lift_suppression("demo", "account", "NORTHWIND-005")
    again = demo_container.ingestor.ingest_paths("demo", [DEMO_CORPUS], root=DEMO_CORPUS)
    assert again.count("added") > 0 and "account:NORTHWIND-005" not in {
        i.document_id for i in again.items if i.status == "suppressed"}


def test_an_id_naming_two_kinds_must_be_qualified(client: TestClient, demo_container: Container) -> None:
    with demo_container.sessions() as session:
        session.add(CrmRecordRow(tenant_id="demo", kind="account", record_id="C-101", name="Twin"))
        session.commit()
    admin = auth_headers(demo_container, role="admin")
    response = client.delete("/v1/subjects/C-101", headers=admin)
    assert response.status_code == 409 and response.json()["type"].endswith("/conflict")
    assert len(points(demo_container)) == 289
    assert client.get("/v1/subjects/contact:C-101/export", headers=admin).status_code == 200


def test_consent_withdrawal_takes_effect_on_the_next_call(client: TestClient, demo_container: Container) -> None:
    maria = auth_headers(demo_container)  # u-maria owns C-101
    james = auth_headers(demo_container, user="u-james", teams=("t-midmarket",))
    evaluator = auth_headers(demo_container, role="evaluator")
    admin = auth_headers(demo_container, role="admin")
    outreach = {"record": "contact:C-101", "purpose": "sales_outreach"}

    assert search_texts(client, maria, "Dana Whitfield follow up", **outreach)
    assert client.get("/v1/contacts/C-101/consent", headers=maria).json()["purposes"] == [
        "sales_insights", "sales_outreach"]
    for headers in (james, evaluator):
        refused = client.put("/v1/contacts/C-101/consent", json={"purposes": []}, headers=headers)
        assert refused.status_code == 403
    assert client.put("/v1/contacts/C-101/consent", json={"purposes": ["spam"]}, headers=maria).status_code == 422
    assert client.put("/v1/contacts/C-999/consent", json={"purposes": []}, headers=admin).status_code == 404

    withdrawn = client.put("/v1/contacts/C-101/consent", json={"purposes": ["sales_insights"]}, headers=maria)
    assert withdrawn.status_code == 200
    assert withdrawn.json() == {"contact_id": "C-101", "purposes": ["sales_insights"],
                                "previous": ["sales_insights", "sales_outreach"]}
    assert search_texts(client, maria, "Dana Whitfield follow up", **outreach) == []
    assert search_texts(client, maria, "Dana Whitfield follow up", record="contact:C-101")  # insights still allowed
    draft = client.post("/v1/actions/email_draft", json={"contact_id": "C-101"}, headers=maria)
    assert draft.status_code == 200, draft.text
    assert draft.json()["retrieved_chunk_ids"] == [] and draft.json()["output"]["refused"]

    restored = client.put("/v1/contacts/C-101/consent", json={"purposes": ["sales_outreach", "sales_insights"]},
                          headers=admin)
    assert restored.status_code == 200
    assert search_texts(client, maria, "Dana Whitfield follow up", **outreach)
    with demo_container.sessions() as session:
        rows = session.scalars(select(AuditRow).where(AuditRow.event == "consent:update")).all()
    assert [(r.record, r.user_id) for r in rows][:1] == [("contact:C-101", "u-maria")] and len(rows) == 2
