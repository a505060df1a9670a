"""The Markdown report of a run: gate, per-action metric tables, failures, weakest cases."""

from __future__ import annotations

from eval.results import CaseResult, MetricStats, RunResults, lower_is_better

PRIMARY = {
    "summary": "rouge_l",
    "qa": "not_found_accuracy",
    "field_fill": "field_f1",
    "compliance_check": "verdict_f1",
    "email_draft": "must_mention_recall",
}
"""The metric each action's cases are ranked by in the "weakest cases" lists."""
COST = ("latency_ms", "prompt_tokens", "completion_tokens", "judge_seconds")


def primary_metric(action: str, cases: list[CaseResult]) -> str | None:
    names = {m for c in cases for m, v in c.metrics.items() if v is not None}
    preferred = PRIMARY.get(action)
    if preferred in names:
        return preferred
    quality = sorted(n for n in names if n not in COST and not lower_is_better(n))
    return quality[0] if quality else None


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"


def header_lines(r: RunResults) -> list[str]:
    cfg = r.config
    lines = [f"- **Created:** {r.created_at} ({r.duration_s:.1f} s)"]
    for s in r.datasets:
        lines.append(f"- **Dataset:** {s.name} (version {s.version}), {s.rows} rows, "
                     f"sha256 `{s.sha256[:12]}` ({s.path})")
    for key, label in (("chat_model", "Chat model"), ("judge", "ragas judge"), ("embedder", "Embedder"),
                       ("prompt_version", "Prompt version"), ("collection", "Collection")):
        lines.append(f"- **{label}:** {cfg.get(key) if cfg.get(key) is not None else '—'}")
    return lines


def stats_row(name: str, st: MetricStats) -> str:
    value = st.micro if st.micro is not None else st.mean
    kind = "micro" if st.micro is not None else "mean"
    cells = [name, f"{fmt(value)} ({kind})", fmt(st.p50), fmt(st.p95), fmt(st.min), fmt(st.max), str(st.n)]
    return "| " + " | ".join(cells) + " |"


def render_markdown(r: RunResults, *, weakest: int = 5) -> str:
    lines = [f"# Eval run {r.run_id}", "", *header_lines(r), ""]
    if r.gate:
        verdict = "PASSED" if r.gate["passed"] else "FAILED"
        lines += [f"## Gate `{r.gate['profile']}`: {verdict}", "", "| metric | rule | value | status |",
                  "|---|---|---:|---|"]
        lines += [f"| {c['metric']} | {c['rule']} | {fmt(c['value'])} | {c['status']} |" for c in r.gate["checks"]]
        lines.append("")
    lines += ["## Overview", "", "| action | cases | error rate | skipped |", "|---|---:|---:|---:|"]
    actions = sorted({c.action for c in r.cases})
    for action in actions:
        group = [c for c in r.cases if c.action == action]
        ran = [c for c in group if c.status != "skipped"]
        rate = sum(c.status == "error" for c in ran) / len(ran) if ran else None
        lines.append(f"| {action} | {len(ran)} | {fmt(rate)} | {len(group) - len(ran)} |")
    for action, table in r.metrics.items():
        lines += ["", f"## {action}", "", "| metric | value | p50 | p95 | min | max | n |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        lines += [stats_row(name, st) for name, st in table.items()]
        cases = [c for c in r.cases if c.action == action and c.status == "ok"]
        metric = primary_metric(action, cases)
        if metric:
            ranked = sorted((c for c in cases if c.metrics.get(metric) is not None),
                            key=lambda c: c.metrics[metric] or 0.0)[:weakest]
            lines += ["", f"Weakest cases by {metric}:", ""]
            lines += [f"- `{c.id}` {fmt(c.metrics[metric])}: {c.question[:120]}" for c in ranked]
    problems = [c for c in r.cases if c.status != "ok"]
    if problems:
        lines += ["", "## Skipped and failed cases", "", "| case | action | status | why |", "|---|---|---|---|"]
        lines += [f"| {c.id} | {c.action} | {c.status} | {c.message[:200].replace('|', '/')} |" for c in problems]
    return "\n".join(lines) + "\n"
