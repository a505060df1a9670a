"""Builds every adapter from settings, once, for the app and the CLI.

Backends are chosen by name from registries; heavy objects (the embedding model, the chat
model) load on first use, or up front with :meth:`Container.warm_up`."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from actions.base import ActionEnvironment
from actions.cache import ActionCache
from actions.runner import ActionRunner
from guardrails.config import DEFAULT_GUARD_CONFIG
from guardrails.pipeline import GuardPipeline
from ingest.pipeline import Ingestor
from ingest.records import SqlCrmRecords
from prompts.chat import CHAT_MODELS, ChatModel, LlamaCppChatModel, OpenAIChatModel, ScriptedChatModel
from prompts.local_model import MODEL_NAME, assemble_packaged_model
from prompts.store import PromptStore
from retrieval.edge_store import EdgeVectorStore
from retrieval.embedder import Embedder, OpenAIEmbedder, SentenceTransformerEmbedder
from retrieval.qdrant_store import QdrantClientVectorStore
from retrieval.rerank import RERANKERS, Reranker
from retrieval.search import Retriever
from retrieval.sparse import Bm25Encoder
from retrieval.store import VectorStore
from service.audit import AuditLog
from service.auth import KeyStore
from service.db import create_schema, make_engine, make_sessions
from service.reviews import ReviewQueue
from service.settings import Settings


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_store(settings: Settings) -> VectorStore:
    v = settings.vector
    if v.backend == "edge":
        return EdgeVectorStore(settings.vector_path, hnsw_ef=v.hnsw_ef)
    return QdrantClientVectorStore(
        collection=v.collection, url=v.url, path=None if v.url else settings.vector_path,
        api_key=_secret(v.api_key), timeout_s=v.timeout_s, hnsw_ef=v.hnsw_ef,
    )


def build_embedder(settings: Settings) -> Embedder:
    e = settings.embedding
    if e.backend == "openai":
        return OpenAIEmbedder(model=e.model, dimensions=e.dimensions, base_url=e.base_url,
                              api_key=_secret(e.api_key), batch_size=e.batch_size)
    return SentenceTransformerEmbedder(e.model_path, batch_size=e.batch_size, threads=e.threads)


def build_chat(settings: Settings) -> ChatModel:
    c = settings.chat
    if c.backend == "openai":
        return OpenAIChatModel(model=c.model, base_url=c.base_url, api_key=_secret(c.api_key),
                               timeout_s=c.timeout_s, max_retries=c.max_retries, json_mode=c.json_mode,
                               seed=c.seed)
    if c.backend == "scripted":
        return ScriptedChatModel()
    if c.backend == "extractive":
        return CHAT_MODELS["extractive"]()
    path = c.model_path or assemble_packaged_model(settings.model_cache_dir)
    name = c.model if c.model_path else MODEL_NAME
    return LlamaCppChatModel(path, name=name, context_tokens=c.context_tokens, threads=c.threads, seed=c.seed)


class Container:
    """Adapters for one process. Pass overrides (e.g. ``chat=ScriptedChatModel()``) in tests."""

    def __init__(self, settings: Settings, *, chat: ChatModel | None = None,
                 embedder: Embedder | None = None, store: VectorStore | None = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url, echo=settings.database.echo)
        create_schema(self.engine)
        self.sessions = make_sessions(self.engine)
        self._chat = chat
        self._embedder = embedder
        self._store = store
        self._lock = threading.Lock()

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or build_embedder(self.settings)

    @cached_property
    def store(self) -> VectorStore:
        store = self._store or build_store(self.settings)
        store.ensure_collection(self.settings.embedding.dimensions)
        return store

    @property
    def chat(self) -> ChatModel:
        with self._lock:
            if self._chat is None:
                self._chat = build_chat(self.settings)
            return self._chat

    @cached_property
    def sparse(self) -> Bm25Encoder:
        return Bm25Encoder()

    @cached_property
    def reranker(self) -> Reranker | None:
        r = self.settings.retrieval
        if r.reranker == "none":
            return None
        if r.reranker == "cross-encoder":
            return RERANKERS["cross-encoder"](r.reranker_path)
        return RERANKERS[r.reranker]()

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(store=self.store, embedder=self.embedder, sparse=self.sparse,
                         reranker=self.reranker, mmr_lambda=self.settings.retrieval.mmr_lambda)

    @cached_property
    def prompts(self) -> PromptStore:
        return PromptStore(self.sessions)

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.sessions)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.sessions)

    @cached_property
    def ingestor(self) -> Ingestor:
        i = self.settings.ingest
        return Ingestor(store=self.store, embedder=self.embedder, sparse=self.sparse, sessions=self.sessions,
                        chunk_tokens=i.chunk_tokens, overlap_tokens=i.chunk_overlap,
                        max_bytes=int(i.max_file_mb * 1024 * 1024))

    @cached_property
    def records(self) -> SqlCrmRecords:
        """The tenant's CRM records (accounts, opportunities, contacts), typed."""
        return SqlCrmRecords(self.sessions)

    @cached_property
    def action_cache(self) -> ActionCache:
        return ActionCache(self.sessions)

    @cached_property
    def action_env(self) -> ActionEnvironment:
        r = self.settings.retrieval
        return ActionEnvironment(retriever=self.retriever, chat=self.chat, prompts=self.prompts,
                                 records=self.records, cache=self.action_cache, guards=self.guards_for,
                                 context_tokens=r.context_tokens, candidates=r.candidates)

    @cached_property
    def reviews(self) -> ReviewQueue:
        return ReviewQueue(self.sessions)

    @cached_property
    def runner(self) -> ActionRunner:
        """Runs actions as the routes do: audited, flagged results queued for review."""
        return ActionRunner(env=self.action_env, audit=self.audit, reviews=self.reviews)

    def guards_for(self, tenant_id: str) -> GuardPipeline:
        """The tenant's guards; its contacts' names feed PII masking (one small query per call)."""
        names = [r.name for r in self.records.find(tenant_id, kind="contact") if r.name]
        return GuardPipeline(DEFAULT_GUARD_CONFIG, names=names)

    def warm_up(self) -> None:
        """Load the models and open the store now rather than on the first request."""
        self.embedder.embed_query("warm up")
        _ = self.store
        chat = self.chat
        if isinstance(chat, LlamaCppChatModel):
            chat.complete([{"role": "user", "content": "Hi"}], max_tokens=1, temperature=0.0)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        self.engine.dispose()
