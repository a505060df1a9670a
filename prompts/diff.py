"""Differences between two prompt versions: side-by-side rows per part, and a unified text diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from prompts.templates import PromptTemplate

Op = Literal["equal", "replace", "insert", "delete"]


@dataclass
class DiffRow:
    """One line pair of a side-by-side view; ``left``/``right`` are None where a side has no line."""

    op: Op
    left: str | None
    right: str | None
    left_no: int | None
    right_no: int | None


@dataclass
class PartDiff:
    part: str
    changed: bool
    rows: list[DiffRow] = field(default_factory=list)


@dataclass
class PromptDiff:
    name: str
    from_version: int
    to_version: int
    parts: list[PartDiff]
    unified: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parts(template: PromptTemplate) -> dict[str, list[str]]:
    """Each part of a template as lines; variables and parameters one per line so changes read well."""
    variables = [
        f"{v.name}: {v.type}{'' if v.required else ' (optional)'} - {v.description}" for v in template.variables
    ]
    params = [f"{k} = {json.dumps(v)}" for k, v in template.params.model_dump().items()]
    return {
        "system": template.system.strip("\n").splitlines(),
        "user": template.user.strip("\n").splitlines(),
        "variables": variables,
        "params": params + [f"output_schema = {json.dumps(template.output_schema)}"],
        "description": [template.description],
    }


def side_by_side(left: list[str], right: list[str]) -> list[DiffRow]:
    """Rows for a two-column view; a replaced block pairs its lines and pads the shorter side."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [DiffRow("equal", left[i1 + k], right[j1 + k], i1 + k + 1, j1 + k + 1) for k in range(i2 - i1)]
            continue
        span = max(i2 - i1, j2 - j1)
        for k in range(span):
            li, rj = i1 + k, j1 + k
            lt = left[li] if li < i2 else None
            rt = right[rj] if rj < j2 else None
            op: Op = "replace" if lt is not None and rt is not None else ("delete" if rt is None else "insert")
            rows.append(DiffRow(op, lt, rt, li + 1 if lt is not None else None, rj + 1 if rt is not None else None))
    return rows


def diff_templates(name: str, a: PromptTemplate, a_version: int, b: PromptTemplate, b_version: int) -> PromptDiff:
    """What changed from version ``a_version`` to ``b_version``."""
    pa, pb = _parts(a), _parts(b)
    parts = []
    unified: list[str] = []
    for part in pa:
        rows = side_by_side(pa[part], pb[part])
        parts.append(PartDiff(part, any(r.op != "equal" for r in rows), rows))
        unified += difflib.unified_diff(pa[part], pb[part], f"{name} v{a_version} {part}",
                                        f"{name} v{b_version} {part}", lineterm="")
    return PromptDiff(name, a_version, b_version, parts, "\n".join(unified))
