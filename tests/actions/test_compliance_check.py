"""The compliance_check action on the demo corpus: rules from the tenant's policy, facts from
the record, the model's judgment kept in check, transcripts checked by document id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from actions.base import ActionContext
from actions.compliance_check import ComplianceCheckAction, ComplianceInput
from guardrails.verdicts import ReasonCode
from retrieval.identity import Caller
from service.container import Container
from tests.conftest import JAMES, scripted

ROWS = {row["id"]: row for row in map(json.loads, (Path(__file__).resolve().parents[2] / "eval" / "datasets" /
                                                   "demo_compliance.jsonl").read_text().splitlines())}


def check(container: Container, row: dict[str, Any] | None = None, **inputs: Any) -> Any:
    chat = scripted(container)
    if not chat._replies:
        chat.queue({"findings": []})
    who = Caller(tenant_id="demo", user_id=row["user"], teams=tuple(row["teams"])) if row else \
        JAMES
    values = dict(row["inputs"], record=row["record"]) if row else inputs
    return ComplianceCheckAction().run(ComplianceInput(**values), ActionContext(caller=who, env=container.action_env))


@pytest.mark.parametrize("row_id", ["cc-001", "cc-003", "cc-011", "cc-013", "cc-016", "cc-017", "cc-018", "cc-030"])
def test_rule_verdicts_match_the_labels(demo_container: Container, row_id: str) -> None:
    row = ROWS[row_id]
    response = check(demo_container, row)
    out = response.output
    violations = {(v.clause, v.span) for v in out.verdicts if v.verdict == "violation"}
    expected = {(v["clause"], v["span"]) for v in row["reference"]["verdicts"]}
    assert {c for c, _ in violations} == {c for c, _ in expected}
    for clause, span in violations:
        assert span and span in row["inputs"]["draft"]
        assert any(span in ref or ref in span for c, ref in expected if c == clause)
    assert out.compliant is row["reference"]["compliant"]
    passes = {v.clause for v in out.verdicts if v.verdict == "pass"}
    assert "4.3" in passes or "4.3" in {c for c, _ in violations}
    if violations:
        assert {f.code for f in response.review_flags} == {ReasonCode.POLICY_VIOLATION}
        assert response.citations and all(c.doc_type == "policy" for c in response.citations)


def test_the_model_adds_judgment_but_cannot_overrule_the_rules(demo_container: Container) -> None:
    row = ROWS["cc-018"]  # compliant: the approved HIPAA wording
    demo_container.chat.queue(json.dumps({"findings": [  # type: ignore[attr-defined]
        {"clause": "4.3", "verdict": "violation", "span": "Helio Fleet is not HIPAA certified", "evidence": "E1"},
        {"clause": "4.4", "verdict": "violation", "span": "our healthcare customers keep PHI out of the platform"},
        {"clause": "6.5", "verdict": "violation", "span": "words that are not in the draft"},
        {"clause": "9.9", "verdict": "violation", "span": "Hi Meera"},
    ]}))
    out = check(demo_container, row).output
    model = {v.clause: v for v in out.verdicts if v.source == "model"}
    assert set(model) == {"4.3", "4.4", "6.5"}  # 9.9 is no clause of the policy
    assert model["4.3"].verdict == "needs_review"  # the rules settled 4.3 as a pass
    assert model["4.4"].verdict == "violation" and model["4.4"].span == (
        "Our healthcare customers keep PHI out of the platform")  # located ignoring case, returned verbatim
    assert model["6.5"].verdict == "needs_review" and model["6.5"].span is None
    assert not out.compliant  # the model's 4.4 judgment stands
    prompt = demo_container.chat.calls[-1]["messages"][-1]["content"]  # type: ignore[attr-defined]
    assert "<draft>" in prompt and "4.3" in prompt.split("Automatic checks already applied")[1]


def test_a_call_transcript_is_checked_by_document_id(demo_container: Container) -> None:
    response = check(demo_container, record="document:file:transcripts/globex-discovery-2026-07-21.txt")
    out = response.output
    assert out.checked == "transcript" and out.text.startswith("[00:03] James Okafor")
    assert len(out.text) > 2000 and out.text.count("[00:03]") == 1  # chunks joined without their overlaps
    recording = [v for v in out.verdicts if v.clause == "5.3"]
    assert [v.verdict for v in recording] == ["pass"]  # "Before we start, I record these..."
    with pytest.raises(ValueError):
        ComplianceInput(record="account:ACME-001")  # neither a draft nor a document
