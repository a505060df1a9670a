"""Golden-set loaders: native JSONL (with its optional manifest), QMSum and MTRAG.

``load_dataset(spec)`` takes a file, a folder (every golden set in it) or the name
``demo`` (the bundled ``eval/datasets/demo_*.jsonl``). The format of a file is detected
from its first row, so a new set in the native schema needs no code. QMSum and MTRAG rows
are converted to native cases on the fly; ``write_golden_set`` saves any loaded set in the
native schema (cases, a shared documents file and the manifest)."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.schema import (
    CorpusPath,
    EvalDocument,
    EvalSegment,
    GoldenCase,
    GoldenManifest,
    GoldenSet,
    RelevantItem,
    SetSource,
)
from retrieval.models import DocType

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
NAMED_SETS: dict[str, Callable[[], list[Path]]] = {
    "demo": lambda: sorted(DATASETS_DIR.glob("demo_*.jsonl")),
}
QUOTE_CHARS = 120
QUOTE_MIN_WORDS = 6
_AMI_MARKUP = re.compile(r"\{[a-z_]+\}")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,?!])")


class EvalError(Exception):
    """Base of eval-suite failures."""


class GoldenSetInvalid(EvalError):
    """A golden set cannot be loaded; ``problems`` lists every bad row as ``file:line: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
        self.problems = problems


def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; a line that is not an object is an error."""
    rows, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}:{number}: not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            problems.append(f"{path}:{number}: a row must be a JSON object")
            continue
        rows.append((number, value))
    if problems:
        raise GoldenSetInvalid(problems)
    return rows


def detect_format(row: dict[str, Any]) -> str | None:
    if "action" in row and "id" in row:
        return "native"
    if "meeting_id" in row and "transcript" in row:
        return "qmsum"
    if "conversation_id" in row and "answerability" in row:
        return "mtrag"
    return None


def _sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def load_dataset(spec: str | Path) -> GoldenSet:
    """Load a named set, a file or a folder of sets into one :class:`GoldenSet`."""
    text = str(spec)
    if text in NAMED_SETS:
        paths = NAMED_SETS[text]()
        return merge_sets([load_file(p) for p in paths], name=text)
    path = Path(spec)
    if path.is_dir():
        loaded = [gs for p in sorted(path.glob("*.jsonl")) if (gs := _load_if_golden(p)) is not None]
        if not loaded:
            raise GoldenSetInvalid([f"{path}: no golden set found (no *.jsonl with cases)"])
        return merge_sets(loaded, name=path.name)
    if not path.is_file():
        raise GoldenSetInvalid([f"{spec}: no such file, folder or named set ({', '.join(NAMED_SETS)})"])
    return load_file(path)


def _load_if_golden(path: Path) -> GoldenSet | None:
    if path.name.endswith(".documents.jsonl"):
        return None
    rows = read_jsonl(path)
    if not rows or detect_format(rows[0][1]) is None:
        return None
    return load_file(path)


def load_file(path: Path) -> GoldenSet:
    rows = read_jsonl(path)
    if not rows:
        raise GoldenSetInvalid([f"{path}: the file has no rows"])
    kind = detect_format(rows[0][1])
    if kind == "qmsum":
        return qmsum_set(path, [r for _, r in rows])
    if kind == "mtrag":
        return mtrag_set(path, [r for _, r in rows])
    if kind != "native":
        raise GoldenSetInvalid([f"{path}:{rows[0][0]}: unknown row format (expected a case with 'id' and "
                                "'action', a QMSum row or an MTRAG row)"])
    return _native_set(path, rows)


def _native_set(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> GoldenSet:
    problems: list[str] = []
    cases: list[GoldenCase] = []
    for number, row in rows:
        try:
            cases.append(GoldenCase.model_validate(row))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "row"
                problems.append(f"{path}:{number}: {where}: {err['msg']}")
    manifest_path = path.with_name(path.name + ".meta.json")
    manifest = GoldenManifest()
    if manifest_path.is_file():
        try:
            manifest = GoldenManifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            problems.append(f"{manifest_path}: {exc.errors()[0]['msg']}")
    documents: list[EvalDocument] = []
    hashed = [path] + ([manifest_path] if manifest_path.is_file() else [])
    if manifest.documents:
        doc_path = (path.parent / manifest.documents).resolve()
        hashed.append(doc_path)
        for number, row in read_jsonl(doc_path):
            try:
                documents.append(EvalDocument.model_validate(row))
            except ValidationError as exc:
                problems.append(f"{doc_path}:{number}: {exc.errors()[0]['msg']}")
    if problems:
        raise GoldenSetInvalid(problems)
    corpus = []
    for entry in manifest.corpus:
        target = (path.parent / entry.path).resolve()
        root = (path.parent / entry.root).resolve() if entry.root else (target if target.is_dir() else None)
        corpus.append((target, root, entry.tenant or manifest.tenant))
    name = manifest.name or path.stem
    source = SetSource(name=name, path=str(path), sha256=_sha256(*hashed), version=manifest.version,
                       rows=len(cases))
    gs = GoldenSet(name=name, version=manifest.version, sources=[source], cases=cases, documents=documents,
                   corpus=corpus, default_tenant=manifest.tenant)
    _check_unique(gs)
    return gs


def merge_sets(sets: list[GoldenSet], *, name: str) -> GoldenSet:
    """One run over several sets; case ids must stay unique."""
    if len(sets) == 1:
        return sets[0]
    if not sets:
        raise GoldenSetInvalid([f"{name}: no golden set to load"])
    merged = GoldenSet(
        name=name, version="+".join(s.version for s in sets), sources=[src for s in sets for src in s.sources],
        cases=[c for s in sets for c in s.cases], documents=[d for s in sets for d in s.documents],
        corpus=list(dict.fromkeys(c for s in sets for c in s.corpus)), default_tenant=sets[0].default_tenant,
    )
    _check_unique(merged)
    return merged


def _check_unique(gs: GoldenSet) -> None:
    seen: set[str] = set()
    duplicates = sorted({c.id for c in gs.cases if c.id in seen or seen.add(c.id)})  # type: ignore[func-returns-value]
    if duplicates:
        raise GoldenSetInvalid([f"{gs.name}: duplicate case ids: {', '.join(duplicates[:10])}"])


# -- QMSum ----------------------------------------------------------------------------------


def clean_ami(text: str) -> str:
    """Drop AMI markup ({vocalsound}, {disfmarker}, {gap}) and the space before punctuation."""
    text = _AMI_MARKUP.sub(" ", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split())).strip()


def qmsum_set(path: Path, rows: list[dict[str, Any]]) -> GoldenSet:
    """QMSum query-based summaries -> ``summary`` cases on one transcript document per meeting.

    The query becomes the summary's ``focus`` (general queries get none); each gold turn
    span becomes a relevant item quoting the span's substantial turns."""
    turns_by_meeting: dict[str, list[tuple[str | None, str]]] = {}
    for row in rows:
        meeting = row["meeting_id"]
        if meeting not in turns_by_meeting:
            turns = []
            for line in row["transcript"].split("\n"):
                speaker, sep, text = line.partition(": ")
                turns.append((speaker, clean_ami(text)) if sep else (None, clean_ami(line)))
            turns_by_meeting[meeting] = turns
    documents = [
        EvalDocument(document_id=f"qmsum:{meeting}", title=f"AMI meeting {meeting}", doc_type=DocType.TRANSCRIPT,
                     segments=[EvalSegment(text=t, speaker=s) for s, t in turns if t])
        for meeting, turns in turns_by_meeting.items()
    ]
    cases = []
    for row in rows:
        doc_id = f"qmsum:{row['meeting_id']}"
        turns = turns_by_meeting[row["meeting_id"]]
        relevant = []
        for start, end in row.get("relevant_text_span") or []:
            span = [t for _, t in turns[int(start): int(end) + 1] if t]
            quotes = [t[:QUOTE_CHARS] for t in span if len(t.split()) >= QUOTE_MIN_WORDS] or span[:QUOTE_CHARS]
            if quotes:
                relevant.append(RelevantItem(id=f"{doc_id}#turns={start}-{end}", document_ids=[doc_id], quotes=quotes))
        general = row.get("query_type") == "general"
        cases.append(GoldenCase(
            id=row["id"], action="summary", record=f"document:{doc_id}",
            inputs={} if general else {"focus": row["query"][:500]},
            reference={"answer": row["reference"], "query": row["query"]},
            relevant=relevant, tags=[row.get("query_type", ""), row["meeting_id"]],
            notes=row["query"],
        ))
    source = SetSource(name="qmsum", path=str(path), sha256=_sha256(path), version="qmsum-dev-1", rows=len(cases))
    return GoldenSet(name="qmsum", version=source.version, sources=[source], cases=cases, documents=documents)


# -- MTRAG ----------------------------------------------------------------------------------

ANSWERABLE = {"ANSWERABLE", "PARTIAL"}


def mtrag_set(path: Path, rows: list[dict[str, Any]]) -> GoldenSet:
    """MTRAG-UN IBM Cloud tasks -> ``qa`` cases over the pooled passages in ``docs.jsonl``.

    ``ANSWERABLE``/``PARTIAL`` rows expect an answer; ``UNANSWERABLE``/``UNDERSPECIFIED``
    expect "not found" (or a clarifying question). Passages with identical text (published
    on two pages) count as the same relevant item."""
    docs_path = path.with_name("docs.jsonl")
    if not docs_path.is_file():
        raise GoldenSetInvalid([f"{path}: MTRAG questions need their passages in {docs_path}"])
    passages = [r for _, r in read_jsonl(docs_path)]
    by_text: dict[str, list[str]] = {}
    for p in passages:
        by_text.setdefault(p["text"].strip(), []).append(p["doc_id"])
    twins = {doc_id: ids for ids in by_text.values() for doc_id in ids}
    documents = [
        EvalDocument(document_id=p["doc_id"], text=p["text"].strip(), doc_type=DocType.PRODUCT_DOC,
                     title=p.get("title") or _first_line(p["text"]))
        for p in passages
    ]
    cases = []
    for row in rows:
        answerability = row["answerability"]
        history = [{"role": h["role"], "text": h["text"]} for h in row.get("history", [])]
        cases.append(GoldenCase(
            id=row["id"], action="qa", inputs={"question": row["question"]},
            optional_inputs={"history": history} if history else {},
            reference={"answer": row["reference_answer"], "answerable": answerability in ANSWERABLE,
                       "answerability": answerability},
            relevant=[RelevantItem(id=d, document_ids=twins.get(d, [d])) for d in row.get("context_doc_ids", [])],
            tags=[answerability, *row.get("multi_turn", [])],
        ))
    source = SetSource(name="mtrag", path=str(path), sha256=_sha256(path, docs_path), version="mtrag-un-cloud-1",
                       rows=len(cases))
    return GoldenSet(name="mtrag", version=source.version, sources=[source], cases=cases, documents=documents)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]


# -- writing --------------------------------------------------------------------------------


def write_golden_set(gs: GoldenSet, path: Path) -> list[Path]:
    """Save ``gs`` in the native schema: cases, ``<stem>.documents.jsonl`` and the manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path]
    with path.open("w", encoding="utf-8") as out:
        for case in gs.cases:
            out.write(json.dumps(case.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False) + "\n")
    manifest = GoldenManifest(name=gs.name, version=gs.version, tenant=gs.default_tenant, corpus=[
        CorpusPath(path=os.path.relpath(p, path.parent), root=os.path.relpath(r, path.parent) if r else None,
                   tenant=t)
        for p, r, t in gs.corpus
    ])
    if gs.documents:
        doc_path = path.with_name(f"{path.stem}.documents.jsonl")
        with doc_path.open("w", encoding="utf-8") as out:
            for doc in gs.documents:
                out.write(json.dumps(doc.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False) + "\n")
        manifest.documents = doc_path.name
        written.append(doc_path)
    meta = path.with_name(path.name + ".meta.json")
    meta.write_text(manifest.model_dump_json(indent=2, exclude_defaults=False) + "\n", encoding="utf-8")
    written.append(meta)
    return written
