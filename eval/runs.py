"""Where runs live: ``<data_dir>/eval/runs/<run_id>/`` with results.json, report.md, report.html."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from eval.loaders import EvalError
from eval.results import RunResults

RESULTS = "results.json"


class RunNotFound(EvalError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no eval run {ref!r} (give a run id, a run folder or a results.json path)")
        self.ref = ref


def runs_dir(data_dir: Path) -> Path:
    return data_dir / "eval" / "runs"


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20261005-142233-3fa9c1``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def save_run(results: RunResults, data_dir: Path) -> Path:
    """Write ``results.json`` and both reports; return the run folder."""
    from eval.report_html import render_html
    from eval.report_md import render_markdown

    folder = runs_dir(data_dir) / results.run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RESULTS).write_text(results.model_dump_json(indent=1), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(results), encoding="utf-8")
    (folder / "report.html").write_text(render_html(results), encoding="utf-8")
    return folder


def load_run(ref: str | Path, data_dir: Path) -> RunResults:
    """A run by id (under ``data_dir``), folder or results.json path."""
    candidates = [Path(ref), Path(ref) / RESULTS, runs_dir(data_dir) / str(ref) / RESULTS]
    for path in candidates:
        if path.is_file():
            return RunResults.model_validate_json(path.read_text(encoding="utf-8"))
    raise RunNotFound(str(ref))


def list_runs(data_dir: Path) -> list[RunResults]:
    """Every run under ``data_dir``, newest first (unreadable folders are skipped)."""
    out = []
    root = runs_dir(data_dir)
    for path in sorted(root.glob(f"*/{RESULTS}"), reverse=True) if root.is_dir() else []:
        try:
            out.append(RunResults.model_validate_json(path.read_text(encoding="utf-8")))
        except ValueError:
            continue
    return out
