"""Running an action as a caller, with its audit record and review-queue entry.

:class:`ActionRunner` is what every entry point calls: the HTTP routes (plain and
streamed), ``sidekick run-action``, the prompt builder's dry run and the eval runner. It
checks that only admins name a prompt version, runs the action, writes one audit record per
call (success or failure) and queues a flagged result for human review. Where the audit
trail and the queue live is the caller's business: they come in as two small protocols,
implemented by the service's ``AuditLog`` and ``ReviewQueue``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from actions.base import Action, ActionContext, ActionEnvironment, ActionError, ActionEvent, ActionResponse
from retrieval.identity import Caller


class PromptVersionNotAllowed(ActionError):
    """Only admins may run a named (e.g. draft) prompt version."""


class ActionAudit(Protocol):
    """Where each action call is recorded (the service's append-only audit log)."""

    def action_succeeded(self, caller: Caller, action: Action[Any, Any], record: str | None,
                         response: ActionResponse[Any]) -> None:
        """One record of a call that returned ``response``."""
        ...

    def action_failed(self, caller: Caller, action: Action[Any, Any], record: str | None, error: Exception) -> None:
        """One record of a call that raised ``error``."""
        ...


class ReviewSink(Protocol):
    """Where flagged results wait for a person (the service's review queue)."""

    def enqueue_if_flagged(self, response: ActionResponse[Any], caller: Caller, record: object = None,
                           inputs: dict[str, Any] | None = None) -> str | None:
        """Store the result as a pending item when it carries review flags; return the item id
        (None when nothing was queued). ``inputs`` is the action input as JSON."""
        ...


@dataclass(frozen=True)
class ActionRunner:
    """Runs actions on ``env`` and records each call in ``audit`` and, when flagged, ``reviews``."""

    env: ActionEnvironment
    audit: ActionAudit
    reviews: ReviewSink

    def context(self, caller: Caller, prompt_version: int | None = None) -> ActionContext:
        if prompt_version is not None and caller.role != "admin":
            raise PromptVersionNotAllowed("only admins may run a named prompt version")
        return ActionContext(caller=caller, env=self.env, prompt_version=prompt_version)

    def run(self, action: Action[Any, Any], inp: Any, caller: Caller,
            prompt_version: int | None = None) -> ActionResponse[Any]:
        """The action's envelope, audited; a flagged result carries its review item id."""
        ctx = self.context(caller, prompt_version)
        record = action.audit_record(inp)
        try:
            response = action.run(inp, ctx)
        except Exception as exc:
            self.audit.action_failed(caller, action, record, exc)
            raise
        return self._recorded(action, inp, caller, record, response)

    def stream(self, action: Action[Any, Any], inp: Any, caller: Caller,
               prompt_version: int | None = None) -> Iterator[ActionEvent]:
        """The action's events, audited like :meth:`run`. Permission errors raise here, before
        the stream; a failure during the stream is audited and re-raised from the iterator."""
        ctx = self.context(caller, prompt_version)
        record = action.audit_record(inp)

        def events() -> Iterator[ActionEvent]:
            try:
                for event in action.stream(inp, ctx):
                    if event.response is not None:
                        recorded = self._recorded(action, inp, caller, record, event.response)
                        event = ActionEvent("done", recorded.model_dump(mode="json"), recorded)
                    yield event
            except Exception as exc:
                self.audit.action_failed(caller, action, record, exc)
                raise

        return events()

    def _recorded(self, action: Action[Any, Any], inp: Any, caller: Caller, record: str | None,
                  response: ActionResponse[Any]) -> ActionResponse[Any]:
        """Audit one result and queue it when flagged; returns it with its review item id
        (a copy: cached envelopes stay clean)."""
        self.audit.action_succeeded(caller, action, record, response)
        item_id = self.reviews.enqueue_if_flagged(response, caller, record, inputs=inp.model_dump(mode="json"))
        return response.model_copy(update={"review_item_id": item_id}) if item_id else response
