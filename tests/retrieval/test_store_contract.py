"""Contract tests every VectorStore backend passes (Qdrant Edge and qdrant-client local mode)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from retrieval.edge_store import EdgeVectorStore
from retrieval.filters import AccessContext, SearchScope, admin_filter, build_filter
from retrieval.models import Chunk, DocType, RecordRef
from retrieval.qdrant_store import QdrantClientVectorStore
from retrieval.sparse import Bm25Encoder
from retrieval.store import PointData, VectorStore

DIM = 16
BM25 = Bm25Encoder()


def vec(seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def point(doc: str, index: int, text: str, **fields: object) -> PointData:
    chunk = Chunk(tenant_id=str(fields.pop("tenant_id", "t1")), document_id=doc, chunk_index=index, text=text,
                  doc_type=DocType.NOTE, acl=list(fields.pop("acl", ["everyone"])), **fields)  # type: ignore[arg-type]
    return PointData(chunk, vec(hash((doc, index)) % 10_000), BM25.encode_documents([text])[0])


def maria(tenant: str = "t1", purpose: str = "sales_insights") -> AccessContext:
    return AccessContext.for_user(tenant, "u-maria", ["t-ent"], purpose)


class StoreContract:
    """Mixin: subclasses provide ``make_store(tmp_path)``."""

    def make_store(self, path: Path) -> VectorStore:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        s = self.make_store(tmp_path)
        s.ensure_collection(DIM)
        yield s
        s.close()

    def search(self, store: VectorStore, query: str, access: AccessContext, scope: SearchScope | None = None,
               mode: str = "hybrid", limit: int = 10) -> list[str]:
        hits = store.search(build_filter(access, scope), dense=vec(1), sparse=BM25.encode_query(query),
                            mode=mode, limit=limit, candidates=50)  # type: ignore[arg-type]
        return [f"{h.chunk.document_id}#{h.chunk.chunk_index}" for h in hits]

    def test_replace_is_idempotent_and_drops_the_stale_tail(self, store: VectorStore) -> None:
        three = [point("note:1", i, f"discount request part {i}") for i in range(3)]
        assert store.replace_document("t1", "note:1", three) == 0
        assert store.replace_document("t1", "note:1", three) == 0
        assert store.count(admin_filter("t1")) == 3
        removed = store.replace_document("t1", "note:1", [point("note:1", 0, "discount request, shorter")])
        assert removed == 2
        assert self.search(store, "discount", maria()) == ["note:1#0"]

    def test_tenant_acl_and_consent_filters(self, store: VectorStore) -> None:
        store.replace_document("t1", "a", [point("a", 0, "pricing for acme", acl=["team:t-ent"])])
        store.replace_document("t1", "b", [point("b", 0, "pricing for globex", acl=["user:u-james"])])
        store.replace_document("t2", "c", [point("c", 0, "pricing other tenant", tenant_id="t2")])
        store.replace_document("t1", "d", [point("d", 0, "pricing no outreach", consent=["sales_insights"])])
        assert sorted(self.search(store, "pricing", maria())) == ["a#0", "d#0"]
        assert self.search(store, "pricing", maria(purpose="sales_outreach")) == ["a#0"]
        assert self.search(store, "pricing", maria(tenant="t2")) == ["c#0"]

    def test_dense_sparse_and_hybrid_modes(self, store: VectorStore) -> None:
        store.replace_document("t1", "x", [point("x", 0, "cold chain sensors for refrigerated vans")])
        store.replace_document("t1", "y", [point("y", 0, "single sign-on and audit log")])
        assert self.search(store, "refrigerated sensors", maria(), mode="sparse") == ["x#0"]
        assert len(self.search(store, "anything", maria(), mode="dense")) == 2
        assert self.search(store, "audit log", maria(), mode="hybrid")[0] == "y#0"

    def test_record_scope_and_maintenance_writes(self, store: VectorStore) -> None:
        store.replace_document("t1", "n1", [point("n1", 0, "acme renewal", account_id="ACME", contact_ids=["C1"])])
        store.replace_document("t1", "n2", [point("n2", 0, "globex renewal", account_id="GLOBEX")])
        scope = SearchScope(record=RecordRef(kind="account", id="ACME"))
        assert self.search(store, "renewal", maria(), scope) == ["n1#0"]
        store.set_payload_where(admin_filter("t1", contact_ids="C1"), {"consent": []})
        assert self.search(store, "renewal", maria(), scope) == []
        assert store.delete_where(admin_filter("t1", account_id="GLOBEX")) == 1
        assert store.count(admin_filter("t1")) == 1
        assert [c.document_id for _, c in store.scroll(admin_filter("t1"))] == ["n1"]

    def test_search_refuses_an_unscoped_filter(self, store: VectorStore) -> None:
        with pytest.raises(TypeError):
            store.search(admin_filter("t1"), dense=vec(1), sparse=None, mode="dense",  # type: ignore[arg-type]
                         limit=1, candidates=1)


class TestEdgeStore(StoreContract):
    def make_store(self, path: Path) -> VectorStore:
        return EdgeVectorStore(path / "edge")

    def test_persists_across_reopen(self, tmp_path: Path) -> None:
        store = EdgeVectorStore(tmp_path / "edge2")
        store.ensure_collection(DIM)
        store.replace_document("t1", "p", [point("p", 0, "persisted note")])
        store.close()
        reopened = EdgeVectorStore(tmp_path / "edge2")
        reopened.ensure_collection(DIM)
        assert reopened.count(admin_filter("t1")) == 1
        reopened.close()


class TestQdrantClientLocalStore(StoreContract):
    def make_store(self, path: Path) -> VectorStore:
        return QdrantClientVectorStore(collection="contract", path=path / "local")


def _bm25_scores(store: VectorStore) -> list[float]:
    hits = store.search(build_filter(maria()), dense=None, sparse=BM25.encode_query("telematics pricing"),
                        mode="sparse", limit=5, candidates=10)
    return [round(h.score, 5) for h in hits]


@pytest.mark.parametrize("backend", ["edge", "local"])
def test_bm25_idf_is_per_tenant(tmp_path: Path, backend: str) -> None:
    store: VectorStore = (EdgeVectorStore(tmp_path / "e") if backend == "edge"
                          else QdrantClientVectorStore(collection="idf", path=tmp_path / "l"))
    store.ensure_collection(DIM)
    store.replace_document("t1", "a", [point("a", 0, "telematics pricing for fleets")])
    store.replace_document("t1", "b", [point("b", 0, "pricing sheet")])
    before = _bm25_scores(store)
    for i in range(30):  # another tenant full of 'telematics'
        store.replace_document("t2", f"x{i}", [point(f"x{i}", 0, "telematics telematics", tenant_id="t2")])
    assert _bm25_scores(store) == before
    store.close()
