"""Qdrant Edge: a real Qdrant shard running in this process, persisted on disk.

The embedded default. HNSW and payload indexes, sparse vectors with IDF, WAL, filters and
the query API (prefetch + RRF fusion) with no server. Measured against qdrant-client's
local mode in ``eval/benchmarks/bench_vector_backends.py``."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from retrieval.filters import FLOAT_FIELDS, KEYWORD_FIELDS, Cond, FilterSpec
from retrieval.store import (
    DENSE,
    RRF_K,
    SPARSE,
    PointData,
    QdrantStore,
    ReadWriteLock,
    SearchPlan,
    SparseVec,
    StoreUnavailable,
)

_UPSERT_BATCH = 512


def _condition(cond: Cond) -> qe.FieldCondition:
    if cond.op == "eq":
        return qe.FieldCondition(key=cond.key, match=qe.MatchValue(cond.values[0]))
    if cond.op == "any":
        return qe.FieldCondition(key=cond.key, match=qe.MatchAny(list(cond.values)))
    return qe.FieldCondition(key=cond.key, range=qe.RangeFloat(gte=cond.gte, lte=cond.lte))


def to_edge_filter(spec: FilterSpec) -> qe.Filter:
    return qe.Filter(
        must=[_condition(c) for c in spec.must] or None,
        must_not=[_condition(c) for c in spec.must_not] or None,
    )


def _edge_sparse(vec: SparseVec) -> qe.SparseVector:
    return qe.SparseVector(indices=list(vec.indices), values=list(vec.values))


class EdgeVectorStore(QdrantStore):
    """:class:`retrieval.store.VectorStore` on a Qdrant Edge shard at ``path``."""

    def __init__(self, path: Path, *, hnsw_ef: int = 256) -> None:
        self._path = Path(path)
        self._hnsw_ef = hnsw_ef
        self._shard: Any = None
        self._lock = ReadWriteLock()
        self._open_lock = threading.Lock()
        self._dirty = False

    # -- lifecycle ---------------------------------------------------------------------
    def _config(self, dense_size: int) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dense_size, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )

    def ensure_collection(self, dense_size: int) -> None:
        with self._open_lock:
            if self._shard is not None:
                return
            try:
                if (self._path / "segments").exists():
                    self._shard = qe.EdgeShard.load(str(self._path))
                    size = self._shard.info()  # raises when the files are unreadable
                    del size
                else:
                    self._path.mkdir(parents=True, exist_ok=True)
                    self._shard = qe.EdgeShard.create(str(self._path), self._config(dense_size))
                    self._create_indexes()
            except Exception as exc:  # the binding raises plain RuntimeError/OSError
                raise StoreUnavailable(f"cannot open Qdrant Edge shard at {self._path}: {exc}") from exc

    def _create_indexes(self) -> None:
        for name in KEYWORD_FIELDS:
            params: Any = qe.KeywordIndexParams(is_tenant=name == "tenant_id")
            self._shard.update(qe.UpdateOperation.create_field_index(name, params))
        for name in FLOAT_FIELDS:
            self._shard.update(
                qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Float)
            )

    @property
    def shard(self) -> Any:
        if self._shard is None:
            raise StoreUnavailable("vector store is not open: call ensure_collection first")
        return self._shard

    def close(self) -> None:
        with self._open_lock, self._lock.write():
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
                self._shard = None

    def healthy(self) -> bool:
        try:
            self.shard.count(qe.CountRequest(exact=False))
        except Exception:
            return False
        return True

    def optimize(self) -> None:
        """Build HNSW and merge segments after a large write; queries stay correct without it."""
        with self._lock.write():
            self.shard.optimize()
            self.shard.flush()
            self._dirty = False

    # -- writes ------------------------------------------------------------------------
    def _doc_filter(self, tenant_id: str, document_id: str) -> FilterSpec:
        return FilterSpec(
            must=(Cond("tenant_id", "eq", (tenant_id,)), Cond("document_id", "eq", (document_id,)))
        )

    def replace_document(self, tenant_id: str, document_id: str, points: Sequence[PointData]) -> int:
        new_ids = [p.chunk.id for p in points]
        edge_points = [
            qe.Point(
                id=p.chunk.id,
                vector={DENSE: list(p.dense), SPARSE: _edge_sparse(p.sparse)},
                payload=p.chunk.payload(),
            )
            for p in points
        ]
        with self._lock.write():
            stale = self._ids(self._doc_filter(tenant_id, document_id)) - set(new_ids)
            for start in range(0, len(edge_points), _UPSERT_BATCH):
                batch = edge_points[start : start + _UPSERT_BATCH]
                self.shard.update(qe.UpdateOperation.upsert_points(batch))
            if stale:
                self.shard.update(qe.UpdateOperation.delete_points(sorted(stale)))
            self._dirty = True
        return len(stale)

    def delete_where(self, spec: FilterSpec) -> int:
        with self._lock.write():
            flt = to_edge_filter(spec)
            n = self.shard.count(qe.CountRequest(exact=True, filter=flt))
            if n:
                self.shard.update(qe.UpdateOperation.delete_points_by_filter(flt))
                self._dirty = True
            return int(n)

    def set_payload_where(self, spec: FilterSpec, payload: dict[str, object]) -> None:
        with self._lock.write():
            self.shard.update(
                qe.UpdateOperation.set_payload_by_filter(to_edge_filter(spec), dict(payload))
            )

    # -- reads (search, scroll and count are QdrantStore's) --------------------------------
    def _reading(self) -> AbstractContextManager[None]:
        return self._lock.read()

    def _page(self, spec: FilterSpec, limit: int, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        records, next_offset = self.shard.scroll(
            qe.ScrollRequest(offset=offset, limit=limit, filter=to_edge_filter(spec), with_payload=with_payload)
        )
        return list(records), next_offset

    def _count(self, spec: FilterSpec) -> int:
        return int(self.shard.count(qe.CountRequest(exact=True, filter=to_edge_filter(spec))))

    def _query(self, plan: SearchPlan) -> list[tuple[object, float, dict | None, list[float] | None]]:
        edge_filter = to_edge_filter(plan.filter)
        params = qe.SearchParams(hnsw_ef=plan.hnsw_ef)
        sparse_params = qe.SearchParams(idf=qe.IdfParams(corpus=to_edge_filter(plan.idf_corpus)))
        dense = qe.Query.Nearest(list(plan.dense), using=DENSE) if plan.dense is not None else None
        sparse = qe.Query.Nearest(_edge_sparse(plan.sparse), using=SPARSE) if plan.sparse is not None else None
        with_vector: Any = [DENSE] if plan.with_vectors else False
        if plan.mode == "hybrid":
            request = qe.QueryRequest(
                limit=plan.limit,
                prefetches=[
                    qe.Prefetch(limit=plan.candidates, query=dense, filter=edge_filter, params=params),
                    qe.Prefetch(limit=plan.candidates, query=sparse, filter=edge_filter, params=sparse_params),
                ],
                query=qe.Fusion.Rrf(k=RRF_K),  # type: ignore[arg-type]  # stub lists Fusion, not Fusion.Rrf
                filter=edge_filter, with_payload=True, with_vector=with_vector,
            )
        else:
            request = qe.QueryRequest(
                limit=plan.limit, query=dense if plan.mode == "dense" else sparse, filter=edge_filter,
                params=params if plan.mode == "dense" else sparse_params, with_payload=True, with_vector=with_vector,
            )
        return [(p.id, p.score, p.payload, _dense_of(p.vector)) for p in self.shard.query(request)]


def _dense_of(vector: Any) -> list[float] | None:
    if isinstance(vector, dict):
        value = vector.get(DENSE)
        return list(value) if value is not None else None
    return None
