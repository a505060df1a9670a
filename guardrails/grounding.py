"""Citation verification: every cited evidence id exists, and the cited text supports the claim.

Three checks, measured on ``eval/datasets/grounding_labelled.jsonl`` (44 claims about demo
notes: literal, paraphrased, wrong numbers/dates, invented, contradicted) by
``eval/benchmarks/bench_guards.py``:

- **Lexical support**: the share of the claim's content words (lower-cased, crude prefix
  stem, numbers verbatim) found in the cited chunks; below ``min_support`` -> flagged.
- **Numbers**: every number, amount and date in the claim must occur in the cited text
  (``$352,620`` is not ``$325,620``, ``10/18`` is not ``10/15``). This caught most of the
  wrong-number claims that lexical support let through (unsupported claims flagged:
  27% -> 73% at the same false-flag count), so it is on by default.
- **Semantic support** (optional, pass an ``Embedder``): the best cosine between the claim
  and a one- or two-sentence window of the cited text; a claim at or above
  ``min_similarity`` counts as supported even with low word overlap (a paraphrase). With
  the packaged MiniLM it did not help on the labelled set (it rescues some paraphrases and
  passes as many contradictions), so callers leave it off unless a tenant's embedder
  measures better.

Cheap, deterministic and explainable: a flag says which check failed and by how much."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from guardrails.verdicts import Decision, ReasonCode, Verdict
from retrieval.text import content_words


def support(claim: str, evidence: Sequence[str]) -> float:
    words = content_words(claim)
    if not words:
        return 1.0
    found = content_words(" ".join(evidence))
    return len(words & found) / len(words)


class _Embeds(Protocol):
    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


_NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|\d[\d,./:]*\d|\d")
_NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve"
_WORD_NUMBERS = {word: str(i) for i, word in enumerate(_NUMBER_WORDS.split(" "))}


def _numbers(text: str) -> set[str]:
    return {m.group().replace(",", "") for m in _NUMBER.finditer(text)}


def _evidence_numbers(text: str) -> set[str]:
    """Every number in the evidence, plus its parts (``10/23`` -> 10, 23) and the m/d form of
    ISO dates (``2026-10-23`` -> 10/23), so a claim may write a date the short way."""
    found = set()
    for number in _numbers(text):
        found.add(number)
        found.update(re.split(r"[/:.\-]", number))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", number):
            _, month, day = number.split("-")
            found.add(f"{int(month)}/{int(day)}")
    found.update(_WORD_NUMBERS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in _WORD_NUMBERS)
    return found


def missing_numbers(claim: str, evidence: Sequence[str]) -> list[str]:
    """Numbers of the claim that the evidence does not contain (dates and amounts whole;
    a plain number may match a part of one, e.g. ``23`` in ``10/23``)."""
    known = _evidence_numbers(" ".join(evidence))
    missing = []
    for number in sorted(_numbers(claim)):
        if number in known:
            continue
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", number):
            _, month, day = number.split("-")
            if f"{int(month)}/{int(day)}" in known:
                continue
        missing.append(number)
    return missing


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+|\s+/\s+")


def semantic_support(claim: str, evidence: Sequence[str], embedder: _Embeds) -> float:
    """Best cosine between the claim and a one- or two-sentence window of the evidence."""
    sentences = [s.strip() for text in evidence for s in _SENTENCE.split(text) if len(s.split()) >= 3]
    if not sentences:
        return 0.0
    windows = sentences + [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
    query = embedder.embed_query(claim)
    best = 0.0
    for vector in embedder.embed_documents(windows):
        dot = sum(x * y for x, y in zip(query, vector, strict=False))
        norm = math.sqrt(sum(x * x for x in query) * sum(y * y for y in vector)) or 1.0
        best = max(best, dot / norm)
    return best


@dataclass(frozen=True)
class Claim:
    text: str
    evidence: tuple[str, ...]


def _flag(reason: ReasonCode, message: str, **details: object) -> Verdict:
    return Verdict(guard="citations", decision=Decision.FLAG, reason=reason, message=message, details=details)


def verify_citations(
    claims: Sequence[Claim],
    evidence: Mapping[str, str],
    *,
    min_support: float = 0.5,
    check_numbers: bool = True,
    embedder: _Embeds | None = None,
    min_similarity: float = 0.6,
) -> tuple[list[Verdict], list[float]]:
    """Check each claim's citations; return flags (one per problem) and per-claim lexical support.

    A claim is supported when its cited text contains every number it states and either
    its lexical support reaches ``min_support`` or (with an ``embedder``) its semantic
    support reaches ``min_similarity``."""
    verdicts: list[Verdict] = []
    scores: list[float] = []
    for claim in claims:
        known = [label for label in claim.evidence if label in evidence]
        unknown = [label for label in claim.evidence if label not in evidence]
        if unknown:
            verdicts.append(_flag(ReasonCode.UNKNOWN_CITATION,
                                  f"cites evidence that was not retrieved ({', '.join(unknown)}): {claim.text[:120]}"))
        if not known:
            scores.append(0.0)
            verdicts.append(_flag(ReasonCode.UNCITED_CLAIM, f"statement cites no evidence: {claim.text[:120]}"))
            continue
        cited = [evidence[label] for label in known]
        score = support(claim.text, cited)
        scores.append(score)
        missing = missing_numbers(claim.text, cited) if check_numbers else []
        if missing:
            verdicts.append(_flag(ReasonCode.LOW_GROUNDING,
                                  f"numbers not found in the cited evidence ({', '.join(missing)}): {claim.text[:120]}",
                                  support=round(score, 3), missing_numbers=missing))
            continue
        if score >= min_support:
            continue
        similarity = semantic_support(claim.text, cited, embedder) if embedder is not None else None
        if similarity is not None and similarity >= min_similarity:
            continue
        details: dict[str, object] = {"support": round(score, 3)}
        if similarity is not None:
            details["similarity"] = round(similarity, 3)
        verdicts.append(_flag(ReasonCode.LOW_GROUNDING,
                              f"cited evidence does not support the statement ({score:.0%} of its terms found): "
                              f"{claim.text[:120]}", **details))
    return verdicts, scores
