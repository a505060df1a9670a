"""What a run records (``results.json``) and how per-case metrics roll up into a summary.

Metric keys in the summary are ``<action>.<metric>`` (``summary.rouge_l``,
``qa.not_found_accuracy``, ``all.error_rate``): the names the gate and ``compare`` use."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from eval.metrics.structured import Counts
from eval.schema import SetSource

Status = Literal["ok", "error", "skipped"]
LOWER_IS_BETTER = ("latency", "tokens", "error_rate", "forbidden_mention_rate", "flagged", "seconds")
"""Metric names containing one of these are better when smaller (gate ``max``, compare sign)."""
COUNT_FAMILIES = ("field", "verdict")
"""Families counted per case and micro-averaged over the run (``<family>_precision`` etc.)."""


def lower_is_better(metric: str) -> bool:
    return any(part in metric for part in LOWER_IS_BETTER)


class RetrievedChunk(BaseModel):
    chunk_id: str
    document_id: str
    score: float
    covers: list[str] = Field(default_factory=list)
    """Relevant units this chunk covers (empty: not relevant, or no relevance labels)."""
    snippet: str = ""


class CaseResult(BaseModel):
    """One case: what ran, what came back, and its scores."""

    id: str
    action: str
    status: Status
    message: str = ""
    tags: list[str] = Field(default_factory=list)
    notes: str = ""
    question: str = ""
    answer: str = ""
    reference: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] | None = None
    citations: list[dict[str, Any]] = Field(default_factory=list)
    review_flags: list[str] = Field(default_factory=list)
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    relevant: list[str] = Field(default_factory=list)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    metric_errors: dict[str, str] = Field(default_factory=dict)
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str = ""
    prompt: dict[str, Any] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class MetricStats(BaseModel):
    n: int
    mean: float
    p50: float
    p95: float
    min: float
    max: float
    micro: float | None = None
    """For count families: the run-level micro-average (what the summary reports)."""


class RunResults(BaseModel):
    run_id: str
    created_at: str
    duration_s: float = 0.0
    datasets: list[SetSource] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    summary: dict[str, float | None] = Field(default_factory=dict)
    metrics: dict[str, dict[str, MetricStats]] = Field(default_factory=dict)
    cases: list[CaseResult] = Field(default_factory=list)
    gate: dict[str, Any] | None = None

    def case(self, case_id: str) -> CaseResult | None:
        return next((c for c in self.cases if c.id == case_id), None)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(values: list[float]) -> MetricStats:
    return MetricStats(n=len(values), mean=statistics.fmean(values), p50=percentile(values, 50),
                       p95=percentile(values, 95), min=min(values), max=max(values))


def aggregate(cases: Iterable[CaseResult]) -> tuple[dict[str, dict[str, MetricStats]], dict[str, float | None]]:
    """Per-action metric statistics and the flat summary the gate reads."""
    by_action: dict[str, list[CaseResult]] = {}
    for case in cases:
        by_action.setdefault(case.action, []).append(case)
    metrics: dict[str, dict[str, MetricStats]] = {}
    summary: dict[str, float | None] = {}
    ran = errors = skipped = 0
    for action, group in sorted(by_action.items()):
        done = [c for c in group if c.status != "skipped"]
        skipped += len(group) - len(done)
        if not done:
            summary[f"{action}.skipped"] = float(len(group))
            continue
        failed = sum(c.status == "error" for c in done)
        ran, errors = ran + len(done), errors + failed
        ok = [c for c in done if c.status == "ok"]
        table: dict[str, MetricStats] = {}
        # quality metrics first, cost last (latency, tokens, judge time, review flags)
        names = sorted({m for c in ok for m in c.metrics}, key=lambda m: (lower_is_better(m), m))
        for name in names:
            values = [v for c in ok if (v := c.metrics.get(name)) is not None]
            if values:
                table[name] = stats(values)
        for family in COUNT_FAMILIES:
            total = sum((Counts(**c.counts[family]) for c in ok if family in c.counts), Counts())
            for part, value in (("precision", total.precision()), ("recall", total.recall()), ("f1", total.f1())):
                if f"{family}_{part}" in table:
                    table[f"{family}_{part}"].micro = value
        metrics[action] = table
        summary[f"{action}.cases"] = float(len(done))
        summary[f"{action}.error_rate"] = failed / len(done)
        for name, st in table.items():
            summary[f"{action}.{name}"] = round(st.micro if st.micro is not None else st.mean, 4)
            if "latency" in name:
                summary[f"{action}.{name}_p95"] = round(st.p95, 1)
    summary["all.cases"] = float(ran)
    summary["all.skipped"] = float(skipped)
    summary["all.error_rate"] = errors / ran if ran else None
    return metrics, summary
