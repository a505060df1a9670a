"""BM25-style sparse vectors for lexical matching.

Documents get saturated term-frequency weights (k1=1.2, b=0.75) over stemmed, stop-word
filtered tokens; queries get weight 1 per term; the collection's ``bm25`` vector applies
IDF in the engine (Qdrant's ``Modifier.Idf``), so the dot product is the BM25 score.
Tokenisation is Qdrant's own (``qdrant_edge.Bm25``), so the same terms come out on every
backend."""

from __future__ import annotations

from collections.abc import Sequence

import qdrant_edge as qe

from retrieval.store import SparseVec


class Bm25Encoder:
    def __init__(self, *, avg_len: float = 120.0, k: float = 1.2, b: float = 0.75) -> None:
        self._model = qe.Bm25(qe.Bm25Config(k=k, b=b, avg_len=avg_len, language="english"))

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVec]:
        out = []
        for text in texts:
            vec = self._model.embed_document(text)
            out.append(SparseVec(list(vec.indices), list(vec.values)))
        return out

    def encode_query(self, text: str) -> SparseVec:
        vec = self._model.embed_query(text)
        return SparseVec(list(vec.indices), list(vec.values))
