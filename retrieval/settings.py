"""The settings sections of retrieval's backends: vector store, embedder, search and rerank.

Plain models: the service's ``Settings`` nests them and reads them from ``SIDEKICK_*``
variables; nothing here reads the environment. Each ``backend`` (and ``reranker``) is a
name in its registry (:data:`retrieval.store.VECTOR_STORES`,
:data:`retrieval.embedder.EMBEDDERS`, :data:`retrieval.rerank.RERANKERS`); the service's
settings check the names when they are built. A new backend is one registration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr


class Section(BaseModel):
    """A settings section: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


def registered(kind: str, name: str, registry: Mapping[str, Any]) -> str:
    """``name`` if it is registered, else a ValueError listing the registered names."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; registered: {', '.join(sorted(registry))}")
    return name


class VectorSettings(Section):
    backend: str = "edge"
    """``edge``: Qdrant Edge shard in-process, persisted under ``path``.
    ``qdrant``: qdrant-client against ``url`` (a server or cluster), or local mode on ``path``
    when no url is given."""
    path: Path | None = None
    url: str | None = None
    api_key: SecretStr | None = None
    collection: str = "sidekick_chunks"
    hnsw_ef: int = 256
    timeout_s: float = 10.0



class EmbeddingSettings(Section):
    backend: str = "sentence-transformers"
    """``sentence-transformers`` (a local model folder) or ``openai`` (an embeddings endpoint)."""
    model_path: Path | None = None
    """A local sentence-transformers model folder; the packaged all-MiniLM-L6-v2 if unset."""
    model: str = "text-embedding-3-small"
    base_url: str | None = None
    api_key: SecretStr | None = None
    dimensions: int = 384
    batch_size: int = 64
    threads: int | None = None



class RetrievalSettings(Section):
    top_k: int = 8
    candidates: int = 40
    reranker: str = "lexical"
    """``none``, ``lexical``, or ``cross-encoder`` with ``reranker_path``."""
    reranker_path: Path | None = None
    mmr_lambda: float = 0.7
    context_tokens: int = 1800



def secret(value: SecretStr | None) -> str | None:
    """The secret's value for a client constructor (settings keep it masked everywhere else)."""
    return value.get_secret_value() if value is not None else None
