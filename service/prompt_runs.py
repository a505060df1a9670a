"""What the prompt builder runs with a prompt version before it goes live: preview (the
exact messages the model would get), dry run (the action's envelope) and evaluation (the
golden set for one action, compared with the published version's last run).

Preview and dry run act as a CRM user, by default the record's owner with the record's
teams, so retrieval sees what the action would see for that user. Admins can already act
for any user of their tenant (they hold the signing secret for user contexts), so this adds
no power; every preview and dry run is audited with the admin's identity and the user."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from actions.base import Action, ActionContext
from actions.registry import ACTIONS
from eval.gate import DEFAULT_GATE_FILE, GateProfile, check_gate, load_profile
from eval.loaders import load_dataset
from eval.results import RunResults, lower_is_better
from eval.runner import RunOptions, select_cases
from eval.runs import list_runs, save_run
from eval.suite import SuiteConfig, run_suite
from prompts.chat import ChatMessage, ChatResult, count_message_tokens
from prompts.store import PublishedPrompt
from retrieval.identity import Caller
from retrieval.models import RecordRef
from retrieval.tokens import count_tokens
from service.container import Container
from service.errors import BadRequest, Conflict, NotFound
from service.eval_stacks import ContainerStacks


class ActAs(BaseModel):
    """The CRM user a preview or dry run retrieves for (default: the record's owner and teams)."""

    user_id: str = Field(min_length=1, max_length=128)
    teams: list[str] = Field(default_factory=list, max_length=100)


def action_for(name: str) -> Action[Any, Any]:
    for action in ACTIONS.values():
        if action.prompt_name == name:
            return action
    raise NotFound(f"no action uses prompt {name!r}")


def build_input(action: Action[Any, Any], record: str | None, inputs: dict[str, Any]) -> Any:
    data = dict(inputs)
    if record and "record" in action.input_model.model_fields:
        data.setdefault("record", record)
    try:
        return action.input_model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise BadRequest(f"input does not fit the {action.name} action: {problems}") from exc


def acting_caller(container: Container, admin: Caller, record: str | None, act_as: ActAs | None) -> Caller:
    """The admin's role and tenant with a CRM user's principals (see the module doc)."""
    if act_as is not None:
        return Caller(tenant_id=admin.tenant_id, user_id=act_as.user_id, teams=tuple(act_as.teams), role="admin")
    if record:
        try:
            ref = RecordRef.parse(record)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        row = container.records.get(admin.tenant_id, ref)
        if row is not None and row.owner:
            return Caller(tenant_id=admin.tenant_id, user_id=row.owner, teams=row.team, role="admin")
    return admin


class _Captured(Exception):
    def __init__(self, messages: list[ChatMessage], kwargs: dict[str, Any]) -> None:
        super().__init__("captured")
        self.messages = messages
        self.kwargs = kwargs


class CapturingChat:
    """A chat model that stops the action at its first model call and keeps the messages.

    It declares the real model's ``remote``, so the preview shows the messages as that model
    would get them (PII masked for a remote one)."""

    def __init__(self, name: str, remote: bool) -> None:
        self.name = name
        self.remote = remote

    def ready(self) -> bool:
        return True

    def complete(self, messages: Any, *, max_tokens: int, temperature: float,
                 json_schema: dict[str, Any] | None = None) -> ChatResult:
        raise _Captured(list(messages), {"max_tokens": max_tokens, "temperature": temperature,
                                         "json_schema": json_schema is not None})

    def stream(self, messages: Any, *, max_tokens: int, temperature: float) -> Any:
        raise _Captured(list(messages), {"max_tokens": max_tokens, "temperature": temperature,
                                         "json_schema": False})


def preview(container: Container, action: Action[Any, Any], inp: Any, caller: Caller,
            version: int) -> dict[str, Any]:
    """Run the action's real retrieval and rendering with ``version``; return the messages
    the model would receive, with token counts, and stop before the model is called."""
    real = container.chat
    env = replace(container.action_env, chat=CapturingChat(real.name, getattr(real, "remote", True)), cache=None)
    ctx = ActionContext(caller=caller, env=env, prompt_version=version)
    try:
        response = action.run(inp, ctx)
    except _Captured as captured:
        messages = captured.messages
        return {
            "called_model": True,
            "messages": [{**m, "tokens": count_tokens(m["content"])} for m in messages],
            "prompt_tokens": count_message_tokens(messages),
            "request": {**captured.kwargs, "model": container.chat.name},
            "retrieved_chunk_ids": [hit.id for hit in ctx.evidence],
        }
    # the action answered without the model (e.g. no evidence the user may see)
    return {"called_model": False, "messages": [], "prompt_tokens": 0, "request": {},
            "retrieved_chunk_ids": response.retrieved_chunk_ids,
            "output": response.output.model_dump(mode="json"),
            "review_flags": [f.model_dump(mode="json") for f in response.review_flags]}


def dry_run(container: Container, action: Action[Any, Any], inp: Any, caller: Caller, version: int) -> Any:
    """The action's envelope with ``version``, through the same code path as the HTTP route."""
    return container.runner.run(action, inp, caller, prompt_version=version)


# -- evaluation ------------------------------------------------------------------------------
def template_sha(prompt: PublishedPrompt) -> str:
    """Identifies a version's content: a draft edited after its eval needs a new eval."""
    return hashlib.sha256(json.dumps(prompt.template.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


@dataclass
class EvalPlan:
    dataset: str
    action: str
    limit: int | None


def _run(container: Container, plan: EvalPlan, prompt: PublishedPrompt) -> RunResults:
    """The golden set on the live stack: the suite records and drops the reply cache on its own
    copy of the action environment, so the service's is untouched."""
    options = RunOptions(prompt_version=prompt.version, actions=frozenset({plan.action}), limit=plan.limit)
    config = SuiteConfig(datasets=[plan.dataset], options=options)
    run = run_suite(ContainerStacks(container.settings), config, stack=container)
    run.config.update({"prompt_name": prompt.name, "prompt_sha": template_sha(prompt)})
    save_run(run, container.settings.data_dir)
    return run


def check_cases(plan: EvalPlan, tenant_id: str) -> int:
    """The number of golden cases to run; refuses a set that is not about the caller's tenant."""
    cases = select_cases(load_dataset(plan.dataset),
                         RunOptions(actions=frozenset({plan.action}), limit=plan.limit))
    if not cases:
        raise Conflict(f"the {plan.dataset} golden set has no cases for the {plan.action} action")
    tenants = sorted({c.tenant for c in cases})
    if tenants != [tenant_id]:
        raise Conflict(f"the {plan.dataset} golden set for {plan.action} runs as tenant(s) {', '.join(tenants)}, "
                       f"not {tenant_id}: it cannot evaluate this tenant's prompts")
    return len(cases)


def last_run(container: Container, prompt: PublishedPrompt, action: str, *, same_content: bool) -> RunResults | None:
    """The newest saved run of ``action`` with this prompt version (and content, if asked)."""
    sha = template_sha(prompt)
    for run in list_runs(container.settings.data_dir):
        if run.config.get("actions") != [action] or run.config.get("prompt_version") != prompt.version:
            continue
        if run.config.get("prompt_name") != prompt.name:
            continue
        if same_content and run.config.get("prompt_sha") != sha:
            continue
        return run
    return None


def evaluate(container: Container, plan: EvalPlan, tenant_id: str, draft: PublishedPrompt,
             published: PublishedPrompt) -> dict[str, Any]:
    """Run the golden set with ``draft``; compare with the published version's last run
    (run now when there is none, or when it was run on a different number of cases)."""
    cases = check_cases(plan, tenant_id)
    run = _run(container, plan, draft)
    baseline = last_run(container, published, plan.action, same_content=True)
    if baseline is None or baseline.summary.get(f"{plan.action}.cases") != run.summary.get(f"{plan.action}.cases"):
        baseline = _run(container, plan, published)
    prefix = f"{plan.action}."
    keys = sorted({k for k in (*run.summary, *baseline.summary) if k.startswith(prefix)})
    rows = []
    for key in keys:
        new, old = run.summary.get(key), baseline.summary.get(key)
        delta = None if new is None or old is None else round(new - old, 4)
        metric = key[len(prefix):]
        better = None if delta is None or delta == 0 else (delta < 0) == lower_is_better(metric)
        rows.append({"metric": metric, "draft": new, "published": old, "delta": delta, "better": better})
    return {"cases": cases, "draft_run": run.run_id, "published_run": baseline.run_id,
            "draft_version": draft.version, "published_version": published.version, "metrics": rows}


def gate_profile_for(action: str, profile_name: str) -> GateProfile:
    """The named gate profile restricted to this action's metrics (and ``*.`` patterns)."""
    profile = load_profile(DEFAULT_GATE_FILE, profile_name)
    kept = {k: v for k, v in profile.thresholds.items() if k.startswith(f"{action}.") or k.startswith("*.")}
    return GateProfile(description=profile.description, thresholds=kept)


def gate_for(container: Container, draft: PublishedPrompt, action: str, profile_name: str) -> dict[str, Any]:
    """Check the draft's latest eval (of its current content) against the gate; Conflict when failing."""
    run = last_run(container, draft, action, same_content=True)
    if run is None:
        raise Conflict(f"{draft.name} v{draft.version} has no evaluation of its current text: evaluate it first")
    result = check_gate(run, gate_profile_for(action, profile_name), name=profile_name, source=str(DEFAULT_GATE_FILE))
    if not result.passed:
        failures = ", ".join(f"{c.metric} = {c.value} (needs {c.rule})" for c in result.failures())
        raise Conflict(f"{draft.name} v{draft.version} fails the {profile_name} gate: {failures}")
    return {"profile": profile_name, "run_id": run.run_id, "passed": True,
            "checks": [c.model_dump() for c in result.checks]}
