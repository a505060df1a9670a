"""guardrails.policy: rules read from policy text (not hard-coded), exact spans, negation."""

from __future__ import annotations

from pathlib import Path

from guardrails.policy import (
    DraftFacts,
    approved_discounts,
    check_draft,
    derive_rules,
    document_rules,
    parse_clauses,
    quiet_period_facts,
)

SALES_POLICY = Path(__file__).resolve().parents[2] / "ingest" / "demo_corpus" / "docs" / "policy" / "sales-policy.md"
OTHER_TENANT = """
3.1 An AE may offer a discount of up to 10% without approval.

3.2 A discount above 10% requires written approval from the Regional Director.

4.2 Never call the product "unbreakable" or "bulletproof".

5.1 Every quote must include the sentence "Prices exclude VAT."
"""


def rules_of(text: str):  # type: ignore[no-untyped-def]
    return derive_rules(parse_clauses([("chunk-1", "doc-1", text)]))


def test_rules_come_from_the_tenants_own_wording() -> None:
    rules = rules_of(OTHER_TENANT)
    offer = "Hi Ana, I can take 12% off the annual price of $9,000 per year."
    found = {(f.clause.id, f.rule) for f in check_draft(offer, rules, DraftFacts(approved_discounts=set()))}
    assert found == {("3.2", "discount_approval"), ("5.1", "required_sentence")}
    approved = check_draft(offer + " Prices exclude VAT.", rules, DraftFacts(approved_discounts={12.0}))
    assert approved == []
    assert check_draft("Honestly, 8% off is what I can do.", rules, DraftFacts(approved_discounts=set())) == []
    bullet = check_draft("Our trackers are bulletproof, and not unbreakable.", rules, DraftFacts())
    assert [(f.clause.id, f.span) for f in bullet] == [("4.2", "Our trackers are bulletproof")]


def test_the_demo_policy_and_the_approved_hipaa_wording() -> None:
    rules = rules_of(SALES_POLICY.read_text())
    assert {"3.2", "3.3", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4", "6.1"} <= rules.covered
    approved = ("To answer your question directly: Helio Fleet is not HIPAA certified and Helio does not sign "
                "Business Associate Agreements (BAAs).")
    assert check_draft(approved, rules, DraftFacts()) == []
    claim = "Great news - Helio Fleet is fully HIPAA compliant, so your data is safe."
    (finding,) = check_draft(claim, rules, DraftFacts())
    assert finding.clause.id == "4.3" and finding.span == "Helio Fleet is fully HIPAA compliant"
    assert claim[finding.start:finding.start + len(finding.span)] == finding.span  # type: ignore[operator]
    uptime = "Both options come with our 99.9% uptime SLA, so reliability won't be an issue."
    assert [(f.clause.id, f.span) for f in check_draft(uptime, rules, DraftFacts())] == [
        ("5.2", "Both options come with our 99.9% uptime SLA")]  # 99.9% is not the forbidden "100% uptime"
    disclosed = uptime + " The 99.9% uptime SLA applies to the Enterprise tier only."
    assert check_draft(disclosed, rules, DraftFacts()) == []


def test_facts_read_from_record_evidence() -> None:
    notes = ["Requested approval from Lena for 20% (manager band 15-25%).",
             "Approved the additional 5% for full 3-year prepayment -> total 25% off list. Not approving net 60."]
    assert approved_discounts(notes) == {5.0, 25.0}
    quiet = ["Patricia asked about plow map pricing; redirected her to Derek Hall under the RFP quiet period."]
    assert quiet_period_facts(quiet, "Patricia Gomez") == (True, False)
    assert quiet_period_facts(quiet, "Derek Hall") == (True, True)
    assert quiet_period_facts(["No procurement news."], "Derek Hall") == (False, None)


def test_clause_numbers_repeat_across_documents() -> None:
    chunks = [("a", "sales", '4.3 Never describe Helio as "HIPAA certified".'),
              ("b", "data", "4.3 private: visible only to the record owner during a quiet period.")]
    rule_sets = document_rules(chunks)
    assert len(rule_sets) == 2
    findings = [f for rules in rule_sets for f in check_draft("We are HIPAA certified.", rules, DraftFacts())]
    assert [(f.clause.document_id, f.clause.id) for f in findings] == [("sales", "4.3")]
