"""``sidekick eval``: run golden sets, compare runs, list runs, convert sets.

Mounted by ``service/cli.py`` with :func:`make_eval_app`, which hands in how to build the
stacks of a run from the ``--data-dir`` and ``--backend`` options (the service reads its
``SIDEKICK_*`` settings); this package never imports the service."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from eval.stack import StacksFor

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")  # ragas would queue usage analytics otherwise

console = Console()
err = Console(stderr=True)
GATE_FILE = Path(__file__).resolve().parent / "gate.toml"
SHOWN = ("rouge_l", "key_fact_recall", "not_found_accuracy", "answer_token_f1", "field_f1", "verdict_f1",
         "compliant_accuracy", "must_mention_recall", "recall@10", "mrr", "ndcg@10", "faithfulness",
         "answer_relevancy", "context_precision", "context_recall", "context_precision_nonllm",
         "context_recall_nonllm", "latency_ms", "completion_tokens")


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"


def _summary_table(run: Any) -> Table:
    table = Table(title=f"Eval run {run.run_id}  ·  {run.config.get('chat_model')}  ·  judge: "
                        f"{run.config.get('judge') or 'none (non-LLM metrics only)'}")
    table.add_column("action")
    table.add_column("cases", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("metrics")
    actions = sorted({c.action for c in run.cases})
    for action in actions:
        group = [c for c in run.cases if c.action == action]
        ran = [c for c in group if c.status != "skipped"]
        if not ran:
            table.add_row(action, "0", "—", f"[yellow]skipped: {group[0].message}[/yellow]")
            continue
        errors = sum(c.status == "error" for c in ran)
        shown = [f"{m} {_fmt(run.summary.get(f'{action}.{m}'))}" for m in SHOWN if f"{action}.{m}" in run.summary]
        table.add_row(action, str(len(ran)), f"[red]{errors}[/red]" if errors else "0", "  ".join(shown))
    return table


def _gate_table(gate: dict[str, Any]) -> Table:
    title = f"Gate '{gate['profile']}': " + ("[green]PASSED[/green]" if gate["passed"] else "[red]FAILED[/red]")
    table = Table("metric", "rule", "value", "status", title=title)
    colour = {"pass": "green", "fail": "red", "not measured": "yellow"}
    for c in gate["checks"]:
        table.add_row(c["metric"], c["rule"], _fmt(c["value"]), f"[{colour[c['status']]}]{c['status']}[/]")
    return table


class EvalCommands:
    """The ``eval`` commands; ``stacks_for(data_dir, backend)`` builds a run's stacks."""

    def __init__(self, stacks_for: StacksFor) -> None:
        self.stacks_for = stacks_for

    def run_cmd(
        self,
        dataset: Annotated[list[str], typer.Option("--dataset", "-d", help="Golden set: 'demo', a .jsonl file (native, "
                                                   "QMSum or MTRAG) or a folder. Repeatable.")] = ["demo"],  # noqa: B006
        action: Annotated[list[str], typer.Option(help="Only these actions (repeatable).")] = [],  # noqa: B006
        limit: Annotated[int | None, typer.Option(help="At most N cases per action.")] = None,
        gate: Annotated[bool, typer.Option("--gate", help="Exit non-zero when a gate threshold is missed.")] = False,
        gate_profile: Annotated[str, typer.Option(help="Profile in the gate file.")] = "default",
        gate_file: Annotated[Path, typer.Option(help="Thresholds file.")] = GATE_FILE,
        judge: Annotated[bool | None, typer.Option("--judge/--no-judge", help="ragas LLM metrics (default: when "
                                                   "the chat model is an LLM).")] = None,
        judge_contexts: Annotated[int, typer.Option(help="Contexts the LLM judge reads per case.")] = 5,
        backend: Annotated[str | None, typer.Option(
            help="Chat backend under test: llama-cpp, openai, extractive.")] = None,
        prompt_version: Annotated[int | None, typer.Option(help="Run this prompt version (a draft) instead of the "
                                                           "published one.")] = None,
        prompt_tenant: Annotated[str | None, typer.Option(help="Copy prompt versions from this tenant.")] = None,
        collection: Annotated[str, typer.Option(help="'scratch' (isolated, ingested) or 'existing' (the service's "
                                                "stores).")] = "scratch",
        ingest: Annotated[bool | None, typer.Option("--ingest/--no-ingest", help="Ingest the set's sources (default: "
                                                    "only into scratch).")] = None,
        data_dir: Annotated[Path | None, typer.Option(help="Data dir (default: SIDEKICK_DATA_DIR or ./var).")] = None,
    ) -> None:
        """Run golden sets through the actions, score them, write reports, optionally gate."""
        from eval.gate import GateConfigInvalid, load_profile
        from eval.loaders import EvalError
        from eval.runner import RunOptions
        from eval.runs import runs_dir
        from eval.suite import SuiteConfig, run_suite
        from retrieval.store import StoreUnavailable

        if collection not in ("scratch", "existing"):
            err.print("[red]error:[/red] --collection must be 'scratch' or 'existing'")
            raise typer.Exit(2)
        if gate:
            try:
                load_profile(gate_file, gate_profile)  # fail before a long run, not after it
            except GateConfigInvalid as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from exc
        stacks = self.stacks_for(data_dir, backend)
        config = SuiteConfig(
            datasets=dataset, options=RunOptions(prompt_version=prompt_version, actions=frozenset(action) or None,
                                                 limit=limit),
            collection=collection,  # type: ignore[arg-type]
            ingest=ingest, judge=judge, judge_contexts=judge_contexts, prompt_tenant=prompt_tenant,
            gate_profile=gate_profile if gate else None, gate_file=gate_file,
        )
        with Progress(TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=err, transient=True) as bar:
            task = bar.add_task("", total=None)

            def progress(done: int, total: int, case: Any) -> None:
                bar.update(task, completed=done, total=total, description=f"{case.id} {case.status}")

            try:
                run = run_suite(stacks, config, progress=progress, log=lambda msg: bar.update(task, description=msg))
            except EvalError as exc:
                err.print(f"[red]error:[/red] {exc}")
                for problem in getattr(exc, "problems", [])[:20]:
                    err.print(f"  {problem}")
                raise typer.Exit(2) from exc
            except StoreUnavailable as exc:  # an embedded shard is held by one process at a time
                err.print(f"[red]error:[/red] {exc}\n  Another process (a second eval of the same set, or a "
                          "server on this data dir) holds it: wait for it to finish, or pass another --data-dir.")
                raise typer.Exit(2) from exc
        console.print(_summary_table(run))
        folder = runs_dir(stacks.data_dir) / run.run_id
        if run.gate:
            console.print(_gate_table(run.gate))
        console.print(f"Reports: {folder / 'report.md'}\n         {folder / 'report.html'}\n"
                      f"Results: {folder / 'results.json'}")
        if gate and run.gate and not run.gate["passed"]:
            raise typer.Exit(1)


    def compare_cmd(
        self,
        run_a: Annotated[str, typer.Argument(help="Baseline run: id, folder or results.json.")],
        run_b: Annotated[str, typer.Argument(help="Candidate run.")],
        tolerance: Annotated[float, typer.Option(help="Per-case drop that counts as a regression.")] = 0.05,
        markdown: Annotated[Path | None, typer.Option(help="Also write the comparison as Markdown here.")] = None,
        data_dir: Annotated[Path | None, typer.Option()] = None,
    ) -> None:
        """Per-metric deltas between two runs and the cases that regressed (exit 1 if any did)."""
        from eval.compare import compare_runs, comparison_markdown
        from eval.runs import RunNotFound, load_run

        stacks = self.stacks_for(data_dir, None)
        try:
            a, b = load_run(run_a, stacks.data_dir), load_run(run_b, stacks.data_dir)
        except RunNotFound as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        cmp = compare_runs(a, b, tolerance=tolerance)
        if cmp.datasets_differ:
            err.print("[yellow]warning:[/yellow] the runs used different golden-set versions")
        table = Table("metric", "A", "B", "Δ", "", title=f"{a.run_id} (A) → {b.run_id} (B)")
        colour = {"better": "green", "worse": "red"}
        for d in cmp.deltas:
            delta = "" if d.delta is None else f"{d.delta:+.4g}"
            table.add_row(d.metric, _fmt(d.a), _fmt(d.b), delta, f"[{colour.get(d.verdict, 'white')}]{d.verdict}[/]")
        console.print(table)
        regressed = Table("case", "action", "metric", "A", "B", title=f"Cases that regressed: {len(cmp.regressions)}")
        for r in cmp.regressions:
            cells = (v if isinstance(v, str) else _fmt(v) for v in (r.a, r.b))
            regressed.add_row(r.case_id, r.action, r.metric, *cells)
        console.print(regressed)
        if markdown:
            markdown.write_text(comparison_markdown(cmp), encoding="utf-8")
            console.print(f"Written: {markdown}")
        if cmp.regressions:
            raise typer.Exit(1)


    def list_cmd(self, data_dir: Annotated[Path | None, typer.Option()] = None) -> None:
        """Runs under the data dir, newest first."""
        from eval.runs import list_runs

        stacks = self.stacks_for(data_dir, None)
        table = Table("created", "datasets", "chat model", "cases", "error rate", "gate")
        table.add_column("run", no_wrap=True)  # ids are what compare takes: never fold them
        for run in list_runs(stacks.data_dir):
            gate = "—" if not run.gate else ("passed" if run.gate["passed"] else "[red]failed[/red]")
            table.add_row(run.created_at[:16], ", ".join(s.name for s in run.datasets),
                          str(run.config.get("chat_model")), _fmt(run.summary.get("all.cases")),
                          _fmt(run.summary.get("all.error_rate")), gate, run.run_id)
        console.print(table)


    def convert_cmd(
        self,
        dataset: Annotated[str, typer.Argument(help="Any loadable set (QMSum, MTRAG, native, 'demo').")],
        out: Annotated[Path, typer.Argument(help="Target .jsonl (documents and manifest are written beside it).")],
    ) -> None:
        """Save a set in the native golden-set schema."""
        from eval.loaders import EvalError, load_dataset, write_golden_set

        try:
            written = write_golden_set(load_dataset(dataset), out)
        except EvalError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        for path in written:
            console.print(f"Written: {path}")


def make_eval_app(stacks_for: StacksFor) -> typer.Typer:
    """The ``eval`` command group, for the service CLI to mount."""
    commands = EvalCommands(stacks_for)
    app = typer.Typer(help="Offline evaluation: golden sets, metrics, reports and the release gate.",
                      no_args_is_help=True)
    app.command("run")(commands.run_cmd)
    app.command("compare")(commands.compare_cmd)
    app.command("list")(commands.list_cmd)
    app.command("convert")(commands.convert_cmd)
    return app
