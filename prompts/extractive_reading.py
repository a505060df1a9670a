"""How the extractive baseline reads a prompt: evidence sentences ranked against the
question, the prompt's format cues, and typed values stated in a sentence.

Evidence blocks are the ones :func:`actions.base.render_evidence` writes
(``<evidence id="E1" ...>text</evidence>``); everything else in the messages is treated as
instructions, from which the question (a "Question:" line or a line ending in "?"), a focus
("Focus on:", "Context ...:") and format cues ("reply exactly: ...", "[E1]" labels, a
"Subject:" line) are read."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prompts.chat import ChatMessage
from retrieval.text import content_words

EVIDENCE = re.compile(r"<evidence ([^>]*)>\n(.*?)\n</evidence>", re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_STAMP = re.compile(r"^\[\d+:\d{2}(?::\d{2})?\]\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9$€£])")
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_NUMBERISH = re.compile(r"\d")
_QUESTION_LINE = re.compile(r"^(?:question|query)\s*:\s*(.+)$", re.I)
_FOCUS_LINE = re.compile(r"^(?:focus(?: on)?|context[^:]{0,40})\s*:\s*(.+)$", re.I)
_EXACT_REPLY = re.compile(r"reply\s+exactly\s*:?\s*[\"']?([^\"'\n]+?)[\"']?\s*$", re.I | re.M)
_LABEL_CUE = re.compile(r"\[E\d+\]")
_SUBJECT_CUE = re.compile(r"^Subject:", re.M)
AMOUNT = re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d+)?\s?[kKmM]?\b|\b\d[\d,]*(?:\.\d+)?\s?(?:[kKmM]\b|%)?")
NOT_FOUND_TEXT = "The available records do not answer this."
VAGUE_OPTIONS = {"none", "other", "n/a", "unknown"}
"""Picklist options a sentence mentioning the word does not state."""
ANSWERABLE_COVERAGE = 0.3
"""Share of the question's IDF-weighted words one evidence block must contain to answer.
On the demo Q&A set no threshold separates answerable from unanswerable questions much
better than answering everything; 0.3 does as well as that while still declining some."""


@dataclass
class Sentence:
    label: str
    text: str
    order: int
    words: set[str]
    score: float = 0.0
    coverage: float = 0.0


@dataclass
class Evidence:
    """The parsed prompt: ranked sentences and how well the best one covers the question."""

    sentences: list[Sentence]
    question: str | None
    coverage: float
    instructions: str = ""
    """Every message's text outside the evidence blocks (format cues are read from it)."""

    @property
    def answerable(self) -> bool:
        return bool(self.sentences) and self.coverage >= ANSWERABLE_COVERAGE

    @property
    def best_sentence(self) -> float:
        """Coverage of the question by the single best sentence."""
        return max((s.coverage for s in self.sentences), default=0.0)


def parse_prompt(messages: Sequence[ChatMessage]) -> Evidence:
    """Evidence sentences of the last user message, ranked against its question or focus."""
    user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    request = EVIDENCE.sub(" ", user)
    instructions = "\n".join(EVIDENCE.sub(" ", m["content"]) for m in messages)
    question, focus = _question(request), _focus(request)
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for attrs, body in EVIDENCE.findall(user):
        label = dict(_ATTR.findall(attrs)).get("id", "")
        for line in body.splitlines():
            for piece in _SENTENCE_END.split(_STAMP.sub("", line.strip())):
                piece = piece.strip()
                if len(piece.split()) >= 4 and piece.lower() not in seen:  # titles repeat across chunks
                    seen.add(piece.lower())
                    sentences.append(Sentence(label, piece[:300], len(sentences), content_words(piece)))
    query = content_words(question or focus or request)
    df: dict[str, int] = {}
    for s in sentences:
        for w in s.words:
            df[w] = df.get(w, 0) + 1
    n = len(sentences) or 1
    idf = {w: math.log(1 + n / df.get(w, 1)) for w in query}  # a word no sentence has weighs as a rare one
    total = sum(idf.values()) or 1.0
    for s in sentences:
        overlap = sum(idf[w] for w in s.words & query)
        s.coverage = overlap / total
        informative = 0.3 if _NUMBERISH.search(s.text) else 0.0
        heading = 0.2 if s.text[-1] not in ".!?)\"'" else 0.0  # titles and headings say little
        s.score = overlap / math.sqrt(len(s.words) or 1) + informative - heading
    ranked = sorted(sentences, key=lambda s: (-s.score, s.order))
    blocks: dict[str, set[str]] = {}
    for s in sentences:
        blocks.setdefault(s.label, set()).update(s.words)
    best = max((sum(idf[w] for w in words & query) / total for words in blocks.values()), default=0.0)
    return Evidence(ranked, question, best if question else (1.0 if sentences else 0.0), instructions)


def _question(request: str) -> str | None:
    """The question asked: a "Question:" line, else the longest line ending in "?"."""
    for line in request.splitlines():
        if match := _QUESTION_LINE.match(line.strip()):
            return match.group(1)
    asked = [line.strip() for line in request.splitlines() if line.strip().endswith("?")]
    return max(asked, key=len) if asked else None


def _focus(request: str) -> str | None:
    """What to rank by when nothing is asked: a "Focus on:"/"Context ...:" line."""
    return next((m.group(1) for line in request.splitlines() if (m := _FOCUS_LINE.match(line.strip()))), None)


def field_line(name: str, instructions: str) -> str:
    match = re.search(rf"^.*\b{re.escape(name)}\b.*$", instructions, re.M)
    return match.group() if match else ""


def field_type(name: str, instructions: str, value_schema: dict[str, Any]) -> str:
    """The field's declared type from a ``- name (type): ...`` line, else from its schema."""
    match = re.search(rf"\b{re.escape(name)}\b\s*\((\w+)\)", instructions)
    if match:
        return match.group(1).lower()
    if "enum" in value_schema:
        return "picklist"
    kinds = value_schema.get("type", "string")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    return "number" if kinds & {"number", "integer"} else "boolean" if "boolean" in kinds else "text"


def typed_value(text: str, kind: str, value_schema: dict[str, Any]) -> Any:
    """A value of ``kind`` stated in ``text`` (a number, an amount, an ISO date, a picklist
    option), or None; free text and booleans are not guessed."""
    if kind == "picklist" or "enum" in value_schema:
        options = [o for o in value_schema.get("enum", []) if isinstance(o, str) and o.lower() not in VAGUE_OPTIONS]
        return next((o for o in options if re.search(rf"\b{re.escape(o)}\b", text, re.I)), None)
    if kind == "date":
        match = DATE.search(text)
        return match.group() if match else None
    if kind in ("number", "currency", "integer"):
        match = AMOUNT.search(DATE.sub(" ", text))
        if not match:
            return None
        raw = match.group().lower().replace(",", "").strip("$€£% ")
        factor = 1000 if raw.endswith("k") else 1_000_000 if raw.endswith("m") else 1
        number = float(raw.rstrip("km ")) * factor
        return int(number) if number.is_integer() else number
    return None


def text_reply(evidence: Evidence, max_sentences: int) -> str:
    """Free text that follows the prompt's format cues: its exact not-found reply, ``[E1]``
    labels after sentences, a ``Subject:`` first line."""
    if not evidence.sentences or (evidence.question and not evidence.answerable):
        exact = _EXACT_REPLY.search(evidence.instructions)
        return exact.group(1).strip() if exact else NOT_FOUND_TEXT
    floor = evidence.best_sentence / 2 if evidence.question else 0.0
    chosen = [s for s in evidence.sentences if s.coverage >= floor][:max_sentences]
    cite = bool(_LABEL_CUE.search(evidence.instructions))
    body = " ".join(f"{s.text} [{s.label}]" if cite and s.label else s.text for s in chosen)
    if _SUBJECT_CUE.search(evidence.instructions):
        return f"Subject: {chosen[0].text[:70]}\n\n{body}"
    return body


