"""Retrieval quality on real data: dense, BM25, hybrid (RRF) and hybrid + rerank.

    .venv/bin/python -m eval.benchmarks.retrieval_eval [--sets mtrag,qmsum,demo] [--out FILE.md]

Each set is ingested through the product's own pipeline into a scratch data dir (Qdrant
Edge + SQLite + MiniLM), then every query runs through ``Retriever.search`` (the code path
actions use, with its tenant/ACL/consent filter) in each mode.

- **mtrag**: MTRAG-UN IBM Cloud passages (248) and the 86 answerable/partial questions;
  relevant = the task's reference passages (and their exact-text twins). Document-level:
  the ranked chunks are collapsed to passages in first-seen order.
- **qmsum**: QMSum meeting transcripts (8) and the 45 specific queries, each searched
  within its meeting (as a single-call action does); relevant = chunks whose speaker turns
  overlap a gold turn span.
- **demo**: the bundled demo corpus and the answerable questions of
  ``eval/datasets/demo_qa.jsonl``, as the row's user; relevant = the row's source ids.

Metrics: recall@5, recall@10 (relevant found / all relevant), MRR, nDCG@10 (binary)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from eval.metrics.retrieval import ndcg_at_k, recall_at_k, reciprocal_rank
from ingest.documents import Segment, SourceDocument
from ingest.loaders import LoadResult
from prompts.scripted import ScriptedChatModel
from retrieval.filters import AccessContext, SearchScope
from retrieval.models import DocType, RecordRef, SearchHit
from retrieval.search import SearchRequest
from service.container import Container
from service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "datasets"
MODES: dict[str, dict[str, object]] = {
    "dense": {"mode": "dense", "rerank": False},
    "bm25": {"mode": "sparse", "rerank": False},
    "hybrid (RRF)": {"mode": "hybrid", "rerank": False},
    "hybrid + rerank": {"mode": "hybrid", "rerank": True},
}


@dataclass
class Query:
    text: str
    access: AccessContext
    scope: SearchScope
    relevant: set[str]
    unit: Callable[[SearchHit], str | None]
    """Maps a hit to the unit relevance is judged on (a passage id, a chunk id...)."""


def ranked_units(hits: Iterable[SearchHit], unit: Callable[[SearchHit], str | None]) -> list[str]:
    out: list[str] = []
    for hit in hits:
        u = unit(hit)
        if u is not None and u not in out:
            out.append(u)
    return out


# -- data sets ---------------------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def mtrag(container: Container) -> list[Query]:
    docs = read_jsonl(SHARED / "mtrag_cloud" / "docs.jsonl")
    twins: dict[str, set[str]] = {}
    by_text: dict[str, list[str]] = {}
    for d in docs:
        by_text.setdefault(d["text"].strip(), []).append(d["doc_id"])
    for ids in by_text.values():
        for i in ids:
            twins[i] = set(ids)
    documents = [
        SourceDocument(document_id=f"mtrag:{d['doc_id']}", source_uri=f"mtrag:{d['doc_id']}",
                       doc_type=DocType.PRODUCT_DOC, segments=[Segment(text=d["text"].strip())],
                       visibility="public", owner="docs")
        for d in docs
    ]
    container.ingestor.ingest_loaded("mtrag", LoadResult(documents=documents))
    access = AccessContext.for_user("mtrag", "eval", [], "sales_insights")
    queries = []
    for row in read_jsonl(SHARED / "mtrag_cloud" / "qa.jsonl"):
        if not row["context_doc_ids"]:
            continue
        relevant = set().union(*(twins.get(i, {i}) for i in row["context_doc_ids"]))
        queries.append(Query(row["question"], access, SearchScope(), relevant,
                             lambda h: h.chunk.document_id.removeprefix("mtrag:")))
    return queries


def qmsum(container: Container) -> list[Query]:
    rows = read_jsonl(SHARED / "qmsum_dev" / "summarization.jsonl")
    meetings: dict[str, str] = {r["meeting_id"]: r["transcript"] for r in rows}
    documents = []
    for meeting, transcript in meetings.items():
        segments = []
        for i, line in enumerate(transcript.split("\n")):
            speaker, _, text = line.partition(": ")
            segments.append(Segment(text=text or line, speaker=speaker if text else None,
                                    start_s=float(i), end_s=float(i + 1)))
        documents.append(SourceDocument(document_id=f"qmsum:{meeting}", source_uri=f"qmsum:{meeting}",
                                        doc_type=DocType.TRANSCRIPT, title=meeting, segments=segments,
                                        visibility="public", owner="eval"))
    container.ingestor.ingest_loaded("qmsum", LoadResult(documents=documents))
    access = AccessContext.for_user("qmsum", "eval", [], "sales_insights")
    chunks: dict[str, list[tuple[str, float, float]]] = {}
    from retrieval.filters import admin_filter

    for cid, chunk in container.store.scroll(admin_filter("qmsum")):
        chunks.setdefault(chunk.document_id, []).append((cid, chunk.start_s or 0.0, chunk.end_s or 0.0))
    queries = []
    for row in rows:
        if row["query_type"] != "specific" or not row["relevant_text_span"]:
            continue
        doc = f"qmsum:{row['meeting_id']}"
        spans = [(int(a), int(b)) for a, b in row["relevant_text_span"]]
        relevant = {cid for cid, s, e in chunks[doc] if any(s <= b and e > a for a, b in spans)}
        queries.append(Query(row["query"], access, SearchScope(record=RecordRef(kind="document", id=doc)),
                             relevant, lambda h: h.id))
    return queries


def demo(container: Container) -> list[Query]:
    corpus = REPO / "ingest" / "demo_corpus"
    container.ingestor.ingest_paths("demo", [corpus], root=corpus)
    queries = []
    for row in read_jsonl(REPO / "eval" / "datasets" / "demo_qa.jsonl"):
        if not row["reference"].get("answerable") or not row.get("relevant_doc_ids"):
            continue
        access = AccessContext.for_user("demo", row["user"], row.get("teams", []), "sales_insights")
        queries.append(Query(row["inputs"]["question"], access, SearchScope(), set(row["relevant_doc_ids"]),
                             lambda h: h.chunk.document_id))
    return queries


SETS: dict[str, Callable[[Container], list[Query]]] = {"mtrag": mtrag, "qmsum": qmsum, "demo": demo}


def evaluate(container: Container, queries: list[Query]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for name, options in MODES.items():
        sums = {"recall@5": 0.0, "recall@10": 0.0, "mrr": 0.0, "ndcg@10": 0.0}
        latencies = []
        for q in queries:
            t = time.perf_counter()
            result = container.retriever.search(SearchRequest(
                query=q.text, access=q.access, scope=q.scope, top_k=30, candidates=60, diversify=False,
                mode=options["mode"], rerank=bool(options["rerank"]),  # type: ignore[arg-type]
            ))
            latencies.append((time.perf_counter() - t) * 1000)
            ranked = ranked_units(result.hits, q.unit)
            sums["recall@5"] += recall_at_k(ranked, q.relevant, 5)
            sums["recall@10"] += recall_at_k(ranked, q.relevant, 10)
            sums["mrr"] += reciprocal_rank(ranked, q.relevant)
            sums["ndcg@10"] += ndcg_at_k(ranked, q.relevant, 10)
        n = max(1, len(queries))
        table[name] = {k: round(v / n, 3) for k, v in sums.items()}
        latencies.sort()
        table[name]["p50_ms"] = round(latencies[len(latencies) // 2], 1) if latencies else 0.0
    return table


def markdown(results: dict[str, tuple[int, dict[str, dict[str, float]]]]) -> str:
    lines = ["| set (queries) | mode | recall@5 | recall@10 | MRR | nDCG@10 | p50 ms |",
             "|---|---|---|---|---|---|---|"]
    for set_name, (n, table) in results.items():
        for mode, m in table.items():
            lines.append(f"| {set_name} ({n}) | {mode} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | "
                         f"{m['mrr']:.3f} | {m['ndcg@10']:.3f} | {m['p50_ms']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="mtrag,qmsum,demo")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="sidekick-retrieval-eval-"))
    container = Container(Settings(data_dir=data_dir), chat=ScriptedChatModel())  # no model runs here
    results = {}
    try:
        for name in args.sets.split(","):
            queries = SETS[name](container)
            results[name] = (len(queries), evaluate(container, queries))
    finally:
        container.close()
    text = markdown(results)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
