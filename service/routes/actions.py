"""One route per registered action, so the OpenAPI document shows each action's own schema.

Actions that stream also get ``POST /v1/actions/{name}/stream``: server-sent events
``meta``, ``token``..., then ``done`` with the complete envelope, or ``error`` with a
problem+json body when something fails after the stream has started.

No ``from __future__ import annotations`` here: the generated endpoints need their real
input types at definition time for FastAPI to read the body schema."""

import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import StreamingResponse

from actions.base import Action, ActionContext, ActionEvent, ActionResponse
from actions.registry import ACTIONS
from retrieval.identity import Caller
from service.audit import output_hash
from service.auth import Forbidden
from service.container import Container
from service.deps import CallerDep, ContainerDep
from service.errors import PROBLEM_BASE, PROBLEMS
from service.reviews import enqueue_if_flagged

router = APIRouter(prefix="/v1/actions", tags=["actions"])
log = logging.getLogger(__name__)


@router.get("")
def list_actions(caller: CallerDep) -> list[dict[str, Any]]:
    """The registered actions with their input schemas (the sidebar builds its buttons from this)."""
    return [
        {"name": a.name, "description": a.description, "streams": a.streams,
         "input_schema": a.input_model.model_json_schema()}
        for a in ACTIONS.values()
    ]


def _context(container: Container, caller: Caller, prompt_version: int | None) -> ActionContext:
    if prompt_version is not None and caller.role != "admin":
        raise Forbidden("only admins may run a named prompt version")
    return ActionContext(caller=caller, env=container.action_env, prompt_version=prompt_version)


def _audit_error(container: Container, action: Action[Any, Any], caller: Caller, record: str | None,
                 exc: Exception) -> None:
    container.audit.write(tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role,
                          event=f"action:{action.name}", record=record, status="error",
                          detail=f"{type(exc).__name__}: {exc}"[:2000])


def _audit_ok(container: Container, action: Action[Any, Any], caller: Caller, record: str | None,
              response: ActionResponse[Any], inp: Any) -> ActionResponse[Any]:
    """One audit row per call; a flagged result also enters the review queue.

    Returns the response carrying its review item id (a copy: cached envelopes stay clean)."""
    container.audit.write(
        tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, event=f"action:{action.name}",
        teams=list(caller.teams), purpose=action.purpose,
        record=record, request_id=response.id, prompt_name=response.prompt.name,
        prompt_version=response.prompt.version, model=response.model, chunk_ids=response.retrieved_chunk_ids,
        verdicts=[v.model_dump(mode="json") for v in response.verdicts],
        review_flags=[f.code for f in response.review_flags], prompt_tokens=response.usage.prompt_tokens,
        completion_tokens=response.usage.completion_tokens, latency_ms=response.latency_ms,
        output_hash=output_hash(response.output.model_dump(mode="json")),
    )
    item_id = enqueue_if_flagged(container, response, caller, record, inputs=inp.model_dump(mode="json"))
    return response.model_copy(update={"review_item_id": item_id}) if item_id else response


def run_action(container: Container, action: Action[Any, Any], inp: Any, caller: Caller,
               prompt_version: int | None = None) -> ActionResponse[Any]:
    """Run an action exactly as the HTTP route does (the eval suite calls this too), and audit it."""
    ctx = _context(container, caller, prompt_version)
    record = action.audit_record(inp)
    try:
        response = action.run(inp, ctx)
    except Exception as exc:
        _audit_error(container, action, caller, record, exc)
        raise
    return _audit_ok(container, action, caller, record, response, inp)


def problem_body(exc: Exception) -> dict[str, Any]:
    """The problem+json body the error handlers would send for ``exc`` (for ``error`` events)."""
    for kind in type(exc).__mro__:
        if kind in PROBLEMS:
            status, slug, title = PROBLEMS[kind]
            return {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": str(exc)}
    return {"type": PROBLEM_BASE + "internal-error", "title": "Internal error", "status": 500,
            "detail": "the action failed; see the server log"}


def stream_action(container: Container, action: Action[Any, Any], inp: Any, caller: Caller,
                  prompt_version: int | None = None) -> Iterator[ActionEvent]:
    """Stream an action as the SSE route does, and audit it. Permission errors raise before the stream."""
    ctx = _context(container, caller, prompt_version)
    record = action.audit_record(inp)

    def events() -> Iterator[ActionEvent]:
        try:
            for event in action.stream(inp, ctx):
                if event.response is not None:
                    audited = _audit_ok(container, action, caller, record, event.response, inp)
                    event = ActionEvent("done", audited.model_dump(mode="json"), audited)
                yield event
        except Exception as exc:
            if type(exc) not in PROBLEMS and not any(k in PROBLEMS for k in type(exc).__mro__):
                log.exception("streamed action %s failed", action.name)
            _audit_error(container, action, caller, record, exc)
            yield ActionEvent("error", problem_body(exc))

    return events()


def _make_route(action: Action[Any, Any]) -> None:
    input_model = action.input_model
    response_model = ActionResponse[action.output_model]  # type: ignore[name-defined]

    def endpoint(body: Annotated[input_model, Body()], caller: CallerDep,  # type: ignore[valid-type]
                 container: ContainerDep, prompt_version: int | None = Query(default=None, ge=1)) -> Any:
        return run_action(container, action, body, caller, prompt_version)

    endpoint.__name__ = f"run_{action.name}"
    router.add_api_route(
        f"/{action.name}", endpoint, methods=["POST"], response_model=response_model,
        summary=action.description, name=f"action_{action.name}",
    )
    if not action.streams:
        return

    def stream_endpoint(body: Annotated[input_model, Body()], caller: CallerDep,  # type: ignore[valid-type]
                        container: ContainerDep,
                        prompt_version: int | None = Query(default=None, ge=1)) -> StreamingResponse:
        events = stream_action(container, action, body, caller, prompt_version)
        return StreamingResponse((event.sse() for event in events), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    stream_endpoint.__name__ = f"stream_{action.name}"
    router.add_api_route(
        f"/{action.name}/stream", stream_endpoint, methods=["POST"], response_class=StreamingResponse,
        summary=f"{action.description} Streamed as server-sent events: meta, token..., done (or error).",
        name=f"action_{action.name}_stream",
        responses={200: {"content": {"text/event-stream": {}}, "description": "meta, token, done, error events"}},
    )


for _action in ACTIONS.values():
    _make_route(_action)
