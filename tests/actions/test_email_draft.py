"""The email_draft action: outreach consent, subject/body parsing, placeholders, policy flags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actions.base import ActionContext
from actions.email_draft import EmailDraftAction, EmailDraftInput, split_email, unsupported_figures
from guardrails.verdicts import ReasonCode
from prompts.chat import ChatMessage
from retrieval.identity import Caller
from service.container import Container
from tests.conftest import JAMES, MARIA, TOM, scripted


def draft(container: Container, caller: Caller = JAMES, **inputs: Any) -> Any:
    ctx = ActionContext(caller=caller, env=container.action_env)
    return EmailDraftAction().run(EmailDraftInput(**inputs), ctx)


def test_contact_without_outreach_consent_is_refused_without_a_model_call(demo_container: Container) -> None:
    chat = scripted(demo_container)
    for contact, caller in (("C-203", JAMES), ("C-304", MARIA)):  # withdrew outreach / never consented
        response = draft(demo_container, caller, contact_id=contact, record="opportunity:OPP-1003")
        assert response.output.refused and response.output.body == "" and response.output.refusal_reason
        assert [f.code for f in response.review_flags] == [ReasonCode.NO_EVIDENCE]
    assert chat.calls == []


def test_draft_is_parsed_and_checked_against_policy_and_evidence(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.queue(
        "Subject: Next steps after our pricing call\n\n"
        "Hi Marcus,\n\nThanks for the call. I'll come back to you by October 1 on the 30% request. "
        "Helio Fleet is guaranteed to cut your costs, and we can meet on [MEETING DATE] to review "
        "a price of $97,000 per year.\n\n[YOUR NAME]"
    )
    response = draft(demo_container, contact_id="C-204", record="opportunity:OPP-1003", tone="formal",
                     length="short", context="after the 2026-09-24 pricing call")
    out = response.output
    assert out.subject == "Next steps after our pricing call" and out.body.startswith("Hi Marcus,")
    assert out.placeholders == ["[MEETING DATE]", "[YOUR NAME]"] and not out.refused
    messages: Sequence[ChatMessage] = chat.calls[-1]["messages"]
    assert "Marcus Brandt" in messages[-1]["content"] and "formal" in messages[-1]["content"]
    assert chat.calls[-1]["max_tokens"] == 220  # the short length's limit, below the prompt's 600
    policy = {f.message.split(":")[0] for f in response.review_flags if f.code == ReasonCode.POLICY_VIOLATION}
    assert {"policy 4.1", "policy 5.1"} <= policy  # "guaranteed"; a price without "Pricing valid for 30 days."
    grounding = [f.message for f in response.review_flags if f.code == ReasonCode.LOW_GROUNDING]
    assert grounding and "$97,000" in grounding[0] and "October 1" not in grounding[0]
    assert response.citations and all(c.document_id for c in response.citations)
    assert "Hannah" not in messages[-1]["content"].split("Evidence:")[1]  # her chunks are outreach-blocked


def test_quiet_period_allows_only_the_designated_procurement_contact(demo_container: Container) -> None:
    """Umbrella's RFP is in its quiet period: a draft to Patricia is refused before the model
    runs, citing the note that says so; a draft to Derek Hall, the designated contact, is written."""
    chat = scripted(demo_container)
    refused = draft(demo_container, TOM, contact_id="C-401", record="opportunity:OPP-1006")
    out = refused.output
    assert out.refused and out.body == "" and chat.calls == []
    assert out.refusal_reason and "quiet period" in out.refusal_reason and "Derek Hall" in out.refusal_reason
    (flag,) = refused.review_flags
    assert flag.code == ReasonCode.POLICY_VIOLATION
    assert "note:N-033" in {c.document_id for c in refused.citations}  # "Single point of contact: Derek Hall"

    chat.queue("Subject: RFP PW-2026-114 question\n\nHi Derek,\n\nA question on the submission portal.\n\nTom")
    allowed = draft(demo_container, TOM, contact_id="C-402", record="opportunity:OPP-1006")
    assert not allowed.output.refused and allowed.output.body.startswith("Hi Derek") and len(chat.calls) == 1


def test_email_helpers() -> None:
    assert split_email("**Subject:** Hello\n\nBody text") == ("Hello", "Body text")
    assert split_email("No subject line here") == ("[SUBJECT]", "No subject line here")
    evidence = ["Pilot review 2026-10-06 10:00 PT; budget cap $140,000; 30% requested"]
    assert unsupported_figures("See you October 6 about the $140,000 cap and 30%.", evidence) == []
    assert unsupported_figures("See you October 7, budget $150k, 25% off.", evidence) == [
        "$150k", "25%", "October 7"]
