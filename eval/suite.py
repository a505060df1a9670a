"""One eval run end to end: load the sets, pick the collection, run, score, gate, save.

Collections:

- ``scratch`` (default): an isolated data dir under ``<data_dir>/eval/scratch/<set>-<hash>``
  (its own Qdrant Edge shard and SQLite) into which the set's corpus and documents are
  ingested. It is kept between runs, so re-running only re-checks content hashes. The
  service's prompt versions are copied in, so a draft prompt version can be evaluated.
- ``existing``: the service's own stores as configured, searched as they are (nothing is
  ingested unless asked)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from eval.gate import DEFAULT_GATE_FILE, check_gate, load_profile
from eval.loaders import load_dataset, merge_sets
from eval.metrics.ragas_metrics import RagasScorer
from eval.results import CaseResult, RunResults, aggregate
from eval.runner import EvalRunner, RunOptions, copy_prompts, prepare_collection, select_cases
from eval.runs import new_run_id, save_run
from eval.schema import GoldenSet
from prompts.chat import ChatModel
from service.container import Container, build_chat
from service.settings import DatabaseSettings, Settings, VectorSettings

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


def scratch_settings(settings: Settings, gs: GoldenSet) -> Settings:
    """Settings for an isolated collection keyed by the set and everything that shapes its index."""
    shape = json.dumps([settings.embedding.model_dump(mode="json"), settings.ingest.model_dump(mode="json")],
                       sort_keys=True, default=str)
    slug = re.sub(r"[^a-z0-9_.-]+", "-", gs.name.lower()).strip("-")[:40] or "set"
    folder = settings.data_dir / "eval" / "scratch" / f"{slug}-{hashlib.sha256(shape.encode()).hexdigest()[:8]}"
    return settings.model_copy(update={"data_dir": folder, "vector": VectorSettings(backend="edge"),
                                       "database": DatabaseSettings()})


def pick_judge(settings: Settings, container: Container, wanted: bool | None) -> ChatModel | None:
    """The chat model under test judges when it is an LLM; ``--judge`` with a non-LLM backend
    loads the configured local model (llama-cpp) as the judge."""
    is_llm = settings.chat.backend in LLM_BACKENDS
    if wanted is False or (wanted is None and not is_llm):
        return None
    if is_llm:
        return container.chat
    return build_chat(settings.model_copy(update={"chat": settings.chat.model_copy(update={"backend": "llama-cpp"})}))


Progress = Callable[[int, int, CaseResult], None]


def run_suite(settings: Settings, config: SuiteConfig, *, container: Container | None = None,
              progress: Progress | None = None, log: Callable[[str], None] = lambda _: None) -> RunResults:
    """Run the configured sets and save the run under ``settings.data_dir``.

    Pass ``container`` to evaluate an already built stack (tests, notebooks); it is used
    as the collection and not closed."""
    started = time.perf_counter()
    created = datetime.now(UTC)
    gs = merge_sets([load_dataset(d) for d in config.datasets], name="+".join(config.datasets))
    cases = select_cases(gs, config.options)
    owned: list[Container] = []
    try:
        if container is not None:
            target, mode = container, "given"
        elif config.collection == "scratch":
            # the chat model comes from the service's settings: its model cache, not a second copy
            target = Container(scratch_settings(settings, gs), chat=build_chat(settings))
            owned.append(target)
            mode = f"scratch ({target.settings.data_dir})"
            service = Container(settings)
            owned.append(service)
            tenants = {c.tenant for c in cases}
            for tenant in tenants:
                copy_prompts(service, target, config.prompt_tenant or tenant, {tenant})
        else:
            target = Container(settings)
            owned.append(target)
            mode = "existing"
        ingest = config.ingest if config.ingest is not None else config.collection == "scratch" and container is None
        ingested: dict[str, Any] = {}
        if ingest:
            log(f"ingesting {gs.name} into {mode}")
            ingested = prepare_collection(target, gs)
        judge = pick_judge(settings, target, config.judge)
        scorer = RagasScorer(judge, target.embedder, judge_contexts=config.judge_contexts)
        runner = EvalRunner(target, scorer, config.options)
        results = runner.run(cases, progress)
        metrics, summary = aggregate(results)
        run = RunResults(
            run_id=new_run_id(created), created_at=created.isoformat(timespec="seconds"),
            duration_s=round(time.perf_counter() - started, 2), datasets=gs.sources,
            config={
                "chat_model": target.chat.name, "chat_backend": target.settings.chat.backend,
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
        save_run(run, settings.data_dir)
        return run
    finally:
        for built in owned:
            built.close()
