"""Structure-aware chunking, sized in tokens with ``retrieval.tokens.count_tokens``.

Budget: no chunk's text exceeds ``chunk_tokens`` tokens; every candidate is measured with
the real tokenizer (token counts do not add up exactly), never estimated.

Documents, notes, e-mails, records
    A section is a run of consecutive segments with the same ``section`` path; a chunk
    never spans two. A section that fits is one chunk (so a short note or record is one
    chunk). A longer one is cut at the best boundary in the second half of the window
    (paragraph, then line, then sentence, then word; a "word" longer than half the budget
    is cut anywhere), and the next piece repeats the previous one's last whole words, up
    to ``overlap_tokens`` tokens.
    The chunk text starts with the heading path line (``"Pricing > Add-ons"``) when the
    section has one and the line costs at most a quarter of the budget: it gives retrieval
    the context a mid-section piece lacks. It counts against the budget. After that line
    the text is verbatim ``doc.text[char_start:]``.
    Quoted e-mail history (section ``["quoted"]``) gets chunks of its own, flagged
    ``extra["quoted"] = True`` so retrieval can down-weight it.

Transcripts (``doc_type`` transcript, or segments with speakers)
    Whole speaker turns are packed into a chunk as ``[mm:ss] Speaker: text`` lines. The
    next chunk starts by repeating the last turn(s) of the previous one, up to
    ``overlap_tokens`` tokens. A turn longer than the budget is split like a section, each
    piece keeping the turn's speaker and times. ``char_start`` is the offset of the first
    turn's text in ``doc.text``.

Access metadata
    ``acl``: public -> ``["everyone"]``; team -> ``["user:<owner>"]`` plus
    ``"team:<t>"`` per team; private -> ``["user:<owner>"]``. A private document without
    an owner (or a team document with neither owner nor team) gets ``[]``: nobody can
    retrieve it. ``consent``: ``["*"]`` when no contact is linked, else the purposes every
    linked contact agreed to (an unknown contact agreed to nothing).
    ``content_hash`` covers the whole document and the chunking parameters, so changing
    either re-indexes it; consent is not in it (the pipeline rewrites consent payloads).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from ingest.documents import Segment, SourceDocument
from ingest.loaders.emails import QUOTED_SECTION
from ingest.loaders.fields import to_epoch
from retrieval.filters import acl_principals
from retrieval.models import Chunk, DocType
from retrieval.tokens import count_tokens, get_encoding

CHUNKER_VERSION = 1
"""Part of ``content_hash``: bump it when a change here should re-index everything."""
MIN_CHUNK_TOKENS = 16
_SEGMENT_JOIN = "\n\n"  # how SourceDocument.text joins segments
_ATOM = re.compile(r"\S+\s*")
_CHARS_PER_TOKEN = 16  # generous: cl100k averages about 4 characters per token
_SENTENCE_END = re.compile(r"[.!?;:][\"'”’)\]]*$")


@dataclass(frozen=True)
class _Piece:
    """A chunk before metadata: its text and where it came from."""

    text: str
    char_start: int
    section: list[str]
    speakers: tuple[str | None, ...] = ()
    start_s: float | None = None
    end_s: float | None = None


def chunk_document(
    doc: SourceDocument,
    tenant_id: str,
    *,
    chunk_tokens: int = 220,
    overlap_tokens: int = 30,
    contact_consent: Mapping[str, Sequence[str]] | None = None,
) -> list[Chunk]:
    """Cut ``doc`` into chunks of at most ``chunk_tokens`` tokens, with the metadata every
    filter and citation needs. ``contact_consent`` maps contact ids to their purposes."""
    if chunk_tokens < MIN_CHUNK_TOKENS:
        raise ValueError(f"chunk_tokens must be at least {MIN_CHUNK_TOKENS}")
    overlap = max(0, min(overlap_tokens, chunk_tokens // 4))
    cut = _turn_pieces if _is_transcript(doc) else _section_pieces
    pieces = cut(doc, chunk_tokens, overlap)
    shared = _shared_metadata(doc, tenant_id, contact_consent or {}, chunk_tokens, overlap_tokens)
    return [_chunk(index, piece, shared) for index, piece in enumerate(pieces)]


def document_hash(doc: SourceDocument, *, chunk_tokens: int, overlap_tokens: int) -> str:
    """sha256 of the canonical JSON of the document and the chunking parameters."""
    payload = {
        "document": doc.model_dump(mode="json"),
        "chunker": [CHUNKER_VERSION, chunk_tokens, overlap_tokens],
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def acl_for(doc: SourceDocument) -> list[str]:
    """Principals allowed to read the document's chunks (see the module docstring)."""
    return acl_principals(doc.visibility, doc.owner, doc.team)


def consent_for(doc: SourceDocument, contact_consent: Mapping[str, Sequence[str]]) -> list[str]:
    """Purposes all linked contacts agreed to; ``["*"]`` when none is linked."""
    if not doc.contact_ids:
        return ["*"]
    agreed = [set(contact_consent.get(contact, ())) for contact in doc.contact_ids]
    return sorted(set.intersection(*agreed))


def _shared_metadata(
    doc: SourceDocument,
    tenant_id: str,
    contact_consent: Mapping[str, Sequence[str]],
    chunk_tokens: int,
    overlap_tokens: int,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "document_id": doc.document_id,
        "doc_type": doc.doc_type,
        "title": doc.title,
        "source_uri": doc.source_uri,
        "account_id": doc.account_id,
        "opportunity_id": doc.opportunity_id,
        "contact_ids": list(doc.contact_ids),
        "author": doc.author,
        "created_at": doc.created_at,
        "updated_at": doc.updated_at,
        "occurred_ts": to_epoch(doc.occurred_at or doc.created_at),
        "acl": acl_for(doc),
        "consent": consent_for(doc, contact_consent),
        "content_hash": document_hash(
            doc, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens
        ),
    }


def _chunk(index: int, piece: _Piece, shared: dict[str, Any]) -> Chunk:
    speakers = list(dict.fromkeys(s for s in piece.speakers if s))
    quoted = shared["doc_type"] == DocType.EMAIL and piece.section == [QUOTED_SECTION]
    return Chunk(
        **shared,
        chunk_index=index,
        text=piece.text,
        token_count=count_tokens(piece.text),
        char_start=piece.char_start,
        section=piece.section,
        speaker=speakers[0] if len(speakers) == 1 else None,
        speakers=speakers,
        start_s=piece.start_s,
        end_s=piece.end_s,
        extra={"quoted": True} if quoted else {},
    )


def _segment_offsets(segments: Sequence[Segment]) -> list[int]:
    offsets, position = [], 0
    for segment in segments:
        offsets.append(position)
        position += len(segment.text) + len(_SEGMENT_JOIN)
    return offsets


# -- documents -----------------------------------------------------------------------------


def _section_pieces(doc: SourceDocument, budget: int, overlap: int) -> list[_Piece]:
    text = doc.text
    offsets = _segment_offsets(doc.segments)
    pieces: list[_Piece] = []
    runs = groupby(zip(doc.segments, offsets, strict=True), key=lambda pair: pair[0].section)
    for section, run in runs:
        members = list(run)
        start = members[0][1]
        end = members[-1][1] + len(members[-1][0].text)
        prefix = heading_line(section, budget)
        for span_start, span_end in split_spans(text[start:end], budget, overlap, prefix):
            body = text[start + span_start : start + span_end]
            pieces.append(_Piece(prefix + body, start + span_start, list(section)))
    return pieces


def heading_line(section: Sequence[str], budget: int) -> str:
    """``"A > B\\n"`` for a section path, or ``""`` when it would cost over a quarter of
    the budget (or there is no heading)."""
    if not section:
        return ""
    line = " > ".join(" ".join(title.split()) for title in section) + "\n"
    return line if count_tokens(line) <= budget // 4 else ""


def split_spans(text: str, budget: int, overlap: int, prefix: str = "") -> list[tuple[int, int]]:
    """Cut ``text`` into ``(start, end)`` spans, stripped of surrounding whitespace, such
    that ``prefix + text[start:end]`` fits ``budget`` tokens; consecutive spans share up to
    ``overlap`` tokens of whole words. Empty for blank text."""

    def fits(first: int, last: int) -> bool:
        span = text[atoms[first][0] : _stripped_end(text, atoms[last][1])]
        return count_tokens(prefix + span) <= budget

    atoms = _atoms(text, max(1, (budget - count_tokens(prefix)) // 2))
    spans: list[tuple[int, int]] = []
    first, previous_last = 0, -1
    while first < len(atoms):
        last = _furthest_fit(first, len(atoms) - 1, fits)
        if last <= previous_last:  # the overlap left no room for new text: drop it
            first = previous_last + 1
            continue
        if last < len(atoms) - 1:  # end on a boundary in the new half of the window
            last = _best_break(text, atoms, max(previous_last + 1, (first + last) // 2), last)
        spans.append((atoms[first][0], _stripped_end(text, atoms[last][1])))
        first, previous_last = _overlap_start(text, atoms, first, last, overlap), last
    return spans


def _atoms(text: str, max_tokens: int) -> list[tuple[int, int]]:
    """Words with their trailing whitespace; a word over ``max_tokens`` is cut into parts."""
    atoms: list[tuple[int, int]] = []
    for match in _ATOM.finditer(text):
        start, end = match.span()
        # tokens never outnumber UTF-8 bytes, so most words need no tokenizing
        while len(text[start:end].encode()) > max_tokens:
            cut = _longest_prefix(text, start, end, max_tokens)
            if cut == end:
                break
            atoms.append((start, cut))
            start = cut
        atoms.append((start, end))
    return atoms


def _longest_prefix(text: str, start: int, end: int, max_tokens: int) -> int:
    """A cut in ``(start, end]`` keeping ``text[start:cut]`` within ``max_tokens``: ``end``
    if it all fits, else after the first ``max_tokens`` tokens (whole characters only),
    backed off a character at a time in the rare case re-tokenizing the piece costs more.
    Only a window of ``_CHARS_PER_TOKEN * max_tokens`` characters is tokenized."""
    encoding = get_encoding()
    window_end = min(end, start + _CHARS_PER_TOKEN * max_tokens)
    tokens = encoding.encode(text[start:window_end], disallowed_special=())
    if window_end == end and len(tokens) <= max_tokens:
        return end
    head = encoding.decode_bytes(tokens[:max_tokens]).decode("utf-8", errors="ignore")
    cut = start + max(1, len(head))
    while cut > start + 1 and count_tokens(text[start:cut]) > max_tokens:
        cut -= 1
    return cut


def _furthest_fit(first: int, limit: int, fits: Callable[[int, int], bool]) -> int:
    """The last atom index such that atoms ``first..last`` fit: galloping, then binary
    search. ``first`` alone always fits (atoms are at most half the budget)."""
    good, step = first, 1
    while good < limit:
        probe = min(good + step, limit)
        if not fits(first, probe):
            break
        good, step = probe, step * 2
    else:
        return good
    bad = probe
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(first, middle):
            good = middle
        else:
            bad = middle
    return good


def _best_break(text: str, atoms: list[tuple[int, int]], low: int, last: int) -> int:
    """The atom to end on: the latest one with the strongest boundary in ``low..last``."""
    best, best_score = last, _break_score(text, atoms[last])
    for index in range(last - 1, low - 1, -1):
        score = _break_score(text, atoms[index])
        if score > best_score:
            best, best_score = index, score
    return best


def _break_score(text: str, atom: tuple[int, int]) -> int:
    """3 after a paragraph, 2 after a line, 1 after a sentence, 0 after a word."""
    content_end = _stripped_end(text, atom[1])
    gap = text[content_end : atom[1]]
    if "\n\n" in gap:
        return 3
    if "\n" in gap:
        return 2
    return 1 if _SENTENCE_END.search(text[atom[0] : content_end]) else 0


def _overlap_start(
    text: str, atoms: list[tuple[int, int]], first: int, last: int, overlap: int
) -> int:
    """The first atom of the next span: as far back from ``last`` as ``overlap`` allows."""
    end = _stripped_end(text, atoms[last][1])
    start = last + 1
    while start - 1 > first and count_tokens(text[atoms[start - 1][0] : end]) <= overlap:
        start -= 1
    return start


def _stripped_end(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


# -- transcripts ---------------------------------------------------------------------------


def _is_transcript(doc: SourceDocument) -> bool:
    return doc.doc_type == DocType.TRANSCRIPT or any(s.speaker for s in doc.segments)


def _turn_pieces(doc: SourceDocument, budget: int, overlap: int) -> list[_Piece]:
    units = [
        unit
        for segment, offset in zip(doc.segments, _segment_offsets(doc.segments), strict=True)
        for unit in _turn_units(segment, offset, budget, overlap)
    ]
    return [_joined(group) for group in _pack(units, budget, overlap)]


def _turn_units(segment: Segment, offset: int, budget: int, overlap: int) -> list[_Piece]:
    """A turn as one line, or as several lines when it alone exceeds the budget."""
    prefix = turn_prefix(segment, budget)
    times = {"start_s": segment.start_s, "end_s": segment.end_s}
    return [
        _Piece(prefix + segment.text[start:end], offset + start, [], (segment.speaker,), **times)
        for start, end in split_spans(segment.text, budget, overlap, prefix)
    ]


def turn_prefix(segment: Segment, budget: int) -> str:
    """``"[01:02] Dana: "`` (or without the part that is unknown). A prefix costing over a
    quarter of the budget (a very long speaker name) loses the name, then the time."""
    stamp = f"[{format_time(segment.start_s)}] " if segment.start_s is not None else ""
    full = stamp + (f"{segment.speaker}: " if segment.speaker else "")
    return next((p for p in (full, stamp) if count_tokens(p) <= budget // 4), "")


def format_time(seconds: float) -> str:
    """``mm:ss`` below an hour, ``h:mm:ss`` above."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _pack(units: list[_Piece], budget: int, overlap: int) -> list[list[_Piece]]:
    """Group consecutive lines into chunks; each new chunk repeats the previous chunk's
    last lines that fit in ``overlap`` tokens, if the next line still fits after them."""
    groups: list[list[_Piece]] = []
    current: list[_Piece] = []
    for unit in units:
        if current and _lines_tokens([*current, unit]) > budget:
            groups.append(current)
            current = _tail(current, overlap)
            while current and _lines_tokens([*current, unit]) > budget:
                current = current[1:]
        current.append(unit)
    if current:
        groups.append(current)
    return groups


def _tail(units: list[_Piece], overlap: int) -> list[_Piece]:
    for size in range(len(units) - 1, 0, -1):
        if _lines_tokens(units[-size:]) <= overlap:
            return units[-size:]
    return []


def _lines_tokens(units: list[_Piece]) -> int:
    return count_tokens("\n".join(unit.text for unit in units))


def _joined(units: list[_Piece]) -> _Piece:
    starts = [u.start_s for u in units if u.start_s is not None]
    ends = [u.end_s if u.end_s is not None else u.start_s for u in units]
    known_ends = [end for end in ends if end is not None]
    return _Piece(
        text="\n".join(unit.text for unit in units),
        char_start=units[0].char_start,
        section=[],
        speakers=tuple(speaker for unit in units for speaker in unit.speakers),
        start_s=min(starts) if starts else None,
        end_s=max(known_ends) if known_ends else None,
    )
