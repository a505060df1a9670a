"""Ranking metrics as pure functions over ids: recall@k, precision@k, MRR, nDCG@k.

Relevance is judged on *units* (a document, a passage, a gold turn span), while a search
returns chunks. Map each ranked chunk to the units it covers, then collapse the list with
:func:`ranked_units` (first occurrence wins, chunks covering nothing keep their rank as a
miss), and score the result. All functions take the ranked ids best first and the set of
relevant ids, and return a number in [0, 1]; no relevant ids gives 0."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

MISS = "\x00miss"
"""Placeholder unit for a ranked chunk that covers no relevant unit."""


def ranked_units(per_hit: Iterable[Iterable[str]]) -> list[str]:
    """Collapse per-chunk unit lists (best chunk first) into one ranked list of units.

    A unit counts once, at the rank of the first chunk covering it; a chunk covering no
    unit still occupies a rank (as :data:`MISS`), so a relevant unit found below a run of
    misses is not promoted."""
    out: list[str] = []
    seen: set[str] = set()
    for units in per_hit:
        new = [u for u in units if u not in seen]
        if not new:
            out.append(MISS)
            continue
        for unit in new:
            seen.add(unit)
            out.append(unit)
    return out


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant units found in the top ``k``."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(set(relevant))


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the top ``k`` positions (or fewer, if fewer were returned) that are relevant."""
    top = ranked[:k]
    if not top or not relevant:
        return 0.0
    return sum(1 for unit in top if unit in relevant) / len(top)


def hit_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1 when any relevant unit is in the top ``k``."""
    return 1.0 if any(unit in relevant for unit in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """1 / rank of the first relevant unit (MRR when averaged over queries)."""
    return next((1.0 / (i + 1) for i, unit in enumerate(ranked) if unit in relevant), 0.0)


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-gain nDCG: DCG of the top ``k`` over the DCG of a ranking with every
    relevant unit first (at most ``k`` of them)."""
    rel = set(relevant)
    dcg = sum(1.0 / math.log2(i + 2) for i, unit in enumerate(ranked[:k]) if unit in rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(rel))))
    return dcg / ideal if ideal else 0.0


def retrieval_scores(ranked: Sequence[str], relevant: Collection[str], ks: Sequence[int] = (5, 10)) -> dict[str, float]:
    """The standard set for one query: recall@k for each k, MRR and nDCG at the largest k."""
    scores = {f"recall@{k}": recall_at_k(ranked, relevant, k) for k in ks}
    scores["mrr"] = reciprocal_rank(ranked, relevant)
    scores[f"ndcg@{max(ks)}"] = ndcg_at_k(ranked, relevant, max(ks))
    return scores
