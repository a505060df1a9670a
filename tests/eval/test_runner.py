"""The runner end to end: real actions through the action runner on the embedded stack, with the
extractive baseline as the chat model; isolated ingestion of a self-contained set; reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select

from eval.metrics.ragas_metrics import RagasScorer
from eval.results import RunResults
from eval.runner import EvalRunner, RunOptions, copy_prompts, prepare_collection
from eval.runs import load_run, runs_dir
from eval.schema import EvalDocument, EvalSegment, GoldenCase, GoldenSet, RelevantItem
from eval.suite import SuiteConfig, run_suite
from prompts.extractive import ExtractiveChatModel
from service.audit import AuditRow
from service.container import Container
from service.eval_stacks import ContainerStacks

CALL = [
    ("Dana", "Thanks for joining. We run 420 trucks out of Columbus and our Samsara contract ends in October."),
    ("Maria", "Enterprise is $79 per vehicle per month and includes single sign-on with Okta."),
    ("Dana", "Our budget is about $350,000 per year, so we need a discount to make this work."),
    ("Maria", "I will send a proposal with a 20% discount by Friday, 2026-09-18."),
    ("Dana", "Please also confirm that data for our Hamburg depot can stay in the EU region."),
]


def call_set() -> GoldenSet:
    doc = EvalDocument(document_id="call:acme-1", doc_type="transcript", title="Acme discovery call",  # type: ignore[arg-type]
                       segments=[EvalSegment(speaker=s, text=t) for s, t in CALL])
    return GoldenSet(name="calls", documents=[doc], cases=[
        GoldenCase(id="sum-call", action="summary", record="document:call:acme-1",
                   inputs={"focus": "budget and discount"},
                   reference={"answer": "Acme has a $350,000 budget and needs a discount; Maria will send a proposal "
                                        "with 20% off by 2026-09-18.", "key_facts": ["$350,000 budget", "20%"]},
                   relevant=[RelevantItem(id="budget", document_ids=["call:acme-1"],
                                          quotes=["budget is about $350,000 per year"])]),
        GoldenCase(id="sum-bad", action="summary", record="document:call:acme-1", inputs={"max_bullets": 99}),
        GoldenCase(id="later", action="translate", inputs={"text": "hola"}),
    ])


def test_a_self_contained_set_is_ingested_and_scored(container: Container) -> None:
    container._chat = ExtractiveChatModel()
    gs = call_set()
    first = prepare_collection(container, gs)
    assert first["eval:documents"]["added"] == 1
    assert prepare_collection(container, gs)["eval:documents"]["unchanged"] == 1  # idempotent re-run
    results = {r.id: r for r in EvalRunner(container, RagasScorer()).run(gs.cases)}

    ok = results["sum-call"]
    assert ok.status == "ok" and ok.model == "extractive" and ok.prompt["name"] == "summary"
    assert ok.metrics["recall@5"] == 1.0 and ok.metrics["mrr"] == 1.0
    assert ok.retrieved and all(h.document_id == "call:acme-1" for h in ok.retrieved)
    assert any(h.covers == ["budget"] for h in ok.retrieved)
    assert "$350,000" in ok.answer and ok.metrics["key_fact_recall"] == 1.0 and (ok.metrics["rouge_l"] or 0) > 0.1
    assert ok.citations and ok.prompt_tokens > 0 and ok.latency_ms > 0
    assert ok.metrics["context_precision_nonllm"] is not None

    assert results["sum-bad"].status == "error" and "max_bullets" in results["sum-bad"].message
    assert results["later"].status == "skipped"
    assert re.search(r"'translate' is not registered \(registered: .*summary", results["later"].message)
    # the action runner audited every call it made, as the HTTP route does
    with container.sessions() as session:
        audited = session.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.event == "action:summary"))
    assert audited == 1


def test_demo_smoke_gate_passes_with_the_extractive_baseline(demo_container: Container) -> None:
    """What CI runs: the first cases of every demo set, the extractive model, the smoke gate."""
    demo_container._chat = ExtractiveChatModel()
    config = SuiteConfig(datasets=["demo"], options=RunOptions(limit=2), gate_profile="smoke")
    run = run_suite(ContainerStacks(demo_container.settings), config, stack=demo_container)
    assert run.gate is not None
    assert run.gate["passed"], [c for c in run.gate["checks"] if c["status"] == "fail"]
    ran = [c for c in run.cases if c.status != "skipped"]
    assert ran and all(c.status == "ok" for c in ran), [(c.id, c.message) for c in ran if c.status != "ok"]
    assert run.summary["all.error_rate"] == 0.0
    assert run.summary["summary.recall@10"] is not None and (run.summary["summary.rouge_l"] or 0) > 0
    assert run.config["chat_model"] == "extractive" and run.config["judge"] is None

    folder = runs_dir(demo_container.settings.data_dir) / run.run_id
    assert load_run(run.run_id, demo_container.settings.data_dir).summary == run.summary
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<svg" in html and "<details>" in html and "sum-001" in html
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/|<script|<link", html, re.I), "self-contained"
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert "## Gate `smoke`: PASSED" in md and "| rouge_l |" in md
    assert RunResults.model_validate(json.loads((folder / "results.json").read_text())).run_id == run.run_id


def test_the_gate_catches_a_worse_system(demo_container: Container, tmp_path: Path) -> None:
    """The same smoke run with a model that answers nothing must fail the gate."""
    from prompts.scripted import ScriptedChatModel

    demo_container._chat = ScriptedChatModel(responder=lambda messages, schema: json.dumps(
        {"headline": "", "key_facts": [], "open_questions": [], "risks": [], "next_steps": []}))
    config = SuiteConfig(datasets=["demo"], options=RunOptions(limit=2, actions=frozenset({"summary"})),
                         gate_profile="smoke")
    run = run_suite(ContainerStacks(demo_container.settings), config, stack=demo_container)
    assert run.gate is not None and not run.gate["passed"]
    failed = {c["metric"] for c in run.gate["checks"] if c["status"] == "fail"}
    assert "summary.rouge_l" in failed


def test_a_draft_prompt_version_is_evaluated_and_copied_to_scratch(container: Container, tmp_path: Path) -> None:
    from prompts.store import PromptVersionRow
    from service.settings import Settings

    container._chat = ExtractiveChatModel()
    published = container.prompts.get("eval", "summary")  # seeds v1
    draft = published.template.model_copy(update={"user": published.template.user.replace("Summarise", "DRAFT:")})
    with container.sessions() as session:
        session.add(PromptVersionRow(tenant_id="eval", name="summary", version=2, state="draft",
                                     template=draft.model_dump(mode="json")))
        session.commit()
    gs = call_set()
    prepare_collection(container, gs)
    [result] = EvalRunner(container, RagasScorer(), RunOptions(prompt_version=2)).run(gs.cases[:1])
    assert result.status == "ok" and result.prompt == {"name": "summary", "version": 2}

    scratch = Container(Settings(data_dir=tmp_path / "scratch", chat={"backend": "extractive"}))  # type: ignore[arg-type]
    try:
        assert copy_prompts(container, scratch, "eval", {"eval"}) == 2
        assert scratch.prompts.get("eval", "summary", 2).template.user == draft.user
        assert copy_prompts(container, scratch, "eval", {"eval"}) == 0  # already in sync
    finally:
        scratch.close()
