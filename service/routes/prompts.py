"""The prompt builder's admin API: versions, drafts, diff, preview, dry run, evaluate,
publish and rollback, all within the caller's tenant. Publishes and rollbacks are audited
(``prompt:publish``, ``prompt:rollback``), as are previews, dry runs and evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from prompts.diff import diff_templates
from prompts.store import PublishedPrompt
from prompts.templates import ModelParams, Variable
from retrieval.identity import Caller
from service import prompt_runs
from service.container import Container
from service.deps import AdminDep, ContainerDep

router = APIRouter(prefix="/v1/admin", tags=["prompt builder"])

PromptName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Version = Annotated[int, Path(ge=1)]

PAGE_HEADERS = {
    # Scripts and styles only from this origin (no inline code), never framed: the page
    # holds an admin key in memory while it is open.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
"""Response headers of ``/admin/prompts``."""


class VersionPublic(BaseModel):
    name: str
    version: int
    state: str
    author: str
    note: str
    created_at: datetime
    template: dict[str, Any]

    @classmethod
    def of(cls, p: PublishedPrompt) -> VersionPublic:
        return cls(name=p.name, version=p.version, state=p.state, author=p.author, note=p.note,
                   created_at=p.created_at, template=p.template.model_dump(mode="json"))


class PromptSummary(BaseModel):
    name: str
    action: str | None
    description: str
    published_version: int | None
    drafts: list[int]
    versions: int
    variables: list[dict[str, Any]]
    """The variables the action supplies (name, type, description): the editor's hints."""


class DraftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_version: int | None = Field(default=None, ge=1, description="Copy this version; default: the published one")
    note: str = Field(default="", max_length=2000)


class DraftEdit(BaseModel):
    """Fields to replace; omitted ones keep their value. Validated as a whole before saving."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=2000)
    system: str | None = Field(default=None, max_length=100_000)
    user: str | None = Field(default=None, max_length=100_000)
    variables: list[Variable] | None = Field(default=None, max_length=50)
    params: ModelParams | None = None
    output_schema: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=2000)


class RunOnRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record: str | None = Field(default=None, max_length=256, description="e.g. account:ACME-001")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Other action inputs (focus, question, ...)")
    act_as: prompt_runs.ActAs | None = Field(default=None, description="Default: the record's owner and teams")


class EvaluateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(default="demo", pattern=r"^[a-z0-9_-]{1,40}$")
    limit: int | None = Field(default=None, ge=1, le=200, description="First N cases of the action")


class PublishBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_gate: bool = Field(default=False, description="Refuse unless the draft's latest eval passes the gate")
    gate_profile: str = Field(default="default", pattern=r"^[a-z0-9_-]{1,40}$")
    note: str = Field(default="", max_length=2000)


class Released(BaseModel):
    published: VersionPublic
    replaced_version: int | None
    gate: dict[str, Any] | None = None


def _action_name(name: str) -> str | None:
    try:
        return prompt_runs.action_for(name).name
    except Exception:  # noqa: BLE001 - a stored prompt no action uses any more
        return None


@router.get("/prompts", response_model=list[PromptSummary])
def list_prompts(caller: AdminDep, container: ContainerDep) -> list[PromptSummary]:
    """Every prompt of the tenant with its published version and open drafts."""
    out = []
    store = container.prompts
    for name in store.names(caller.tenant_id):
        versions = store.versions(caller.tenant_id, name)
        published = next((v for v in versions if v.state == "published"), None)
        contract = store.contract(name) or (published or versions[0]).template
        out.append(PromptSummary(
            name=name, action=_action_name(name), description=contract.description,
            published_version=published.version if published else None,
            drafts=[v.version for v in versions if v.state == "draft"], versions=len(versions),
            variables=[v.model_dump() for v in contract.variables]))
    return out


@router.get("/prompts/{name}/versions", response_model=list[VersionPublic])
def list_versions(name: PromptName, caller: AdminDep, container: ContainerDep) -> list[VersionPublic]:
    """All versions, newest first."""
    return [VersionPublic.of(p) for p in container.prompts.versions(caller.tenant_id, name)]


@router.get("/prompts/{name}/versions/{version}", response_model=VersionPublic)
def get_version(name: PromptName, version: Version, caller: AdminDep, container: ContainerDep) -> VersionPublic:
    return VersionPublic.of(container.prompts.get(caller.tenant_id, name, version))


@router.post("/prompts/{name}/drafts", response_model=VersionPublic, status_code=status.HTTP_201_CREATED)
def create_draft(name: PromptName, body: DraftCreate, caller: AdminDep, container: ContainerDep) -> VersionPublic:
    """A new draft copied from any version (default: the published one)."""
    draft = container.prompts.create_draft(caller.tenant_id, name, from_version=body.from_version,
                                           author=caller.user_id, note=body.note)
    return VersionPublic.of(draft)


@router.put("/prompts/{name}/versions/{version}", response_model=VersionPublic)
def edit_draft(name: PromptName, version: Version, body: DraftEdit, caller: AdminDep,
               container: ContainerDep) -> VersionPublic:
    """Save a draft. Every problem (syntax, undeclared or unknown variables, types, sandbox,
    limits) comes back at once as a ``template-invalid`` problem; nothing is saved then."""
    changes = body.model_dump(exclude_unset=True, exclude={"note"}, mode="json")
    edited = container.prompts.edit_draft(caller.tenant_id, name, version, changes, note=body.note)
    return VersionPublic.of(edited)


@router.post("/prompts/{name}/versions/{version}/archive", response_model=VersionPublic)
def archive_draft(name: PromptName, version: Version, caller: AdminDep, container: ContainerDep) -> VersionPublic:
    """Discard a draft (kept read-only)."""
    return VersionPublic.of(container.prompts.archive(caller.tenant_id, name, version))


@router.get("/prompts/{name}/diff")
def diff_versions(name: PromptName, caller: AdminDep, container: ContainerDep,
                  from_version: Annotated[int, Query(alias="from", ge=1)],
                  to_version: Annotated[int, Query(alias="to", ge=1)]) -> dict[str, Any]:
    """Side-by-side rows per part (system, user, variables, params, description) and a unified diff."""
    a = container.prompts.get(caller.tenant_id, name, from_version)
    b = container.prompts.get(caller.tenant_id, name, to_version)
    return diff_templates(name, a.template, a.version, b.template, b.version).as_dict()


def _prepare(container: Container, caller: Caller, name: str, version: int,
             body: RunOnRecord) -> tuple[Any, Any, Caller]:
    container.prompts.get(caller.tenant_id, name, version)  # 404 before any retrieval
    action = prompt_runs.action_for(name)
    inp = prompt_runs.build_input(action, body.record, body.inputs)
    return action, inp, prompt_runs.acting_caller(container, caller, body.record, body.act_as)


@router.post("/prompts/{name}/versions/{version}/preview")
def preview(name: PromptName, version: Version, body: RunOnRecord, caller: AdminDep,
            container: ContainerDep) -> dict[str, Any]:
    """The exact messages the model would receive for this version on a real record, with
    token counts. Retrieval runs as the action's would; the model is not called."""
    action, inp, acting = _prepare(container, caller, name, version, body)
    result = prompt_runs.preview(container, action, inp, acting, version)
    container.audit.record_access(caller, "prompt:preview", record=body.record, prompt_name=name,
                                  prompt_version=version, chunk_ids=result["retrieved_chunk_ids"],
                                  detail=f"as {acting.user_id}")
    return {**result, "acting_as": {"user_id": acting.user_id, "teams": list(acting.teams)}}


@router.post("/prompts/{name}/versions/{version}/dry-run")
def dry_run(name: PromptName, version: Version, body: RunOnRecord, caller: AdminDep,
            container: ContainerDep) -> dict[str, Any]:
    """Run the action with this version (output, citations, review flags); nothing is published."""
    action, inp, acting = _prepare(container, caller, name, version, body)
    response = prompt_runs.dry_run(container, action, inp, acting, version)
    container.audit.record_access(caller, "prompt:dry_run", record=body.record, prompt_name=name,
                                  prompt_version=version, request_id=response.id, detail=f"as {acting.user_id}")
    return {"envelope": response.model_dump(mode="json"),
            "acting_as": {"user_id": acting.user_id, "teams": list(acting.teams)}}


@router.post("/prompts/{name}/versions/{version}/evaluate")
def evaluate(name: PromptName, version: Version, body: EvaluateBody, caller: AdminDep,
             container: ContainerDep) -> dict[str, Any]:
    """Run the action's golden cases with this version and compare with the published version's last run."""
    draft = container.prompts.get(caller.tenant_id, name, version)
    published = container.prompts.get(caller.tenant_id, name)
    plan = prompt_runs.EvalPlan(dataset=body.dataset, action=prompt_runs.action_for(name).name, limit=body.limit)
    result = prompt_runs.evaluate(container, plan, caller.tenant_id, draft, published)
    container.audit.record_access(caller, "prompt:evaluate", prompt_name=name, prompt_version=version,
                                  detail=f"run {result['draft_run']} vs {result['published_run']}")
    return result


@router.post("/prompts/{name}/versions/{version}/publish", response_model=Released)
def publish(name: PromptName, version: Version, body: PublishBody, caller: AdminDep,
            container: ContainerDep) -> Released:
    """Make a draft the version actions use; the previous one is archived. With
    ``require_gate`` the draft's latest evaluation must pass the gate profile."""
    gate = None
    if body.require_gate:
        draft = container.prompts.get(caller.tenant_id, name, version)
        gate = prompt_runs.gate_for(container, draft, prompt_runs.action_for(name).name, body.gate_profile)
    published, replaced = container.prompts.publish(caller.tenant_id, name, version)
    gate_note = f"; gate {body.gate_profile} passed (run {gate['run_id']})" if gate else ""
    container.audit.record_access(caller, "prompt:publish", prompt_name=name, prompt_version=version,
                                  detail=f"replaced v{replaced}{gate_note}; {body.note}"[:2000])
    return Released(published=VersionPublic.of(published), replaced_version=replaced, gate=gate)


@router.post("/prompts/{name}/versions/{version}/rollback", response_model=Released)
def rollback(name: PromptName, version: Version, caller: AdminDep, container: ContainerDep,
             note: Annotated[str, Query(max_length=2000)] = "") -> Released:
    """Republish an earlier version; the current one is archived."""
    published, replaced = container.prompts.rollback(caller.tenant_id, name, version)
    container.audit.record_access(caller, "prompt:rollback", prompt_name=name, prompt_version=version,
                                  detail=f"replaced v{replaced}; {note}"[:2000])
    return Released(published=VersionPublic.of(published), replaced_version=replaced)


@router.get("/prompt-records")
def list_records(caller: AdminDep, container: ContainerDep,
                 kind: Annotated[str | None, Query(pattern=r"^(account|opportunity|contact)$")] = None
                 ) -> list[dict[str, Any]]:
    """CRM records of the tenant for the builder's record picker."""
    rows = container.records.find(caller.tenant_id, kind=kind or None, limit=500)
    return [{"ref": r.ref, "name": r.name, "owner": r.owner} for r in rows]
