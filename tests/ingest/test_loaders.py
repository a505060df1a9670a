"""Loaders: what each format turns into, metadata precedence, ids, and working offline."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.documents import SourceDocument
from ingest.loaders import LoadResult, SourceDefaults, load_file, load_paths
from retrieval.models import DocType

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "ingest" / "demo_corpus"


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return path


def only_doc(result: LoadResult) -> SourceDocument:
    assert not result.errors, [e.message for e in result.errors]
    assert len(result.documents) == 1
    return result.documents[0]


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Master agreement", 1)
    document.add_paragraph("The term is twelve months from the effective date.")
    document.add_heading("Renewal", 2)
    document.add_paragraph("It renews automatically unless either party cancels in writing.")
    table = document.add_table(rows=2, cols=2)
    for (row, col), value in {(0, 0): "Tier", (0, 1): "Price", (1, 0): "Gold", (1, 1): "100"}.items():
        table.cell(row, col).text = value
    document.add_heading("Payment", 1)
    document.add_paragraph("Invoices are payable within thirty days.")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing ``lines`` in Helvetica."""
    stream = "BT /F1 12 Tf 72 720 Td 16 TL " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


MARKDOWN = """
    # Pricing and packaging

    All prices are per vehicle per month.

    ## Add-ons

    | Add-on | Price |
    |---|---|
    | Dashcam AI | $12 |

    - Billed monthly
    - Cancel any time

    # Support

    Email support on business days.
    """


# -- documents through unstructured ------------------------------------------------------------


def test_markdown_segments_by_heading_path_with_tables_as_text(tmp_path: Path) -> None:
    doc = only_doc(load_paths([write(tmp_path, "docs/pricing.md", MARKDOWN)]))
    sections = {tuple(s.section): s.text for s in doc.segments}
    assert sections[("Pricing and packaging",)] == "All prices are per vehicle per month."
    add_ons = sections[("Pricing and packaging", "Add-ons")]
    assert "Add-on | Price\nDashcam AI | $12" in add_ons
    assert "- Billed monthly\n- Cancel any time" in add_ons
    assert sections[("Support",)] == "Email support on business days."
    assert doc.title == "Pricing and packaging"
    assert doc.doc_type == DocType.DOCUMENT


def test_html_uses_heading_levels_and_drops_scripts_and_navigation(tmp_path: Path) -> None:
    html = """
        <html><head><title>Refunds</title><script>var tracking = 1;</script></head><body>
        <nav>Home | About</nav>
        <h1>Refund policy</h1><p>Refunds are issued within 14 days.</p>
        <h2>Exceptions</h2><p>Custom work is not refundable.</p>
        </body></html>
        """
    doc = only_doc(load_paths([write(tmp_path, "refunds.htm", html)]))
    assert [(s.section, s.text) for s in doc.segments] == [
        (["Refund policy"], "Refunds are issued within 14 days."),
        (["Refund policy", "Exceptions"], "Custom work is not refundable."),
    ]
    assert "tracking" not in doc.text and "About" not in doc.text


def test_docx_headings_from_styles_and_table_rows(tmp_path: Path) -> None:
    doc = only_doc(load_paths([make_docx(tmp_path / "msa.docx")]))
    sections = {tuple(s.section): s.text for s in doc.segments}
    assert "twelve months" in sections[("Master agreement",)]
    assert "Tier | Price\nGold | 100" in sections[("Master agreement", "Renewal")]
    assert "thirty days" in sections[("Payment",)]


def test_plain_text_document_keeps_its_paragraphs(tmp_path: Path) -> None:
    text = "Security overview\n\nAll data is encrypted at rest with AES-256 and in transit.\n"
    doc = only_doc(load_paths([write(tmp_path, "security.txt", text)]))
    assert doc.doc_type == DocType.DOCUMENT
    assert "encrypted at rest" in doc.text
    assert doc.segments[-1].section == ["Security overview"]


def test_pdf_fast_strategy(tmp_path: Path) -> None:
    pdf = make_pdf(["Security Overview", "All data is encrypted at rest with AES-256."])
    doc = only_doc(load_paths([write(tmp_path, "security.pdf", pdf)]))
    assert "encrypted at rest" in doc.text


# -- e-mail -------------------------------------------------------------------------------------

EMAIL = """
    From: Maria Chen <maria@helio.example>
    To: Greg Novak <greg@acme.example>
    Cc: Dana <dana@acme.example>
    Subject: RE: Proposal v2
    Date: Tue, 22 Sep 2026 15:30:00 -0400
    Message-ID: <abc@helio.example>
    Content-Type: text/plain; charset=utf-8

    Hi Greg,

    Yes, prepaying three years adds 5% off.

    On Mon, Sep 21, 2026 at 4:05 PM Greg Novak <greg@acme.example> wrote:
    > Is there anything for prepaying?
    >
    > Greg
    """


def test_email_keeps_headers_and_separates_quoted_reply(tmp_path: Path) -> None:
    doc = only_doc(load_paths([write(tmp_path, "reply.eml", EMAIL)]))
    assert doc.doc_type == DocType.EMAIL
    assert doc.title == "RE: Proposal v2"
    assert doc.author == "Maria Chen <maria@helio.example>"
    assert doc.occurred_at == "2026-09-22T15:30:00-04:00"
    assert doc.metadata["message_id"] == "<abc@helio.example>"
    assert doc.metadata["cc"] == "Dana <dana@acme.example>"
    new, quoted = doc.segments
    assert new.section == [] and new.text == "Hi Greg,\n\nYes, prepaying three years adds 5% off."
    assert quoted.section == ["quoted"]
    assert quoted.text.startswith("On Mon, Sep 21") and "> Is there anything" in quoted.text


def test_html_only_email_body_becomes_text(tmp_path: Path) -> None:
    message = (
        "From: a@example.com\nTo: b@example.com\nSubject: Hello\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        "<html><body><p>The <b>pilot</b> starts Monday.</p></body></html>\n"
    )
    doc = only_doc(load_paths([write(tmp_path, "hello.eml", message)]))
    assert doc.text == "The pilot starts Monday."


def test_email_with_an_unknown_charset_is_still_read(tmp_path: Path) -> None:
    message = (
        b"From: a@example.com\nSubject: Hi\nContent-Type: text/plain; charset=x-klingon\n"
        b"Content-Transfer-Encoding: 8bit\n\nCaf\xe9 is ready.\n"
    )
    assert only_doc(load_paths([write(tmp_path, "odd.eml", message)])).text == "Café is ready."


# -- transcripts ---------------------------------------------------------------------------------


def test_webvtt_voice_tags_merge_consecutive_cues_of_a_speaker(tmp_path: Path) -> None:
    vtt = """
        WEBVTT

        NOTE recorded with consent

        1
        00:00:03.000 --> 00:00:06.500
        <v Maria Chen>Hi all, thanks for joining.</v>

        2
        00:00:06.500 --> 00:00:09.000
        <v Maria Chen>Shall we start?

        00:00:10.000 --> 00:00:12.000
        Raj Patel: Yes &amp; go ahead.
        """
    doc = only_doc(load_paths([write(tmp_path, "call.vtt", vtt)]))
    turns = [(s.speaker, s.start_s, s.end_s, s.text) for s in doc.segments]
    assert turns == [
        ("Maria Chen", 3.0, 9.0, "Hi all, thanks for joining. Shall we start?"),
        ("Raj Patel", 10.0, 12.0, "Yes & go ahead."),
    ]
    assert doc.doc_type == DocType.TRANSCRIPT and doc.metadata["format"] == "vtt"


def test_srt_speaker_prefixes(tmp_path: Path) -> None:
    srt = """
        1
        00:00:03,000 --> 00:00:10,300
        Priya Nair: Morning Karen. This call is recorded.

        2
        00:01:11,600 --> 00:01:13,300
        Karen Liu: Yes, go ahead.
        """
    doc = only_doc(load_paths([write(tmp_path, "call.srt", srt)]))
    assert [(s.speaker, s.start_s, s.end_s) for s in doc.segments] == [
        ("Priya Nair", 3.0, 10.3),
        ("Karen Liu", 71.6, 73.3),
    ]


def test_speaker_text_transcript_turn_ends_at_next_turn(tmp_path: Path) -> None:
    text = """
        [00:00:03] Maria Chen: Hi everyone.
        [00:00:13] Dana Whitfield: Hi. We have about
        thirty minutes today.
        [00:01:15] Maria Chen: Great.
        """
    doc = only_doc(load_paths([write(tmp_path, "call.txt", text)]))
    assert doc.doc_type == DocType.TRANSCRIPT
    assert [(s.speaker, s.start_s, s.end_s, s.text) for s in doc.segments] == [
        ("Maria Chen", 3.0, 13.0, "Hi everyone."),
        ("Dana Whitfield", 13.0, 75.0, "Hi. We have about thirty minutes today."),
        ("Maria Chen", 75.0, None, "Great."),
    ]


def test_text_without_timestamps_is_a_transcript_when_most_lines_are_turns(
    tmp_path: Path,
) -> None:
    turns = "Ann: Hello.\nBob: Hi Ann.\nAnn: Shall we?\n"
    prose = "Meeting notes\nWe met Ann today.\nNext step: send the quote.\nThanks all.\n"
    transcript = only_doc(load_paths([write(tmp_path, "a.txt", turns)]))
    document = only_doc(load_paths([write(tmp_path, "b.txt", prose)]))
    assert transcript.doc_type == DocType.TRANSCRIPT
    assert [s.speaker for s in transcript.segments] == ["Ann", "Bob", "Ann"]
    assert document.doc_type == DocType.DOCUMENT


def test_call_recorder_json(tmp_path: Path) -> None:
    call = {
        "call_id": "rec-1",
        "title": "Pricing call",
        "started_at": "2026-09-24T20:00:00Z",
        "participants": [{"name": "James", "role": "seller", "email": "j@helio.example"}],
        "utterances": [
            {"speaker": "James", "start": 3.0, "end": 10.3, "text": "Hi Sofia."},
            {"speaker": "James", "start": 10.5, "end": 12.0, "text": "Ready?"},
            {"speaker": "Sofia", "start": 13.1, "text": "Sure."},
            {"speaker": "James", "start": 15.0, "end": 16.0, "text": "Great."},
        ],
    }
    doc = only_doc(load_paths([write(tmp_path, "call.json", json.dumps(call))]))
    assert doc.title == "Pricing call"
    assert doc.occurred_at == "2026-09-24T20:00:00+00:00"
    assert doc.metadata["call_id"] == "rec-1"
    assert doc.metadata["participants"][0]["role"] == "seller"
    assert [(s.speaker, s.start_s, s.end_s, s.text) for s in doc.segments] == [
        ("James", 3.0, 12.0, "Hi Sofia. Ready?"),
        ("Sofia", 13.1, 15.0, "Sure."),
        ("James", 15.0, 16.0, "Great."),
    ]


# -- CRM exports ---------------------------------------------------------------------------------


def test_crm_csv_kind_comes_from_the_header_not_the_file_name(tmp_path: Path) -> None:
    csv_text = (
        "opportunity_id,account_id,name,stage,amount,currency,close_date,owner,team,visibility,"
        "next_step\n"
        'OPP-1,ACME-001,Acme fleet rollout,Negotiation,250000,USD,2026-10-30,u-maria,'
        't-ent;t-emea,team,"Send order form"\n'
    )
    result = load_paths([write(tmp_path, "export-17.csv", csv_text)])
    doc = only_doc(result)
    assert doc.document_id == "opportunity:OPP-1"
    assert doc.doc_type == DocType.OPPORTUNITY
    assert doc.text.splitlines()[:5] == [
        "Opportunity: Acme fleet rollout",
        "Account: ACME-001",
        "Stage: Negotiation",
        "Amount: 250000 USD",
        "Close date: 2026-10-30",
    ]
    assert doc.team == ["t-ent", "t-emea"] and doc.owner == "u-maria"
    (record,) = result.records
    assert (record.kind, record.id, record.amount, record.currency) == (
        "opportunity", "OPP-1", 250000.0, "USD"
    )
    assert record.close_date == "2026-10-30" and record.fields["next_step"] == "Send order form"


def test_contacts_consent_is_a_list_of_purposes(tmp_path: Path) -> None:
    csv_text = (
        "contact_id,account_id,first_name,last_name,title,email,owner,consent\n"
        "C-1,ACME-001,Dana,Whitfield,VP Ops,dana@acme.example,u-maria,Sales_Outreach; insights\n"
        "C-2,ACME-001,Raj,Patel,Fleet manager,raj@acme.example,u-maria,\n"
    )
    result = load_paths([write(tmp_path, "people.csv", csv_text)])
    assert not result.errors
    consent = {r.id: r.consent for r in result.records}
    assert consent == {"C-1": ["insights", "sales_outreach"], "C-2": []}
    dana = result.records[0]
    assert (dana.name, dana.email, dana.title) == ("Dana Whitfield", "dana@acme.example", "VP Ops")
    assert result.documents[0].contact_ids == ["C-1"]
    assert "consent" not in result.documents[0].text.lower()


def test_notes_link_records_and_author_owns_the_note(tmp_path: Path) -> None:
    csv_text = (
        "note_id,account_id,opportunity_id,contact_id,author,team,visibility,created_at,"
        "updated_at,subject,body\n"
        'N-1,ACME-001,OPP-1,C-1,u-maria,t-ent,private,2026-06-18T14:05:00Z,,QBR,"Line one.\n'
        'Line two."\n'
    )
    doc = only_doc(load_paths([write(tmp_path, "notes.csv", csv_text)]))
    assert doc.document_id == "note:N-1" and doc.doc_type == DocType.NOTE
    assert (doc.account_id, doc.opportunity_id, doc.contact_ids) == ("ACME-001", "OPP-1", ["C-1"])
    assert (doc.author, doc.owner, doc.visibility) == ("u-maria", "u-maria", "private")
    assert doc.created_at == "2026-06-18T14:05:00+00:00" == doc.occurred_at
    assert doc.text == "QBR\n\nLine one.\nLine two."


def test_crm_json_array_or_records_object(tmp_path: Path) -> None:
    activity = {
        "activity_id": "A-1", "type": "call", "account_id": "ACME-001", "owner": "u-maria",
        "team": ["t-ent"], "occurred_at": "2026-08-12T17:00:00Z", "subject": "Discovery",
        "description": "Budget about 350k.",
    }
    account = {"account_id": "ACME-001", "name": "Acme Logistics", "region": "US Midwest"}
    as_array = load_paths([write(tmp_path, "a.json", json.dumps([activity]))])
    as_object = load_paths([write(tmp_path, "b.json", json.dumps({"records": [activity, account]}))])
    doc = only_doc(as_array)
    assert doc.document_id == "activity:A-1" and doc.title == "Discovery"
    assert doc.text.endswith("\n\nBudget about 350k.") and "Type: call" in doc.text
    assert doc.occurred_at == "2026-08-12T17:00:00+00:00" and doc.team == ["t-ent"]
    assert [d.document_id for d in as_object.documents] == ["activity:A-1", "account:ACME-001"]
    assert [r.kind for r in as_object.records] == ["account"]


# -- metadata, ids and walking -------------------------------------------------------------------


def test_sidecar_wins_over_file_and_defaults_and_unknown_keys_are_kept(tmp_path: Path) -> None:
    write(tmp_path, "docs/msa.md", "# Agreement\n\nTerm is one year.\n")
    sidecar = {
        "title": "Acme MSA", "doc_type": "contract", "account_id": "ACME-001",
        "contact_ids": "C-1;C-2", "team": "t-ent", "visibility": "private",
        "owner": "u-lena", "created_at": "2025-03-01", "signed_by": "Greg",
    }
    write(tmp_path, "docs/msa.md.meta.json", json.dumps(sidecar))
    defaults = SourceDefaults(owner="u-admin", team=["t-all"], visibility="public")
    doc = only_doc(load_paths([tmp_path], defaults=defaults))
    assert (doc.title, doc.doc_type, doc.account_id) == ("Acme MSA", DocType.CONTRACT, "ACME-001")
    assert (doc.owner, doc.team, doc.visibility) == ("u-lena", ["t-ent"], "private")
    assert doc.contact_ids == ["C-1", "C-2"] and doc.created_at == "2025-03-01"
    assert doc.metadata["signed_by"] == "Greg"


def test_defaults_apply_without_sidecar(tmp_path: Path) -> None:
    defaults = SourceDefaults(owner="u-admin", team=["t-all", "t-emea"])
    doc = only_doc(load_paths([write(tmp_path, "a.md", "Hello there.\n")], defaults=defaults))
    assert (doc.owner, doc.team, doc.visibility) == ("u-admin", ["t-all", "t-emea"], "team")


def test_document_ids_are_relative_to_the_root_with_forward_slashes(tmp_path: Path) -> None:
    note = write(tmp_path, "corpus/docs/sub/a.md", "Alpha text.\n")
    folder = load_paths([tmp_path / "corpus"])
    single = load_paths([note])
    rooted = load_paths([note], root=tmp_path)
    assert only_doc(folder).document_id == "file:docs/sub/a.md"
    assert only_doc(single).document_id == "file:a.md"
    assert only_doc(rooted).document_id == "file:corpus/docs/sub/a.md"
    assert only_doc(folder).source_uri == note.resolve().as_uri()


def test_hidden_files_and_sidecars_are_not_loaded(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "Alpha text.\n")
    write(tmp_path, "a.md.meta.json", "{}")
    write(tmp_path, "orphan.md.meta.json", "{}")
    write(tmp_path, ".notes.md", "Secret.\n")
    write(tmp_path, ".git/config.md", "Secret.\n")
    result = load_paths([tmp_path])
    assert [d.document_id for d in result.documents] == ["file:a.md"]
    assert not result.errors
    assert sorted(Path(p).name for p in result.skipped) == [".git", ".notes.md", "orphan.md.meta.json"]


def test_upload_uses_given_id_and_meta(tmp_path: Path) -> None:
    upload = write(tmp_path, "tmp123/Call notes.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\nAnn: Hi.\n")
    result = load_file(
        upload, document_id="file:uploads/call.vtt", meta={"visibility": "public", "owner": "u-1"}
    )
    doc = only_doc(result)
    assert (doc.document_id, doc.visibility, doc.owner) == ("file:uploads/call.vtt", "public", "u-1")
    assert doc.segments[0].speaker == "Ann"


# -- the demo corpus -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> LoadResult:
    if not DEMO.is_dir():
        pytest.skip("no demo corpus")
    return load_paths([DEMO])


def test_demo_corpus_loads_without_errors(demo: LoadResult) -> None:
    assert not demo.errors, [e.message for e in demo.errors]
    ids = {d.document_id for d in demo.documents}
    for expected in ("note:N-001", "activity:A-001", "account:ACME-001", "opportunity:OPP-1001",
                     "contact:C-101"):
        assert expected in ids
    assert {r.kind for r in demo.records} == {"account", "opportunity", "contact"}


def test_demo_transcripts_have_speakers_times_and_crm_links(demo: LoadResult) -> None:
    transcripts = [d for d in demo.documents if d.doc_type == DocType.TRANSCRIPT]
    assert {d.metadata["format"] for d in transcripts} >= {"vtt", "srt", "text", "json"}
    for doc in transcripts:
        assert len({s.speaker for s in doc.segments}) >= 2, doc.document_id
        starts = [s.start_s for s in doc.segments if s.start_s is not None]
        assert len(starts) == len(doc.segments) and starts == sorted(starts)
        assert doc.occurred_at and doc.account_id


def test_demo_product_docs_are_public_with_section_paths(demo: LoadResult) -> None:
    pricing = next(d for d in demo.documents if d.document_id.endswith("pricing-and-packaging.md"))
    assert pricing.doc_type == DocType.PRODUCT_DOC and pricing.visibility == "public"
    assert any(len(s.section) >= 2 for s in pricing.segments)


# -- offline -------------------------------------------------------------------------------------

_OFFLINE_SCRIPT = """
import json, socket, sys
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("network is cut")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
from ingest.loaders import load_paths
from ingest.loaders import files
result = load_paths([sys.argv[1]])
from unstructured.nlp import tokenize
print(json.dumps({
    "attempts": attempts,
    "errors": [[e.reason, e.message] for e in result.errors],
    "sections": {d.document_id: [s.section for s in d.segments] for d in result.documents},
    "spacy_loaded": files._packaged_spacy_model.cache_info().currsize,
    "patched": tokenize._get_nlp is files._packaged_spacy_model,
}))
"""


def test_partitioning_works_with_the_network_cut_in_a_fresh_interpreter(tmp_path: Path) -> None:
    """A fresh process, so import-time telemetry and the first spaCy load are exercised;
    no unstructured opt-out variable is inherited, so the loader must set them itself."""
    corpus = tmp_path / "corpus"
    write(corpus, "pricing.md", MARKDOWN)
    write(corpus, "faq.html", "<h1>FAQ</h1><h2>Billing</h2><p>We bill every month.</p>")
    write(corpus, "policy.txt", "Data Retention\n\nCustomer data is deleted after ninety days.\n")
    write(corpus, "reply.eml", EMAIL)
    make_docx(corpus / "msa.docx")
    env = {k: v for k, v in os.environ.items()
           if k not in ("UNSTRUCTURED_DISABLE_NOTICE", "SCARF_NO_ANALYTICS", "DO_NOT_TRACK")}
    env |= {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, str(corpus)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert report["errors"] == []
    assert report["patched"] and report["spacy_loaded"] == 1
    assert ["Data Retention"] in report["sections"]["file:policy.txt"]  # a heading found by NLP
    assert ["FAQ", "Billing"] in report["sections"]["file:faq.html"]
    assert "Thank you for using Unstructured" not in run.stdout


def test_loading_in_process_with_connect_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network is cut")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    write(tmp_path, "notes.txt", "Renewal terms\n\nThe contract renews every year in March.\n")
    write(tmp_path, "pricing.md", MARKDOWN)
    result = load_paths([tmp_path])
    assert not result.errors, [e.message for e in result.errors]
    assert len(result.documents) == 2
