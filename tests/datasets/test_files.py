"""The demo corpus's files: call transcripts in four formats, e-mail threads, product,
policy and contract documents, each with a sidecar linking it to the CRM. Parsed with the
product's loaders and transcript parsers."""

from __future__ import annotations

import json
import re
from collections import Counter

from guardrails.policy import parse_clauses
from ingest.documents import SourceDocument
from ingest.loaders.emails import QUOTED_SECTION
from ingest.loaders.transcripts import Cue, parse_call_json, parse_captions, parse_speaker_text
from tests.conftest import DEMO_CORPUS
from tests.datasets.conftest import EMAIL, TIMESTAMP, Corpus, check_access_metadata

TRANSCRIPTS = DEMO_CORPUS / "transcripts"
REQUIRED_DOCS = [
    "product/helio-fleet-overview.md", "product/pricing-and-packaging.md", "product/security-and-compliance.md",
    "product/api-and-integrations.md", "product/faq.html", "product/release-notes-2026.md",
    "policy/sales-policy.md", "policy/data-handling-policy.md", "contracts/acme-msa-2025.md",
]
POLICY_CLAUSES = ("3.1", "3.2", "3.3", "3.4", "3.5", "4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "5.2", "5.3",
                  "6.1", "6.2")


def crm_links(corpus: Corpus, doc: SourceDocument) -> list[str]:
    """A sidecar's account, opportunity and contacts exist and belong together; the document
    shares its account's team; Umbrella material is private."""
    accounts, opps, contacts = corpus.of_kind("account"), corpus.of_kind("opportunity"), corpus.of_kind("contact")
    where, problems = doc.document_id, check_access_metadata(doc.document_id, doc.owner, doc.team, doc.visibility)
    account = accounts.get(doc.account_id or "")
    if account is None:
        return [*problems, f"{where}: unknown account {doc.account_id}"]
    if doc.opportunity_id is not None and getattr(opps.get(doc.opportunity_id), "account_id", None) != account.id:
        problems.append(f"{where}: bad opportunity {doc.opportunity_id}")
    problems += [f"{where}: bad contact {c}" for c in doc.contact_ids
                 if getattr(contacts.get(c), "account_id", None) != account.id]
    if not doc.team:
        problems.append(f"{where}: no team")
    if account.id == "UMBRELLA-004" and doc.visibility != "private":
        problems.append(f"{where}: UMBRELLA-004 material must be private")
    if doc.team and doc.team != account.team:
        problems.append(f"{where}: team differs from the account's")
    return problems


def cues_of(path_name: str) -> list[Cue]:
    path = TRANSCRIPTS / path_name
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".vtt", ".srt"):
        return parse_captions(text)
    if path.suffix == ".json":
        return parse_call_json(json.loads(text))
    return parse_speaker_text(text)


def test_transcripts_in_every_format_with_disclosure_and_speakers(corpus: Corpus) -> None:
    files = sorted(p.name for p in TRANSCRIPTS.iterdir() if not p.name.endswith(".meta.json"))
    formats = Counter(name.rsplit(".", 1)[1] for name in files)
    assert len(files) >= 9 and all(formats[ext] >= n for ext, n in (("txt", 3), ("vtt", 2), ("srt", 2), ("json", 2)))
    problems = []
    for name in files:
        cues = cues_of(name)
        if not 25 <= len(cues) <= 70:
            problems.append(f"{name}: {len(cues)} turns (expected 25-70)")
        if any(not c.speaker for c in cues) or len({c.speaker for c in cues}) < 2:
            problems.append(f"{name}: a turn without a speaker, or fewer than 2 speakers")
        starts = [c.start for c in cues if c.start is not None]
        if starts != sorted(starts) or any(c.end is not None and c.start is not None and c.end < c.start
                                           for c in cues):
            problems.append(f"{name}: turns go back in time")
        if not re.search(r"record", " ".join(c.text for c in cues[:3]), re.I):
            problems.append(f"{name}: no recording disclosure in the first turns")
        doc = corpus.documents[f"file:transcripts/{name}"]
        problems += crm_links(corpus, doc)
        if not (doc.title and doc.occurred_at and doc.opportunity_id and doc.contact_ids):
            problems.append(f"{name}: the sidecar needs title, occurred_at, opportunity_id and contact_ids")
    assert problems == []


def test_call_recorder_json_lists_its_participants() -> None:
    problems = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        if path.name.endswith(".meta.json"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if not TIMESTAMP.match(data.get("started_at", "")) or not data.get("call_id") or not data.get("title"):
            problems.append(f"{path.name}: call_id, title and an ISO-8601 started_at are needed")
        people = {p["name"] for p in data["participants"]
                  if p.get("role") in ("seller", "customer") and EMAIL.match(p.get("email", ""))}
        if len(people) != len(data["participants"]) or {c.speaker for c in cues_of(path.name)} - people:
            problems.append(f"{path.name}: a participant is malformed or a speaker is not a participant")
    assert problems == []


def test_email_threads_have_headers_a_quoted_reply_and_crm_links(corpus: Corpus) -> None:
    emails = [d for d in corpus.documents.values() if d.document_id.startswith("file:emails/")]
    assert len(emails) >= 6
    problems = []
    for doc in emails:
        meta = doc.metadata
        problems += [f"{doc.document_id}: no {h} header" for h in ("from", "to", "subject", "date", "message_id")
                     if not meta.get(h)]
        addresses = re.findall(r"[^\s<>,\"]+@[^\s<>,\"]+", " ".join(meta.get(h, "") for h in ("from", "to", "cc")))
        problems += [f"{doc.document_id}: bad address {a!r}" for a in addresses if not EMAIL.match(a)]
        if not doc.occurred_at:
            problems.append(f"{doc.document_id}: the Date header does not parse")
        if not any(s.section == [QUOTED_SECTION] for s in doc.segments):
            problems.append(f"{doc.document_id}: no quoted reply")
        problems += crm_links(corpus, doc)
    assert problems == []


def test_product_policy_and_contract_documents(corpus: Corpus) -> None:
    problems = []
    for rel in REQUIRED_DOCS:
        doc = corpus.documents.get(f"file:docs/{rel}")
        if doc is None:
            problems.append(f"docs/{rel}: missing")
            continue
        if not doc.title:
            problems.append(f"docs/{rel}: no title")
        if max((len(s.section) for s in doc.segments), default=0) < 2:
            problems.append(f"docs/{rel}: no second-level heading (# and ## / h1 and h2)")
        words = len(doc.text.split())
        if rel.startswith("product/") and not 400 <= words <= 1200:
            problems.append(f"docs/{rel}: {words} words (expected 400-1200)")
        if doc.doc_type == "contract":
            account = corpus.of_kind("account").get(doc.account_id or "")
            if account is None or doc.visibility != "team" or doc.team != account.team:
                problems.append(f"docs/{rel}: a contract needs its account, visibility team and the account's team")
        elif doc.doc_type not in ("product_doc", "policy") or doc.visibility != "public":
            problems.append(f"docs/{rel}: a public product_doc or policy expected, got {doc.doc_type}")
        problems += check_access_metadata(f"docs/{rel}", doc.owner, doc.team, doc.visibility)
    assert problems == []
    policy = corpus.documents["file:docs/policy/sales-policy.md"]
    clauses = parse_clauses([("policy", policy.document_id, policy.text)])
    assert [c for c in POLICY_CLAUSES if c not in clauses] == []
