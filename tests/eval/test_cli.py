"""`sidekick eval` through the Typer app: run (scratch collection), gate exit codes, list,
compare, convert."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app

from .test_runner import call_set

runner = CliRunner()


def test_eval_run_gate_list_compare_convert(tmp_path: Path) -> None:
    gs = call_set()
    dataset = tmp_path / "calls.jsonl"
    cases = [c.model_copy(update={"documents": gs.documents}) for c in gs.cases[:1]]  # self-contained rows
    dataset.write_text("".join(json.dumps(c.model_dump(mode="json", exclude_defaults=True)) + "\n" for c in cases))
    gate = tmp_path / "gate.toml"
    gate.write_text('[profiles.ok]\n"summary.recall@5" = { min = 1.0, required = true }\n'
                    '[profiles.strict]\n"summary.rouge_l" = { min = 0.99 }\n', encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "var")]
    args = ["eval", "run", "--dataset", str(dataset), "--backend", "extractive", "--gate", "--gate-file", str(gate)]

    passed = runner.invoke(app, [*args, "--gate-profile", "ok", *data])
    assert passed.exit_code == 0, passed.output
    assert "Gate 'ok': PASSED" in passed.output and "report.html" in passed.output
    assert (tmp_path / "var" / "eval" / "scratch").is_dir()  # an isolated collection, not the service's
    failed = runner.invoke(app, [*args, "--gate-profile", "strict", *data])
    assert failed.exit_code == 1 and "FAILED" in failed.output
    assert runner.invoke(app, [*args, "--gate-profile", "missing", *data]).exit_code == 2  # before any work

    runs = sorted(p.name for p in (tmp_path / "var" / "eval" / "runs").iterdir())
    assert len(runs) == 2
    listed = runner.invoke(app, ["eval", "list", *data])
    assert listed.exit_code == 0 and all(r in listed.output for r in runs)
    compared = runner.invoke(app, ["eval", "compare", runs[0], runs[1], "--markdown", str(tmp_path / "cmp.md"),
                                   *data])
    assert compared.exit_code == 0, compared.output  # the same system twice: nothing regressed
    assert "Cases that regressed: 0" in compared.output
    assert re.search(r"summary\.rouge_l", (tmp_path / "cmp.md").read_text())
    assert runner.invoke(app, ["eval", "compare", runs[0], "no-such-run", *data]).exit_code == 2

    out = tmp_path / "native" / "copy.jsonl"
    converted = runner.invoke(app, ["eval", "convert", str(dataset), str(out)])
    assert converted.exit_code == 0 and out.is_file() and out.with_name("copy.jsonl.meta.json").is_file()


def test_a_scratch_collection_in_use_is_a_readable_error(tmp_path: Path) -> None:
    """Qdrant Edge opens a shard for one holder at a time: a second eval of the same set gets
    a sentence saying what to do, exit code 2, no traceback."""
    from retrieval.edge_store import EdgeVectorStore

    gs = call_set()
    dataset = tmp_path / "calls.jsonl"
    cases = [c.model_copy(update={"documents": gs.documents}) for c in gs.cases[:1]]
    dataset.write_text("".join(json.dumps(c.model_dump(mode="json", exclude_defaults=True)) + "\n" for c in cases))
    args = ["eval", "run", "--dataset", str(dataset), "--backend", "extractive", "--data-dir", str(tmp_path / "var")]
    assert runner.invoke(app, args).exit_code == 0  # creates the scratch collection
    (shard,) = (tmp_path / "var" / "eval" / "scratch").glob("*/qdrant")
    holder = EdgeVectorStore(shard)
    holder.ensure_collection(384)
    try:
        busy = runner.invoke(app, args)
    finally:
        holder.close()
    assert busy.exit_code == 2 and "Another process" in busy.output and "Traceback" not in busy.output
