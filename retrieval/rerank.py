"""Rerankers: reorder search candidates with a finer relevance signal.

Built by name from :data:`RERANKERS` with the ``retrieval`` settings section. ``lexical``
combines the fused rank with exact query-term coverage and phrase matches, which dense
MiniLM vectors blur (ids, numbers, product names); a cross-encoder folder can be plugged
in through ``cross-encoder``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from retrieval.models import SearchHit
from retrieval.settings import RetrievalSettings
from retrieval.text import query_terms


class Reranker(Protocol):
    """Returns the same hits, best first, with ``score`` set to the reranker's score.

    ``query_vector`` is the dense query embedding when the search computed one; hits then
    carry their dense vectors too."""

    def rerank(self, query: str, hits: list[SearchHit], query_vector: Sequence[float] | None = None) -> list[SearchHit]:
        ...


class LexicalReranker:
    """Fused rank prior + dense similarity + query-term coverage + bigram phrase matches.

    No model beyond the embedder already run; ~0.1 ms per hit. Dense similarity is off by
    default: on MTRAG, QMSum and the demo set no weight of it improved all three at once
    (measured with ``eval/benchmarks/retrieval_eval.py``); the coverage and phrase terms
    lift MRR on MTRAG and the demo set and cost a little recall on QMSum."""

    def __init__(self, *, prior_weight: float = 1.0, dense_weight: float = 0.0, coverage_weight: float = 0.6,
                 phrase_weight: float = 0.3) -> None:
        self._wp, self._wd, self._wc, self._wph = prior_weight, dense_weight, coverage_weight, phrase_weight

    def rerank(self, query: str, hits: list[SearchHit], query_vector: Sequence[float] | None = None) -> list[SearchHit]:
        q = query_terms(query)
        if not q or not hits:
            return hits
        q_set = set(q)
        q_bigrams = set(zip(q, q[1:], strict=False))
        n = len(hits)
        scored = []
        for rank, hit in enumerate(hits):
            words = query_terms(f"{hit.chunk.title} {' '.join(hit.chunk.section)} {hit.chunk.text}")
            present = set(words)
            coverage = len(q_set & present) / len(q_set)
            phrases = len(q_bigrams & set(zip(words, words[1:], strict=False))) / max(1, len(q_bigrams))
            prior = 1.0 - rank / n
            similarity = _cosine(query_vector, hit.dense) if query_vector is not None and hit.dense else 0.0
            score = self._wp * prior + self._wd * similarity + self._wc * coverage + self._wph * phrases
            scored.append(hit.model_copy(update={"score": score}))
        return sorted(scored, key=lambda h: h.score, reverse=True)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    na = math.sqrt(sum(x * x for x in a)) or 1.0
    nb = math.sqrt(sum(y * y for y in b)) or 1.0
    return dot / (na * nb)


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder loaded from a local folder (none ships on PyPI)."""

    def __init__(self, model_path: Path) -> None:
        from sentence_transformers import CrossEncoder

        self._model: Any = CrossEncoder(str(model_path), device="cpu", local_files_only=True)

    def rerank(self, query: str, hits: list[SearchHit], query_vector: Sequence[float] | None = None) -> list[SearchHit]:
        scores = self._model.predict([(query, h.chunk.text) for h in hits])
        rescored = [h.model_copy(update={"score": float(s)}) for h, s in zip(hits, scores, strict=True)]
        return sorted(rescored, key=lambda h: h.score, reverse=True)


def _cross_encoder(settings: RetrievalSettings) -> Reranker:
    if settings.reranker_path is None:
        raise ValueError("the cross-encoder reranker needs retrieval.reranker_path (a local model folder)")
    return CrossEncoderReranker(settings.reranker_path)


RerankerFactory = Callable[[RetrievalSettings], Reranker | None]
RERANKERS: dict[str, RerankerFactory] = {
    "none": lambda settings: None,
    "lexical": lambda settings: LexicalReranker(),
    "cross-encoder": _cross_encoder,
}
"""Rerankers by the ``retrieval.reranker`` settings name (``none``: keep the fused order)."""
