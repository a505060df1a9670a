"""The qa action on the demo corpus: citations mapped to chunks, "Not found in the sources.",
permissions, and no model call without evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actions.base import ActionContext
from actions.qa import NOT_FOUND, QAAction, QAInput
from guardrails.verdicts import ReasonCode
from prompts.chat import ChatMessage
from retrieval.filters import admin_filter
from retrieval.identity import Caller
from service.container import Container
from tests.actions.test_summary import evidence_blocks
from tests.conftest import JAMES, MARIA, PRIYA, scripted


def quoting(keyword: str):  # type: ignore[no-untyped-def]
    """A responder that answers with the evidence line holding ``keyword``, cited, or says not found."""

    def respond(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        for label, text in evidence_blocks(messages).items():
            for line in text.splitlines():
                if keyword.lower() in line.lower():
                    return f"{line.strip()} [{label}]"
        return NOT_FOUND

    return respond


def ask(container: Container, question: str, caller: Caller = PRIYA, **extra: Any) -> Any:
    ctx = ActionContext(caller=caller, env=container.action_env)
    return QAAction().run(QAInput(question=question, **extra), ctx)


def test_answer_cites_the_chunk_it_quotes(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = quoting("requests per minute")
    response = ask(demo_container, "What is the API rate limit on the Enterprise tier?")
    out = response.output
    assert out.answerable and "requests per minute" in out.answer
    assert len(out.sources) == 1 and out.sources[0].label in out.answer
    cited = response.citations[0]
    assert cited.chunk_id == out.sources[0].chunk_id
    chunks = dict(demo_container.store.scroll(admin_filter("demo", document_id=cited.document_id)))
    assert "requests per minute" in chunks[cited.chunk_id].text.lower()
    assert response.review_flags == []  # the quote supports itself
    prompt = chat.calls[-1]["messages"][-1]["content"]
    assert "Not found in the sources." in prompt and prompt.rstrip().endswith("Not found in the sources.")


def test_not_found_is_exact_and_unanswerable(demo_container: Container) -> None:
    scripted(demo_container).responder = lambda m, s: "not found in the sources"
    out = ask(demo_container, "Does Helio support IP allowlisting for API access?").output
    assert out.answer == NOT_FOUND and out.answerable is False and out.sources == []


def test_uncited_and_unknown_labels_are_flagged(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.queue("Growth costs $59 per vehicle per month.", "Growth costs $59 per vehicle per month [E99].")
    first = ask(demo_container, "How much does the Growth tier cost?")
    assert [f.code for f in first.review_flags] == [ReasonCode.UNCITED_CLAIM]
    second = ask(demo_container, "What does Growth cost per vehicle?")  # another question: not a cache hit
    assert ReasonCode.UNKNOWN_CITATION in {f.code for f in second.review_flags}
    assert second.output.sources == []


def test_records_the_caller_may_not_see_are_never_evidence(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = quoting("approved")
    ask(demo_container, "What discount did Acme Logistics get on its fleet-wide deal?", JAMES)
    prompt = chat.calls[-1]["messages"][-1]["content"]
    assert "ACME-001" not in prompt and "$325,620" not in prompt  # Acme is t-enterprise's, James is midmarket
    maria = MARIA
    answer = ask(demo_container, "What discount did Acme get?", maria, record="opportunity:OPP-1001").output
    assert answer.answerable and "approved" in answer.answer.lower()


def test_no_evidence_means_no_model_call(container: Container) -> None:
    chat = scripted(container)
    response = ask(container, "Anything at all?")  # an empty tenant
    assert response.output.answer == NOT_FOUND and chat.calls == []
    assert [f.code for f in response.review_flags] == [ReasonCode.NO_EVIDENCE]
