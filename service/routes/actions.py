"""One route per registered action, so the OpenAPI document shows each action's own schema.

The routes are thin: running, auditing and queueing for review is ``actions.runner.ActionRunner``
(``container.runner``), which the CLI, the prompt builder and the eval runner call too.

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

from actions.base import Action, ActionEvent, ActionResponse
from actions.registry import ACTIONS
from service.deps import CallerDep, ContainerDep
from service.errors import PROBLEMS, problem_body

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


def _sse(action: Action[Any, Any], events: Iterator[ActionEvent]) -> Iterator[str]:
    """The runner's events as server-sent events; a failure after the stream started becomes
    an ``error`` event carrying the problem+json body the error handlers would send."""
    try:
        for event in events:
            yield event.sse()
    except Exception as exc:
        if not any(kind in PROBLEMS for kind in type(exc).__mro__):
            log.exception("streamed action %s failed", action.name)
        yield ActionEvent("error", problem_body(exc)).sse()


def _make_route(action: Action[Any, Any]) -> None:
    input_model = action.input_model
    response_model = ActionResponse[action.output_model]  # type: ignore[name-defined]

    def endpoint(body: Annotated[input_model, Body()], caller: CallerDep,  # type: ignore[valid-type]
                 container: ContainerDep, prompt_version: int | None = Query(default=None, ge=1)) -> Any:
        return container.runner.run(action, body, caller, prompt_version)

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
        events = container.runner.stream(action, body, caller, prompt_version)  # permission errors raise here
        return StreamingResponse(_sse(action, events), media_type="text/event-stream",
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
