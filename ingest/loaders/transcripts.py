"""Call and meeting transcripts: WebVTT, SRT, speaker-turn text and call-recorder JSON.

Every format is first read into cues (speaker, start, end, text), then consecutive cues of
the same named speaker are merged into one turn, and each turn becomes one ``Segment``
with ``speaker``, ``start_s`` and ``end_s``. A turn without an end time ends where the next
turn starts. Cues without a speaker are never merged, so their timing stays precise.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from ingest.documents import Segment
from ingest.loaders.base import FileSource, LoadResult, Reason
from ingest.loaders.fields import normalize_datetime
from ingest.loaders.text import read_text
from retrieval.models import DocType

_TIME = r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_TIMING_LINE = re.compile(rf"^\s*(?P<start>{_TIME})\s*-->\s*(?P<end>{_TIME})")
_SPEAKER = r"(?P<speaker>[^\W\d_][\w.'’&()\-]*(?:[ ][\w.'’&()\-]+){0,4})"
_SPEAKER_LINE = re.compile(
    rf"^\s*(?:\[(?P<ts>{_TIME})\]|\((?P<ts2>{_TIME})\))?\s*{_SPEAKER}\s*:\s+(?P<text>\S.*)$"
)
_CUE_SPEAKER = re.compile(rf"^{_SPEAKER}\s*:\s+(?P<text>\S.*)$")
_VOICE_TAG = re.compile(r"^\s*<v(?:\.[\w.-]+)*\s+(?P<speaker>[^>]+)>")
_ANY_TAG = re.compile(r"<[^>]*>")
_BLOCK_BREAK = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Cue:
    """One timed piece of speech as the source format gives it."""

    text: str
    speaker: str | None = None
    start: float | None = None
    end: float | None = None


def parse_timestamp(value: str) -> float:
    """``"01:02:03.500"``, ``"02:03,5"`` or ``"2:03"`` -> seconds."""
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def looks_like_transcript(text: str) -> bool:
    """True when most non-empty lines are ``[hh:mm:ss] Speaker: text`` or ``Speaker: text``."""
    lines = [line for line in text.splitlines() if line.strip()]
    matches = sum(1 for line in lines if _SPEAKER_LINE.match(line))
    return matches >= 2 and matches * 2 > len(lines)


# -- reading formats into cues ----------------------------------------------------------------


def parse_captions(text: str) -> list[Cue]:
    """Cues of a WebVTT or SRT file: blocks with a ``start --> end`` line; speakers from
    ``<v Name>`` voice tags or ``Name: text``. Header, NOTE and STYLE blocks have no timing
    line and are ignored."""
    cues: list[Cue] = []
    for block in _BLOCK_BREAK.split(text.strip()):
        lines = block.split("\n")
        for index, line in enumerate(lines):
            timing = _TIMING_LINE.match(line)
            if timing:
                start, end = parse_timestamp(timing["start"]), parse_timestamp(timing["end"])
                cues.extend(_cue_lines(lines[index + 1 :], start, end))
                break
    return cues


def _cue_lines(lines: list[str], start: float, end: float) -> Iterator[Cue]:
    """A cue's text lines; a voice tag or ``Name:`` starts a new speaker within the cue."""
    speaker: str | None = None
    parts: list[str] = []
    for raw in lines:
        voice = _VOICE_TAG.match(raw)
        line = html.unescape(_ANY_TAG.sub("", raw)).strip()
        named = None if voice else _CUE_SPEAKER.match(line)
        new_speaker = voice["speaker"].strip() if voice else (named["speaker"] if named else None)
        if new_speaker is not None and new_speaker != speaker:
            if parts:
                yield Cue(" ".join(parts), speaker, start, end)
            speaker, parts = new_speaker, []
        text = named["text"] if named else line
        if text:
            parts.append(text)
    if parts:
        yield Cue(" ".join(parts), speaker, start, end)


def parse_speaker_text(text: str) -> list[Cue]:
    """Cues of a plain-text transcript. Lines that are not ``Speaker: text`` continue the
    previous turn; lines before the first speaker form a turn without a speaker."""
    cues: list[Cue] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _SPEAKER_LINE.match(line)
        if match:
            stamp = match["ts"] or match["ts2"]
            start = parse_timestamp(stamp) if stamp else None
            cues.append(Cue(match["text"].strip(), match["speaker"], start))
        elif cues:
            cues[-1] = replace(cues[-1], text=f"{cues[-1].text} {line}")
        else:
            cues.append(Cue(line))
    return cues


def parse_call_json(data: dict[str, Any]) -> list[Cue]:
    """Cues of call-recorder JSON ``{"utterances": [{"speaker","start","end","text"}]}``.

    ``start``/``end`` may be seconds or ``hh:mm:ss`` strings. Raises ``ValueError``."""
    utterances = data.get("utterances")
    if not isinstance(utterances, list):
        raise ValueError('"utterances" must be a list')
    cues = []
    for number, item in enumerate(utterances, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            raise ValueError(f"utterance {number} is not an object with a text")
        text = item.get("text", "").strip()
        if text:
            speaker = str(item["speaker"]).strip() if item.get("speaker") else None
            cues.append(Cue(text, speaker, _seconds(item.get("start")), _seconds(item.get("end"))))
    return cues


def _seconds(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    return parse_timestamp(str(value))


# -- cues into turns ---------------------------------------------------------------------------


def merge_turns(cues: Iterable[Cue]) -> list[Segment]:
    """Merge consecutive cues of the same named speaker; close open-ended turns at the
    start of the next turn."""
    turns: list[Cue] = []
    for cue in cues:
        previous = turns[-1] if turns else None
        if previous is not None and cue.speaker and cue.speaker == previous.speaker:
            end = cue.end if cue.end is not None else previous.end
            turns[-1] = replace(previous, text=f"{previous.text} {cue.text}", end=end)
        else:
            turns.append(cue)
    closed = [
        replace(turn, end=following.start) if turn.end is None else turn
        for turn, following in pairwise(turns)
    ]
    closed.extend(turns[-1:])
    return [Segment(text=t.text, speaker=t.speaker, start_s=t.start, end_s=t.end) for t in closed]


# -- loaders -----------------------------------------------------------------------------------


def load_captions(src: FileSource) -> LoadResult:
    """A ``.vtt`` or ``.srt`` file."""
    cues = parse_captions(read_text(src))
    return _result(src, cues, fmt=src.path.suffix.lower().lstrip("."), found={})


def load_speaker_text(src: FileSource, text: str) -> LoadResult:
    """A ``.txt`` file already recognised by ``looks_like_transcript``."""
    return _result(src, parse_speaker_text(text), fmt="text", found={})


def load_call_json(src: FileSource, data: dict[str, Any]) -> LoadResult:
    """Call-recorder JSON (a dict with ``utterances``); ``started_at`` gives ``occurred_at``."""
    try:
        cues = parse_call_json(data)
    except ValueError as exc:
        raise src.error(Reason.CORRUPT, f"{src.label}: {exc}") from None
    metadata: dict[str, Any] = {k: data[k] for k in ("call_id", "participants") if k in data}
    found: dict[str, Any] = {"metadata": metadata}
    if isinstance(data.get("title"), str):
        found["title"] = data["title"]
    if data.get("started_at"):
        try:
            found["occurred_at"] = normalize_datetime(str(data["started_at"]))
        except ValueError:
            metadata["started_at"] = data["started_at"]  # kept as given, not trusted as a time
    return _result(src, cues, fmt="json", found=found)


def _result(src: FileSource, cues: list[Cue], *, fmt: str, found: dict[str, Any]) -> LoadResult:
    segments = merge_turns(cues)
    if not segments:
        raise src.error(Reason.NO_TEXT, f"{src.label}: no speech found in the {fmt} transcript")
    doc = src.document(
        doc_type=DocType.TRANSCRIPT,
        title=found.get("title") or src.path.name,
        segments=segments,
        occurred_at=found.get("occurred_at"),
        metadata={"format": fmt, **found.get("metadata", {})},
    )
    return LoadResult(documents=[doc])
