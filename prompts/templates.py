"""Prompt templates: declared variables, sandboxed Jinja rendering, one error listing all problems."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import jinja2
from jinja2 import meta
from pydantic import BaseModel, ConfigDict, Field

from prompts.chat import ChatMessage
from prompts.render_limits import LimitedEnvironment, RenderLimitExceeded

VarType = Literal["str", "int", "float", "bool", "list", "dict"]
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "list": (list, tuple), "dict": (dict,),
}
MAX_RENDER_CHARS = 200_000


class PromptError(Exception):
    """Base of prompt failures."""


class TemplateInvalid(PromptError):
    """The template or the values given to it have problems; ``problems`` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Variable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: VarType = "str"
    description: str = ""
    required: bool = True


class ModelParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=8192)
    model: str | None = None


class PromptTemplate(BaseModel):
    """A named prompt: a system and a user template over declared variables."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    system: str
    user: str
    variables: list[Variable]
    params: ModelParams = Field(default_factory=ModelParams)
    output_schema: str | None = None

    @classmethod
    def from_file(cls, path: Path) -> PromptTemplate:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls.model_validate(data)

    def validate_template(self) -> None:
        """Parse both parts and check variables: used ⊆ declared, required ⊆ used."""
        problems: list[str] = []
        used: set[str] = set()
        env = _environment()
        for part in ("system", "user"):
            try:
                ast = env.parse(getattr(self, part))
            except jinja2.TemplateSyntaxError as exc:
                problems.append(f"{part}: syntax error on line {exc.lineno}: {exc.message}")
                continue
            used |= meta.find_undeclared_variables(ast)
        declared = {v.name for v in self.variables}
        for name in sorted(used - declared):
            problems.append(f"variable '{name}' is used but not declared")
        for var in self.variables:
            if var.required and var.name not in used and not problems:
                problems.append(f"required variable '{var.name}' is declared but never used")
        names = [v.name for v in self.variables]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"variable '{name}' is declared twice")
        if problems:
            raise TemplateInvalid(problems)

    def render(self, values: dict[str, Any]) -> list[ChatMessage]:
        """Render to chat messages; every problem with ``values`` is reported at once."""
        problems: list[str] = []
        declared = {v.name: v for v in self.variables}
        for name in sorted(set(values) - set(declared)):
            problems.append(f"unknown variable '{name}'")
        for var in self.variables:
            if var.name not in values:
                if var.required:
                    problems.append(f"missing variable '{var.name}'")
                continue
            if not isinstance(values[var.name], _PY_TYPES[var.type]) or (
                var.type in ("int", "float") and isinstance(values[var.name], bool)
            ):
                problems.append(f"variable '{var.name}' should be {var.type}, got {type(values[var.name]).__name__}")
        if problems:
            raise TemplateInvalid(problems)
        env = _environment()
        full = {v.name: values.get(v.name) for v in self.variables}
        messages: list[ChatMessage] = []
        for role, part in (("system", self.system), ("user", self.user)):
            try:
                text = env.render_limited(part, full)
            except (jinja2.TemplateError, RenderLimitExceeded) as exc:
                raise TemplateInvalid([f"{role}: {exc}"]) from exc
            messages.append({"role": role, "content": text.strip()})  # type: ignore[typeddict-item]
        return messages


def _environment() -> LimitedEnvironment:
    """The sandbox with a render deadline and size caps (see ``prompts/render_limits.py``)."""
    return LimitedEnvironment(max_chars=MAX_RENDER_CHARS)


DEFAULTS_DIR = Path(__file__).parent / "defaults"


def default_templates() -> dict[str, PromptTemplate]:
    """The prompts shipped in ``prompts/defaults/*.toml``, by name."""
    out = {}
    for path in sorted(DEFAULTS_DIR.glob("*.toml")):
        template = PromptTemplate.from_file(path)
        template.validate_template()
        out[template.name] = template
    return out
