"""Builds every adapter from settings, once, for the app and the CLI.

Every backend is built from its registry by its settings name (``CHAT_MODELS``,
``EMBEDDERS``, ``VECTOR_STORES``, ``RERANKERS``): a new backend is one registration. Heavy
objects (the embedding model, the chat model) load on first use, or up front with
:meth:`Container.warm_up`."""

from __future__ import annotations

import threading
from functools import cached_property

from actions.base import ActionEnvironment
from actions.cache import ActionCache
from actions.runner import ActionRunner
from guardrails.config import DEFAULT_GUARD_CONFIG
from guardrails.pipeline import GuardPipeline
from ingest.pipeline import Ingestor
from ingest.records import SqlCrmRecords
from prompts.chat import CHAT_MODELS, ChatModel, LlamaCppChatModel
from prompts.store import PromptStore
from retrieval.embedder import EMBEDDERS, Embedder
from retrieval.rerank import RERANKERS, Reranker
from retrieval.search import Retriever
from retrieval.sparse import Bm25Encoder
from retrieval.store import VECTOR_STORES, VectorStore
from service.audit import AuditLog
from service.auth import KeyStore
from service.db import create_schema, make_engine, make_sessions
from service.reviews import ReviewQueue
from service.settings import Settings


def build_store(settings: Settings) -> VectorStore:
    return VECTOR_STORES[settings.vector.backend](settings.vector, settings.vector_path)


def build_embedder(settings: Settings) -> Embedder:
    return EMBEDDERS[settings.embedding.backend](settings.embedding)


def build_chat(settings: Settings) -> ChatModel:
    return CHAT_MODELS[settings.chat.backend](settings.chat, settings.model_cache_dir)


class Container:
    """Adapters for one process. Pass overrides (e.g. ``chat=ScriptedChatModel()``) in tests and benchmarks."""

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
        return RERANKERS[self.settings.retrieval.reranker](self.settings.retrieval)

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
