"""Query latency of Sidekick's search against LangChain's QdrantVectorStore, same data.

    .venv/bin/python -m eval.benchmarks.bench_search_latency [--sizes 1000,10000,100000] [--queries 50]

For each collection size N, the same N points (MiniLM-sized random unit vectors for the
dense part, BM25 vectors of real MTRAG/QMSum text for the sparse part, 4 tenants, 10 teams)
are loaded into:

- Sidekick's embedded store (Qdrant Edge, in-process HNSW), searched through
  ``Retriever.search`` (query embedding + tenant/ACL/consent filter), dense and hybrid;
- qdrant-client local mode (the only embedded Qdrant LangChain can use), searched through
  ``langchain_qdrant.QdrantVectorStore.similarity_search`` with the same tenant filter and
  the same embedder: the peer baseline.

Every query embeds real question text with the same MiniLM model, so both sides pay the
same embedding cost; each mode is timed twice, with the query embedded on the spot and
with its embedding cached (search only, what the store and filters cost). Reports p50/p95
in ms and the ratio baseline / Sidekick-dense."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from eval.benchmarks.bench_vector_backends import DIM, unit
from retrieval.edge_store import EdgeVectorStore
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.filters import AccessContext
from retrieval.models import Chunk, DocType
from retrieval.qdrant_store import QdrantClientVectorStore, _client_sparse
from retrieval.search import Retriever, SearchRequest
from retrieval.sparse import Bm25Encoder
from retrieval.store import DENSE, SPARSE, PointData

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def texts_and_questions() -> tuple[list[str], list[str]]:
    texts = [json.loads(line)["text"].strip() for line in (SHARED / "mtrag_cloud" / "docs.jsonl").open()]
    questions = [json.loads(line)["question"] for line in (SHARED / "mtrag_cloud" / "qa.jsonl").open()]
    return texts, questions


def build_points(n: int, texts: list[str], bm25: Bm25Encoder) -> list[PointData]:
    rng = random.Random(3)
    sparse = bm25.encode_documents(texts)
    points = []
    for i in range(n):
        j = i % len(texts)
        # 1,000 consecutive points per document (250 per tenant), so loading takes a few
        # hundred replace_document calls rather than one per point.
        chunk = Chunk(tenant_id=f"t{i % 4}", document_id=f"doc-{i // 1000}", chunk_index=i, text=texts[j][:400],
                      doc_type=DocType.PRODUCT_DOC, acl=[f"team:{i % 10}", "everyone"])
        points.append(PointData(chunk, unit(rng), sparse[j]))
    return points


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"p50_ms": round(statistics.median(s), 2), "p95_ms": round(s[int(0.95 * (len(s) - 1))], 2)}


def timed(fn: Any, queries: list[str], embedder: SentenceTransformerEmbedder) -> dict[str, float]:
    """p50/p95 of ``fn`` over ``queries``: first with every query embedded on the spot (the
    embedder's query cache cleared), then again with the embeddings cached (search only)."""
    fn(queries[0])  # warm code paths
    embedder._cached_query.cache_clear()
    runs = []
    for _ in ("embedding included", "search only"):
        samples = []
        for q in queries:
            t = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - t) * 1000)
        runs.append(percentiles(samples))
    return {**runs[0], "search_only_p50_ms": runs[1]["p50_ms"], "search_only_p95_ms": runs[1]["p95_ms"]}


class _LangChainEmbeddings:
    """LangChain's Embeddings interface over the same MiniLM object Sidekick uses."""

    def __init__(self, embedder: SentenceTransformerEmbedder) -> None:
        self._e = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._e.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._e.embed_query(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_documents(texts)

    async def aembed_query(self, text: str) -> list[float]:
        return self.embed_query(text)


def run_size(n: int, queries: list[str], texts: list[str], embedder: SentenceTransformerEmbedder,
             bm25: Bm25Encoder, root: Path) -> dict[str, Any]:
    from langchain_qdrant import QdrantVectorStore

    points = build_points(n, texts, bm25)
    edge = EdgeVectorStore(root / f"edge-{n}")
    edge.ensure_collection(DIM)
    local = QdrantClientVectorStore(collection="bench", path=root / f"local-{n}")
    local.ensure_collection(DIM)
    documents: dict[tuple[str, str], list[PointData]] = {}
    for p in points:
        documents.setdefault((p.chunk.tenant_id, p.chunk.document_id), []).append(p)
    load_s: dict[str, float] = {}
    t = time.perf_counter()
    for (tenant_id, document_id), group in documents.items():  # the product's ingest write path
        edge.replace_document(tenant_id, document_id, group)
    edge.optimize()
    load_s["sidekick"] = round(time.perf_counter() - t, 1)
    # The baseline is loaded the way LangChain's add_texts loads it: plain batched upserts
    # (replace_document's stale-chunk scan is a brute-force filter in local mode, O(n) per call).
    t = time.perf_counter()
    for start in range(0, len(points), 1000):
        local._client.upsert("bench", [
            models.PointStruct(id=p.chunk.id, vector={DENSE: list(p.dense), SPARSE: _client_sparse(p.sparse)},
                               payload=p.chunk.payload())
            for p in points[start : start + 1000]])
    load_s["langchain_local"] = round(time.perf_counter() - t, 1)
    access = AccessContext.for_user("t1", "u", ["1", "5"], "sales_insights")
    retriever = Retriever(store=edge, embedder=embedder, sparse=bm25, reranker=None)

    def sidekick(mode: str) -> Any:
        return lambda q: retriever.search(SearchRequest(query=q, access=access, mode=mode,  # type: ignore[arg-type]
                                                        top_k=10, candidates=40, rerank=False, diversify=False))

    client: QdrantClient = local._client  # the same local collection, opened once
    lc = QdrantVectorStore(client=client, collection_name="bench", embedding=_LangChainEmbeddings(embedder),  # type: ignore[arg-type]
                           vector_name=DENSE, content_payload_key="text", validate_collection_config=False)
    tenant = models.Filter(must=[models.FieldCondition(key="tenant_id", match=models.MatchValue(value="t1"))])
    dense = timed(sidekick("dense"), queries, embedder)
    hybrid = timed(sidekick("hybrid"), queries, embedder)
    baseline = timed(lambda q: lc.similarity_search(q, k=10, filter=tenant), queries, embedder)
    result: dict[str, Any] = {
        "points": n,
        "sidekick_dense": dense,
        "sidekick_hybrid": hybrid,
        "langchain_local_dense": baseline,
        "baseline_over_sidekick_dense_p95": round(baseline["p95_ms"] / dense["p95_ms"], 1),
        "baseline_over_sidekick_dense_search_only_p95": round(baseline["search_only_p95_ms"]
                                                               / dense["search_only_p95_ms"], 1),
        "load_s": load_s,
    }
    edge.close()
    local.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    texts, questions = texts_and_questions()
    embedder = SentenceTransformerEmbedder()
    embedder.embed_query("warm up")
    bm25 = Bm25Encoder()
    root = Path(tempfile.mkdtemp(prefix="sidekick-bench-search-"))
    rows = []
    for n in args.sizes.split(","):
        rows.append(run_size(int(n), questions[: args.queries], texts, embedder, bm25, root))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # progress: one line per size
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "results": rows}, indent=2))


if __name__ == "__main__":
    main()
