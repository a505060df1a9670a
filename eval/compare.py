"""``sidekick eval compare RUN_A RUN_B``: per-metric deltas and the cases that regressed.

B is the candidate, A the baseline. A case regressed when it ran in A but failed or was
skipped in B, or when one of its quality metrics got worse by more than the tolerance
(cost metrics such as latency are compared in the summary only: they are noisy per case)."""

from __future__ import annotations

from dataclasses import dataclass, field

from eval.results import RunResults, lower_is_better

COST_METRICS = ("latency", "tokens", "seconds")


@dataclass
class MetricDelta:
    metric: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def verdict(self) -> str:
        """``better``, ``worse``, ``same``, or ``new``/``gone`` when one side lacks it."""
        if self.a is None and self.b is None:
            return "same"
        if self.a is None:
            return "new"
        if self.b is None:
            return "gone"
        d = self.b - self.a
        if abs(d) < 1e-9:
            return "same"
        return "better" if (d < 0) == lower_is_better(self.metric) else "worse"


@dataclass
class CaseRegression:
    case_id: str
    action: str
    metric: str
    a: float | str | None
    b: float | str | None


@dataclass
class Comparison:
    run_a: str
    run_b: str
    deltas: list[MetricDelta]
    regressions: list[CaseRegression]
    improvements: int = 0
    only_in_a: list[str] = field(default_factory=list)
    only_in_b: list[str] = field(default_factory=list)
    datasets_differ: bool = False


def compare_runs(a: RunResults, b: RunResults, *, tolerance: float = 0.05) -> Comparison:
    keys = sorted(set(a.summary) | set(b.summary))
    deltas = [MetricDelta(k, a.summary.get(k), b.summary.get(k)) for k in keys]
    cases_a = {c.id: c for c in a.cases}
    cases_b = {c.id: c for c in b.cases}
    regressions: list[CaseRegression] = []
    improvements = 0
    for case_id in sorted(cases_a.keys() & cases_b.keys()):
        ca, cb = cases_a[case_id], cases_b[case_id]
        if ca.status == "ok" and cb.status != "ok":
            regressions.append(CaseRegression(case_id, cb.action, "status", ca.status, f"{cb.status}: {cb.message}"))
            continue
        for metric in sorted(ca.metrics.keys() & cb.metrics.keys()):
            va, vb = ca.metrics[metric], cb.metrics[metric]
            if va is None or vb is None or any(c in metric for c in COST_METRICS):
                continue
            change = (va - vb) if lower_is_better(metric) else (vb - va)
            if change < -tolerance:
                regressions.append(CaseRegression(case_id, cb.action, metric, va, vb))
            elif change > tolerance:
                improvements += 1
    sources_a = {(s.name, s.sha256) for s in a.datasets}
    sources_b = {(s.name, s.sha256) for s in b.datasets}
    return Comparison(
        run_a=a.run_id, run_b=b.run_id, deltas=deltas, regressions=regressions, improvements=improvements,
        only_in_a=sorted(cases_a.keys() - cases_b.keys()), only_in_b=sorted(cases_b.keys() - cases_a.keys()),
        datasets_differ=sources_a != sources_b,
    )


def comparison_markdown(cmp: Comparison) -> str:
    lines = [f"# Eval comparison: {cmp.run_a} (A) → {cmp.run_b} (B)", ""]
    if cmp.datasets_differ:
        lines += ["> The two runs used different golden-set versions: deltas mix data and system changes.", ""]
    lines += ["| metric | A | B | Δ | |", "|---|---:|---:|---:|---|"]
    for d in cmp.deltas:
        delta = "" if d.delta is None else f"{d.delta:+.4g}"
        lines.append(f"| {d.metric} | {_num(d.a)} | {_num(d.b)} | {delta} | {d.verdict} |")
    lines += ["", f"## Cases that regressed ({len(cmp.regressions)}; {cmp.improvements} metric improvements)", ""]
    if cmp.regressions:
        lines += ["| case | action | metric | A | B |", "|---|---|---|---:|---:|"]
        lines += [f"| {r.case_id} | {r.action} | {r.metric} | {_num(r.a)} | {_num(r.b)} |" for r in cmp.regressions]
    else:
        lines.append("None.")
    for label, ids in (("only in A", cmp.only_in_a), ("only in B", cmp.only_in_b)):
        if ids:
            lines += ["", f"Cases {label}: {', '.join(ids[:50])}"]
    return "\n".join(lines) + "\n"


def _num(value: float | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value[:80]
    return f"{value:.4g}"
