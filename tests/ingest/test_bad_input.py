"""Bad input: every problem is one LoadError with a stable reason; the batch goes on."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ingest.loaders import BinaryDataError, LoadResult, SourceDefaults, decode_text, load_paths, registry
from ingest.loaders import files as files_loader
from tests.ingest.test_loaders import make_docx, write

GOOD_NOTE = (
    "note_id,account_id,opportunity_id,contact_id,author,team,visibility,created_at,updated_at,"
    "subject,body\n"
    "N-1,ACME-001,,C-1,u-maria,t-ent,team,2026-06-18T14:05:00Z,,QBR,Pilot going well.\n"
)


def reasons(result: LoadResult) -> dict[str, str]:
    return {error.source: error.reason for error in result.errors}


def one_error(result: LoadResult) -> tuple[str, str]:
    assert len(result.errors) == 1, [e.message for e in result.errors]
    return result.errors[0].reason, result.errors[0].message


# -- decode_text -------------------------------------------------------------------------------

SAMPLE = "Café crème – “quoted” naïve €5\nSecond line"


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode("utf-8"),
        codecs.BOM_UTF8 + SAMPLE.encode("utf-8"),
        codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("cp1252"),
        SAMPLE.replace("\n", "\r\n").encode("cp1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "cp1252", "cp1252-crlf"],
)
def test_decode_text_accepts_common_encodings(data: bytes) -> None:
    assert decode_text(data) == SAMPLE


@given(st.text())
def test_decode_text_round_trips_unicode_with_a_bom(text: str) -> None:
    # A UTF-16 LE BOM followed by U+0000 is the UTF-32 LE BOM: read as UTF-32, by design.
    assume(not text.startswith("\x00"))
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        try:
            assert decode_text(bom + text.encode(codec)) == normalized
        except BinaryDataError:  # only text dense with control characters is refused
            assert sum(ch < " " and ch not in "\t\n\r\f\v" for ch in text) > len(text) / 100


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(256)) * 4, b"\x81\x8d\x8f\x90\x9d" * 50],
    ids=["png", "all-bytes", "cp1252-undefined"],
)
def test_decode_text_refuses_binary(data: bytes) -> None:
    with pytest.raises(BinaryDataError):
        decode_text(data)


# -- file-level errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("slides.pptx", b"PK\x03\x04 not really", "unsupported_type"),
        ("Makefile", "all:\n\techo hi\n", "unsupported_type"),
        ("prices.csv", "sku,price\nA,1\n", "unsupported_type"),
        ("empty.md", b"", "empty"),
        ("blank.txt", "   \n\n  \n", "empty"),
        ("garbage.pdf", b"<html>an error page saved as pdf</html>", "corrupt"),
        ("garbage.docx", b"this is not a zip file at all", "corrupt"),
        ("call.json", '{"utterances": [', "corrupt"),
        ("call2.json", '{"utterances": "not a list"}', "corrupt"),
        ("other.json", '{"hello": "world"}', "unsupported_type"),
        ("binary.txt", b"\x00\x01\x02\x03" * 100, "bad_encoding"),
        ("binary.md", bytes(range(256)) * 8, "bad_encoding"),
        ("binary.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF" * 20, "bad_encoding"),
        ("binary.eml", b"\x00" * 64, "bad_encoding"),
        ("headings.md", "# Only a heading\n\n## And another\n", "no_text"),
        ("silent.vtt", "WEBVTT\n\nNOTE nothing was said\n", "no_text"),
        ("header-only.csv", GOOD_NOTE.splitlines()[0] + "\n", "no_text"),
        ("nobody.eml", "From: a@example.com\nSubject: Hi\n\n\n", "no_text"),
    ],
)
def test_bad_file_is_one_error_with_a_stable_reason(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    result = load_paths([write(tmp_path, name, content)])
    assert one_error(result)[0] == reason
    assert result.errors[0].source == f"file:{name}"
    assert not result.documents


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    result = load_paths([write(tmp_path, "cut.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")])
    assert one_error(result)[0] == "corrupt"


def test_truncated_docx_is_corrupt(tmp_path: Path) -> None:
    whole = make_docx(tmp_path / "whole.docx").read_bytes()
    result = load_paths([write(tmp_path / "cut", "half.docx", whole[: len(whole) // 2])])
    assert one_error(result)[0] == "corrupt"


def test_too_large_uses_the_configured_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.md", "word " * 100)
    result = load_paths([path], defaults=SourceDefaults(max_bytes=100))
    reason, message = one_error(result)
    assert reason == "too_large" and "500 bytes" in message
    assert load_paths([path]).documents  # the default limit (25 MB) lets it through


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    assert one_error(load_paths([tmp_path / "nope.md"]))[0] == "not_found"


def test_bad_sidecar_fails_its_file_only(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "Alpha.\n")
    write(tmp_path, "a.md.meta.json", "{not json")
    write(tmp_path, "b.md", "Beta.\n")
    write(tmp_path, "b.md.meta.json", json.dumps({"visibility": "secret"}))
    write(tmp_path, "c.md", "Gamma.\n")
    write(tmp_path, "c.md.meta.json", json.dumps(["a", "list"]))
    write(tmp_path, "d.md", "Delta.\n")
    result = load_paths([tmp_path])
    assert reasons(result) == {f"file:{n}.md": "bad_metadata" for n in "abc"}
    assert "visibility" in next(e.message for e in result.errors if e.source == "file:b.md")
    assert [d.document_id for d in result.documents] == ["file:d.md"]


def test_unavailable_parser_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partitioners = dict(files_loader._PARTITIONERS)
    partitioners[".docx"] = partitioners[".docx"]._replace(module="unstructured.partition.nope")
    monkeypatch.setattr(files_loader, "_PARTITIONERS", partitioners)
    reason, message = one_error(load_paths([make_docx(tmp_path / "msa.docx")]))
    assert reason == "parser_unavailable" and "unstructured.partition.nope" in message


def test_a_loader_bug_becomes_an_error_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(src: object) -> LoadResult:
        raise RuntimeError("boom")

    monkeypatch.setitem(registry.LOADERS, ".srt", broken)
    write(tmp_path, "a.srt", "1\n00:00:01,000 --> 00:00:02,000\nHi.\n")
    write(tmp_path, "b.md", "Fine.\n")
    result = load_paths([tmp_path])
    assert reasons(result) == {"file:a.srt": "corrupt"}
    assert [d.document_id for d in result.documents] == ["file:b.md"]


def test_mixed_batch_loads_every_good_file(tmp_path: Path) -> None:
    write(tmp_path, "good.md", "# Title\n\nGood text.\n")
    write(tmp_path, "good.vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n<v Ann>Hello.\n")
    write(tmp_path, "notes.csv", GOOD_NOTE)
    write(tmp_path, "bad.pdf", b"not a pdf")
    write(tmp_path, "bad.docx", b"not a docx")
    write(tmp_path, "bad.bin", b"\x00\x01")
    write(tmp_path, "empty.txt", b"")
    result = load_paths([tmp_path])
    assert {d.document_id for d in result.documents} == {"file:good.md", "file:good.vtt", "note:N-1"}
    assert reasons(result) == {
        "file:bad.pdf": "corrupt",
        "file:bad.docx": "corrupt",
        "file:bad.bin": "unsupported_type",
        "file:empty.txt": "empty",
    }


# -- CRM rows ---------------------------------------------------------------------------------


def test_bad_rows_name_file_and_line_and_other_rows_load(tmp_path: Path) -> None:
    csv_text = GOOD_NOTE + (
        ",ACME-001,,,u-maria,t-ent,team,2026-06-19,,No id,Body.\n"  # line 3: missing id
        "N-3,ACME-001,,,u-maria,t-ent,team,2026-06-19\n"  # line 4: too few values
        "N-4,ACME-001,,,u-maria,t-ent,team,the day after,,Date,Body.\n"  # line 5
        "N-5,ACME-001,,,u-maria,t-ent,secret,2026-06-19,,Vis,Body.\n"  # line 6
        'N-6,ACME-001,,,u-maria,t-ent,team,2026-06-19,,Multi,"Line one\nline two"\n'  # 7-8
        "N-7,ACME-001,,,u-maria,t-ent,team,2026-06-19,,,\n"  # line 9: no text
        "N-8,ACME-001,,,u-maria,t-ent,team,2026-06-20,,Last,Still loads.\n"  # line 10
    )
    result = load_paths([write(tmp_path, "crm/notes.csv", csv_text)])
    assert [d.document_id for d in result.documents] == ["note:N-1", "note:N-6", "note:N-8"]
    messages = [e.message for e in result.errors]
    assert all(e.reason == "bad_row" for e in result.errors)
    assert messages[0] == "notes.csv line 3: missing note_id"
    assert messages[1] == "notes.csv line 4: 8 values for 11 columns"
    assert messages[2].startswith("notes.csv line 5: created_at 'the day after'")
    assert messages[3].startswith("notes.csv line 6: visibility 'secret'")
    assert messages[4] == "notes.csv line 9: the note has no text"
    assert [e.source for e in result.errors] == [
        "file:notes.csv#line=3", "file:notes.csv#line=4", "note:N-4", "note:N-5", "note:N-7",
    ]


def test_missing_required_column_fails_the_file(tmp_path: Path) -> None:
    csv_text = "contact_id,account_id,first_name\nC-1,ACME-001,Dana\n"
    reason, message = one_error(load_paths([write(tmp_path, "contacts.csv", csv_text)]))
    assert reason == "bad_row"
    assert message == "contacts.csv line 1: contact export lacks columns ['last_name']"


def test_bad_amount_is_a_bad_row(tmp_path: Path) -> None:
    csv_text = (
        "opportunity_id,account_id,name,amount\n"
        "OPP-1,ACME-001,Rollout,lots\n"
        "OPP-2,ACME-001,Add-on,43200\n"
    )
    result = load_paths([write(tmp_path, "opps.csv", csv_text)])
    assert one_error(result) == ("bad_row", "opps.csv line 2: amount 'lots' is not a number")
    assert [r.id for r in result.records] == ["OPP-2"]
    assert [d.document_id for d in result.documents] == ["opportunity:OPP-2"]


def test_bad_json_records_are_numbered(tmp_path: Path) -> None:
    records = [
        {"account_id": "ACME-001", "name": "Acme"},
        "not an object",
        {"sku": "A-1"},
        {"account_id": "", "name": "No id"},
        {"contact_id": "C-1", "account_id": "ACME-001", "first_name": "Dana"},
    ]
    result = load_paths([write(tmp_path, "accounts.json", json.dumps(records))])
    assert [d.document_id for d in result.documents] == ["account:ACME-001"]
    assert [e.message.split(":")[0] for e in result.errors] == [
        "accounts.json record 2", "accounts.json record 3", "accounts.json record 4",
        "accounts.json record 5",
    ]
    assert result.errors[-1].message.endswith("lacks keys ['last_name']")
