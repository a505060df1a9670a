"""Sidekick's search as a LangChain retriever, for teams composing their own LangChain chains.

:class:`SidekickRetriever` is a ``langchain_core`` ``BaseRetriever`` over
:class:`retrieval.search.Retriever`: the same hybrid search, rerank and diversification,
and the same tenant + ACL + consent filter, because every query carries the caller's
:class:`~retrieval.filters.AccessContext` (there is no way to build one without it)::

    from retrieval.langchain import SidekickRetriever
    lc = SidekickRetriever(retriever=container.retriever,
                           access=caller.access("sales_insights"), top_k=6)
    docs = lc.invoke("What did Acme say about pricing?")  # Documents with citation metadata

Each ``Document`` holds the chunk text; its metadata is the chunk's :class:`Citation`
(chunk id, document id, source, title, section, speaker, times, score)."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.filters import AccessContext, SearchScope
from retrieval.search import Retriever, SearchRequest


class SidekickRetriever(BaseRetriever):
    """LangChain's retriever interface on Sidekick's filtered search (see the module doc)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    access: AccessContext
    """Who asks and why: the tenant, the caller's ACL principals and the consent purpose."""
    scope: SearchScope = SearchScope()
    top_k: int = 8
    candidates: int = 40

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        result = self.retriever.search(SearchRequest(query=query, access=self.access, scope=self.scope,
                                                     top_k=self.top_k, candidates=max(self.candidates, self.top_k)))
        return [Document(page_content=hit.chunk.text, id=hit.id, metadata=hit.citation().model_dump(mode="json"))
                for hit in result.hits]
