"""Task metrics on text: ROUGE-L, key-fact recall, required/forbidden mentions, not-found.

Pure functions of the prediction and the reference; each returns a number in [0, 1]."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from retrieval.text import answer_tokens, content_words

_NUMBER = re.compile(r"^\d")
NOT_FOUND = re.compile(
    r"\b(not (?:be )?(?:found|documented|stated|mentioned|covered|available|specified)"
    r"|no (?:information|evidence|record|mention|answer)"
    r"|(?:don't|do not|cannot|can't|could not|couldn't) (?:find|know|answer|say|determine|tell)"
    r"|does(?:n't| not) (?:say|state|mention|cover|contain|specify)"
    r"|unable to (?:find|answer|determine)|insufficient (?:evidence|information))\b",
    re.I,
)
"""Phrases by which an answer says the records do not hold the answer."""
ANSWERABLE_KEYS = ("answerable", "is_answerable", "answer_found", "found", "has_answer", "supported")
UNANSWERABLE_KEYS = ("not_found", "unanswerable", "no_answer", "insufficient_evidence", "cannot_answer")


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence of stemmed tokens)."""
    if not prediction.strip() or not reference.strip():
        return 0.0
    return float(_rouge().score(reference, prediction)["rougeL"].fmeasure)


def fact_present(fact: str, text: str) -> bool:
    """A short fact is present when every number in it appears in ``text`` and at least
    half of its other content words do (crude stems, case-insensitive)."""
    words = content_words(fact)
    if not words:
        return True
    found = content_words(text)
    numbers = {w for w in words if _NUMBER.match(w)}
    others = words - numbers
    if not numbers <= found:
        return False
    return not others or len(others & found) / len(others) >= 0.5


def key_fact_recall(text: str, facts: Sequence[str]) -> float:
    """Share of the reference key facts present in ``text``."""
    if not facts:
        return 0.0
    return sum(fact_present(f, text) for f in facts) / len(facts)


def mention_recall(text: str, phrases: Sequence[str]) -> float:
    """Share of ``phrases`` found in ``text`` (case-insensitive substring)."""
    if not phrases:
        return 0.0
    low = text.lower()
    return sum(p.lower() in low for p in phrases) / len(phrases)


def forbidden_mention_rate(text: str, phrases: Sequence[str]) -> float:
    """Share of forbidden ``phrases`` that ``text`` contains (lower is better)."""
    return mention_recall(text, phrases)


def says_not_found(text: str | None) -> bool:
    """True for an empty answer or one that says the records do not hold the answer."""
    return not (text or "").strip() or bool(NOT_FOUND.search(text or ""))


def predicted_answerable(output: Mapping[str, Any], answer: str | None) -> bool:
    """Whether an output claims to answer: an explicit boolean field wins, else the answer text."""
    for key in ANSWERABLE_KEYS:
        if isinstance(output.get(key), bool):
            return bool(output[key])
    for key in UNANSWERABLE_KEYS:
        if isinstance(output.get(key), bool):
            return not output[key]
    return not says_not_found(answer)


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 on lower-cased alphanumeric tokens."""
    pred, ref = answer_tokens(prediction), answer_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common = 0
    remaining = list(ref)
    for token in pred:
        if token in remaining:
            remaining.remove(token)
            common += 1
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)
