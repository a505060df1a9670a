"""End-to-end ingest throughput against the embedder's own ceiling, in one process.

    .venv/bin/python -m eval.benchmarks.bench_ingest [--chunks 10000]

Builds documents from real text (MTRAG IBM Cloud passages and QMSum meeting turns,
re-sampled into distinct documents until they make ``--chunks`` chunks), then:

1. baseline: bare ``SentenceTransformer.encode`` on exactly the chunk texts the pipeline
   will embed (same model object, same batch size) — the physical limit here;
2. the full pipeline: chunking with tiktoken, MiniLM + BM25 vectors, Qdrant Edge upserts
   with deterministic ids, SQL bookkeeping (``Ingestor.ingest_loaded``);
3. a re-run of the same documents (everything unchanged: hashes only, nothing embedded).

Steps 1 and 2 alternate over ``--rounds`` slices of the documents, so a change in machine
load during the run falls on both sides. Reports chunks/s for each and the ratio
pipeline / bare encode (target >= 0.8)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

from ingest.chunking import chunk_document
from ingest.documents import Segment, SourceDocument
from ingest.loaders import LoadResult
from prompts.scripted import ScriptedChatModel
from retrieval.models import DocType
from service.container import Container
from service.settings import Settings

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def source_texts() -> list[str]:
    texts = [json.loads(line)["text"].strip() for line in (SHARED / "mtrag_cloud" / "docs.jsonl").open()]
    seen = set()
    for line in (SHARED / "qmsum_dev" / "summarization.jsonl").open():
        row = json.loads(line)
        if row["meeting_id"] in seen:
            continue
        seen.add(row["meeting_id"])
        turns = row["transcript"].split("\n")
        texts.extend("\n".join(turns[i : i + 12]) for i in range(0, len(turns), 12))
    return texts


def make_documents(target_chunks: int, chunk_tokens: int, overlap: int) -> tuple[list[SourceDocument], list[list[str]]]:
    """Documents of three random source texts each, and each document's chunk texts."""
    rng = random.Random(11)
    texts = source_texts()
    docs: list[SourceDocument] = []
    chunk_texts: list[list[str]] = []
    total = 0
    while total < target_chunks:
        i = len(docs)
        parts = rng.sample(texts, 3)
        doc = SourceDocument(document_id=f"bench:{i}", source_uri=f"bench:{i}", doc_type=DocType.PRODUCT_DOC,
                             title=f"Benchmark document {i}", segments=[Segment(text=p) for p in parts],
                             visibility="public", owner="bench")
        chunks = chunk_document(doc, "bench", chunk_tokens=chunk_tokens, overlap_tokens=overlap)
        docs.append(doc)
        chunk_texts.append([c.text for c in chunks])
        total += len(chunks)
    return docs, chunk_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10,
                        help="baseline and pipeline alternate over this many slices, so load drift hits both")
    args = parser.parse_args()
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="sidekick-bench-ingest-")))
    container = Container(settings, chat=ScriptedChatModel())  # no model runs here
    docs, per_doc = make_documents(args.chunks, settings.ingest.chunk_tokens, settings.ingest.chunk_overlap)
    embedder = container.embedder
    embedder.embed_documents(per_doc[0][:64])  # load and warm the model outside the timings
    model = embedder.model  # type: ignore[attr-defined]

    bare_s = pipeline_s = 0.0
    stored = 0
    size = -(-len(docs) // args.rounds)
    for start in range(0, len(docs), size):
        texts = [t for chunks in per_doc[start : start + size] for t in chunks]
        t0 = time.perf_counter()
        model.encode(texts, batch_size=settings.embedding.batch_size, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False)
        bare_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        report = container.ingestor.ingest_loaded("bench", LoadResult(documents=docs[start : start + size]))
        pipeline_s += time.perf_counter() - t0
        stored += report.chunks
        assert report.count("failed") == 0, [i for i in report.items if i.status == "failed"]

    t0 = time.perf_counter()
    rerun = container.ingestor.ingest_loaded("bench", LoadResult(documents=docs))
    rerun_s = time.perf_counter() - t0
    container.close()

    n = sum(len(chunks) for chunks in per_doc)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "documents": len(docs),
        "chunks": n,
        "chunks_stored": stored,
        "chunk_tokens": settings.ingest.chunk_tokens,
        "rounds": args.rounds,
        "bare_encode_chunks_per_s": round(n / bare_s, 1),
        "pipeline_chunks_per_s": round(stored / pipeline_s, 1),
        "ratio_pipeline_over_bare": round((stored / pipeline_s) / (n / bare_s), 3),
        "rerun_unchanged_s": round(rerun_s, 2),
        "rerun_unchanged": rerun.count("unchanged"),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
