"""One eval run end to end: load the sets, pick the collection, run, score, gate, save.

Collections (built by the caller's :class:`eval.stack.Stacks`):

- ``scratch`` (default): an isolated stack for the set (for the service: its own Qdrant
  Edge shard and SQLite under ``<data_dir>/eval/scratch/<set>-<hash>``) into which the
  set's corpus and documents are ingested. It is kept between runs, so re-running only
  re-checks content hashes. The service's prompt versions are copied in, so a draft prompt
  version can be evaluated.
- ``existing``: the service's own stores as configured, searched as they are (nothing is
  ingested unless asked)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from eval.gate import DEFAULT_GATE_FILE, check_gate, load_profile
from eval.loaders import load_dataset, merge_sets
from eval.metrics.ragas_metrics import RagasScorer
from eval.results import RunResults, aggregate
from eval.runner import EvalRunner, Progress, RunOptions, copy_prompts, prepare_collection, select_cases
from eval.runs import new_run_id, save_run
from eval.stack import Stack, Stacks
from prompts.chat import ChatModel

LLM_BACKENDS = ("llama-cpp", "openai")


@dataclass
class SuiteConfig:
    datasets: list[str] = field(default_factory=lambda: ["demo"])
    options: RunOptions = field(default_factory=RunOptions)
    collection: Literal["scratch", "existing"] = "scratch"
    ingest: bool | None = None
    """Ingest the set's sources; default: yes for scratch, no for existing."""
    judge: bool | None = None
    """ragas LLM judge: None = when the chat model under test is an LLM."""
    judge_contexts: int = 5
    prompt_tenant: str | None = None
    """Tenant whose prompt versions are copied into a scratch collection (default: each case's)."""
    gate_profile: str | None = None
    gate_file: Path = DEFAULT_GATE_FILE


def pick_judge(stacks: Stacks, target: Stack, wanted: bool | None) -> ChatModel | None:
    """The chat model under test judges when it is an LLM; ``--judge`` with a non-LLM backend
    loads the configured local model (llama-cpp) as the judge."""
    is_llm = stacks.chat_backend in LLM_BACKENDS
    if wanted is False or (wanted is None and not is_llm):
        return None
    if is_llm:
        return target.chat
    return stacks.judge()



def run_suite(stacks: Stacks, config: SuiteConfig, *, stack: Stack | None = None,
              progress: Progress | None = None, log: Callable[[str], None] = lambda _: None) -> RunResults:
    """Run the configured sets and save the run under ``stacks.data_dir``.

    Pass ``stack`` to evaluate an already built stack (tests, the prompt builder); it is
    used as the collection, left as it was (the runner records on a copy of its action
    environment) and not closed."""
    started = time.perf_counter()
    created = datetime.now(UTC)
    gs = merge_sets([load_dataset(d) for d in config.datasets], name="+".join(config.datasets))
    cases = select_cases(gs, config.options)
    owned: list[Stack] = []
    try:
        if stack is not None:
            target, mode = stack, "given"
        elif config.collection == "scratch":
            target, folder = stacks.scratch(gs.name)
            owned.append(target)
            mode = f"scratch ({folder})"
            service = stacks.service()
            owned.append(service)
            tenants = {c.tenant for c in cases}
            for tenant in tenants:
                copy_prompts(service, target, config.prompt_tenant or tenant, {tenant})
        else:
            target = stacks.service()
            owned.append(target)
            mode = "existing"
        ingest = config.ingest if config.ingest is not None else config.collection == "scratch" and stack is None
        ingested: dict[str, Any] = {}
        if ingest:
            log(f"ingesting {gs.name} into {mode}")
            ingested = prepare_collection(target, gs)
        judge = pick_judge(stacks, target, config.judge)
        scorer = RagasScorer(judge, target.embedder, judge_contexts=config.judge_contexts)
        runner = EvalRunner(target, scorer, config.options)
        results = runner.run(cases, progress)
        metrics, summary = aggregate(results)
        run = RunResults(
            run_id=new_run_id(created), created_at=created.isoformat(timespec="seconds"),
            duration_s=round(time.perf_counter() - started, 2), datasets=gs.sources,
            config={
                "chat_model": target.chat.name, "chat_backend": stacks.chat_backend,
                "judge": judge.name if judge is not None else None, "embedder": target.embedder.name,
                "prompt_version": config.options.prompt_version, "collection": mode,
                "actions": sorted(config.options.actions or []), "limit_per_action": config.options.limit,
                "ks": list(config.options.ks), "judge_contexts": config.judge_contexts, "ingested": ingested,
                "judge_calls": scorer.judge.calls if scorer.judge else 0,
            },
            summary=summary, metrics=metrics, cases=results,
        )
        if config.gate_profile:
            profile = load_profile(config.gate_file, config.gate_profile)
            run.gate = check_gate(run, profile, name=config.gate_profile, source=str(config.gate_file)).model_dump()
        save_run(run, stacks.data_dir)
        return run
    finally:
        for built in owned:
            built.close()
