"""The review queue over HTTP: list, read and decide flagged action results.

Agents see and decide the items of their own requests, admins every item of their tenant,
evaluators none (they read decided items through ``service.reviews.export_feedback``). An
item the caller may not see is a 404, whoever owns it. Every decision is audited as
``review:<decision>``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import ValidationError

from actions.registry import ACTIONS
from retrieval.identity import Caller
from service.audit import output_hash
from service.auth import Forbidden
from service.deps import CallerDep, ContainerDep
from service.errors import NotFound
from service.reviews import (
    InvalidEdit,
    ReviewDecision,
    ReviewItemPublic,
    ReviewItemRow,
    ReviewPage,
    ReviewQueue,
    visible_to,
)

router = APIRouter(prefix="/v1/reviews", tags=["reviews"])


def _reviewer(caller: Caller) -> Caller:
    if caller.role not in ("admin", "agent"):
        raise Forbidden(f"role {caller.role!r} may not use the review queue")
    return caller


def _item(queue: ReviewQueue, caller: Caller, item_id: str) -> ReviewItemRow:
    row = queue.get(caller.tenant_id, item_id)
    if row is None or not visible_to(row, caller):
        raise NotFound(f"no review item {item_id}")
    return row


@router.get("", response_model=ReviewPage)
def list_reviews(
    caller: CallerDep,
    container: ContainerDep,
    status: Literal["pending", "approved", "edited", "rejected"] | None = None,
    action: str | None = None,
    record: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReviewPage:
    """Review items the caller may see, newest first."""
    queue = ReviewQueue(container.sessions)
    rows, total = queue.list_items(_reviewer(caller), status=status, action=action, record=record,
                                   limit=limit, offset=offset)
    return ReviewPage(items=[ReviewItemPublic.of(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/{item_id}", response_model=ReviewItemPublic)
def get_review(item_id: str, caller: CallerDep, container: ContainerDep) -> ReviewItemPublic:
    return ReviewItemPublic.of(_item(ReviewQueue(container.sessions), _reviewer(caller), item_id))


@router.post("/{item_id}", response_model=ReviewItemPublic)
def decide_review(item_id: str, body: ReviewDecision, caller: CallerDep, container: ContainerDep) -> ReviewItemPublic:
    """Approve, edit (``edited_output`` must fit the action's output model) or reject."""
    queue = ReviewQueue(container.sessions)
    row = _item(queue, _reviewer(caller), item_id)
    if body.edited_output is not None and row.action in ACTIONS:
        try:
            ACTIONS[row.action].output_model.model_validate(body.edited_output)
        except ValidationError as exc:
            raise InvalidEdit(f"edited_output does not fit the {row.action} output: {exc.error_count()} problem(s): "
                              f"{str(exc)[:500]}") from exc
    try:
        decided = queue.decide(caller.tenant_id, item_id, caller.user_id, body)
    except KeyError:  # deleted (erasure) between the read and the decision
        raise NotFound(f"no review item {item_id}") from None
    final = decided.edited_output if body.decision == "edit" else decided.output
    container.audit.write(
        tenant_id=caller.tenant_id, user_id=caller.user_id, role=caller.role, event=f"review:{body.decision}",
        record=decided.record, request_id=decided.request_id, prompt_name=decided.prompt_name,
        prompt_version=decided.prompt_version, model=decided.model,
        review_flags=[str(f.get("code")) for f in decided.flags],
        output_hash=output_hash(final), detail=f"review item {decided.id}: {body.comment}"[:2000],
    )
    return ReviewItemPublic.of(decided)
