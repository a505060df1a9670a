"""The summary action on the ingested demo corpus, with a scripted chat model."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from actions.base import ActionContext
from actions.summary import MAX_LABELS, SECTIONS, SummaryAction, SummaryInput
from guardrails.verdicts import ReasonCode
from prompts.chat import ChatMessage
from retrieval.identity import Caller
from service.container import Container
from tests.conftest import MARIA, TOM, scripted

EVIDENCE = re.compile(r'<evidence id="(E\d+)"[^>]*>\n(.*?)\n</evidence>', re.S)


def evidence_blocks(messages: Sequence[ChatMessage]) -> dict[str, str]:
    return dict(EVIDENCE.findall(messages[-1]["content"]))


def extractive(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """Quotes the first line of each evidence block and cites it, plus one invented claim."""
    blocks = evidence_blocks(messages)
    facts = [{"text": text.splitlines()[-1][:160], "evidence": [label]} for label, text in list(blocks.items())[:3]]
    invented = {
        "text": "The customer signed a 5-year deal worth 9 million euros with Zeppelin Air.",
        "evidence": ["E1"],
    }
    return json.dumps(
        {
            "headline": "Deal in progress.",
            "key_facts": facts,
            "open_questions": [],
            "risks": [invented],
            "next_steps": [{"text": "Send the proposal", "evidence": ["E99"]}],
        }
    )


def run(container: Container, record: str, caller: Caller = MARIA) -> Any:
    ctx = ActionContext(caller=caller, env=container.action_env)
    return SummaryAction().run(SummaryInput(record=record), ctx)


def test_summary_cites_retrieved_chunks_of_the_record(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = extractive
    response = run(demo_container, "account:ACME-001")
    assert response.output.key_facts, "facts quoted from the evidence are kept"
    cited = {c.chunk_id: c for c in response.citations}
    for bullet in response.output.key_facts:
        assert bullet.citations and all(cid in cited for cid in bullet.citations)
        assert bullet.support >= 0.5
    assert all(c.document_id for c in response.citations)
    # every citation belongs to the account asked for
    chunks = {
        cid: c
        for cid, c in demo_container.store.scroll(
            __import__("retrieval.filters", fromlist=["x"]).admin_filter("demo", account_id="ACME-001")
        )
    }
    assert set(cited) <= set(chunks)
    # the prompt fenced the evidence as data and named the record
    prompt = chat.calls[-1]["messages"]
    assert "Acme Logistics" in prompt[-1]["content"]
    assert '<evidence id="E1"' in prompt[-1]["content"]


def test_unsupported_and_unknown_citations_are_flagged(demo_container: Container) -> None:
    scripted(demo_container).responder = extractive
    response = run(demo_container, "account:ACME-001")
    codes = {f.code for f in response.review_flags}
    assert ReasonCode.LOW_GROUNDING in codes  # the invented deal
    assert ReasonCode.UNKNOWN_CITATION in codes  # E99 was never retrieved
    assert ReasonCode.UNCITED_CLAIM in codes  # ...so that step cites nothing real


def test_record_outside_the_callers_acl_gives_no_evidence_and_no_model_call(demo_container: Container) -> None:
    chat = scripted(demo_container)
    response = run(demo_container, "account:UMBRELLA-004")
    assert response.output.key_facts == []
    assert [f.code for f in response.review_flags] == [ReasonCode.NO_EVIDENCE]
    assert chat.calls == []
    tom = TOM
    chat.responder = extractive
    assert run(demo_container, "account:UMBRELLA-004", tom).citations


def test_the_model_is_held_to_max_bullets_by_the_schema(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = extractive
    ctx = ActionContext(caller=MARIA, env=demo_container.action_env)
    SummaryAction().run(SummaryInput(record="account:ACME-001", max_bullets=2), ctx)
    schema = chat.calls[-1]["json_schema"]
    assert all(schema["properties"][s]["maxItems"] == 2 for s in SECTIONS)
    assert schema["$defs"]["_DraftBullet"]["properties"]["evidence"]["maxItems"] == MAX_LABELS
