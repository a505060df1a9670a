"""MMR and near-duplicate removal: the vectorised ``mmr`` against a plain pairwise
implementation of the same rule, and the guarantees the context packer relies on."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.models import Chunk, DocType, SearchHit
from retrieval.search import mmr


def _hit(i: int, vector: list[float] | None) -> SearchHit:
    chunk = Chunk(tenant_id="t", document_id=f"d{i}", chunk_index=0, text=f"text {i}", doc_type=DocType.NOTE)
    return SearchHit(id=f"h{i}", score=1.0 - i / 100, chunk=chunk, dense=vector)


def _cos(a: list[float], b: list[float]) -> float:
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    return 0.0 if na == 0 or nb == 0 else sum(x * y for x, y in zip(a, b, strict=True)) / (na * nb)


def reference_mmr(hits: list[SearchHit], k: int, lam: float, duplicate: float) -> list[SearchHit]:
    """The rule as written: relevance by rank, novelty by the highest cosine to a pick."""
    n, picked = len(hits), []  # type: ignore[var-annotated]
    while len(picked) < k:
        best, best_score = None, -math.inf
        for i, hit in enumerate(hits):
            if i in picked:
                continue
            sim = 0.0
            if hit.dense and picked:
                sim = max(_cos(hit.dense, hits[j].dense) if hits[j].dense else 0.0 for j in picked)  # type: ignore[arg-type]
            if sim >= duplicate:
                continue
            score = lam * (1 - i / n) - (1 - lam) * sim
            if score > best_score:
                best, best_score = i, score
        if best is None:
            break
        picked.append(best)
    return [hits[i] for i in picked]


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 40), k=st.integers(1, 12),
       lam=st.floats(0.0, 1.0), duplicate=st.floats(0.3, 1.01), missing=st.floats(0.0, 0.3))
def test_vectorised_mmr_picks_what_the_pairwise_rule_picks(seed: int, n: int, k: int, lam: float,
                                                           duplicate: float, missing: float) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(4, 8))  # clustered vectors, so novelty and duplicates matter
    hits = []
    for i in range(n):
        vector = (base[i % 4] + rng.normal(scale=0.3, size=8)).tolist()
        hits.append(_hit(i, None if rng.random() < missing else vector))
    got = [h.id for h in mmr([0.0] * 8, hits, k=k, lam=lam, duplicate=duplicate)]
    assert got == [h.id for h in reference_mmr(hits, k, lam, duplicate)]
    assert len(got) == len(set(got)) <= k


def test_near_duplicates_are_dropped_and_rank_order_is_kept_without_them() -> None:
    same = [1.0, 0.0, 0.0]
    hits = [_hit(0, same), _hit(1, [0.999, 0.01, 0.0]), _hit(2, [0.0, 1.0, 0.0]), _hit(3, same),
            _hit(4, [0.0, 0.0, 1.0]), _hit(5, None)]
    picked = [h.id for h in mmr(same, hits, k=10, lam=1.0, duplicate=0.95)]
    assert picked == ["h0", "h2", "h4", "h5"]  # copies of h0 gone; otherwise the fused order
    assert [h.id for h in mmr(same, hits, k=10, lam=1.0, duplicate=1.01)] == [h.id for h in hits]
    assert mmr(same, [], k=3, lam=0.5, duplicate=0.9) == []
