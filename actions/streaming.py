"""Free-text actions that stream: plan (retrieve, render), generate, finish (parse, guard).

``run`` and ``stream`` share every step but the model call, so a streamed answer ends in
exactly the envelope the plain route returns. Server-sent events, in order:

- ``meta``: prompt, model and the evidence handed to the model (citations known up front);
- ``token``: text deltas as the model writes them (one delta with the whole reply on a cache hit);
  with PII masking on, placeholders are restored before a delta leaves, so a delta may
  hold back one word until the next shows it complete;
- ``done``: the complete envelope, flags included;
- ``error``: a problem+json body (written by the route, which maps the exception)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from actions.base import Action, ActionContext, ActionEvent, Outcome, PromptRef
from prompts.chat import ChatMessage, ChatResult, count_usage
from prompts.store import PublishedPrompt
from retrieval.search import PackedContext

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


@dataclass
class TextPlan:
    """What ``plan`` prepared: the prompt and messages, or an answer that needs no model."""

    prompt: PublishedPrompt
    packed: PackedContext | None
    retrieved: list[str]
    messages: list[ChatMessage] = field(default_factory=list)
    max_tokens: int = 512
    early: Outcome[Any] | None = None
    """Set when the action answers without the model (refusal, no evidence)."""
    state: dict[str, Any] = field(default_factory=dict)
    """Whatever ``finish`` needs from ``plan`` (e.g. policy rules)."""

    @property
    def prompt_ref(self) -> PromptRef:
        return PromptRef.of(self.prompt)


class TextAction(Action[In, Out]):
    """An action whose model reply is free text, parsed and checked by ``finish``."""

    streams = True

    def plan(self, inp: In, ctx: ActionContext) -> TextPlan:
        raise NotImplementedError  # pragma: no cover - abstract

    def finish(self, inp: In, ctx: ActionContext, plan: TextPlan, chat: ChatResult) -> Outcome[Out]:
        raise NotImplementedError  # pragma: no cover - abstract

    def _key(self, ctx: ActionContext, plan: TextPlan) -> Any:
        return self.cache_key(ctx, plan.prompt, plan.messages, None, plan.max_tokens)

    def execute(self, inp: In, ctx: ActionContext) -> Outcome[Out]:
        plan = self.plan(inp, ctx)
        if plan.early is not None:
            return plan.early
        key = self._key(ctx, plan)
        chat = self.cached_reply(ctx, key)
        if chat is None:
            sent, vault = self.for_model(ctx, plan.messages)
            t0 = time.perf_counter()
            chat = ctx.env.chat.complete(sent, max_tokens=plan.max_tokens,
                                         temperature=plan.prompt.template.params.temperature)
            ctx.timings_ms["model"] = (time.perf_counter() - t0) * 1000
            if vault is not None:
                chat = chat.model_copy(update={"text": vault.unmask(chat.text)})
        outcome = self.finish(inp, ctx, plan, chat)
        self.remember(ctx, key, chat)
        return outcome

    def stream(self, inp: In, ctx: ActionContext) -> Iterator[ActionEvent]:
        start = time.perf_counter()
        ctx.inputs = inp.model_dump(mode="json")
        self.check_input(inp, ctx)  # the same input guards as ``run``
        plan = self.plan(inp, ctx)
        evidence = [hit.citation().model_dump(mode="json") for hit in plan.packed.hits] if plan.packed else []
        yield ActionEvent("meta", {"action": self.name, "prompt": plan.prompt_ref.model_dump(),
                                   "model": ctx.env.chat.name, "citations": evidence,
                                   "retrieved_chunk_ids": plan.retrieved})
        if plan.early is not None:
            response = self.envelope(plan.early, ctx, start)
            yield ActionEvent("done", response.model_dump(mode="json"), response)
            return
        key = self._key(ctx, plan)
        chat = self.cached_reply(ctx, key)
        if chat is not None:
            yield ActionEvent("token", {"text": chat.text})
        else:
            sent, vault = self.for_model(ctx, plan.messages)
            unmasker = vault.stream_unmasker() if vault is not None else None
            t0 = time.perf_counter()
            parts: list[str] = []
            for delta in ctx.env.chat.stream(sent, max_tokens=plan.max_tokens,
                                             temperature=plan.prompt.template.params.temperature):
                if "first_token" not in ctx.timings_ms:
                    ctx.timings_ms["first_token"] = (time.perf_counter() - start) * 1000
                shown = unmasker.feed(delta) if unmasker is not None else delta
                if shown:
                    parts.append(shown)
                    yield ActionEvent("token", {"text": shown})
            if unmasker is not None and (tail := unmasker.flush()):
                parts.append(tail)
                yield ActionEvent("token", {"text": tail})
            ctx.timings_ms["model"] = (time.perf_counter() - t0) * 1000
            text = "".join(parts)
            chat = ChatResult(text=text, usage=count_usage(plan.messages, text), model=ctx.env.chat.name,
                              latency_ms=ctx.timings_ms["model"], finish_reason=None)
        outcome = self.finish(inp, ctx, plan, chat)
        self.remember(ctx, key, chat)
        response = self.envelope(outcome, ctx, start)
        yield ActionEvent("done", response.model_dump(mode="json"), response)
