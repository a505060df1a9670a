"""Citation verification: the number check, the optional semantic support, and the old API."""

from __future__ import annotations

import json
from pathlib import Path

from guardrails.grounding import Claim, missing_numbers, semantic_support, verify_citations
from guardrails.verdicts import ReasonCode
from retrieval.embedder import SentenceTransformerEmbedder

REPO = Path(__file__).resolve().parents[2]
ROWS = [json.loads(line) for line in (REPO / "eval/datasets/grounding_labelled.jsonl").read_text().splitlines()]


def flagged(row: dict, **kwargs: object) -> bool:
    verdicts, _ = verify_citations([Claim(row["claim"], ("E1",))], {"E1": row["evidence"][0]}, **kwargs)  # type: ignore[arg-type]
    return bool(verdicts)


def test_number_check_catches_wrong_figures_without_new_false_flags() -> None:
    bad = [r for r in ROWS if r["label"] == "unsupported"]
    good = [r for r in ROWS if r["label"] == "supported"]
    before = sum(flagged(r, check_numbers=False) for r in bad)
    after = sum(flagged(r) for r in bad)
    assert after >= before + 8  # 6 -> 16 of 22 when measured
    assert sum(flagged(r) for r in good) == sum(flagged(r, check_numbers=False) for r in good)
    wrong_numbers = [r for r in bad if r["category"] in ("wrong_number", "wrong_date")]
    assert all(flagged(r) for r in wrong_numbers)
    literal = [r for r in good if r["category"] == "literal"]
    assert not any(flagged(r) for r in literal)


def test_numbers_match_across_spellings() -> None:
    evidence = ["Signature target 2026-10-23; ACV $325,620; three-year term; notice by 10/31."]
    assert missing_numbers("Sign by 10/23 for $325,620 over 3 years; notice due October 31.", evidence) == []
    assert missing_numbers("Sign by 10/25 for $352,620.", evidence) == ["10/25", "352620"]
    assert missing_numbers("Target is 2026-10-23.", ["target 10/23"]) == []


def test_verdicts_keep_their_shape_and_old_callers_work() -> None:
    evidence = {"E1": "Approved 20% discount on OPP-1001, ACV $347,328, net 45 per MSA."}
    claims = [Claim("Approved 20% discount, ACV $347,328.", ("E1",)),
              Claim("Approved 30% discount, ACV $347,328.", ("E1",)),
              Claim("The customer loves pizza and football.", ("E1",)),
              Claim("Net 45 applies.", ("E9",))]
    verdicts, scores = verify_citations(claims, evidence, min_support=0.5)
    assert len(scores) == 4 and scores[0] == 1.0 and scores[3] == 0.0
    codes = [v.reason for v in verdicts]
    assert codes == [ReasonCode.LOW_GROUNDING, ReasonCode.LOW_GROUNDING, ReasonCode.UNKNOWN_CITATION,
                     ReasonCode.UNCITED_CLAIM]
    assert verdicts[0].details["missing_numbers"] == ["30"]
    assert "support" in verdicts[1].details


def test_semantic_support_rescues_a_paraphrase(embedder: SentenceTransformerEmbedder) -> None:
    row = next(r for r in ROWS if r["id"] == "ground-017")  # door-open alerts "in about a minute and a half"
    assert flagged(row)
    assert semantic_support(row["claim"], row["evidence"], embedder) >= 0.6
    assert not flagged(row, embedder=embedder, min_similarity=0.6)
    unrelated = "The customer signed a 5-year deal with Zeppelin Air."
    assert semantic_support(unrelated, row["evidence"], embedder) < 0.4
