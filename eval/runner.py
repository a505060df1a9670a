"""The eval runner: ingest a golden set, run every case through the HTTP code path, score it.

Cases run through the stack's :class:`actions.runner.ActionRunner`, what the HTTP routes
call, so permission checks, audit records, guards and the prompt store are the real ones.
The runner's retriever is wrapped in :class:`RecordingRetriever`, which only observes: it
keeps the ranked chunks (with their text) each search returned, for retrieval metrics and
as the contexts ragas judges."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from actions.base import Action
from actions.registry import ACTIONS
from actions.runner import ActionRunner
from eval.loaders import EvalError
from eval.metrics.ragas_metrics import RagasSample, RagasScorer
from eval.results import CaseResult, RetrievedChunk
from eval.schema import EvalDocument, GoldenCase, GoldenSet, RelevantItem
from eval.scoring import TASK_SCORERS, answer_text, case_question, reference_text, score_retrieval
from eval.stack import Stack
from ingest.loaders import LoadResult
from prompts.store import PromptVersionRow
from retrieval.filters import admin_filter
from retrieval.identity import Caller, Role
from retrieval.models import SearchHit
from retrieval.search import Retriever, SearchRequest, SearchResult

MAX_REFERENCE_CONTEXTS = 30


class RecordingRetriever(Retriever):
    """A retriever that delegates every call and remembers the hits of each search."""

    def __init__(self, inner: Retriever) -> None:  # no super().__init__: all state is the inner one's
        self._inner = inner
        self.results: list[SearchResult] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def search(self, request: SearchRequest) -> SearchResult:
        result = self._inner.search(request)
        self.results.append(result)
        return result

    def hits(self) -> dict[str, SearchHit]:
        return {hit.id: hit for result in self.results for hit in result.hits}


def recording_runner(runner: ActionRunner) -> tuple[ActionRunner, RecordingRetriever]:
    """The same runner (audit, review queue) on an environment whose retriever records and
    that has no reply cache. The stack itself is left as it was (it may be the live service's)."""
    recorder = RecordingRetriever(runner.env.retriever)
    # An eval measures the model: a reply cached by an earlier run (same model name, same
    # messages) would hide a changed model file and report cache latency.
    return replace(runner, env=replace(runner.env, retriever=recorder, cache=None)), recorder


def prepare_collection(stack: Stack, gs: GoldenSet) -> dict[str, dict[str, Any]]:
    """Ingest the set's corpus folders and documents (idempotent: unchanged ones are skipped)."""
    reports: dict[str, dict[str, Any]] = {}
    for path, root, tenant in gs.corpus:
        report = stack.ingestor.ingest_paths(tenant, [path], root=root)
        _check(report, str(path))
        reports[f"{tenant}:{path.name}"] = report.summary()
    by_tenant: dict[str, dict[str, EvalDocument]] = {}
    owned = [(d, d.tenant or gs.default_tenant) for d in gs.documents]
    owned += [(d, d.tenant or c.tenant) for c in gs.cases for d in c.documents]
    for doc, tenant in owned:
        seen = by_tenant.setdefault(tenant, {})
        if doc.document_id in seen and seen[doc.document_id] != doc:
            raise EvalError(f"document {doc.document_id!r} appears twice in {gs.name} with different content")
        seen[doc.document_id] = doc
    for tenant, docs in by_tenant.items():
        loaded = LoadResult(documents=[d.source_document() for d in docs.values()])
        report = stack.ingestor.ingest_loaded(tenant, loaded, source=f"eval:{gs.name}")
        _check(report, gs.name)
        reports[f"{tenant}:documents"] = report.summary()
    return reports


def _check(report: Any, what: str) -> None:
    failed = [i for i in report.items if i.status == "failed"]
    if failed:
        detail = "; ".join(f"{i.document_id}: {i.reason}" for i in failed[:5])
        raise EvalError(f"{len(failed)} source(s) of {what} could not be ingested: {detail}")


def copy_prompts(source: Stack, target: Stack, from_tenant: str, to_tenants: set[str]) -> int:
    """Copy every prompt version of ``from_tenant`` into ``target``'s store for each tenant,
    so a scratch collection evaluates the drafts and versions the service has."""
    with source.sessions() as session:
        rows = list(session.scalars(select(PromptVersionRow).where(PromptVersionRow.tenant_id == from_tenant)))
    copied = 0
    with target.sessions() as session:
        for tenant in to_tenants:
            for row in rows:
                exists = session.scalars(select(PromptVersionRow).where(
                    PromptVersionRow.tenant_id == tenant, PromptVersionRow.name == row.name,
                    PromptVersionRow.version == row.version)).first()
                if exists is None:
                    session.add(PromptVersionRow(tenant_id=tenant, name=row.name, version=row.version,
                                                 state=row.state, template=row.template, author=row.author,
                                                 note=f"copied from {from_tenant} for eval"))
                    copied += 1
                elif (exists.state, exists.template) != (row.state, row.template):
                    exists.state, exists.template = row.state, row.template  # follow publish/rollback
                    copied += 1
        session.commit()
    return copied


@dataclass
class RunOptions:
    prompt_version: int | None = None
    actions: frozenset[str] | None = None
    limit: int | None = None
    """Cases per action (the first N of each)."""
    ks: tuple[int, ...] = (5, 10)


def select_cases(gs: GoldenSet, options: RunOptions) -> list[GoldenCase]:
    taken: dict[str, int] = {}
    out = []
    for case in gs.cases:
        if options.actions and case.action not in options.actions:
            continue
        if options.limit is not None and taken.get(case.action, 0) >= options.limit:
            continue
        taken[case.action] = taken.get(case.action, 0) + 1
        out.append(case)
    return out


def build_input(action: Action[Any, Any], case: GoldenCase) -> Any:
    data = dict(case.inputs)
    fields = action.input_model.model_fields
    if case.record is not None and "record" in fields and "record" not in data:
        data["record"] = case.record
    data.update({k: v for k, v in case.optional_inputs.items() if k in fields and k not in data})
    return action.input_model.model_validate(data)


Progress = Callable[[int, int, CaseResult], None]


class EvalRunner:
    """Runs cases against one stack and scores them."""

    def __init__(self, stack: Stack, scorer: RagasScorer, options: RunOptions | None = None) -> None:
        self.stack = stack
        self.scorer = scorer
        self.options = options or RunOptions()
        self.runner, self.recorder = recording_runner(stack.runner)
        self._chunks: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def run(self, cases: list[GoldenCase], progress: Progress | None = None) -> list[CaseResult]:
        results = []
        for i, case in enumerate(cases, start=1):
            result = self.run_case(case)
            results.append(result)
            if progress:
                progress(i, len(cases), result)
        return results

    def run_case(self, case: GoldenCase) -> CaseResult:
        base = CaseResult(id=case.id, action=case.action, status="ok", tags=case.tags, notes=case.notes,
                          question=case_question(case), reference=reference_text(case), inputs=case.inputs)
        action = ACTIONS.get(case.action)
        if action is None:
            base.status, base.message = "skipped", (
                f"action {case.action!r} is not registered (registered: {', '.join(sorted(ACTIONS))})")
            return base
        try:
            inp = build_input(action, case)
        except ValidationError as exc:
            base.status, base.message = "error", f"input does not match {action.name}'s input model: {exc}"[:600]
            return base
        # a named prompt version is an admin privilege for the runner; evaluators run the published one
        role: Role = "admin" if self.options.prompt_version is not None else "evaluator"
        caller = Caller(tenant_id=case.tenant, user_id=case.user, teams=tuple(case.teams), role=role)
        self.recorder.results.clear()
        start = time.perf_counter()
        try:
            response = self.runner.run(action, inp, caller, self.options.prompt_version)
        except Exception as exc:  # the run goes on; the case records why it failed
            base.status, base.message = "error", f"{type(exc).__name__}: {exc}"[:600]
            base.latency_ms = round((time.perf_counter() - start) * 1000, 2)
            return base
        output = response.output.model_dump(mode="json")
        base.output, base.answer = output, answer_text(case.action, output)
        base.citations = [c.model_dump(mode="json") for c in response.citations]
        base.review_flags = [f.code for f in response.review_flags]
        base.latency_ms, base.timings_ms = response.latency_ms, response.timings_ms
        base.prompt_tokens, base.completion_tokens = response.usage.prompt_tokens, response.usage.completion_tokens
        base.model, base.prompt = response.model, response.prompt.model_dump()
        self._score(case, base, response.retrieved_chunk_ids, {c.chunk_id for c in response.citations})
        return base

    def _score(self, case: GoldenCase, result: CaseResult, ranked_ids: list[str], cited: set[str]) -> None:
        items = case.relevant_items()
        hits = self.recorder.hits()
        ranked = [hits[i] for i in ranked_ids if i in hits]
        covers = [[it.id for it in items if it.covers(h.id, h.chunk.document_id, h.chunk.text)] for h in ranked]
        result.retrieved = [RetrievedChunk(chunk_id=h.id, document_id=h.chunk.document_id, score=round(h.score, 5),
                                           covers=c, snippet=h.chunk.text[:400]) for h, c in zip(ranked, covers,
                                                                                                   strict=True)]
        result.relevant = [it.id for it in items]
        metrics: dict[str, float | None] = {}
        counts: dict[str, dict[str, int]] = {}
        scorer = TASK_SCORERS.get(case.action)
        if scorer is not None and result.output is not None:
            metrics, counts = scorer(case, result.output, result.answer)
        cited_covers = [c for h, c in zip(ranked, covers, strict=True) if h.id in cited]
        metrics.update(score_retrieval(covers, result.relevant, cited_covers, self.options.ks))
        metrics["latency_ms"] = result.latency_ms
        metrics["prompt_tokens"] = float(result.prompt_tokens)
        metrics["completion_tokens"] = float(result.completion_tokens)
        metrics["flagged"] = float(bool(result.review_flags))
        sample = RagasSample(user_input=result.question, response=result.answer or None,
                             contexts=[h.chunk.text for h in ranked], reference=result.reference,
                             reference_contexts=self._reference_contexts(case.tenant, items))
        ragas = self.scorer.score(sample)
        metrics.update(ragas.values)
        if self.scorer.judged:
            metrics["judge_seconds"] = round(ragas.seconds, 2)
        result.metrics, result.counts, result.metric_errors = metrics, counts, ragas.errors

    def _reference_contexts(self, tenant: str, items: list[RelevantItem]) -> list[str]:
        """Text of the stored chunks that cover the relevant units (ragas's reference contexts)."""
        texts: list[str] = []
        for item in items:
            for doc in item.document_ids:
                for cid, text in self._document_chunks(tenant, doc):
                    if item.covers(cid, doc, text) and text not in texts:
                        texts.append(text)
        return texts[:MAX_REFERENCE_CONTEXTS]

    def _document_chunks(self, tenant: str, document_id: str) -> list[tuple[str, str]]:
        key = (tenant, document_id)
        if key not in self._chunks:
            found = self.stack.store.scroll(admin_filter(tenant, document_id=document_id), limit=500)
            self._chunks[key] = [(cid, chunk.text) for cid, chunk in sorted(found, key=lambda p: p[1].chunk_index)]
        return self._chunks[key]
