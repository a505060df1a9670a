"""Golden-set loading: the native schema, its manifest, QMSum and MTRAG conversion, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.loaders import GoldenSetInvalid, clean_ami, load_dataset, write_golden_set
from eval.schema import GoldenCase, RelevantItem


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_demo_sets_load_with_their_corpus() -> None:
    gs = load_dataset("demo")
    actions = {c.action for c in gs.cases}
    assert actions == {"summary", "email_draft", "field_fill", "compliance_check", "qa"}
    assert len(gs.cases) == sum(s.rows for s in gs.sources) >= 100
    [(corpus, root, tenant)] = gs.corpus
    assert corpus.name == "demo_corpus" and root == corpus and tenant == "demo"
    qa = next(c for c in gs.cases if c.id == "qa-001")
    assert [i.id for i in qa.relevant_items()] == qa.relevant_doc_ids
    assert all(len(s.sha256) == 64 for s in gs.sources)


def test_bad_rows_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "action": "qa", "inputs": {}}\n\nnot json\n'
                    '{"id": "b", "action": "qa", "record": "planet:Mars"}\n', encoding="utf-8")
    with pytest.raises(GoldenSetInvalid) as err:
        load_dataset(path)
    assert any(":3: not JSON" in p for p in err.value.problems)
    write_jsonl(path, [{"id": "a", "action": "qa"}, {"id": "b", "action": "qa", "record": "planet:Mars"},
                       {"id": "c", "action": "qa", "inptus": {}}])
    with pytest.raises(GoldenSetInvalid) as err:
        load_dataset(path)
    assert any("bad.jsonl:2" in p and "record" in p for p in err.value.problems)
    assert any("bad.jsonl:3" in p and "inptus" in p for p in err.value.problems)
    write_jsonl(path, [{"id": "a", "action": "qa"}, {"id": "a", "action": "summary"}])
    with pytest.raises(GoldenSetInvalid, match="duplicate case ids: a"):
        load_dataset(path)


def test_relevant_items_cover_chunks_by_document_quote_or_id() -> None:
    by_doc = RelevantItem(id="d", document_ids=["file:a.md", "file:twin.md"])
    assert by_doc.covers("c1", "file:twin.md", "anything") and not by_doc.covers("c1", "file:b.md", "x")
    quoted = RelevantItem(id="q", document_ids=["call"], quotes=["the profit aims to  make FIFTY million"])
    assert quoted.covers("c2", "call", "PM: well, the profit aims to make fifty million euros.")
    assert not quoted.covers("c2", "call", "PM: we talked about the remote's colour.")
    assert RelevantItem(id="x", chunk_ids=["c9"]).covers("c9", "other", "")
    with pytest.raises(ValueError, match="names no document"):
        RelevantItem(id="empty")


def test_qmsum_rows_become_summary_cases_on_a_transcript(tmp_path: Path) -> None:
    transcript = "\n".join([
        "Project Manager: Okay {vocalsound} let's start .",
        "Marketing: Um I think the price should be twenty five Euros per remote control unit .",
        "User Interface: Mm-hmm .",
        "Project Manager: And the profit aims to make fifty million Euros on this product line .",
        "Industrial Designer: {gap}",
    ])
    rows: list[dict] = [
        {"id": "qmsum-X-g0", "meeting_id": "X", "query_type": "general", "query": "Summarize the whole meeting.",
         "reference": "They discussed price.", "relevant_text_span": None, "transcript": transcript},
        {"id": "qmsum-X-s0", "meeting_id": "X", "query_type": "specific", "query": "What was said about profit?",
         "reference": "Fifty million.", "relevant_text_span": [["1", "3"]], "transcript": transcript},
    ]
    gs = load_dataset(write_jsonl(tmp_path / "summarization.jsonl", rows))
    [doc] = gs.documents
    assert doc.document_id == "qmsum:X" and doc.doc_type == "transcript"
    assert [s.speaker for s in doc.segments] == ["Project Manager", "Marketing", "User Interface", "Project Manager"]
    assert doc.segments[0].text == "Okay let's start."
    general, specific = gs.cases
    assert general.action == "summary" and general.record == "document:qmsum:X" and general.inputs == {}
    assert specific.inputs == {"focus": "What was said about profit?"}
    [item] = specific.relevant
    assert item.id == "qmsum:X#turns=1-3"
    assert item.quotes == ["Um I think the price should be twenty five Euros per remote control unit.",
                           "And the profit aims to make fifty million Euros on this product line."]
    assert clean_ami("A {disfmarker} b .") == "A b."


def test_mtrag_rows_become_qa_cases_over_pooled_passages(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "docs.jsonl", [
        {"doc_id": "p1", "title": None, "text": "\n\nToolchain regions\n\nToolchains are available in Sao Paulo."},
        {"doc_id": "p2", "title": None, "text": "Toolchains are available in Sao Paulo."},
        {"doc_id": "p3", "title": None, "text": "Something else entirely."},
    ])
    write_jsonl(tmp_path / "qa.jsonl", [
        {"id": "c1<::>2", "conversation_id": "c1", "turn": 2, "question": "Is it in South America?",
         "history": [{"role": "user", "text": "Where are toolchains?"}, {"role": "agent", "text": "In regions."}],
         "reference_answer": "Yes, Sao Paulo.", "reference_author": "model", "context_doc_ids": ["p2"],
         "answerability": "ANSWERABLE", "question_type": ["Factoid"], "multi_turn": ["Follow-up"]},
        {"id": "c2<::>1", "conversation_id": "c2", "turn": 1, "question": "What is the price?", "history": [],
         "reference_answer": "I don't know.", "reference_author": "model", "context_doc_ids": [],
         "answerability": "UNANSWERABLE", "question_type": ["Factoid"], "multi_turn": ["N/A"]},
    ])
    gs = load_dataset(tmp_path)  # a folder: docs.jsonl is not a golden set and is skipped
    assert [d.document_id for d in gs.documents] == ["p1", "p2", "p3"]
    assert gs.documents[0].title == "Toolchain regions"
    answerable, unanswerable = gs.cases
    assert answerable.action == "qa" and answerable.inputs == {"question": "Is it in South America?"}
    assert answerable.optional_inputs["history"][1] == {"role": "agent", "text": "In regions."}
    assert answerable.reference["answerable"] is True and unanswerable.reference["answerable"] is False
    [item] = answerable.relevant
    assert item.id == "p2" and set(item.document_ids) == {"p2"}  # p1's text differs (it has a heading)
    assert unanswerable.relevant == []
    written = write_golden_set(gs, tmp_path / "native" / "mtrag.jsonl")
    assert [p.name for p in written] == ["mtrag.jsonl", "mtrag.documents.jsonl", "mtrag.jsonl.meta.json"]
    native = load_dataset(written[0])
    assert native.documents == gs.documents and native.cases == gs.cases


def test_any_set_round_trips_through_the_native_schema(tmp_path: Path) -> None:
    case = GoldenCase(id="s1", action="summary", record="document:call-1", reference={"answer": "Price agreed."},
                      relevant=[RelevantItem(id="r", document_ids=["call-1"], quotes=["price"])],
                      documents=[{"document_id": "call-1", "text": "We agreed the price."}])  # type: ignore[list-item]
    source = tmp_path / "mine.jsonl"
    write_jsonl(source, [case.model_dump(mode="json", exclude_defaults=True)])
    (tmp_path / "mine.jsonl.meta.json").write_text(json.dumps({"name": "mine", "version": "3"}), encoding="utf-8")
    loaded = load_dataset(source)
    assert loaded.name == "mine" and loaded.version == "3" and loaded.cases == [case]
    written = write_golden_set(loaded, tmp_path / "out" / "copy.jsonl")
    again = load_dataset(written[0])
    assert again.cases == loaded.cases and again.version == "3"
