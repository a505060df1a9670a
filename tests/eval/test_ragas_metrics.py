"""ragas metrics with our chat model and embedder as the judge, and the non-LLM ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from eval.metrics.ragas_metrics import ChatModelJudge, JudgeFailed, RagasSample, RagasScorer
from prompts.chat import ChatMessage, LlamaCppChatModel
from prompts.local_model import MODEL_NAME, assemble_packaged_model, packaged_model_available
from prompts.scripted import ScriptedChatModel
from retrieval.embedder import SentenceTransformerEmbedder

PRICING = "Growth costs $59 per vehicle per month on annual billing. Enterprise costs $79 per vehicle per month."
REFERENCE = ["Growth costs $59 per vehicle per month on annual billing.", "The API limit is 3,000 requests a minute."]


def test_non_llm_context_metrics_rank_relevant_contexts_above_noise() -> None:
    scorer = RagasScorer()
    good = scorer.score(RagasSample("q", "a", contexts=[REFERENCE[0], "Unrelated text about trucks in Ohio."],
                                    reference_contexts=REFERENCE))
    noise = scorer.score(RagasSample("q", "a", contexts=["Pasta recipes.", "Unrelated text about trucks in Ohio."],
                                     reference_contexts=REFERENCE))
    late = scorer.score(RagasSample("q", "a", contexts=["Pasta recipes.", REFERENCE[0]], reference_contexts=REFERENCE))
    assert good.values == {"context_precision_nonllm": 1.0, "context_recall_nonllm": 0.5}
    assert noise.values == {"context_precision_nonllm": 0.0, "context_recall_nonllm": 0.0}
    assert late.values["context_precision_nonllm"] == pytest.approx(0.5)  # right context, ranked second
    assert not scorer.judged
    assert scorer.score(RagasSample("q", "a", contexts=["x"])).values == {}  # no reference contexts, no metric


def scripted_judge(verdicts: list[int]) -> ScriptedChatModel:
    """Answers ragas's two faithfulness prompts: statements, then one verdict per statement."""

    def respond(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
        props = (schema or {}).get("properties", {})
        items = props.get("statements", {}).get("items", {})
        if items.get("type") == "string":  # statement generation
            return json.dumps({"statements": [f"statement {i}" for i in range(len(verdicts))]})
        return json.dumps({"statements": [{"statement": f"statement {i}", "reason": "r", "verdict": v}
                                          for i, v in enumerate(verdicts)]})

    return ScriptedChatModel(responder=respond)


def test_faithfulness_is_the_share_of_statements_the_judge_supports() -> None:
    sample = RagasSample("What does Growth cost?", "Growth costs $59. It has SSO.", contexts=[PRICING])
    supported = RagasScorer(scripted_judge([1, 1])).score(sample)
    half = RagasScorer(scripted_judge([1, 0])).score(sample)
    assert supported.values["faithfulness"] == 1.0
    assert half.values["faithfulness"] == 0.5
    # no reference: the reference-based judge metrics are not attempted
    assert "context_recall" not in half.values and "context_precision" not in half.values


def test_a_judge_reply_that_does_not_parse_fails_one_metric_not_the_run() -> None:
    chat = ScriptedChatModel(responder=lambda messages, schema: "not json")
    judge = ChatModelJudge(chat, retries=1)
    from ragas.metrics.collections.faithfulness.util import StatementGeneratorOutput

    with pytest.raises(JudgeFailed):
        judge.generate("prompt", StatementGeneratorOutput)
    assert judge.calls == 2 and len(chat.calls) == 2
    scores = RagasScorer(chat).score(RagasSample("q", "an answer", contexts=[PRICING], reference_contexts=[PRICING]))
    assert scores.values["faithfulness"] is None and "JudgeFailed" in scores.errors["faithfulness"]
    assert scores.values["context_precision_nonllm"] == 1.0


def test_answer_relevancy_compares_the_judges_question_with_ours_in_embedding_space(
        embedder: SentenceTransformerEmbedder) -> None:
    def judge(question: str, noncommittal: int = 0) -> ScriptedChatModel:
        return ScriptedChatModel(responder=lambda m, s: json.dumps({"question": question,
                                                                      "noncommittal": noncommittal}))

    sample = RagasSample("How much does the Growth tier cost?", "Growth costs $59 per vehicle per month.",
                         contexts=[PRICING])
    same = RagasScorer(judge("What does the Growth tier cost?"), embedder).score(sample)
    other = RagasScorer(judge("Which city hosts the EU data centre?"), embedder).score(sample)
    evasive = RagasScorer(judge("What does the Growth tier cost?", 1), embedder).score(sample)
    assert (same.values["answer_relevancy"] or 0) > 0.8 > 0.4 > (other.values["answer_relevancy"] or 0)
    assert evasive.values["answer_relevancy"] == 0.0  # a noncommittal answer scores nothing


@pytest.mark.slow
def test_the_local_model_judges_a_faithful_answer_above_an_invented_one(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    if not packaged_model_available():
        pytest.fail("the packaged model is part of the test install ('local' extra) but is missing")
    path = assemble_packaged_model(tmp_path_factory.getbasetemp().parent / "sidekick-models")
    judge = LlamaCppChatModel(path, name=MODEL_NAME, context_tokens=4096, threads=2)
    scorer = RagasScorer(judge, judge_max_tokens=300)  # faithfulness only: 2 judge calls a sample
    question = "How much does the Growth tier cost?"
    # each call takes ~20-90 s on two shared cores
    faithful = scorer.score(RagasSample(question, "Growth costs $59 per vehicle per month.", contexts=[PRICING]))
    invented = scorer.score(RagasSample(
        question, "Growth is free for the first 5 years and includes a free truck.", contexts=[PRICING]))
    assert faithful.values["faithfulness"] is not None and invented.values["faithfulness"] is not None, (
        faithful.errors, invented.errors)
    assert faithful.values["faithfulness"] > invented.values["faithfulness"]
    assert scorer.judge is not None and scorer.judge.usage.completion_tokens > 0 and scorer.judge.calls == 4
