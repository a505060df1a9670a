"""Task metrics on hand-made predictions whose right scores are known."""

from __future__ import annotations

import pytest

from eval.metrics.structured import (
    Counts,
    clause_id,
    extract_fields,
    extract_violations,
    field_counts,
    predicted_compliant,
    values_match,
    verdict_counts,
)
from eval.metrics.text import (
    fact_present,
    forbidden_mention_rate,
    key_fact_recall,
    mention_recall,
    predicted_answerable,
    rouge_l,
    says_not_found,
    token_f1,
)


def test_rouge_l_separates_a_close_summary_from_an_unrelated_one() -> None:
    reference = "Acme approved a 25% discount and will sign the order form by October 23."
    assert rouge_l(reference, reference) == pytest.approx(1.0)
    close = rouge_l("Acme approved a 25% discount; they will sign by October 23.", reference)
    unrelated = rouge_l("The weather in Hamburg was rainy all week.", reference)
    assert close > 0.6 > 0.1 > unrelated
    assert rouge_l("", reference) == 0.0


def test_key_fact_recall_needs_the_numbers_verbatim() -> None:
    facts = ["25% total discount", "$325,620 ACV", "signature target 2026-10-23"]
    text = "Lena approved a 25% total discount, so the ACV is $325,620. Signature is targeted for 2026-10-23."
    assert key_fact_recall(text, facts) == 1.0
    wrong_number = text.replace("$325,620", "$330,000")
    assert key_fact_recall(wrong_number, facts) == pytest.approx(2 / 3)
    assert not fact_present("net 45, net 60 refused", "Payment terms are net 30.")
    assert key_fact_recall("nothing relevant here", facts) == 0.0


def test_mentions_are_case_insensitive_substrings() -> None:
    body = "Attached is the Order Form. Pricing valid for 30 days."
    assert mention_recall(body, ["order form", "pricing valid for 30 days", "net 45"]) == pytest.approx(2 / 3)
    assert forbidden_mention_rate(body, ["guaranteed", "Northwind"]) == 0.0
    assert forbidden_mention_rate("Savings are guaranteed.", ["guaranteed", "Northwind"]) == 0.5


def test_not_found_detection() -> None:
    assert says_not_found("Not found in the sources.")
    assert says_not_found("The records do not say how long the battery lasts.")
    assert says_not_found("")
    assert not says_not_found("Growth costs $59 per vehicle per month [E1].")
    # an explicit boolean wins over the text
    assert predicted_answerable({"answerable": False, "answer": "$59"}, "$59") is False
    assert predicted_answerable({"not_found": True}, "$59") is False
    assert predicted_answerable({}, "Growth costs $59.") is True
    assert predicted_answerable({}, "I could not find this in the records.") is False


def test_token_f1() -> None:
    assert token_f1("Dana Whitfield", "Dana Whitfield") == 1.0
    assert token_f1("Dana Whitfield, COO", "Dana Whitfield") == pytest.approx(0.8)
    assert token_f1("Greg Novak", "Dana Whitfield") == 0.0


@pytest.mark.parametrize(("predicted", "reference", "kind", "expected"), [
    (350000, {"value": 350000, "currency": "USD"}, "currency", True),
    ("$350k", {"value": 350000, "currency": "USD"}, "currency", True),
    ({"value": 350000, "currency": "EUR"}, {"value": 350000, "currency": "USD"}, "currency", False),
    (140000, {"value": 350000, "currency": "USD"}, "currency", False),
    ("420 trucks", 420, "number", True),
    (421, 420, "number", False),
    ("October 23, 2026", "2026-10-23", "date", True),
    ("2026-10-24", "2026-10-23", "date", False),
    ("yes", True, "boolean", True),
    (False, True, "boolean", False),
    ("samsara", "Samsara", "picklist", True),
    ("Motive", "Samsara", "picklist", False),
    ("+1 614 555 0117", "614-555-0117", "text", True),
    ("Net 60", "Net 45", "text", False),
])
def test_values_match_by_type(predicted: object, reference: object, kind: str, expected: bool) -> None:
    assert values_match(predicted, reference, kind) is expected


def test_field_counts_precision_recall_and_abstention() -> None:
    reference = {"budget": {"value": 350000, "currency": "USD"}, "decision_maker": "Dana Whitfield",
                 "fleet_size": 420, "fuel_spend": None}
    types = {"budget": "currency", "decision_maker": "text", "fleet_size": "number", "fuel_spend": "currency"}
    perfect = {"budget": 350000, "decision_maker": "Dana Whitfield", "fleet_size": 420, "fuel_spend": None}
    assert field_counts(perfect, reference, types) == Counts(tp=3, fp=0, fn=0, abstained_ok=1)
    # one wrong value (fp and fn), one missed (fn), one guessed where the records say nothing (fp)
    sloppy = {"budget": 140000, "decision_maker": None, "fleet_size": 420, "fuel_spend": 90000}
    counts = field_counts(sloppy, reference, types)
    assert counts == Counts(tp=1, fp=2, fn=2, abstained_ok=0)
    assert counts.precision() == pytest.approx(1 / 3)
    assert counts.recall() == pytest.approx(1 / 3)
    assert Counts().precision() is None


def test_extract_fields_reads_the_layouts_actions_use() -> None:
    listed = {"record": "opportunity:OPP-1", "fields": [
        {"name": "budget", "type": "currency", "value": {"value": 350000, "currency": "USD"}, "status": "filled"},
        {"name": "fleet_size", "type": "number", "value": None, "status": "unknown"},
    ]}
    assert extract_fields(listed) == {"budget": {"value": 350000, "currency": "USD"}, "fleet_size": None}
    keyed = {"fields": {"fleet_size": {"value": 420, "confidence": 0.9}}}
    assert extract_fields(keyed) == {"fleet_size": 420}


def test_verdict_counts_and_compliance() -> None:
    output = {"compliant": False, "verdicts": [
        {"clause": "3.3", "verdict": "violation"}, {"clause": "Clause 4.1 (claims)", "verdict": "violation"},
        {"clause": "5.1", "verdict": "ok"},
    ]}
    predicted = extract_violations(output)
    assert predicted == {"3.3", "4.1"}
    counts = verdict_counts(predicted, {"3.3", "3.6"})
    assert (counts.precision(), counts.recall()) == (0.5, 0.5)
    assert verdict_counts(set(), set()).precision() is None
    assert predicted_compliant({"verdicts": []}) is True
    assert predicted_compliant(output) is False
    assert clause_id("§6.2") == "6.2" and clause_id(None) is None
