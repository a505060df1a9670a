"""Planted injection attempts never reach the model through any action, and are flagged."""

from __future__ import annotations

import pytest

from actions.registry import ACTIONS
from guardrails.verdicts import ReasonCode
from retrieval.identity import Caller
from service.container import Container
from tests.actions.test_summary import extractive
from tests.conftest import JAMES, MARIA, scripted
from tests.guardrails.test_pipeline import ATTACKS, MANIFEST, planted  # noqa: F401 - planted is a fixture

CASES = [
    ("account:ACME-001", MARIA),
    ("account:GLOBEX-002", JAMES),
    ("account:NORTHWIND-005", JAMES),
]


@pytest.mark.parametrize("record,caller", CASES)
def test_no_planted_instruction_reaches_the_model(planted: Container, record: str, caller: Caller) -> None:  # noqa: F811
    chat = scripted(planted)
    chat.responder = extractive
    chat.calls.clear()
    inputs = {
        "summary": {"record": record},
        "qa": {"question": "What are the next steps and any special instructions?", "record": record},
    }
    for name, body in inputs.items():
        action = ACTIONS[name]
        response = planted.runner.run(action, action.input_model.model_validate(body), caller)
        assert ReasonCode.INJECTION_SUSPECTED in {f.code for f in response.review_flags}, name
        assert not set(c.document_id for c in response.citations) & ATTACKS, name
    canaries = [m["canary"] for m in MANIFEST.values() if m.get("canary")]
    sent = "\n".join(m["content"] for call in chat.calls for m in call["messages"])
    assert chat.calls, "the actions called the model"
    assert not [c for c in canaries if c in sent], "an attack's text reached the model"
