"""The reply cache: an unchanged record answers without the model; new evidence, another
caller's view or another prompt invalidate it; erasure purges it."""

from __future__ import annotations

from typing import Any

from actions.base import ActionContext
from actions.summary import SummaryAction, SummaryInput
from ingest.documents import Segment, SourceDocument
from ingest.loaders import LoadResult
from retrieval.identity import Caller
from retrieval.models import DocType
from service.container import Container
from tests.actions.test_summary import extractive
from tests.conftest import LENA, MARIA, scripted


def summarise(container: Container, caller: Caller = MARIA, record: str = "account:ACME-001") -> Any:
    ctx = ActionContext(caller=caller, env=container.action_env)
    return SummaryAction().run(SummaryInput(record=record), ctx)


def test_an_unchanged_record_answers_from_the_cache(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = extractive
    first = summarise(demo_container)
    second = summarise(demo_container)
    assert not first.cached and second.cached and len(chat.calls) == 1
    assert second.output == first.output and second.retrieved_chunk_ids == first.retrieved_chunk_ids
    assert second.usage.total_tokens == 0 < first.usage.total_tokens  # nothing spent the second time
    assert "model" not in second.timings_ms and "retrieval_total" in second.timings_ms  # retrieval still ran
    assert [f.code for f in second.review_flags] == [f.code for f in first.review_flags]  # guards re-ran


def test_new_evidence_for_the_record_invalidates_it(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = extractive
    summarise(demo_container)
    note = SourceDocument(
        document_id="note:N-900", source_uri="crm:note:N-900", doc_type=DocType.NOTE, title="Decision call",
        segments=[Segment(text="Dana confirmed the signature date moves to 2026-10-20; key facts and next steps "
                                "agreed: pricing, discount and risks reviewed.")],
        account_id="ACME-001", owner="u-maria", team=["t-enterprise"], visibility="team",
        occurred_at="2026-09-30T15:00:00Z")
    demo_container.ingestor.ingest_loaded("demo", LoadResult(documents=[note]))
    after = summarise(demo_container)
    assert not after.cached and len(chat.calls) == 2
    assert any("2026-10-20" in c.snippet for c in after.citations) or "N-900" in str(chat.calls[-1]["messages"])


def test_callers_who_see_other_evidence_do_not_share_replies(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = extractive
    maria = summarise(demo_container, MARIA, "contact:C-104")
    lena = summarise(demo_container, LENA, "contact:C-104")  # N-012 about Greg is Maria's private note
    assert set(lena.retrieved_chunk_ids) < set(maria.retrieved_chunk_ids)
    assert not lena.cached and len(chat.calls) == 2
    assert summarise(demo_container, MARIA, "contact:C-104").cached


def test_purge_removes_replies_built_on_erased_chunks(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = extractive
    first = summarise(demo_container)
    cache = demo_container.action_env.cache
    assert cache is not None
    assert cache.purge("other-tenant", chunk_ids=first.retrieved_chunk_ids) == 0
    assert cache.purge("demo", chunk_ids=first.retrieved_chunk_ids[:1]) == 1
    assert not summarise(demo_container).cached and len(chat.calls) == 2
