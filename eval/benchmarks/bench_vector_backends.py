"""Qdrant Edge (in-process shard) against qdrant-client's local mode, same data, same filter.

    .venv/bin/python -m eval.benchmarks.bench_vector_backends [--points 20000] [--queries 50]

Random unit vectors (384-d, MiniLM's size) with a tenant/ACL payload; each query is a
filtered top-10 through the store's own ``search`` (the code path actions use). Reports
upsert time, p50/p95 filtered-query latency, reopen time and the ratios Edge/local."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from retrieval.edge_store import EdgeVectorStore
from retrieval.filters import AccessContext, build_filter
from retrieval.models import Chunk, DocType
from retrieval.qdrant_store import QdrantClientVectorStore
from retrieval.store import PointData, SparseVec, VectorStore

DIM = 384


def unit(rng: random.Random) -> list[float]:
    v = [rng.gauss(0, 1) for _ in range(DIM)]
    n = sum(x * x for x in v) ** 0.5
    return [x / n for x in v]


def make_points(n: int, seed: int = 1) -> list[PointData]:
    rng = random.Random(seed)
    points = []
    for i in range(n):
        chunk = Chunk(tenant_id=f"t{i % 4}", document_id=f"doc-{i}", chunk_index=0, text=f"chunk {i}",
                      doc_type=DocType.NOTE, acl=[f"team:{i % 10}"], account_id=f"A{i % 50}")
        points.append(PointData(chunk, unit(rng), SparseVec([rng.randrange(1 << 20)], [1.0])))
    return points


def bench(make: Callable[[], VectorStore], points: list[PointData], queries: list[list[float]]) -> dict[str, float]:
    store: VectorStore = make()
    store.ensure_collection(DIM)
    t0 = time.perf_counter()
    batch = 512
    for start in range(0, len(points), batch):
        group = points[start : start + batch]
        # One document per point: replace_document is the ingest path; bulk-load via its batching.
        for p in group:
            store.replace_document(p.chunk.tenant_id, p.chunk.document_id, [p])
    if hasattr(store, "optimize"):
        store.optimize()
    upsert_s = time.perf_counter() - t0
    access = AccessContext.for_user("t1", "u", ["1", "5"], "sales_insights")
    flt = build_filter(access)
    latencies = []
    for q in queries:
        t = time.perf_counter()
        store.search(flt, dense=q, sparse=None, mode="dense", limit=10, candidates=64)
        latencies.append((time.perf_counter() - t) * 1000)
    store.close()
    t = time.perf_counter()
    reopened: VectorStore = make()
    reopened.ensure_collection(DIM)
    reopen_s = time.perf_counter() - t
    reopened.close()
    latencies.sort()
    return {
        "upsert_s": round(upsert_s, 2),
        "query_p50_ms": round(statistics.median(latencies), 2),
        "query_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "reopen_s": round(reopen_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    points = make_points(args.points)
    rng = random.Random(7)
    queries = [unit(rng) for _ in range(args.queries)]
    root = Path(tempfile.mkdtemp(prefix="sidekick-bench-"))
    edge = bench(lambda: EdgeVectorStore(root / "edge"), points, queries)
    local = bench(lambda: QdrantClientVectorStore(collection="bench", path=root / "local"), points, queries)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "points": args.points,
        "qdrant_edge": edge,
        "qdrant_client_local": local,
        "local_over_edge": {k: round(local[k] / edge[k], 1) if edge[k] else None for k in edge},
    }, indent=2))


if __name__ == "__main__":
    main()
