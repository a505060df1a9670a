"""False-positive and false-negative rates of each guard on its labelled cases, and the
latency it adds.

    .venv/bin/python -m eval.benchmarks.bench_guards [--json] [--repeat 3]

Sets (all in ``eval/datasets``):

- ``pii_labelled.jsonl``: span-level precision/recall per detector variant; "FP rate" is the
  share of PII-free rows where anything was found, "FN rate" the share of gold spans missed.
- ``injection_labelled.jsonl``: text-level, split into ``dev`` (the rules were written
  against it) and ``holdout`` (written after the rules were frozen: the honest number);
  ``injection_corpus/`` as the loaders and chunker deliver it (a document counts as caught
  when any of its chunks is), and every chunk of ``ingest/demo_corpus`` as real benign text.
- ``tone_labelled.jsonl``: email-level, ``dev`` and ``holdout`` likewise.
- ``grounding_labelled.jsonl``: claim-level; "positive" = an unsupported claim the check
  flags; three variants of ``verify_citations``.

Latency is per item (a text, a chunk, an email, a claim), p50/p95 over ``--repeat`` runs.
Nothing here calls a chat model; MiniLM is loaded for the semantic grounding variant."""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "eval" / "datasets"


@dataclass
class Row:
    guard: str
    set: str
    n: int
    precision: float | None
    recall: float | None
    fp_rate: float | None
    fn_rate: float | None
    p50_ms: float
    p95_ms: float


def _read(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else 0.0


def _timed(fn: Callable[[Any], Any], items: Iterable[Any], repeat: int) -> tuple[list[Any], list[float]]:
    items = list(items)
    results: list[Any] = []
    times: list[float] = []
    for r in range(repeat):
        for item in items:
            start = time.perf_counter()
            out = fn(item)
            times.append((time.perf_counter() - start) * 1000)
            if r == 0:
                results.append(out)
    return results, times


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def _binary(guard: str, name: str, labels: list[bool], predicted: list[bool], times: list[float]) -> Row:
    tp = sum(p and y for p, y in zip(predicted, labels, strict=True))
    fp = sum(p and not y for p, y in zip(predicted, labels, strict=True))
    fn = sum(y and not p for p, y in zip(predicted, labels, strict=True))
    negatives = sum(not y for y in labels)
    return Row(guard, name, len(labels), _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(fp, negatives),
               _ratio(fn, tp + fn), _pct(times, 0.5), _pct(times, 0.95))


def bench_pii(repeat: int) -> list[Row]:
    from guardrails.pii import PiiDetector
    from guardrails.pipeline import GuardPipeline

    rows = _read("pii_labelled.jsonl")
    names = [f"{r['first_name']} {r['last_name']}"
             for r in csv.DictReader((REPO / "ingest/demo_corpus/crm/contacts.csv").open())]
    variants = {"regex only": PiiDetector(use_ner=False), "regex + CRM names": PiiDetector(names, use_ner=False),
                "regex + spaCy NER": PiiDetector(use_ner=True), "regex + CRM names + NER": PiiDetector(names)}
    out = []
    for label, detector in variants.items():
        def detect(row: dict[str, Any], d: PiiDetector = detector) -> list[Any]:
            return d.detect(row["text"])

        found, times = _timed(detect, rows, repeat)
        tp = fp = fn = 0
        clean_rows = clean_hits = 0
        for row, spans in zip(rows, found, strict=True):
            gold = {(s["start"], s["end"], s["type"]) for s in row["spans"]}
            pred = {(s.start, s.end, s.type) for s in spans}
            tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
            if not gold:
                clean_rows += 1
                clean_hits += bool(pred)
        out.append(Row("pii", label, len(rows), _ratio(tp, tp + fp), _ratio(tp, tp + fn),
                       _ratio(clean_hits, clean_rows), _ratio(fn, tp + fn), _pct(times, 0.5), _pct(times, 0.95)))
    notes = [r["body"] for r in csv.DictReader((REPO / "ingest/demo_corpus/crm/notes.csv").open())]
    prompts = [[{"role": "user", "content": "\n".join(notes[i:i + 14])}] for i in range(0, len(notes) - 14, 3)]
    pipeline = GuardPipeline(names=names)
    _, times = _timed(pipeline.mask_for_external, prompts, repeat)
    out.append(Row("pii", "mask_for_external, 14-note prompt (latency only)", len(prompts), None, None, None, None,
                   _pct(times, 0.5), _pct(times, 0.95)))
    return out


def _corpus_chunks(folder: Path) -> dict[str, list[Any]]:
    from ingest.chunking import chunk_document
    from ingest.loaders.registry import load_paths

    loaded = load_paths([folder], root=folder)
    return {d.document_id: chunk_document(d, "demo", chunk_tokens=220, overlap_tokens=30, contact_consent={})
            for d in loaded.documents}


def bench_injection(repeat: int) -> list[Row]:
    from guardrails.injection import InjectionDetector

    detector = InjectionDetector()
    rows = _read("injection_labelled.jsonl")
    out = []
    for split in ("dev", "holdout"):
        part = [r for r in rows if r.get("split", "dev") == split]
        results, times = _timed(lambda r: detector.scan(r["text"]).suspected, part, repeat)
        out.append(_binary("injection", f"labelled texts ({split})", [r["label"] == "injection" for r in part],
                           results, times))
    corpus = DATA / "injection_corpus"
    manifest = [json.loads(line) for line in (corpus / ".manifest.jsonl").read_text().splitlines()]
    docs = _corpus_chunks(corpus)
    chunks = [(m, c) for m in manifest for c in docs[m["document_id"]]]
    flags, times = _timed(lambda mc: detector.scan(f"{mc[1].title}\n{mc[1].text}").suspected, chunks, repeat)
    caught: dict[str, bool] = {}
    for (m, _), flag in zip(chunks, flags, strict=True):
        caught[m["document_id"]] = caught.get(m["document_id"], False) or flag
    out.append(_binary("injection", "injection_corpus docs, as ingested", [m["label"] == "attack" for m in manifest],
                       [caught[m["document_id"]] for m in manifest], times))
    demo = [c for cs in _corpus_chunks(REPO / "ingest/demo_corpus").values() for c in cs]
    flags, times = _timed(lambda c: detector.scan(f"{c.title}\n{c.text}").suspected, demo, repeat)
    out.append(_binary("injection", "demo corpus chunks (all benign)", [False] * len(demo), flags, times))
    return out


def bench_tone(repeat: int) -> list[Row]:
    from guardrails.tone import ToneChecker

    checker = ToneChecker()
    rows = _read("tone_labelled.jsonl")
    out = []
    for split in ("dev", "holdout"):
        part = [r for r in rows if r.get("split", "dev") == split]
        results, times = _timed(lambda r: checker.scan(r["text"]).flagged, part, repeat)
        out.append(_binary("tone", f"labelled emails ({split})", [r["label"] == "unprofessional" for r in part],
                           results, times))
    return out


def bench_grounding(repeat: int) -> list[Row]:
    from guardrails.grounding import Claim, verify_citations
    from retrieval.embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.embed_query("warm up")
    rows = _read("grounding_labelled.jsonl")
    labels = [r["label"] == "unsupported" for r in rows]
    variants: dict[str, dict[str, Any]] = {
        "lexical support (before)": {"check_numbers": False},
        "lexical + numbers (default)": {},
        "lexical + numbers + MiniLM >= 0.6": {"embedder": embedder, "min_similarity": 0.6},
    }
    out = []
    for label, kwargs in variants.items():
        def flagged(r: dict[str, Any], kw: dict[str, Any] = kwargs) -> bool:
            verdicts, _ = verify_citations([Claim(r["claim"], ("E1",))], {"E1": r["evidence"][0]}, **kw)
            return bool(verdicts)

        results, times = _timed(flagged, rows, repeat)
        out.append(_binary("grounding", label, labels, results, times))
    return out


def markdown(rows: list[Row]) -> str:
    def cell(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines = ["| guard | set | n | precision | recall | FP rate | FN rate | p50 ms | p95 ms |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.guard} | {r.set} | {r.n} | {cell(r.precision)} | {cell(r.recall)} | {cell(r.fp_rate)} | "
              f"{cell(r.fn_rate)} | {r.p50_ms:.3f} | {r.p95_ms:.3f} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    parser.add_argument("--repeat", type=int, default=3, help="timing repetitions per item")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    rows = bench_pii(args.repeat) + bench_injection(args.repeat) + bench_tone(args.repeat) + bench_grounding(
        args.repeat)
    print(json.dumps([asdict(r) for r in rows], indent=2) if args.json else markdown(rows))


if __name__ == "__main__":
    main()
