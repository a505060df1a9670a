"""No chunk outside a caller's rights is ever returned, for random callers and data."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.edge_store import EdgeVectorStore
from retrieval.filters import EVERYONE, AccessContext, SearchScope, build_filter
from retrieval.models import Chunk, DocType, RecordRef
from retrieval.sparse import Bm25Encoder
from retrieval.store import PointData

TENANTS = ["t1", "t2"]
USERS = ["u1", "u2", "u3"]
TEAMS = ["a", "b"]
PURPOSES = ["sales_insights", "sales_outreach"]
ACCOUNTS = ["ACC1", "ACC2"]
BM25 = Bm25Encoder()

chunk_spec = st.fixed_dictionaries({
    "tenant": st.sampled_from(TENANTS),
    "acl": st.lists(st.sampled_from([*(f"user:{u}" for u in USERS), *(f"team:{t}" for t in TEAMS), EVERYONE]),
                    max_size=3, unique=True),
    "consent": st.one_of(st.just(["*"]), st.lists(st.sampled_from(PURPOSES), unique=True)),
    "account": st.sampled_from(ACCOUNTS),
    "vec": st.lists(st.floats(-1, 1, allow_nan=False), min_size=4, max_size=4),
})
caller_spec = st.fixed_dictionaries({
    "tenant": st.sampled_from(TENANTS),
    "user": st.sampled_from(USERS),
    "teams": st.lists(st.sampled_from(TEAMS), unique=True),
    "purpose": st.sampled_from(PURPOSES),
    "account": st.one_of(st.none(), st.sampled_from(ACCOUNTS)),
    "mode": st.sampled_from(["dense", "sparse", "hybrid"]),
})


def allowed(chunk: Chunk, access: AccessContext, account: str | None) -> bool:
    return (
        chunk.tenant_id == access.tenant_id
        and bool(set(chunk.acl) & set(access.principals))
        and bool(set(chunk.consent) & {access.purpose, "*"})
        and (account is None or chunk.account_id == account)
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(chunk_spec, min_size=1, max_size=25), callers=st.lists(caller_spec, min_size=1, max_size=5))
def test_no_search_returns_a_forbidden_chunk(chunks: list[dict], callers: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeVectorStore(Path(tmp) / "s")
        store.ensure_collection(4)
        stored: list[Chunk] = []
        for i, spec in enumerate(chunks):
            chunk = Chunk(tenant_id=spec["tenant"], document_id=f"d{i}", chunk_index=0, text=f"pricing note {i}",
                          doc_type=DocType.NOTE, acl=spec["acl"], consent=spec["consent"], account_id=spec["account"])
            vector = [v if any(spec["vec"]) else 0.1 for v in spec["vec"]]
            store.replace_document(chunk.tenant_id, chunk.document_id,
                                   [PointData(chunk, vector, BM25.encode_documents([chunk.text])[0])])
            stored.append(chunk)
        for c in callers:
            access = AccessContext.for_user(c["tenant"], c["user"], c["teams"], c["purpose"])
            scope = SearchScope(record=RecordRef(kind="account", id=c["account"]) if c["account"] else None)
            hits = store.search(build_filter(access, scope), dense=[0.5, 0.1, -0.2, 0.3],
                                sparse=BM25.encode_query("pricing note"), mode=c["mode"], limit=50, candidates=50)
            expected = {ch.document_id for ch in stored if allowed(ch, access, c["account"])}
            returned = {h.chunk.document_id for h in hits}
            assert returned <= expected, f"forbidden chunks returned: {returned - expected}"
            if c["mode"] != "dense":
                assert returned == expected  # every chunk shares the query terms
        store.close()
