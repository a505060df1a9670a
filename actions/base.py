"""The action protocol, its context and the response envelope every action returns.

An action declares its name, input and output models, the prompt it uses, the consent
purpose it reads data for, and its retrieval plan; ``run`` composes retrieval, the prompt,
the chat model and the guards. The service generates one route per registered action."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from actions.cache import ActionCache, CacheKey, evidence_fingerprint
from guardrails.pii import Vault
from guardrails.pipeline import GuardPipeline, InputBlocked
from guardrails.verdicts import Decision, ReasonCode, ReviewFlag, Verdict, flags_from
from prompts.chat import ChatMessage, ChatModel, ChatResult, Usage, strip_fences
from prompts.store import PromptStore, PublishedPrompt
from retrieval import records
from retrieval.filters import SearchScope
from retrieval.identity import Caller
from retrieval.models import Citation, RecordRef, SearchHit
from retrieval.records import CrmRecords
from retrieval.search import PackedContext, Retriever, SearchRequest, SearchResult, pack_context

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


def _check_record(value: str | None) -> str | None:
    if value is not None:
        RecordRef.parse(value)
    return value


OptionalRecord = Annotated[str | None, AfterValidator(_check_record)]
"""An optional ``kind:id`` record reference, validated like ``RecordRef.parse``."""


class ActionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptRef(BaseModel):
    name: str
    version: int

    @classmethod
    def of(cls, prompt: PublishedPrompt) -> PromptRef:
        return cls(name=prompt.name, version=prompt.version)


class ActionResponse(BaseModel, Generic[Out]):
    """The envelope: output, citations, review flags, prompt, model, usage, latency, id."""

    id: str
    action: str
    output: Out
    citations: list[Citation]
    review_flags: list[ReviewFlag]
    verdicts: list[Verdict] = Field(default_factory=list)
    prompt: PromptRef
    model: str
    usage: Usage
    latency_ms: float
    timings_ms: dict[str, float] = Field(default_factory=dict)
    retrieved_chunk_ids: list[str] = Field(default_factory=list)
    cached: bool = False
    review_item_id: str | None = Field(default=None, description=(
        "The review-queue item this flagged result became (POST /v1/reviews/{id} decides it); "
        "null when the result carries no review flag."))


class ActionError(Exception):
    """Base of action failures that are the caller's or the data's fault."""


class InvalidModelOutput(ActionError):
    def __init__(self, action: str, detail: str) -> None:
        super().__init__(f"{action}: the model's reply did not match the output schema: {detail}")
        self.action = action


@dataclass
class ActionEnvironment:
    """What actions need from the outside, built once by the service's container."""

    retriever: Retriever
    chat: ChatModel
    prompts: PromptStore
    records: CrmRecords
    """The tenant's CRM records: names for prompts, recipients and the policy rule on naming customers."""
    cache: ActionCache | None = None
    guards: Callable[[str], GuardPipeline] = field(default=lambda tenant: GuardPipeline())
    """The tenant's guard pipeline (PII names, thresholds); built per call, cheap."""
    context_tokens: int = 1800
    candidates: int = 40
    min_support: float = 0.5


@dataclass
class ActionContext:
    caller: Caller
    env: ActionEnvironment
    prompt_version: int | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    """The action input as JSON, set by ``run``/``stream``; part of the cache key."""
    evidence: list[SearchHit] = field(default_factory=list)
    """Every hit retrieved for this call: the evidence fingerprint of the cache key."""
    cached: bool = False
    guard_verdicts: list[Verdict] = field(default_factory=list)
    """Findings of input and evidence guards, added to the action's own verdicts."""
    _guards: GuardPipeline | None = None

    @property
    def guards(self) -> GuardPipeline:
        if self._guards is None:
            self._guards = self.env.guards(self.caller.tenant_id)
        return self._guards


@dataclass
class ActionEvent:
    """One server-sent event of a streamed action: ``meta``, ``token``, ``done`` or ``error``."""

    event: Literal["meta", "token", "done", "error"]
    data: dict[str, Any]
    response: ActionResponse[Any] | None = None
    """The envelope, on ``done`` (the route audits it)."""

    def sse(self) -> str:
        return f"event: {self.event}\ndata: {json.dumps(self.data, default=str)}\n\n"


@dataclass
class Outcome(Generic[Out]):
    """What an action's ``execute`` produces; ``run`` wraps it in the envelope."""

    output: Out
    citations: list[Citation]
    verdicts: list[Verdict]
    chat: ChatResult | None
    prompt: PromptRef
    retrieved: list[str]


@dataclass
class RecordEvidence:
    """What an action about one record starts from: its prompt, and the record's evidence
    packed for the model (see :meth:`Action.record_evidence`)."""

    record: RecordRef
    prompt: PublishedPrompt
    packed: PackedContext
    retrieved: list[str]
    """Ids of every chunk retrieved, packed or not."""

    def outcome(self, output: Out, citations: list[Citation], verdicts: list[Verdict],
                chat: ChatResult | None) -> Outcome[Out]:
        return Outcome(output, citations, verdicts, chat, PromptRef.of(self.prompt), self.retrieved)

    def no_evidence(self, output: Out) -> Outcome[Out]:
        """``output`` (the action's empty answer), flagged: nothing the caller may see was found."""
        return self.outcome(output, [], [no_evidence_verdict(str(self.record))], None)


def contact_name(ctx: ActionContext, contact_id: str) -> str | None:
    """The contact's name as the CRM records it (``None`` when the record is unknown or unnamed)."""
    found = ctx.env.records.get(ctx.caller.tenant_id, RecordRef(kind="contact", id=contact_id))
    return found.name or None if found is not None else None


def record_label(ctx: ActionContext, ref: RecordRef | None) -> str:
    """How the prompt names ``ref`` (empty when there is none)."""
    return records.record_label(ctx.env.records, ctx.caller.tenant_id, ref) if ref is not None else ""


def other_customers(ctx: ActionContext, own: set[str]) -> tuple[str, ...]:
    """Names of the tenant's customer accounts other than ``own`` (the policy rule on naming them)."""
    names = records.account_names(ctx.env.records, ctx.caller.tenant_id)
    return tuple(name for account, name in names.items() if account not in own)


def render_evidence(packed: PackedContext) -> str:
    """Evidence as fenced data blocks the model cites by id; never as instructions."""
    blocks = []
    for i, hit in enumerate(packed.hits):
        c = hit.chunk
        attrs = [f'id="{packed.label(i)}"', f'source="{c.document_id}"', f'type="{c.doc_type}"']
        if c.occurred_ts:
            attrs.append(f'date="{time.strftime("%Y-%m-%d", time.gmtime(c.occurred_ts))}"')
        if c.section:
            attrs.append(f'section="{" > ".join(c.section)}"')
        if c.speaker:
            attrs.append(f'speaker="{c.speaker}"')
        text = c.text.replace("</evidence", "</ evidence")
        title = f"{c.title}\n" if c.title else ""
        blocks.append(f"<evidence {' '.join(attrs)}>\n{title}{text}\n</evidence>")
    return "\n".join(blocks) if blocks else "(no evidence found)"


class Action(Generic[In, Out]):
    """Base class: subclasses set the class attributes and implement ``execute``."""

    name: ClassVar[str]
    description: ClassVar[str]
    purpose: ClassVar[str]
    prompt_name: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    output_model: ClassVar[type[BaseModel]]
    streams: ClassVar[bool] = False

    def execute(self, inp: In, ctx: ActionContext) -> Outcome[Out]:
        raise NotImplementedError  # pragma: no cover - abstract

    def run(self, inp: In, ctx: ActionContext) -> ActionResponse[Out]:
        start = time.perf_counter()
        ctx.inputs = inp.model_dump(mode="json")
        self.check_input(inp, ctx)
        return self.envelope(self.execute(inp, ctx), ctx, start)

    def check_input(self, inp: In, ctx: ActionContext) -> None:
        """Injection guard on what the user typed (free-text fields, not record ids)."""
        for name, value in ctx.inputs.items():
            if isinstance(value, str) and name not in ("record", "contact_id"):
                ctx.guard_verdicts.extend(ctx.guards.check_input(value, timings=ctx.timings_ms))
        blocked = [v for v in ctx.guard_verdicts if v.decision == Decision.BLOCK]
        if blocked:
            raise InputBlocked(blocked)

    def stream(self, inp: In, ctx: ActionContext) -> Iterator[ActionEvent]:
        """Server-sent events for actions that stream (``streams = True``)."""
        raise NotImplementedError(f"action {self.name} does not stream")

    def audit_record(self, inp: In) -> str | None:
        """The record an audit entry names for this input."""
        record = getattr(inp, "record", None)
        return str(record) if record is not None else None

    def envelope(self, out: Outcome[Out], ctx: ActionContext, start: float) -> ActionResponse[Out]:
        verdicts = [*ctx.guard_verdicts, *out.verdicts]
        return ActionResponse[Out](
            id=str(uuid.uuid4()),
            action=self.name,
            output=out.output,
            citations=out.citations,
            review_flags=flags_from(verdicts),
            verdicts=verdicts,
            prompt=out.prompt,
            model=out.chat.model if out.chat else ctx.env.chat.name,
            usage=out.chat.usage if out.chat else Usage(),
            latency_ms=round((time.perf_counter() - start) * 1000, 2),
            timings_ms={k: round(v, 2) for k, v in ctx.timings_ms.items()},
            retrieved_chunk_ids=out.retrieved,
            cached=ctx.cached,
        )

    # -- helpers shared by actions --------------------------------------------------------
    def retrieve(self, ctx: ActionContext, query: str, scope: SearchScope, top_k: int, *,
                 purpose: str | None = None, diversify: bool = True, label: str = "retrieval") -> SearchResult:
        """Search as the caller, for this action's consent purpose (or ``purpose``)."""
        result = ctx.env.retriever.search(
            SearchRequest(query=query, access=ctx.caller.access(purpose or self.purpose), scope=scope,
                          top_k=top_k, candidates=max(ctx.env.candidates, top_k), diversify=diversify)
        )
        for k, v in result.timings_ms.items():
            ctx.timings_ms[f"{label}_{k}"] = ctx.timings_ms.get(f"{label}_{k}", 0.0) + v
        # Retrieved text is data: chunks that look like injected instructions leave the evidence.
        kept, _quarantined, verdicts = ctx.guards.screen_evidence(result.hits, timings=ctx.timings_ms)
        ctx.guard_verdicts.extend(verdicts)
        result.hits = kept
        ctx.evidence.extend(kept)
        return result

    def prompt(self, ctx: ActionContext) -> PublishedPrompt:
        return ctx.env.prompts.get(ctx.caller.tenant_id, self.prompt_name, ctx.prompt_version)

    def record_evidence(self, ctx: ActionContext, record: str, query: str, top_k: int) -> RecordEvidence:
        """The prompt, then the record's evidence for ``query`` as the caller may see it,
        packed in time order into the context budget."""
        ref = RecordRef.parse(record)
        prompt = self.prompt(ctx)
        result = self.retrieve(ctx, query, SearchScope(record=ref), top_k)
        packed = pack_context(result.hits, ctx.env.context_tokens, chronological=True)
        return RecordEvidence(ref, prompt, packed, [hit.id for hit in result.hits])

    @staticmethod
    def for_model(ctx: ActionContext, messages: Sequence[ChatMessage]) -> tuple[list[ChatMessage], Vault | None]:
        """The messages as the model may see them: PII masked when the guard config says so
        (always for an external model by default), with the vault that restores the reply.
        PII never leaves the process unmasked."""
        if ctx.guards.should_mask(ctx.env.chat):
            return ctx.guards.mask_for_external(messages, timings=ctx.timings_ms)
        return list(messages), None

    def generate(self, ctx: ActionContext, prompt: PublishedPrompt, values: dict[str, Any],
                 schema_model: type[BaseModel], *, json_schema: dict[str, Any] | None = None,
                 max_tokens: int | None = None) -> tuple[BaseModel, ChatResult]:
        """Render, call the model constrained to a JSON schema (or reuse a cached reply), parse.

        ``json_schema`` overrides the schema sent to the model (e.g. one built per request);
        the reply is still validated with ``schema_model``. ``max_tokens`` lowers the prompt's
        own limit for this request."""
        messages = prompt.template.render(values)
        schema = json_schema or schema_model.model_json_schema()
        limit = min(max_tokens or prompt.template.params.max_tokens, prompt.template.params.max_tokens)
        key = self.cache_key(ctx, prompt, messages, schema, limit)
        result = self.cached_reply(ctx, key)
        if result is None:
            sent, vault = self.for_model(ctx, messages)
            t0 = time.perf_counter()
            result = ctx.env.chat.complete(sent, max_tokens=limit,
                                           temperature=prompt.template.params.temperature, json_schema=schema)
            ctx.timings_ms["model"] = (time.perf_counter() - t0) * 1000
            if vault is not None and _is_json(result.text):  # unmask the parsed JSON, not raw text
                restored = vault.unmask_obj(json.loads(strip_fences(result.text)))
                result = result.model_copy(update={"text": json.dumps(restored)})
        if result.finish_reason == "length" and not _is_json(result.text):
            raise InvalidModelOutput(self.name, f"the reply was cut off at max_tokens={limit}")
        try:
            parsed = schema_model.model_validate(json.loads(strip_fences(result.text)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise InvalidModelOutput(self.name, str(exc)[:300]) from exc
        self.remember(ctx, key, result)  # only replies that parsed are worth reusing
        return parsed, result

    # -- the reply cache --------------------------------------------------------------------
    def cache_key(self, ctx: ActionContext, prompt: PublishedPrompt, messages: Sequence[ChatMessage],
                  json_schema: dict[str, Any] | None, max_tokens: int) -> CacheKey | None:
        if ctx.env.cache is None:
            return None
        return CacheKey.build(
            tenant_id=ctx.caller.tenant_id, action=self.name, inputs=ctx.inputs, prompt_name=prompt.name,
            prompt_version=prompt.version, model=ctx.env.chat.name, fingerprint=evidence_fingerprint(ctx.evidence),
            messages=messages, json_schema=json_schema, max_tokens=max_tokens,
            temperature=prompt.template.params.temperature,
        )

    def cached_reply(self, ctx: ActionContext, key: CacheKey | None) -> ChatResult | None:
        if key is None or ctx.env.cache is None:
            return None
        t0 = time.perf_counter()
        hit = ctx.env.cache.get(key)
        ctx.timings_ms["cache"] = (time.perf_counter() - t0) * 1000
        ctx.cached = hit is not None
        return hit

    def remember(self, ctx: ActionContext, key: CacheKey | None, result: ChatResult) -> None:
        if key is None or ctx.env.cache is None or ctx.cached:
            return
        ctx.env.cache.put(key, result, record=ctx.inputs.get("record"), chunk_ids=[h.id for h in ctx.evidence])


def _is_json(text: str) -> bool:
    try:
        json.loads(strip_fences(text))
    except json.JSONDecodeError:
        return False
    return True


def no_evidence_verdict(what: str) -> Verdict:
    return Verdict(guard="retrieval", decision=Decision.FLAG, reason=ReasonCode.NO_EVIDENCE,
                   message=f"no evidence you may see was found for {what}")
