"""Tone of drafted emails: rates on the labelled set and the cases a word list gets wrong."""

from __future__ import annotations

import json
from pathlib import Path

from guardrails.tone import ToneChecker
from guardrails.verdicts import Decision, ReasonCode

REPO = Path(__file__).resolve().parents[2]
ROWS = [json.loads(line) for line in (REPO / "eval/datasets/tone_labelled.jsonl").read_text().splitlines()]
CHECKER = ToneChecker()


def test_labelled_set_rates() -> None:
    assert len(ROWS) >= 40
    for split, min_recall in (("dev", 0.95), ("holdout", 0.5)):
        rows = [r for r in ROWS if r.get("split", "dev") == split]
        bad = [r for r in rows if r["label"] == "unprofessional"]
        good = [r for r in rows if r["label"] == "professional"]
        recall = sum(CHECKER.scan(r["text"]).flagged for r in bad) / len(bad)
        false_positive = [r["id"] for r in good if CHECKER.scan(r["text"]).flagged]
        assert recall >= min_recall, split
        assert false_positive == [], split


def test_each_category_is_named_in_the_verdict() -> None:
    cases = {
        "profanity": "Hi Greg, this process is a shit show.",
        "insult": "Nora, your team is incompetent.",
        "pressure": "Last chance: act now or lose the deal.",
        "shouting": "PLEASE SEND THE SIGNED FORM TODAY.",
        "exclamation": "Great news!! We are live!!",
        "over_familiar": "Hey babe, sign the form for me?",
    }
    for category, text in cases.items():
        verdict = CHECKER.verdict(text)
        assert verdict.decision == Decision.FLAG and verdict.reason == ReasonCode.UNPROFESSIONAL_TONE, text
        categories = verdict.details["categories"]
        assert isinstance(categories, list) and category in categories, (category, verdict.details)


def test_quotes_acronyms_and_headings_are_not_the_writers_tone() -> None:
    quoted = 'Hi Patricia,\n\nSorry the driver called the old tool "a useless piece of shit". We will fix it.\n' \
             '> Your product is garbage, you idiots!!!\n\nBest, Tom'
    assert CHECKER.scan(quoted).score == 0
    acronyms = ("Hi Meera, HIPAA and BAA: not certified, no BAA. SOC 2 report under NDA.\n"
                "SUMMARY OF NEXT STEPS:\n1. Call")
    assert CHECKER.scan(acronyms).score == 0
    assert CHECKER.scan("Hi Raj, the HELIOX GATEWAY ROUTER is in stock.").flagged
    assert not ToneChecker(acronyms=["heliox", "gateway", "router"]).scan(
        "Hi Raj, the HELIOX GATEWAY ROUTER is in stock.").flagged


def test_threshold_is_the_tenants() -> None:
    text = "Thanks a lot! Talk soon! Best, James!"
    assert CHECKER.scan(text).score == 0.5 and not CHECKER.scan(text).flagged
    assert ToneChecker(threshold=0.5).scan(text).flagged
