"""The labelled demo sets (``eval/datasets/demo_*.jsonl``): they load with the eval suite's
own loader, run as users who exist, about records and sources those users may see (by the
product's ACL rule), and each set's references are well formed and balanced."""

from __future__ import annotations

from collections import Counter

import pytest

from eval.loaders import load_dataset, load_file, read_jsonl
from eval.schema import GoldenCase
from guardrails.policy import parse_clauses
from tests.datasets.conftest import DATE, PRINCIPALS, SETS, Corpus

ROW_KEYS = ["id", "action", "tenant", "user", "teams", "record", "inputs", "reference", "relevant_doc_ids", "notes"]
SET_FILES = {"demo_qa.jsonl": ("qa", 30), "demo_field_fill.jsonl": ("field_fill", 12),
             "demo_compliance.jsonl": ("compliance_check", 16), "demo_summary.jsonl": ("summary", 6),
             "demo_email.jsonl": ("email_draft", 5)}


def cases(name: str) -> list[GoldenCase]:
    return load_file(SETS / name).cases


@pytest.mark.parametrize("name", sorted(SET_FILES))
def test_rows_run_as_real_users_on_what_they_may_see(corpus: Corpus, name: str) -> None:
    action, minimum = SET_FILES[name]
    raw = read_jsonl(SETS / name)
    assert [row.get("id") for _, row in raw if list(row) != ROW_KEYS] == []
    rows = cases(name)
    assert len(rows) >= minimum
    problems = []
    for r in rows:
        if (r.action, r.tenant) != (action, "demo"):
            problems.append(f"{r.id}: action/tenant wrong")
        if r.user not in PRINCIPALS or not r.teams or not set(r.teams) <= PRINCIPALS[r.user]:
            problems.append(f"{r.id}: user/teams invalid ({r.user}, {r.teams})")
            continue
        if not r.notes:
            problems.append(f"{r.id}: empty notes")
        if r.record is not None:
            seen = corpus.may_read(r.user, r.teams, r.record)
            if not seen:
                problems.append(f"{r.id}: record {r.record} " + ("does not resolve" if seen is None else
                                                                f"is not visible to {r.user}"))
        permission_test = "Permission test" in r.notes
        for source in r.relevant_doc_ids:
            seen = corpus.may_read(r.user, r.teams, source)
            if seen is None:
                problems.append(f"{r.id}: relevant_doc_id {source} does not resolve")
            elif not seen and not permission_test:
                problems.append(f"{r.id}: {r.user} cannot see relevant source {source}")
    assert problems == []


def test_ids_are_unique_across_the_demo_sets() -> None:
    ids = Counter(c.id for c in load_dataset("demo").cases)
    assert [i for i, n in ids.items() if n > 1] == []


def test_qa_references() -> None:
    rows = cases("demo_qa.jsonl")
    problems = []
    for r in rows:
        ref = r.reference
        if not r.inputs.get("question"):
            problems.append(f"{r.id}: no question")
        if ref.get("answerable") is True and not (ref.get("answer") and r.relevant_doc_ids):
            problems.append(f"{r.id}: answerable without an answer or relevant_doc_ids")
        if ref.get("answerable") is False and ref.get("answer") is not None:
            problems.append(f"{r.id}: unanswerable must have answer null")
    assert problems == []
    answerable = [r for r in rows if r.reference.get("answerable") is True]
    unanswerable = [r for r in rows if r.reference.get("answerable") is False]
    assert len(answerable) >= 20 and len(unanswerable) >= 8


def test_field_fill_references_match_their_field_types() -> None:
    problems, unknown = [], 0
    for r in cases("demo_field_fill.jsonl"):
        specs = {f["name"]: f for f in r.inputs.get("fields", [])}
        ref = r.reference.get("fields", {})
        if set(specs) != set(ref):
            problems.append(f"{r.id}: reference fields {sorted(ref)} != input fields {sorted(specs)}")
        for name, value in ref.items():
            kind = specs.get(name, {}).get("type")
            if value is None:
                unknown += 1
                continue
            ok = {
                "currency": isinstance(value, dict) and isinstance(value.get("value"), int | float)
                and value.get("currency") == "USD",
                "number": isinstance(value, int | float) and not isinstance(value, bool),
                "boolean": isinstance(value, bool),
                "date": isinstance(value, str) and bool(DATE.match(value)),
                "text": isinstance(value, str) and bool(value),
                "picklist": isinstance(value, str) and value in specs.get(name, {}).get("allowed_values", []),
            }.get(kind)
            if not ok:
                problems.append(f"{r.id}: field {name} ({kind}) has invalid value {value!r}")
    assert problems == []
    assert unknown >= 5, "several fields must be unknown (null): abstaining is scored"


def test_compliance_references_cite_real_clauses_and_verbatim_spans(corpus: Corpus) -> None:
    policy = corpus.documents["file:docs/policy/sales-policy.md"]
    clauses = parse_clauses([("policy", policy.document_id, policy.text)])
    rows = cases("demo_compliance.jsonl")
    problems, violating, areas = [], 0, set()
    for r in rows:
        verdicts, draft = r.reference.get("verdicts"), r.inputs.get("draft", "")
        if r.reference.get("compliant") is not (not verdicts):
            problems.append(f"{r.id}: compliant flag disagrees with verdicts")
        violating += bool(verdicts)
        if r.record is None or not r.record.startswith("account:"):
            problems.append(f"{r.id}: record must be the account concerned")
        for v in verdicts or []:
            if v.get("clause") not in clauses:
                problems.append(f"{r.id}: unknown clause {v.get('clause')}")
            else:
                areas.add(v["clause"].split(".")[0])
            if v.get("verdict") != "violation":
                problems.append(f"{r.id}: verdict must be 'violation'")
            if not v.get("span") or v["span"] not in draft:
                problems.append(f"{r.id}: span not found verbatim in the draft: {v.get('span')!r}")
    assert problems == []
    assert 0.4 <= violating / len(rows) <= 0.6, "about half the drafts violate the policy"
    assert {"3", "4", "5", "6"} <= areas, "a violation for every policy section"


def test_summary_references() -> None:
    rows = cases("demo_summary.jsonl")
    problems = [f"{r.id}: reference answer has {n} words (expected 60-120)" for r in rows
                if not 60 <= (n := len(r.reference.get("answer", "").split())) <= 120]
    problems += [f"{r.id}: no key_facts" for r in rows if not r.reference.get("key_facts")]
    assert problems == []
    kinds = {(r.record or "").split(":")[0] for r in rows}
    assert {"account", "opportunity", "document"} <= kinds


def test_email_references_and_consent(corpus: Corpus) -> None:
    contacts = corpus.of_kind("contact")
    problems = []
    for r in cases("demo_email.jsonl"):
        inp, ref = r.inputs, r.reference
        contact = contacts.get(inp.get("contact_id", ""))
        if contact is None:
            problems.append(f"{r.id}: unknown contact {inp.get('contact_id')}")
        if inp.get("tone") not in {"friendly", "formal"} or inp.get("length") not in {"short", "medium"} \
                or not inp.get("context"):
            problems.append(f"{r.id}: bad inputs")
        if not isinstance(ref.get("must_mention"), list) or not isinstance(ref.get("must_not_mention"), list):
            problems.append(f"{r.id}: must_mention / must_not_mention must be lists")
        if ref.get("expect_refusal") is False and contact is not None and "sales_outreach" not in contact.consent:
            problems.append(f"{r.id}: the contact lacks sales_outreach but no refusal is expected")
    assert problems == []
