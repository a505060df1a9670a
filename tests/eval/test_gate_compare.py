"""The gate's thresholds and `eval compare` on hand-made runs with known outcomes."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.compare import compare_runs, comparison_markdown
from eval.gate import DEFAULT_GATE_FILE, GateConfigInvalid, GateProfile, Threshold, check_gate, load_profile
from eval.results import CaseResult, RunResults, aggregate
from eval.schema import SetSource


def run(run_id: str, cases: list[CaseResult], sha: str = "a" * 64) -> RunResults:
    metrics, summary = aggregate(cases)
    return RunResults(run_id=run_id, created_at="2026-10-01T00:00:00+00:00", metrics=metrics, summary=summary,
                      cases=cases, datasets=[SetSource(name="demo", path="x", sha256=sha)])


def case(case_id: str, action: str = "summary", status: str = "ok", **metrics: float) -> CaseResult:
    return CaseResult(id=case_id, action=action, status=status, metrics=metrics)  # type: ignore[arg-type]


def test_aggregate_means_rates_and_micro_averages() -> None:
    cases = [case("s1", rouge_l=0.2, latency_ms=100), case("s2", rouge_l=0.4, latency_ms=300),
             case("s3", status="error"), case("q1", action="qa", status="skipped")]
    ff = [CaseResult(id=f"f{i}", action="field_fill", status="ok", metrics={"field_precision": p},
                     counts={"field": {"tp": tp, "fp": fp, "fn": 0, "abstained_ok": 0}})
          for i, (p, tp, fp) in enumerate([(1.0, 1, 0), (0.5, 3, 3)])]
    metrics, summary = aggregate(cases + ff)
    assert summary["summary.rouge_l"] == pytest.approx(0.3)
    assert summary["summary.error_rate"] == pytest.approx(1 / 3)
    assert summary["summary.latency_ms_p95"] == 300
    assert summary["qa.skipped"] == 1 and "qa.error_rate" not in summary
    assert summary["all.error_rate"] == pytest.approx(1 / 5) and summary["all.skipped"] == 1
    # micro: 4 right of 7 filled, not the mean of 1.0 and 0.5
    assert metrics["field_fill"]["field_precision"].mean == 0.75
    assert summary["field_fill.field_precision"] == pytest.approx(4 / 7, abs=1e-4)


def test_gate_checks_min_max_globs_and_missing_metrics() -> None:
    results = run("r", [case("s1", rouge_l=0.2, latency_ms=900), case("s2", rouge_l=0.3, latency_ms=1100)])
    profile = GateProfile(thresholds={
        "summary.rouge_l": Threshold(min=0.2),
        "*.error_rate": Threshold(max=0.0),
        "summary.latency_ms": Threshold(max=500),
        "qa.not_found_accuracy": Threshold(min=0.9),
    })
    gate = check_gate(results, profile)
    status = {c.metric: c.status for c in gate.checks}
    assert status == {"summary.rouge_l": "pass", "summary.error_rate": "pass", "all.error_rate": "pass",
                      "summary.latency_ms": "fail", "qa.not_found_accuracy": "not measured"}
    assert not gate.passed and [c.metric for c in gate.failures()] == ["summary.latency_ms"]
    profile.thresholds["summary.latency_ms"] = Threshold(max=5000)
    assert check_gate(results, profile).passed
    profile.thresholds["qa.not_found_accuracy"] = Threshold(min=0.9, required=True)
    assert not check_gate(results, profile).passed


def test_the_shipped_gate_file_parses(tmp_path: Path) -> None:
    for name in ("default", "smoke"):
        assert load_profile(DEFAULT_GATE_FILE, name).thresholds
    with pytest.raises(GateConfigInvalid, match="no profile 'nope'"):
        load_profile(DEFAULT_GATE_FILE, "nope")
    bad = tmp_path / "gate.toml"
    bad.write_text('[profiles.x]\n"a.b" = { minimum = 1 }\n', encoding="utf-8")
    with pytest.raises(GateConfigInvalid):
        load_profile(bad, "x")


def test_compare_reports_deltas_and_the_cases_that_regressed() -> None:
    a = run("A", [case("s1", rouge_l=0.5, latency_ms=100), case("s2", rouge_l=0.5), case("s3", rouge_l=0.5),
                  case("q1", action="qa", not_found_accuracy=1.0)])
    b = run("B", [case("s1", rouge_l=0.52, latency_ms=900), case("s2", rouge_l=0.2), case("s3", status="error"),
                  case("q2", action="qa", not_found_accuracy=1.0)], sha="b" * 64)
    cmp = compare_runs(a, b, tolerance=0.05)
    deltas = {d.metric: d for d in cmp.deltas}
    assert deltas["summary.rouge_l"].verdict == "worse"
    assert deltas["summary.latency_ms"].verdict == "worse"  # lower is better
    assert deltas["summary.error_rate"].verdict == "worse"
    assert [(r.case_id, r.metric) for r in cmp.regressions] == [("s2", "rouge_l"), ("s3", "status")]
    assert cmp.only_in_a == ["q1"] and cmp.only_in_b == ["q2"] and cmp.datasets_differ
    md = comparison_markdown(cmp)
    assert "| s2 | summary | rouge_l | 0.5 | 0.2 |" in md and "different golden-set versions" in md
    same = compare_runs(a, a)
    assert same.regressions == [] and all(d.verdict == "same" for d in same.deltas)
