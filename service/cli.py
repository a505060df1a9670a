"""The ``sidekick`` command line: ingest, serve, run actions, manage keys."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from eval.cli import make_eval_app
from service.settings import Settings

os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

def _eval_stacks(data_dir: Path | None, backend: str | None) -> Any:
    """The eval suite's stacks from settings (imported on use: the container is heavy)."""
    from service.eval_stacks import stacks_for

    return stacks_for(data_dir, backend)


app = typer.Typer(help="Sidekick: grounded, cited CRM actions over your team's records.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(make_eval_app(_eval_stacks), name="eval")
console = Console()
err = Console(stderr=True)

DEMO_CORPUS = Path(__file__).resolve().parent.parent / "ingest" / "demo_corpus"


def _container(**overrides: Any):  # type: ignore[no-untyped-def]
    from service.container import Container

    return Container(Settings(**overrides))


def _ingest(container: Any, tenant: str, paths: list[Path], root: Path | None) -> Any:
    with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("documents", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return container.ingestor.ingest_paths(tenant, paths, root=root, progress=progress)


def _print_report(report: Any) -> None:
    s = report.summary()
    table = Table(title=f"Ingest run {s['run_id']}")
    columns = ("added", "updated", "unchanged", "failed", "suppressed", "chunks", "records", "seconds")
    for col in columns:
        table.add_column(col, justify="right")
    table.add_row(*(str(s[c]) for c in columns))
    console.print(table)
    failures = [i for i in report.items if i.status == "failed"]
    if failures:
        errors = Table(title="Items not ingested")
        for col in ("source", "reason", "message"):
            errors.add_column(col)
        for item in failures:
            errors.add_row(item.document_id, item.reason or "", (item.message or "")[:120])
        console.print(errors)
    if not report.changed and not failures:
        console.print("Nothing changed: every document is already up to date.")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files, folders or globs to ingest.")],
    tenant: Annotated[str, typer.Option(help="Tenant the documents belong to.")] = "demo",
    root: Annotated[Path | None, typer.Option(help="Folder document ids are relative to.")] = None,
) -> None:
    """Ingest files and folders (documents, transcripts, emails, CRM exports)."""
    expanded: list[Path] = []
    for p in paths:
        matches = sorted(Path().glob(str(p))) if any(ch in str(p) for ch in "*?[") else [p]
        missing = [m for m in matches if not m.exists()]
        if not matches or missing:
            err.print(f"[red]error:[/red] no such file or folder: {p}")
            raise typer.Exit(2)
        expanded.extend(matches)
    container = _container()
    try:
        report = _ingest(container, tenant, expanded, root)
        _print_report(report)
    finally:
        container.close()
    if report.count("failed"):
        raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    demo: Annotated[bool, typer.Option(help="Ingest the bundled demo corpus first and serve /demo.")] = False,
) -> None:
    """Serve the API, the OpenAPI docs (/docs) and the sidebar page (/sidebar)."""
    import uvicorn

    from service.app import create_app
    from service.container import Container

    settings = Settings(demo_mode=True) if demo else Settings()
    container = Container(settings)
    if demo:
        report = _ingest(container, settings.default_tenant, [DEMO_CORPUS], DEMO_CORPUS)
        _print_report(report)
        container.keys.ensure_tenant(settings.default_tenant)
        console.print(f"Demo CRM page: [bold]http://{host}:{port}/demo[/bold]  ·  API docs: http://{host}:{port}/docs")
    uvicorn.run(create_app(settings, container=container, warm_up=True), host=host, port=port, log_level="info")


@app.command("run-action")
def run_action_cmd(
    name: Annotated[str, typer.Argument(help="Action name, e.g. summary.")],
    inputs: Annotated[str, typer.Argument(help='Action input as JSON, e.g. \'{"record": "account:ACME-001"}\'.')],
    tenant: Annotated[str, typer.Option()] = "demo",
    user: Annotated[str, typer.Option(help="CRM user the action runs for.")] = "u-maria",
    team: Annotated[list[str], typer.Option(help="Team ids of the user (repeatable).")] = ["t-enterprise"],  # noqa: B006
) -> None:
    """Run an action as a CRM user (operator tool: runs with direct access to the stores)."""
    from pydantic import ValidationError

    from actions.registry import ACTIONS
    from retrieval.identity import Caller

    action = ACTIONS.get(name)
    if action is None:
        err.print(f"[red]error:[/red] unknown action {name!r}; known: {', '.join(ACTIONS)}")
        raise typer.Exit(2)
    try:
        inp = action.input_model.model_validate(json.loads(inputs))
    except (json.JSONDecodeError, ValidationError) as exc:
        err.print(f"[red]error:[/red] invalid input for {name}: {exc}")
        raise typer.Exit(2) from exc
    container = _container()
    try:
        response = container.runner.run(action, inp, Caller(tenant_id=tenant, user_id=user, teams=tuple(team)))
        console.print_json(response.model_dump_json())
    finally:
        container.close()


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="agent, admin or evaluator")] = "agent",
    name: Annotated[str, typer.Option()] = "",
    show_secret: Annotated[bool, typer.Option(
        "--show-secret", help="Also print the tenant's user-context signing secret (for the CRM host).")] = False,
) -> None:
    """Create an API key; it is printed once."""
    if role not in ("agent", "admin", "evaluator"):
        err.print("[red]error:[/red] role must be agent, admin or evaluator")
        raise typer.Exit(2)
    container = _container()
    try:
        key_id, key = container.keys.create_key(tenant, role, name)  # type: ignore[arg-type]
        console.print(f"key id: {key_id}\napi key (shown once): [bold]{key}[/bold]")
        if show_secret:
            console.print(f"user-context signing secret of {tenant}: {container.keys.signing_secret(tenant)}")
    finally:
        container.close()


@keys_app.command("list")
def keys_list(tenant: Annotated[str, typer.Option()]) -> None:
    """List a tenant's keys (never their secrets)."""
    container = _container()
    try:
        table = Table("key id", "role", "name", "created", "revoked")
        for row in container.keys.list_keys(tenant):
            table.add_row(row.key_id, row.role, row.name, str(row.created_at), str(row.revoked_at or ""))
        console.print(table)
    finally:
        container.close()


@keys_app.command("revoke")
def keys_revoke(key_id: str, tenant: Annotated[str, typer.Option()]) -> None:
    """Revoke a key at once."""
    container = _container()
    try:
        revoked = container.keys.revoke(tenant, key_id)
    finally:
        container.close()
    if not revoked:
        err.print(f"[red]error:[/red] no active key {key_id} in tenant {tenant}")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@keys_app.command("rotate-secret")
def keys_rotate_secret(
    tenant: Annotated[str, typer.Option()],
    grace: Annotated[int, typer.Option(min=0, max=86400,
                                       help="Seconds the previous secret keeps verifying; 0 revokes it now.")] = 3600,
) -> None:
    """Replace the tenant's user-context signing secret and print the new one."""
    container = _container()
    try:
        secret, until = container.keys.rotate_secret(tenant, grace)
    finally:
        container.close()
    console.print(f"new user-context signing secret of {tenant}: [bold]{secret}[/bold]")
    console.print("previous secret revoked" if until is None else f"previous secret valid for {grace} more seconds")


if __name__ == "__main__":
    app()
