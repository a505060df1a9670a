"""Chunker: strict token budget, no text lost, structure kept, metadata for filters."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunking import chunk_document, document_hash, heading_line
from ingest.documents import Segment, SourceDocument
from ingest.loaders import load_paths
from retrieval.models import Chunk, DocType
from retrieval.tokens import count_tokens

DEMO = Path(__file__).resolve().parents[2] / "ingest" / "demo_corpus"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_doc(segments: list[Segment], **fields: object) -> SourceDocument:
    values: dict[str, object] = {
        "document_id": "file:x.md", "source_uri": "file:///x.md", "doc_type": DocType.DOCUMENT,
    }
    values.update(fields)
    return SourceDocument(segments=segments, **values)  # type: ignore[arg-type]


def body(chunk: Chunk, budget: int) -> str:
    """The chunk text without the heading line the chunker may have put first."""
    prefix = heading_line(chunk.section, budget)
    assert chunk.text.startswith(prefix)
    return chunk.text[len(prefix) :]


def squash(text: str) -> str:
    return "".join(text.split())


# -- strategies --------------------------------------------------------------------------------

short_words = st.one_of(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
    st.sampled_from(["Helio", "€39", "naïve", "数据保护", "🚚🚚", "SOC-2", "e.g.", "end."]),
    st.text(min_size=1, max_size=30).filter(lambda w: w.strip() == w and " " not in w),
)
long_words = st.text(alphabet="xyz0123456789/", min_size=200, max_size=1500)
words = st.one_of(short_words, long_words)
separators = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "\t", "  "])
texts = st.lists(st.tuples(words, separators), min_size=1, max_size=250).map(
    lambda pairs: "".join(word + sep for word, sep in pairs)
)
sections = st.sampled_from([[], ["Pricing"], ["Pricing", "Add-ons"], ["A very " * 40 + "long"]])
budgets = st.integers(min_value=40, max_value=400)
overlaps = st.integers(min_value=0, max_value=60)


# -- properties --------------------------------------------------------------------------------


@PROPERTY
@given(
    st.lists(st.tuples(texts, sections), min_size=1, max_size=4),
    budgets,
    overlaps,
    st.sampled_from([DocType.DOCUMENT, DocType.NOTE]),
)
def test_document_chunks_fit_and_reproduce_the_text(
    parts: list[tuple[str, list[str]]], budget: int, overlap: int, doc_type: DocType
) -> None:
    doc = make_doc([Segment(text=t, section=s) for t, s in parts], doc_type=doc_type)
    chunks = chunk_document(doc, "t", chunk_tokens=budget, overlap_tokens=overlap)
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    assert_fit_and_reproduce(doc, chunks, budget, overlap)


@PROPERTY
@given(st.text(min_size=1, max_size=3000), budgets, overlaps)
def test_no_chunk_exceeds_the_budget_for_any_unicode(text: str, budget: int, overlap: int) -> None:
    doc = make_doc([Segment(text=text, section=["Heading"])])
    chunks = chunk_document(doc, "t", chunk_tokens=budget, overlap_tokens=overlap)
    assert_fit_and_reproduce(doc, chunks, budget, overlap)


def assert_fit_and_reproduce(
    doc: SourceDocument, chunks: list[Chunk], budget: int, overlap: int
) -> None:
    """Every chunk fits; its text after the heading line is verbatim at ``char_start``;
    only the overlap repeats; together they hold all the text (modulo whitespace)."""
    source = doc.text
    rebuilt, covered, previous = [], 0, None
    for chunk in chunks:
        assert count_tokens(chunk.text) == chunk.token_count <= budget
        text, start = body(chunk, budget), chunk.char_start
        assert start is not None and source[start : start + len(text)] == text
        if previous is not None and previous.section == chunk.section and start < covered:
            assert count_tokens(source[start:covered]) <= overlap
        assert previous is None or start > (previous.char_start or 0)
        assert start + len(text) > covered  # every chunk brings new text
        rebuilt.append(source[max(start, covered) : start + len(text)])
        covered, previous = max(covered, start + len(text)), chunk
    assert squash("".join(rebuilt)) == squash(source)


# Words are numbered and long words are counting runs, so a piece of a split turn is found
# in the turn at one place only.
long_numbers = st.integers(0, 10**6).map(lambda n: "".join(str(k) for k in range(n, n + 300)))
turn_words = short_words.filter(lambda w: "\n" not in w)  # loaders join a turn into one line
turn_texts = st.lists(st.one_of(turn_words, long_numbers), min_size=1, max_size=60).map(
    lambda ws: " ".join(f"{word}~{index}" for index, word in enumerate(ws))
)


@PROPERTY
@given(
    st.lists(
        st.tuples(st.sampled_from(["Ann", "Bob", "Cy", None]), st.integers(1, 90), turn_texts),
        min_size=1,
        max_size=15,
    ),
    budgets,
    overlaps,
)
def test_transcript_chunks_keep_every_turn_in_order(
    turns: list[tuple[str | None, int, str]], budget: int, overlap: int
) -> None:
    segments, clock = [], 0
    for speaker, duration, text in turns:
        segments.append(Segment(text=text, speaker=speaker, start_s=clock, end_s=clock + duration))
        clock += duration + 1  # distinct start seconds make every line prefix unique
    doc = make_doc(segments, doc_type=DocType.TRANSCRIPT)
    chunks = chunk_document(doc, "t", chunk_tokens=budget, overlap_tokens=overlap)
    lines = [(i, line) for i, c in enumerate(chunks) for line in c.text.split("\n")]
    first_seen = last_seen = 0
    for segment in segments:
        prefix = _line_prefix(segment)
        mine = [(i, line[len(prefix) :]) for i, line in lines if line.startswith(prefix)]
        assert mine, f"turn at {segment.start_s}s is missing"
        assert mine[0][0] >= first_seen and mine[-1][0] >= last_seen  # turns appear in order
        first_seen, last_seen = mine[0][0], mine[-1][0]
        assert squash(segment.text) in squash("".join(_without_overlap(segment.text, mine)))
        for index, _ in mine:
            chunk = chunks[index]
            assert segment.speaker is None or segment.speaker in chunk.speakers
            assert chunk.start_s is not None and chunk.start_s <= segment.start_s  # type: ignore[operator]
    for chunk in chunks:
        assert count_tokens(chunk.text) <= budget
        assert chunk.speaker == (chunk.speakers[0] if len(chunk.speakers) == 1 else None)
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.start_s <= after.start_s and before.end_s <= after.end_s  # type: ignore[operator]


def _line_prefix(segment: Segment) -> str:
    """How the chunker starts each line of the turn: ``[mm:ss] Speaker: ``."""
    minutes, seconds = divmod(int(segment.start_s or 0), 60)
    stamp = f"[{minutes:02d}:{seconds:02d}] "
    return stamp + f"{segment.speaker}: " if segment.speaker else stamp


def _without_overlap(text: str, pieces: list[tuple[int, str]]) -> list[str]:
    """Pieces of one turn are verbatim slices of it; keep each character once. A line
    repeated whole at the start of the next chunk (the transcript overlap) counts once."""
    kept, covered, position, previous = [], 0, 0, None
    for _, piece in pieces:
        if piece == previous:
            continue
        previous = piece
        # the latest place it fits leaving no gap but whitespace (pieces are stripped)
        reach = covered + len(text[covered:]) - len(text[covered:].lstrip())
        start = text.rfind(piece, position, reach + len(piece))
        assert start >= 0, "a piece of the turn is not verbatim, or text was skipped"
        kept.append(text[max(start, covered) : start + len(piece)])
        covered, position = max(covered, start + len(piece)), start + 1
    return kept


# -- examples ----------------------------------------------------------------------------------


def test_a_short_note_is_one_chunk_with_its_metadata() -> None:
    note = make_doc(
        [Segment(text="QBR\n\nPilot going well.")],
        document_id="note:N-1", doc_type=DocType.NOTE, title="QBR", account_id="ACME-001",
        opportunity_id="OPP-1", contact_ids=["C-1"], author="u-maria", owner="u-maria",
        team=["t-ent"], created_at="2026-06-18T14:05:00+00:00",
    )
    (chunk,) = chunk_document(note, "acme", contact_consent={"C-1": ["sales_insights"]})
    assert chunk.text == "QBR\n\nPilot going well." and chunk.char_start == 0
    assert (chunk.tenant_id, chunk.document_id, chunk.doc_type) == ("acme", "note:N-1", "note")
    assert (chunk.account_id, chunk.opportunity_id, chunk.contact_ids) == ("ACME-001", "OPP-1", ["C-1"])
    assert chunk.acl == ["user:u-maria", "team:t-ent"]
    assert chunk.consent == ["sales_insights"]
    assert chunk.occurred_ts == 1781791500.0  # created_at, as there is no occurred_at


@pytest.mark.parametrize(
    ("visibility", "owner", "team", "acl"),
    [
        ("public", "u-1", ["t-1"], ["everyone"]),
        ("team", "u-1", ["t-1", "t-2"], ["user:u-1", "team:t-1", "team:t-2"]),
        ("team", None, ["t-1"], ["team:t-1"]),
        ("private", "u-1", ["t-1"], ["user:u-1"]),
        ("private", None, ["t-1"], []),
    ],
)
def test_acl_follows_visibility(
    visibility: str, owner: str | None, team: list[str], acl: list[str]
) -> None:
    doc = make_doc([Segment(text="x")], visibility=visibility, owner=owner, team=team)
    assert chunk_document(doc, "t")[0].acl == acl


@pytest.mark.parametrize(
    ("contacts", "consent"),
    [
        ([], ["*"]),
        (["C-1"], ["insights", "outreach"]),
        (["C-1", "C-2"], ["insights"]),
        (["C-1", "C-unknown"], []),
    ],
)
def test_consent_is_what_every_linked_contact_agreed_to(
    contacts: list[str], consent: list[str]
) -> None:
    known = {"C-1": ["outreach", "insights"], "C-2": ["insights"]}
    doc = make_doc([Segment(text="x")], contact_ids=contacts)
    assert chunk_document(doc, "t", contact_consent=known)[0].consent == consent


def test_content_hash_changes_with_text_metadata_and_chunk_size() -> None:
    doc = make_doc([Segment(text="Alpha.")], owner="u-1")
    base = chunk_document(doc, "t")[0].content_hash
    assert base == chunk_document(doc.model_copy(), "other-tenant")[0].content_hash
    assert base == document_hash(doc, chunk_tokens=220, overlap_tokens=30)
    assert base != chunk_document(make_doc([Segment(text="Alpha!")], owner="u-1"), "t")[0].content_hash
    assert base != chunk_document(make_doc([Segment(text="Alpha.")], owner="u-2"), "t")[0].content_hash
    assert base != chunk_document(doc, "t", chunk_tokens=100)[0].content_hash


def test_sections_are_never_mixed_and_carry_a_heading_line() -> None:
    doc = make_doc([
        Segment(text="Intro text.", section=["Pricing"]),
        Segment(text="Dashcam AI costs $12.", section=["Pricing", "Add-ons"]),
        Segment(text="Sensors cost $9.", section=["Pricing", "Add-ons"]),
    ])
    chunks = chunk_document(doc, "t")
    assert [c.text for c in chunks] == [
        "Pricing\nIntro text.",
        "Pricing > Add-ons\nDashcam AI costs $12.\n\nSensors cost $9.",
    ]
    assert [c.section for c in chunks] == [["Pricing"], ["Pricing", "Add-ons"]]
    assert chunks[1].char_start == doc.text.index("Dashcam")


def test_a_heading_path_too_long_for_the_budget_is_left_out() -> None:
    section = [f"Heading number {i} with quite a few words in it" for i in range(6)]
    doc = make_doc([Segment(text="Body text.", section=section)])
    (chunk,) = chunk_document(doc, "t", chunk_tokens=60)
    assert chunk.text == "Body text." and chunk.section == section


def test_long_sections_split_at_paragraphs_with_overlap() -> None:
    paragraphs = [f"Paragraph {i}. " + "The pilot went well and the fleet is happy. " * 6
                  for i in range(8)]
    doc = make_doc([Segment(text="\n\n".join(p.strip() for p in paragraphs))])
    chunks = chunk_document(doc, "t", chunk_tokens=120, overlap_tokens=20)
    assert len(chunks) > 3
    for chunk in chunks[:-1]:  # each piece ends where a paragraph ends
        end = chunk.char_start + len(chunk.text)  # type: ignore[operator]
        assert doc.text[end : end + 2] == "\n\n"
    for before, after in zip(chunks, chunks[1:], strict=False):
        repeated = before.char_start + len(before.text) - after.char_start  # type: ignore[operator]
        assert repeated > 0 and count_tokens(after.text[:repeated]) <= 20


def test_transcript_chunks_are_speaker_lines_with_a_repeated_last_turn() -> None:
    turns = [("Maria", "Hi all."), ("Raj", "Hello."), ("Maria", "Let us look at pricing " * 8),
             ("Raj", "Sounds good."), ("Maria", "The Growth tier is $59 " * 8), ("Raj", "Okay.")]
    segments = [Segment(text=t.strip(), speaker=s, start_s=10.0 * i, end_s=10.0 * i + 9)
                for i, (s, t) in enumerate(turns)]
    doc = make_doc(segments, doc_type=DocType.TRANSCRIPT)
    chunks = chunk_document(doc, "t", chunk_tokens=80, overlap_tokens=10)
    assert chunks[0].text.startswith("[00:00] Maria: Hi all.\n[00:10] Raj: Hello.")
    assert chunks[0].speakers == ["Maria", "Raj"] and chunks[0].speaker is None
    assert (chunks[0].start_s, chunks[0].char_start) == (0.0, 0)
    repeated = [c for c in chunks[1:] if c.text.startswith("[00:30] Raj: Sounds good.")]
    assert repeated, "the short last turn of a chunk starts the next one"


def test_a_turn_longer_than_the_budget_is_split_keeping_speaker_and_time() -> None:
    monologue = " ".join(f"Point {i} is that the fleet needs better routing." for i in range(60))
    doc = make_doc([Segment(text=monologue, speaker="Dana", start_s=3723.0, end_s=3900.0)],
                   doc_type=DocType.TRANSCRIPT)
    chunks = chunk_document(doc, "t", chunk_tokens=60, overlap_tokens=10)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.startswith("[1:02:03] Dana: ") and count_tokens(chunk.text) <= 60
        assert (chunk.speaker, chunk.start_s, chunk.end_s) == ("Dana", 3723.0, 3900.0)


def test_quoted_email_text_is_chunked_apart_and_flagged() -> None:
    doc = make_doc(
        [Segment(text="Yes, 5% more."), Segment(text="> Any prepay discount?", section=["quoted"])],
        doc_type=DocType.EMAIL,
    )
    new, quoted = chunk_document(doc, "t")
    assert (new.text, new.extra) == ("Yes, 5% more.", {})
    assert quoted.extra == {"quoted": True} and quoted.text.endswith("> Any prepay discount?")


def test_blank_document_has_no_chunks() -> None:
    assert chunk_document(make_doc([Segment(text="  \n ")]), "t") == []


# -- the demo corpus ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_chunks() -> dict[str, list[Chunk]]:
    if not DEMO.is_dir():
        pytest.skip("no demo corpus")
    loaded = load_paths([DEMO])
    return {doc.document_id: chunk_document(doc, "demo") for doc in loaded.documents}


def test_demo_corpus_chunks_fit_and_cover_every_document(demo_chunks: dict[str, list[Chunk]]) -> None:
    assert all(demo_chunks.values())
    for chunks in demo_chunks.values():
        assert all(c.token_count <= 220 for c in chunks)
        assert len({c.content_hash for c in chunks}) == 1


def test_demo_short_notes_and_records_are_single_chunks(demo_chunks: dict[str, list[Chunk]]) -> None:
    (note,) = demo_chunks["note:N-001"]
    assert note.account_id == "ACME-001" and note.occurred_ts is not None
    (contact,) = demo_chunks["contact:C-101"]
    assert contact.text.startswith("Contact: Dana Whitfield") and contact.contact_ids == ["C-101"]
    opportunity = demo_chunks["opportunity:OPP-1001"]  # its description is long: split
    assert opportunity[0].text.startswith("Opportunity: Acme Logistics")
    assert all(c.acl == ["user:u-maria", "team:t-enterprise"] for c in opportunity)


def test_demo_transcript_chunks_have_speakers_and_times(demo_chunks: dict[str, list[Chunk]]) -> None:
    chunks = next(v for k, v in demo_chunks.items() if k.endswith(".vtt"))
    assert all(c.speakers and c.start_s is not None for c in chunks)
    assert [c.start_s for c in chunks] == sorted(c.start_s for c in chunks)  # type: ignore[type-var]
    assert all(line.startswith("[") for c in chunks for line in c.text.split("\n"))
