"""The vector-store protocol and what every backend shares.

One collection holds every tenant's chunks with two vectors per point: ``dense``
(the embedder's, cosine) and ``bm25`` (sparse term weights, IDF applied by the engine).
Backends, built by name from :data:`VECTOR_STORES`: :mod:`retrieval.edge_store` (``edge``:
Qdrant Edge in-process, the embedded default) and :mod:`retrieval.qdrant_store`
(``qdrant``: qdrant-client, a Qdrant server or cluster in production, or its local mode)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from retrieval.filters import Cond, FilterSpec, ScopedFilter
from retrieval.models import Chunk, SearchHit
from retrieval.settings import VectorSettings, secret

DENSE = "dense"
SPARSE = "bm25"


@dataclass(frozen=True)
class SparseVec:
    indices: list[int]
    values: list[float]


@dataclass(frozen=True)
class PointData:
    chunk: Chunk
    dense: list[float]
    sparse: SparseVec


SearchMode = Literal["dense", "sparse", "hybrid"]


class RetrievalError(Exception):
    """Base of retrieval failures."""


class StoreUnavailable(RetrievalError):
    """The vector store cannot be reached or opened."""


class VectorStore(Protocol):
    """Where chunks live. Searches take only a :class:`ScopedFilter` (tenant + ACL + consent)."""

    def ensure_collection(self, dense_size: int) -> None:
        """Create the collection and payload indexes if missing; check the vector size."""

    def replace_document(self, tenant_id: str, document_id: str, points: Sequence[PointData]) -> int:
        """Make ``points`` the document's only chunks, in one step as readers see it.

        Returns how many stale points were removed."""

    def delete_where(self, spec: FilterSpec) -> int:
        """Delete every point matching a tenant-bound maintenance filter; return the count."""

    def set_payload_where(self, spec: FilterSpec, payload: dict[str, object]) -> None:
        """Set payload keys on every point matching a tenant-bound maintenance filter."""

    def scroll(self, spec: FilterSpec, limit: int = 10_000) -> list[tuple[str, Chunk]]:
        """Points matching a maintenance filter (export, checks), without vectors."""

    def count(self, spec: FilterSpec | ScopedFilter) -> int:
        """How many points match."""

    def search(
        self,
        flt: ScopedFilter,
        *,
        dense: list[float] | None,
        sparse: SparseVec | None,
        mode: SearchMode,
        limit: int,
        candidates: int,
        with_vectors: bool = False,
    ) -> list[SearchHit]:
        """Dense, sparse, or both fused with reciprocal rank fusion (prefetch + RRF)."""

    def close(self) -> None:
        """Flush and release resources."""

    def healthy(self) -> bool:
        """True when the store answers a trivial request."""


class ReadWriteLock:
    """Many readers or one writer: makes a document's replacement atomic to readers in-process."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


@dataclass(frozen=True)
class SearchPlan:
    """A checked search request, before a backend turns it into its own query objects."""

    filter: FilterSpec
    """Tenant + ACL + consent + scope, from the caller's :class:`ScopedFilter`."""
    idf_corpus: FilterSpec
    """BM25's IDF is computed over the caller's tenant only: another tenant's vocabulary must
    not change this tenant's scores (nor hint at what it holds)."""
    dense: list[float] | None
    sparse: SparseVec | None
    mode: SearchMode
    limit: int
    candidates: int
    hnsw_ef: int
    with_vectors: bool


RRF_K = 60
_PAGE = 1000


class QdrantStore:
    """What both Qdrant backends share above their vendor calls: the search contract (only a
    :class:`ScopedFilter`, the vectors each mode needs, per-tenant IDF, prefetch + RRF for
    hybrid), paged scrolls and counts. Subclasses implement ``_query``, ``_page`` and
    ``_count``, and ``_reading`` when their reads need a lock."""

    _hnsw_ef: int

    def _query(self, plan: SearchPlan) -> list[tuple[object, float, dict | None, list[float] | None]]:
        """Run the plan: (point id, score, payload, dense vector or None) per hit, best first."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _page(self, spec: FilterSpec, limit: int, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        """One scroll page: records (with ``id`` and ``payload``) and the next offset (None at the end)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _count(self, spec: FilterSpec) -> int:
        raise NotImplementedError  # pragma: no cover - abstract

    def _reading(self) -> AbstractContextManager[None]:
        return nullcontext()

    def search(self, flt: ScopedFilter, *, dense: list[float] | None, sparse: SparseVec | None, mode: SearchMode,
               limit: int, candidates: int, with_vectors: bool = False) -> list[SearchHit]:
        if not isinstance(flt, ScopedFilter):
            raise TypeError("searches take a ScopedFilter built by retrieval.filters.build_filter")
        if mode == "hybrid" and (dense is None or sparse is None):
            raise ValueError("hybrid search needs both a dense and a sparse query vector")
        if (mode == "dense" and dense is None) or (mode == "sparse" and sparse is None):
            raise ValueError(f"{mode} search needs its query vector")
        plan = SearchPlan(filter=flt.spec, idf_corpus=FilterSpec(must=(Cond("tenant_id", "eq", (flt.tenant_id,)),)),
                          dense=dense, sparse=sparse, mode=mode, limit=limit, candidates=candidates,
                          hnsw_ef=max(self._hnsw_ef, candidates), with_vectors=with_vectors)
        with self._reading():
            rows = self._query(plan)
        return hits_from_payloads(rows)

    def scroll(self, spec: FilterSpec, limit: int = 10_000) -> list[tuple[str, Chunk]]:
        out: list[tuple[str, Chunk]] = []
        offset = None
        with self._reading():
            while len(out) < limit:
                records, offset = self._page(spec, min(_PAGE, limit - len(out)), offset, True)
                out.extend((str(r.id), Chunk.model_validate(r.payload or {})) for r in records)
                if offset is None:
                    break
        return out

    def _ids(self, spec: FilterSpec) -> set[str]:
        """Ids of every matching point (callers hold whatever lock their write needs)."""
        ids: set[str] = set()
        offset = None
        while True:
            records, offset = self._page(spec, _PAGE, offset, False)
            ids.update(str(r.id) for r in records)
            if offset is None:
                return ids

    def count(self, spec: FilterSpec | ScopedFilter) -> int:
        with self._reading():
            return self._count(spec.spec if isinstance(spec, ScopedFilter) else spec)


def hits_from_payloads(
    rows: Sequence[tuple[object, float, dict | None, list[float] | None]],
) -> list[SearchHit]:
    return [
        SearchHit(id=str(pid), score=float(score), chunk=Chunk.model_validate(payload or {}), dense=vec)
        for pid, score, payload, vec in rows
    ]


def _edge(settings: VectorSettings, path: Path) -> VectorStore:
    from retrieval.edge_store import EdgeVectorStore

    return EdgeVectorStore(path, hnsw_ef=settings.hnsw_ef)


def _qdrant(settings: VectorSettings, path: Path) -> VectorStore:
    from retrieval.qdrant_store import QdrantClientVectorStore

    return QdrantClientVectorStore(collection=settings.collection, url=settings.url,
                                   path=None if settings.url else path, api_key=secret(settings.api_key),
                                   timeout_s=settings.timeout_s, hnsw_ef=settings.hnsw_ef)


StoreFactory = Callable[[VectorSettings, Path], VectorStore]
"""Builds a store from the ``vector`` settings and the local folder it persists to (when it does)."""
VECTOR_STORES: dict[str, StoreFactory] = {
    "edge": _edge,
    "qdrant": _qdrant,
}
