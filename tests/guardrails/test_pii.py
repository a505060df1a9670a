"""PII detection on the labelled sample, the validators' edge cases, and reversible masking."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from guardrails.pii import PiiDetector, Vault, iban_ok, luhn_ok, mask, ssn_ok, steuer_id_ok

REPO = Path(__file__).resolve().parents[2]
ROWS = [json.loads(line) for line in (REPO / "eval/datasets/pii_labelled.jsonl").read_text().splitlines()]
CONTACTS = [f"{r['first_name']} {r['last_name']}"
            for r in csv.DictReader((REPO / "ingest/demo_corpus/crm/contacts.csv").open())]


def score(detector: PiiDetector) -> dict[str, Counter[str]]:
    per: dict[str, Counter[str]] = {}
    for row in ROWS:
        gold = {(s["start"], s["end"], s["type"]) for s in row["spans"]}
        found = {(s.start, s.end, s.type) for s in detector.detect(row["text"])}
        for span in gold | found:
            outcome = "tp" if span in gold and span in found else "fp" if span in found else "fn"
            per.setdefault(span[2], Counter())[outcome] += 1
    return per


def test_structured_types_are_exact_on_the_labelled_sample() -> None:
    per = score(PiiDetector(use_ner=False))
    for kind in ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID"):
        assert per[kind]["fp"] == 0 and per[kind]["fn"] == 0, (kind, per[kind])
    assert per["PERSON"]["tp"] == 0  # no names without a dictionary or the model


def test_names_need_both_the_crm_dictionary_and_the_model() -> None:
    dictionary = score(PiiDetector(CONTACTS, use_ner=False))["PERSON"]
    model = score(PiiDetector(use_ner=True))["PERSON"]
    both = score(PiiDetector(CONTACTS, use_ner=True))["PERSON"]
    assert dictionary["fn"] > 0 and model["fn"] > 0  # each alone misses people the other finds
    assert both["fn"] <= 1 and both["fp"] <= 1
    assert both["tp"] > max(dictionary["tp"], model["tp"])


def test_validators_reject_lookalikes() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4000123456789011")
    assert iban_ok("DE89370400440532013000") and not iban_ok("DE00000000000000000000")
    assert not iban_ok("DE8937040044053201300")  # one character short for Germany
    assert ssn_ok("078", "05", "1120")
    assert not any(ssn_ok(*parts) for parts in (("000", "12", "3456"), ("666", "12", "3456"), ("912", "12", "3456"),
                                                 ("123", "00", "4567"), ("123", "45", "0000")))
    assert steuer_id_ok("86095742719") and not steuer_id_ok("86095742718")


def test_detector_finds_the_id_formats_in_context() -> None:
    detector = PiiDetector(use_ner=False)
    text = ("Steuer-ID 86 095 742 719; NI AB 12 34 56 C; bad NI GB 12 34 56 C; SSN 666-12-3456; "
            "order 86095742719; call +44 20 7946 0958; IBAN GB82 WEST 1234 5698 7654 32 FOR review")
    found = {(s.type, s.text) for s in detector.detect(text)}
    assert ("NATIONAL_ID", "86 095 742 719") in found
    assert ("NATIONAL_ID", "AB 12 34 56 C") in found
    assert ("PHONE", "+44 20 7946 0958") in found
    assert ("IBAN", "GB82 WEST 1234 5698 7654 32") in found  # trimmed: "FOR" is not part of it
    texts = {t for _, t in found}
    assert "GB 12 34 56 C" not in texts and "666-12-3456" not in texts
    assert "86095742719" not in texts  # an 11-digit number without a tax-id word nearby
    inside = detector.detect("ref XX12 DE89 3704 0044 0532 0130 00 ok")  # starts inside a failed candidate
    assert [(s.type, s.text) for s in inside] == [("IBAN", "DE89 3704 0044 0532 0130 00")]


def test_mask_is_consistent_within_a_request_and_reversible() -> None:
    detector = PiiDetector(["Dana Whitfield"], use_ner=False)
    vault = Vault()
    first, _ = detector.mask("Email Dana Whitfield at dana.whitfield@acme-logistics.com or 614-555-0142.", vault)
    second, _ = detector.mask("Dana's number is (614) 555-0142; card 4111-1111-1111-1111.", vault)
    assert first == "Email <PERSON_1> at <EMAIL_1> or <PHONE_1>."
    assert "<PHONE_1>" in second and "<CARD_1>" in second  # the same phone in another spelling
    assert "Dana" not in first + second and "555" not in first + second
    answer = "Call <PERSON_1> on [PHONE_1] or write to EMAIL_1; <EMAIL_7> is unknown."
    assert vault.unmask(answer) == ("Call Dana Whitfield on 614-555-0142 or write to "
                                    "dana.whitfield@acme-logistics.com; <EMAIL_7> is unknown.")
    nested = {"to": "<EMAIL_1>", "lines": ["Hi <PERSON_1>", {"phone": "<PHONE_1>"}], "n": 3}
    assert vault.unmask_obj(nested) == {"to": "dana.whitfield@acme-logistics.com",
                                        "lines": ["Hi Dana Whitfield", {"phone": "614-555-0142"}], "n": 3}
    assert "dana" not in repr(vault).lower() and vault.counts() == {"PERSON": 2, "EMAIL": 1, "PHONE": 1, "CARD": 1}


def test_default_mask_uses_the_packaged_spacy_model() -> None:
    masked, vault = mask("Chloe Martin will resend the billing link to ray@northwindcouriers.com.")
    assert masked == "<PERSON_1> will resend the billing link to <EMAIL_1>."
    assert vault.unmask(masked).startswith("Chloe Martin")


VALUES = st.sampled_from(["greg.novak@acme-logistics.com", "614-555-0117", "4111 1111 1111 1111",
                          "DE89 3704 0044 0532 0130 00", "078-05-1120", "Raj Patel", "+49 40 555 0192"])
WORDS = st.sampled_from(["pricing", "renewal", "on", "the", "call", "Q4", "$59", "vans", "2026-10-23", "net 45"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(VALUES, WORDS), min_size=1, max_size=14))
def test_mask_then_unmask_gives_back_the_text(parts: list[str]) -> None:
    detector = PiiDetector(["Raj Patel"], use_ner=False)
    text = " ".join(parts)
    masked, vault = detector.mask(text)
    for value in ("greg.novak@", "4111 1111", "0532 0130", "078-05", "Raj Patel", "555 0192", "555-0117"):
        assert value not in masked
    assert vault.unmask(masked) == text


@given(st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_a_streamed_reply_unmasks_the_same_however_it_is_split(cuts: list[int]) -> None:
    vault = Vault()
    email = vault.placeholder("EMAIL", "greg.novak@acme-logistics.com")
    person = vault.placeholder("PERSON", "Greg Novak")
    reply = f"Hi {person},\nwrite to {email} or [EMAIL_1] by Friday; PERSON_1 agreed. <PHONE_9> stays."
    points = sorted({min(c, len(reply)) for c in cuts} | {0, len(reply)})
    unmasker = vault.stream_unmasker()
    shown = [unmasker.feed(reply[a:b]) for a, b in zip(points, points[1:], strict=False)] + [unmasker.flush()]
    assert "".join(shown) == vault.unmask(reply)
    assert not any("EMAIL_1" in part or "PERSON_1" in part for part in shown)
