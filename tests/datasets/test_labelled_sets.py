"""The PII gold set (``eval/datasets/pii_labelled.jsonl``) and the sets' README.

The gold labels are checked against the shapes of what they label (an e-mail address, a
Luhn-valid card number, an IBAN with a valid checksum...), not against the PII detector
they are there to measure: checking them with the detector would make the benchmark agree
with itself. The checksums are the product's (``guardrails.pii``)."""

from __future__ import annotations

import re
from collections import Counter

from eval.loaders import read_jsonl
from guardrails.pii import iban_ok, luhn_ok
from tests.datasets.conftest import EMAIL, SETS

SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
NINO = re.compile(r"^[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]$")
EMAIL_ANYWHERE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD_ANYWHERE = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
TYPES = ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "PERSON")


def _valid(kind: str, value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return {
        "EMAIL": bool(EMAIL.match(value)),
        "PHONE": 7 <= len(digits) <= 15 and bool(re.fullmatch(r"[+\d() .-]+", value)),
        "CARD": 13 <= len(digits) <= 19 and luhn_ok(digits) and bool(re.fullmatch(r"[\d -]+", value)),
        "IBAN": iban_ok(value.replace(" ", "").upper()),
        "NATIONAL_ID": bool(SSN.match(value) or NINO.match(value)),
        "PERSON": bool(re.fullmatch(r"[A-Z][a-z]+(?: [A-Z][a-z]+)*", value)),
    }.get(kind, False)


def test_pii_spans_are_exact_valid_and_complete() -> None:
    rows = [row for _, row in read_jsonl(SETS / "pii_labelled.jsonl")]
    assert len(rows) >= 40
    assert [r.get("id") for r in rows if set(r) != {"id", "text", "spans"}] == []
    assert [i for i, n in Counter(r["id"] for r in rows).items() if n > 1] == []
    problems, kinds = [], Counter()
    for r in rows:
        text, spans = r["text"], sorted(r["spans"], key=lambda s: s["start"])
        last_end = 0
        for s in spans:
            start, end, kind = s.get("start"), s.get("end"), s.get("type")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
                problems.append(f"{r['id']}: span out of range {s}")
                continue
            value = text[start:end]
            kinds[kind] += 1
            if start < last_end:
                problems.append(f"{r['id']}: overlapping spans")
            last_end = end
            if value != value.strip() or (start and text[start - 1].isalnum()) or \
                    (end < len(text) and text[end].isalnum()):
                problems.append(f"{r['id']}: span {value!r} has surrounding space or cuts through a word")
            if not _valid(kind, value):
                problems.append(f"{r['id']}: span {value!r} is not a valid {kind}")
        labelled = [(s["start"], s["end"]) for s in spans]

        def covered(a: int, b: int, labelled: list[tuple[int, int]] = labelled) -> bool:
            return any(x <= a and b <= y for x, y in labelled)

        # an unlabelled address or Luhn-valid card number would be a gold-label omission
        problems += [f"{r['id']}: unlabelled e-mail {m.group()!r}" for m in EMAIL_ANYWHERE.finditer(text)
                     if not covered(*m.span())]
        for m in CARD_ANYWHERE.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            in_iban = re.search(r"[A-Z]{2}\d{2} ?$", text[: m.start()]) is not None
            if luhn_ok(digits) and digits.strip("0") and not in_iban and not covered(*m.span()):
                problems.append(f"{r['id']}: unlabelled Luhn-valid number {m.group()!r}")
    assert problems == []
    assert [t for t in TYPES if not kinds[t]] == []
    assert sum(not r["spans"] for r in rows) >= 8, "negative samples"


def test_the_sets_readme_documents_every_set() -> None:
    readme = (SETS / "README.md").read_text(encoding="utf-8")
    names = ("demo_qa.jsonl", "demo_field_fill.jsonl", "demo_compliance.jsonl", "demo_summary.jsonl",
             "demo_email.jsonl", "pii_labelled.jsonl")
    assert [n for n in names if n not in readme] == []
