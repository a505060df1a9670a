"""retrieval.langchain.SidekickRetriever: LangChain's retriever interface is Sidekick's own
filtered search (same hits, same tenant/ACL/consent filter), with citations as metadata."""

from __future__ import annotations

from langchain_core.retrievers import BaseRetriever

from retrieval.filters import admin_filter
from retrieval.langchain import SidekickRetriever
from retrieval.search import SearchRequest
from service.container import Container
from tests.conftest import MARIA, TOM

QUESTION = "Umbrella municipal RFP requirements and timeline"


def test_langchain_retriever_returns_the_filtered_search(demo_container: Container) -> None:
    umbrella = {chunk.document_id for _, chunk in demo_container.store.scroll(
        admin_filter("demo", account_id="UMBRELLA-004"))}
    assert umbrella, "the demo corpus has UMBRELLA-004 material (private to u-tom)"

    as_maria = SidekickRetriever(retriever=demo_container.retriever, access=MARIA.access("sales_insights"), top_k=6)
    assert isinstance(as_maria, BaseRetriever)
    docs = as_maria.invoke(QUESTION)
    direct = demo_container.retriever.search(
        SearchRequest(query=QUESTION, access=MARIA.access("sales_insights"), top_k=6, candidates=40))
    assert [d.id for d in docs] == [hit.id for hit in direct.hits]
    assert docs and all(d.page_content and d.metadata["chunk_id"] == d.id for d in docs)
    assert not {d.metadata["document_id"] for d in docs} & umbrella  # Maria may not see Umbrella

    as_tom = SidekickRetriever(retriever=demo_container.retriever, access=TOM.access("sales_insights"), top_k=6)
    assert {d.metadata["document_id"] for d in as_tom.invoke(QUESTION)} & umbrella
