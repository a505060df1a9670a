"""The direction of dependencies between the top-level packages (README, "Layout").

    retrieval <- ingest, prompts, guardrails <- actions <- eval <- service

Checked over every module's imports, read with ``ast`` (nothing is imported): ``import``
and ``from`` statements anywhere in a module (inside functions and ``TYPE_CHECKING``
blocks too), and ``__import__`` / ``importlib.import_module`` calls with a literal module
name, so a dynamic import cannot hide an edge.

``eval/benchmarks/`` holds scripts run as ``python -m eval.benchmarks.<name>``: like the
service's CLI they assemble the whole product (a container from settings), so they may
import ``service``; they count as a node of their own, and nothing may import them."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("retrieval", "ingest", "prompts", "guardrails", "actions", "eval", "service")
COMPOSITION_ROOTS = ("eval.benchmarks",)
"""Entry-point scripts that assemble the product: they may import anything, nothing imports them."""
NEVER = {
    "retrieval": set(PACKAGES) - {"retrieval"},
    "ingest": {"service", "eval"},
    "prompts": {"service", "eval"},
    "guardrails": {"service", "eval"},
    "actions": {"service", "eval"},
    "eval": {"service"},
}
"""Package -> packages it must never import."""
SKIPPED = ("ingest/demo_corpus", "eval/datasets/injection_corpus")
"""Data folders (no product code)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def node_of(module: str) -> str | None:
    """The graph node a module belongs to: its top-level package, or its composition root."""
    for root in COMPOSITION_ROOTS:
        if module == root or module.startswith(root + "."):
            return root
    top = module.split(".")[0]
    return top if top in PACKAGES else None


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Every module ``source`` imports, with its line: statements, and ``__import__`` or
    ``importlib.import_module`` called with a literal name."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module"):
                found.append((node.args[0].value, node.lineno))
    return found


def edges() -> dict[tuple[str, str], list[str]]:
    """(from node, to node) -> where: ``file:line imports module``, for every cross-node import."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith(SKIPPED):
                continue
            module = module_name(path)
            source = node_of(module)
            assert source is not None
            for target, line in imported_modules(path.read_text(encoding="utf-8"), module,
                                                 path.name == "__init__.py"):
                destination = node_of(target)
                if destination is not None and destination != source:
                    out[(source, destination)].append(f"{rel}:{line} imports {target}")
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_cycles_between_top_level_packages() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for source, destination in edges():
        graph[source].add(destination)
    assert cycles(graph) == []


def test_each_package_imports_only_in_the_allowed_direction() -> None:
    found = edges()
    broken = [f"{source} must not import {target}: " + "; ".join(found[(source, target)][:3])
              for source, targets in NEVER.items() for target in sorted(targets) if (source, target) in found]
    assert broken == []


def test_nothing_imports_a_composition_root() -> None:
    found = edges()
    assert [where for (source, target), where in found.items() if target in COMPOSITION_ROOTS] == []


def test_the_checker_sees_dynamic_and_relative_imports() -> None:
    """A literal ``__import__``/``import_module`` is an edge like a statement (the kind of
    import that once hid a prompts -> eval cycle); relative imports resolve to their package."""
    source = (
        "import importlib\n"
        "def load():\n"
        "    a = __import__('eval.extractive', fromlist=['x'])\n"
        "    b = importlib.import_module('service.container')\n"
        "    from importlib import import_module\n"
        "    return a, b, import_module('actions.runner')\n"
        "from .store import VectorStore\n"
        "from . import filters\n"
    )
    targets = {name for name, _ in imported_modules(source, "retrieval.search", is_package=False)}
    assert {"eval.extractive", "service.container", "actions.runner", "retrieval.store",
            "retrieval.filters"} <= targets
    assert node_of("eval.benchmarks.retrieval_eval") == "eval.benchmarks" and node_of("eval.runner") == "eval"
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
