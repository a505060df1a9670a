"""The release gate: per-metric thresholds from ``eval/gate.toml``, checked against a run.

A profile is a table of ``"<action>.<metric>" = {min = x}`` (or ``max``) entries; keys
may be glob patterns (``"*.error_rate"``). A metric the run did not produce (an action
that is not registered yet, a judge metric without a judge) is reported as not measured
and fails the gate only when the entry says ``required = true``."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eval.loaders import EvalError
from eval.results import RunResults

DEFAULT_GATE_FILE = Path(__file__).resolve().parent / "gate.toml"
CheckStatus = Literal["pass", "fail", "not measured"]


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    required: bool = False


class GateProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    thresholds: dict[str, Threshold] = Field(default_factory=dict)


class GateCheck(BaseModel):
    metric: str
    rule: str
    value: float | None
    status: CheckStatus


class GateResult(BaseModel):
    profile: str
    source: str
    passed: bool
    checks: list[GateCheck]

    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if c.status == "fail"]


class GateConfigInvalid(EvalError):
    pass


def load_profile(path: Path = DEFAULT_GATE_FILE, profile: str = "default") -> GateProfile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GateConfigInvalid(f"cannot read gate file {path}: {exc}") from exc
    profiles = data.get("profiles", {})
    if profile not in profiles:
        raise GateConfigInvalid(f"{path} has no profile {profile!r} (profiles: {', '.join(profiles) or 'none'})")
    raw = dict(profiles[profile])
    description = str(raw.pop("description", ""))
    try:
        return GateProfile(description=description, thresholds={k: Threshold.model_validate(v) for k, v in raw.items()})
    except ValueError as exc:
        raise GateConfigInvalid(f"{path} [profiles.{profile}]: {exc}") from exc


def check_gate(results: RunResults, profile: GateProfile, *, name: str = "default", source: str = "") -> GateResult:
    checks: list[GateCheck] = []
    for pattern, rule in profile.thresholds.items():
        matched = sorted(k for k in results.summary if fnmatch.fnmatchcase(k, pattern))
        measured = [k for k in matched if results.summary[k] is not None]
        if not measured:
            status: CheckStatus = "fail" if rule.required else "not measured"
            checks.append(GateCheck(metric=pattern, rule=_describe(rule), value=None, status=status))
            continue
        for key in measured:
            value = results.summary[key]
            assert value is not None
            ok = (rule.min is None or value >= rule.min) and (rule.max is None or value <= rule.max)
            checks.append(GateCheck(metric=key, rule=_describe(rule), value=value, status="pass" if ok else "fail"))
    return GateResult(profile=name, source=source, passed=not any(c.status == "fail" for c in checks), checks=checks)


def _describe(rule: Threshold) -> str:
    parts = []
    if rule.min is not None:
        parts.append(f">= {rule.min:g}")
    if rule.max is not None:
        parts.append(f"<= {rule.max:g}")
    return " and ".join(parts) + (" (required)" if rule.required else "")
