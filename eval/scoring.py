"""Per-case scoring: a text view of each action's output, then task, retrieval, cost and
ragas metrics. Task scorers are looked up by action name, so an action without one still
gets retrieval, cost and ragas metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from eval.metrics import structured, text
from eval.metrics.retrieval import ranked_units, retrieval_scores
from eval.schema import GoldenCase

META_KEYS = frozenset({"record", "citations", "evidence", "chunk_id", "chunk_ids", "support", "id", "ids",
                       "labels", "confidence", "review_flags", "span", "clause", "verdict", "name", "type"})
QUESTION_KEYS = ("question", "query", "focus", "context", "draft")

Metrics = dict[str, float | None]
Counted = dict[str, dict[str, int]]


def flatten_text(value: Any, skip: frozenset[str] = META_KEYS) -> list[str]:
    """Every string leaf of a JSON value, in order, except under bookkeeping keys."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Mapping):
        return [t for k, v in value.items() if k not in skip for t in flatten_text(v, skip)]
    if isinstance(value, list):
        return [t for v in value for t in flatten_text(v, skip)]
    return []


def answer_text(action: str, output: Mapping[str, Any]) -> str:
    """The prose of an output, as a reader (and ROUGE, and the ragas judge) sees it."""
    if action == "qa" and ("answer" in output):
        return str(output.get("answer") or "")
    if action == "email_draft" and "body" in output:
        return "\n".join(str(output[k]) for k in ("subject", "body") if output.get(k))
    return "\n".join(flatten_text(output))


def case_question(case: GoldenCase) -> str:
    """What the case asks, for reports and as ragas's ``user_input``."""
    for key in QUESTION_KEYS:
        value = case.inputs.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    query = case.reference.get("query")
    if isinstance(query, str) and query:
        return query
    what = case.record or "the records in scope"
    return f"{case.action.replace('_', ' ')} for {what}"


def reference_text(case: GoldenCase) -> str | None:
    answer = case.reference.get("answer")
    return answer if isinstance(answer, str) and answer.strip() else None


# -- task scorers ---------------------------------------------------------------------------


def score_summary(case: GoldenCase, output: Mapping[str, Any], answer: str) -> tuple[Metrics, Counted]:
    metrics: Metrics = {}
    if ref := reference_text(case):
        metrics["rouge_l"] = text.rouge_l(answer, ref)
    facts = case.reference.get("key_facts")
    if isinstance(facts, list) and facts:
        metrics["key_fact_recall"] = text.key_fact_recall(answer, [str(f) for f in facts])
    return metrics, {}


def score_qa(case: GoldenCase, output: Mapping[str, Any], answer: str) -> tuple[Metrics, Counted]:
    metrics: Metrics = {}
    expected = case.reference.get("answerable")
    answered = text.predicted_answerable(output, answer)
    if isinstance(expected, bool):
        metrics["not_found_accuracy"] = float(answered == expected)
        key = "answered_when_answerable" if expected else "abstained_when_unanswerable"
        metrics[key] = float(answered == expected)
    if (ref := reference_text(case)) and expected is not False:
        metrics["answer_rouge_l"] = text.rouge_l(answer, ref) if answered else 0.0
        metrics["answer_token_f1"] = text.token_f1(answer, ref) if answered else 0.0
    return metrics, {}


REFUSAL_KEYS = ("refused", "declined", "refusal", "blocked", "cannot_draft")


def score_email(case: GoldenCase, output: Mapping[str, Any], answer: str) -> tuple[Metrics, Counted]:
    metrics: Metrics = {}
    ref = case.reference
    if ref.get("must_mention"):
        metrics["must_mention_recall"] = text.mention_recall(answer, ref["must_mention"])
    if ref.get("must_not_mention"):
        metrics["forbidden_mention_rate"] = text.forbidden_mention_rate(answer, ref["must_not_mention"])
    if isinstance(ref.get("expect_refusal"), bool):
        refused = any(output.get(k) is True for k in REFUSAL_KEYS) or not answer.strip()
        metrics["refusal_accuracy"] = float(refused == ref["expect_refusal"])
    return metrics, {}


def score_field_fill(case: GoldenCase, output: Mapping[str, Any], answer: str) -> tuple[Metrics, Counted]:
    reference = case.reference.get("fields")
    if not isinstance(reference, Mapping):
        return {}, {}
    types = {f["name"]: f.get("type", "text") for f in case.inputs.get("fields", []) if isinstance(f, Mapping)}
    counts = structured.field_counts(structured.extract_fields(output), reference, types)
    nulls = sum(1 for v in reference.values() if v is None)
    metrics: Metrics = {"field_precision": counts.precision(), "field_recall": counts.recall(),
                        "field_f1": counts.f1()}
    if nulls:
        metrics["field_abstention_accuracy"] = counts.abstained_ok / nulls
    return _defined(metrics), {"field": vars(counts)}


def score_compliance(case: GoldenCase, output: Mapping[str, Any], answer: str) -> tuple[Metrics, Counted]:
    ref = case.reference
    expected = {c for v in ref.get("verdicts", []) if (c := structured.clause_id(v.get("clause")))
                and str(v.get("verdict", "violation")).lower() == "violation"}
    counts = structured.verdict_counts(structured.extract_violations(output), expected)
    metrics: Metrics = {"verdict_precision": counts.precision(), "verdict_recall": counts.recall(),
                        "verdict_f1": counts.f1()}
    if isinstance(ref.get("compliant"), bool):
        metrics["compliant_accuracy"] = float(structured.predicted_compliant(output) == ref["compliant"])
    return _defined(metrics), {"verdict": vars(counts)}


def _defined(metrics: Metrics) -> Metrics:
    return {k: v for k, v in metrics.items() if v is not None}


TaskScorer = Callable[[GoldenCase, Mapping[str, Any], str], tuple[Metrics, Counted]]
TASK_SCORERS: dict[str, TaskScorer] = {
    "summary": score_summary,
    "qa": score_qa,
    "email_draft": score_email,
    "field_fill": score_field_fill,
    "compliance_check": score_compliance,
}


# -- retrieval and citations ----------------------------------------------------------------


def score_retrieval(covers: list[list[str]], relevant: list[str], cited_covers: list[list[str]],
                    ks: tuple[int, ...] = (5, 10)) -> Metrics:
    """recall@k, MRR and nDCG over the action's ranked chunks, and the share of cited
    chunks that cover a relevant unit."""
    if not relevant:
        return {}
    metrics: Metrics = dict(retrieval_scores(ranked_units(covers), relevant, ks))
    if cited_covers:
        metrics["citation_precision"] = sum(1 for c in cited_covers if c) / len(cited_covers)
    return metrics
