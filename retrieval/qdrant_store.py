"""qdrant-client backend: a Qdrant server or cluster in production (``url``), or the
client's local mode on a folder (``path``) with the same API.

Local mode scores by brute force in Python; the embedded default is Qdrant Edge."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from retrieval.filters import FLOAT_FIELDS, KEYWORD_FIELDS, Cond, FilterSpec
from retrieval.store import (
    DENSE,
    RRF_K,
    SPARSE,
    PointData,
    QdrantStore,
    SearchPlan,
    SparseVec,
    StoreUnavailable,
)

_UPSERT_BATCH = 256


def _condition(cond: Cond) -> models.FieldCondition:
    if cond.op == "eq":
        return models.FieldCondition(key=cond.key, match=models.MatchValue(value=cond.values[0]))
    if cond.op == "any":
        return models.FieldCondition(key=cond.key, match=models.MatchAny(any=list(cond.values)))
    return models.FieldCondition(key=cond.key, range=models.Range(gte=cond.gte, lte=cond.lte))


def to_client_filter(spec: FilterSpec) -> models.Filter:
    return models.Filter(
        must=[_condition(c) for c in spec.must] or None,  # type: ignore[arg-type]
        must_not=[_condition(c) for c in spec.must_not] or None,  # type: ignore[arg-type]
    )


def _client_sparse(vec: SparseVec) -> models.SparseVector:
    return models.SparseVector(indices=list(vec.indices), values=list(vec.values))


class QdrantClientVectorStore(QdrantStore):
    """:class:`retrieval.store.VectorStore` through qdrant-client."""

    def __init__(
        self,
        *,
        collection: str,
        url: str | None = None,
        path: Path | None = None,
        api_key: str | None = None,
        timeout_s: float = 10.0,
        hnsw_ef: int = 256,
        client: QdrantClient | None = None,
    ) -> None:
        self._collection = collection
        self._hnsw_ef = hnsw_ef
        if client is not None:
            self._client = client
        elif url:
            self._client = QdrantClient(url=url, api_key=api_key, timeout=int(timeout_s))
        elif path is not None:
            Path(path).mkdir(parents=True, exist_ok=True)
            self._client = QdrantClient(path=str(path))
        else:
            self._client = QdrantClient(location=":memory:")

    def ensure_collection(self, dense_size: int) -> None:
        try:
            exists = self._client.collection_exists(self._collection)
            if not exists:
                self._client.create_collection(
                    self._collection,
                    vectors_config={
                        DENSE: models.VectorParams(size=dense_size, distance=models.Distance.COSINE)
                    },
                    sparse_vectors_config={
                        SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                )
                for name in KEYWORD_FIELDS:
                    schema: Any = models.KeywordIndexParams(
                        type=models.KeywordIndexType.KEYWORD, is_tenant=name == "tenant_id"
                    )
                    self._client.create_payload_index(self._collection, name, field_schema=schema)
                for name in FLOAT_FIELDS:
                    self._client.create_payload_index(
                        self._collection, name, field_schema=models.PayloadSchemaType.FLOAT
                    )
        except Exception as exc:
            raise StoreUnavailable(f"cannot reach Qdrant collection {self._collection!r}: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    def healthy(self) -> bool:
        try:
            self._client.collection_exists(self._collection)
        except Exception:
            return False
        return True

    def optimize(self) -> None:
        """The server optimizes in the background; nothing to do."""

    def replace_document(self, tenant_id: str, document_id: str, points: Sequence[PointData]) -> int:
        doc = FilterSpec(
            must=(Cond("tenant_id", "eq", (tenant_id,)), Cond("document_id", "eq", (document_id,)))
        )
        new_ids = {p.chunk.id for p in points}
        stale = self._ids(doc) - new_ids
        operations: list[Any] = []
        structs = [
            models.PointStruct(
                id=p.chunk.id,
                vector={DENSE: list(p.dense), SPARSE: _client_sparse(p.sparse)},
                payload=p.chunk.payload(),
            )
            for p in points
        ]
        for start in range(0, len(structs), _UPSERT_BATCH):
            operations.append(
                models.UpsertOperation(upsert=models.PointsList(points=structs[start : start + _UPSERT_BATCH]))
            )
        if stale:
            operations.append(
                models.DeleteOperation(delete=models.PointIdsList(points=sorted(stale)))  # type: ignore[arg-type]
            )
        if operations:
            # One batch request: the server applies it in order without other writes between.
            self._client.batch_update_points(self._collection, operations, wait=True)
        return len(stale)

    def delete_where(self, spec: FilterSpec) -> int:
        flt = to_client_filter(spec)
        n = self._client.count(self._collection, count_filter=flt, exact=True).count
        if n:
            self._client.delete(self._collection, points_selector=models.FilterSelector(filter=flt), wait=True)
        return int(n)

    def set_payload_where(self, spec: FilterSpec, payload: dict[str, object]) -> None:
        self._client.set_payload(self._collection, payload=dict(payload), points=to_client_filter(spec), wait=True)

    # -- reads (search, scroll and count are QdrantStore's) --------------------------------
    def _page(self, spec: FilterSpec, limit: int, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        records, next_offset = self._client.scroll(
            self._collection, scroll_filter=to_client_filter(spec), limit=limit, offset=offset,
            with_payload=with_payload, with_vectors=False,
        )
        return list(records), next_offset

    def _count(self, spec: FilterSpec) -> int:
        return int(self._client.count(self._collection, count_filter=to_client_filter(spec), exact=True).count)

    def _query(self, plan: SearchPlan) -> list[tuple[object, float, dict | None, list[float] | None]]:
        qfilter = to_client_filter(plan.filter)
        params = models.SearchParams(hnsw_ef=plan.hnsw_ef)
        sparse_params = models.SearchParams(idf=models.IdfCorpusParams(corpus=to_client_filter(plan.idf_corpus)))
        with_vectors: Any = [DENSE] if plan.with_vectors else False
        if plan.mode == "hybrid":
            assert plan.dense is not None and plan.sparse is not None
            response = self._client.query_points(
                self._collection,
                prefetch=[
                    models.Prefetch(query=list(plan.dense), using=DENSE, limit=plan.candidates, filter=qfilter,
                                    params=params),
                    models.Prefetch(query=_client_sparse(plan.sparse), using=SPARSE, limit=plan.candidates,
                                    filter=qfilter, params=sparse_params),
                ],
                query=models.RrfQuery(rrf=models.Rrf(k=RRF_K)),
                query_filter=qfilter, limit=plan.limit, with_payload=True, with_vectors=with_vectors,
            )
        else:
            dense_mode = plan.mode == "dense"
            query: Any = list(plan.dense or []) if dense_mode else _client_sparse(plan.sparse)  # type: ignore[arg-type]
            response = self._client.query_points(
                self._collection, query=query, using=DENSE if dense_mode else SPARSE, query_filter=qfilter,
                limit=plan.limit, search_params=params if dense_mode else sparse_params, with_payload=True,
                with_vectors=with_vectors,
            )
        rows: list[tuple[object, float, dict | None, list[float] | None]] = []
        for p in response.points:
            vec = p.vector.get(DENSE) if isinstance(p.vector, dict) else None
            rows.append((p.id, p.score, p.payload, list(vec) if vec is not None else None))  # type: ignore[arg-type]
        return rows
