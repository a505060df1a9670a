"""The human review queue: flagged action results wait here for a person's decision.

An action result with at least one review flag becomes a ``review_items`` row (status
``pending``). A reviewer approves it, edits it (``edited_output``, validated against the
action's output model) or rejects it (a comment saying why is required); each decision is
written to the audit log by the route, and decided items are the feedback the eval suite
reads through :func:`export_feedback`.

Who may review (enforced in ``service/routes/reviews.py`` with :func:`visible_to`):

- ``agent``: the items of their own requests (``user_id`` is theirs): they asked for the
  result and can judge it against the record they were looking at;
- ``admin``: every item of their tenant;
- ``evaluator``: none (403); they get the decided items through ``export_feedback``;
- nobody sees another tenant's items, and an item a caller may not see is reported as
  not found (404), so ids do not reveal what exists.

Feedback rows (``export_feedback``) have the shape of ``eval/datasets/*.jsonl`` rows::

    {"id": "review-<item id>", "action": ..., "tenant": ..., "user": ..., "teams": [...],
     "record": ..., "inputs": {...}, "reference": {...}, "relevant_doc_ids": [...], "notes": ...}

with ``reference`` = ``{"decision": "approve" | "edit" | "reject", "output": <approved or
edited output, null when rejected>, "original_output": <what the model produced>,
"flags": [reason codes], "comment": ...}`` and ``relevant_doc_ids`` = the source ids the
output cited (``note:N-001``, ``file:...``). Pending items are not exported."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import JSON, DateTime, String, Text, delete, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from actions.base import ActionResponse
from retrieval.identity import Caller

Status = Literal["pending", "approved", "edited", "rejected"]
_STATUS_OF = {"approve": "approved", "edit": "edited", "reject": "rejected"}


class ReviewBase(DeclarativeBase):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


class ReviewItemRow(ReviewBase):
    __tablename__ = "review_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    record: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)
    user_id: Mapped[str] = mapped_column(String(128), index=True)
    teams: Mapped[list[str]] = mapped_column(JSON, default=list)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    verdicts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    prompt_name: Mapped[str] = mapped_column(String(64), default="")
    prompt_version: Mapped[int] = mapped_column(default=0)
    model: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reviewer: Mapped[str | None] = mapped_column(String(128), nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    edited_output: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReviewError(Exception):
    """Base of review-queue failures that are the caller's fault."""


class ReviewConflict(ReviewError):
    """The item was already decided (409)."""


class InvalidEdit(ReviewError):
    """The edited output does not fit the action's output model (422)."""


class ReviewDecision(BaseModel):
    """``POST /v1/reviews/{id}`` body."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "edit", "reject"]
    comment: str = Field(default="", max_length=4000)
    edited_output: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ReviewDecision:
        if self.decision == "edit" and self.edited_output is None:
            raise ValueError("an 'edit' decision needs edited_output")
        if self.decision != "edit" and self.edited_output is not None:
            raise ValueError("edited_output is only allowed with the 'edit' decision")
        if self.decision == "reject" and not self.comment.strip():
            raise ValueError("a 'reject' decision needs a comment saying what is wrong")
        return self


class ReviewItemPublic(BaseModel):
    id: str
    action: str
    request_id: str
    record: str | None
    user_id: str
    flags: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    inputs: dict[str, Any]
    output: dict[str, Any]
    citations: list[dict[str, Any]]
    prompt_name: str
    prompt_version: int
    model: str
    status: Status
    reviewer: str | None
    comment: str
    edited_output: dict[str, Any] | None
    created_at: datetime
    decided_at: datetime | None

    @classmethod
    def of(cls, row: ReviewItemRow) -> ReviewItemPublic:
        return cls.model_validate(row, from_attributes=True)


class ReviewPage(BaseModel):
    items: list[ReviewItemPublic]
    total: int
    limit: int
    offset: int


def visible_to(row: ReviewItemRow, caller: Caller) -> bool:
    """May ``caller`` see and decide this item? (See the module docstring.)"""
    if row.tenant_id != caller.tenant_id:
        return False
    return caller.role == "admin" or (caller.role == "agent" and row.user_id == caller.user_id)


def _sessions_of(container_or_sessions: Any) -> sessionmaker[Session]:
    return getattr(container_or_sessions, "sessions", container_or_sessions)  # type: ignore[no-any-return]


class ReviewQueue:
    """Review items in SQL (the service's engine: SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def enqueue(self, response: ActionResponse[Any], caller: Caller, record: object = None,
                inputs: dict[str, Any] | None = None) -> str:
        """Store a result as a pending item; returns its id. ``inputs`` (the action input as
        JSON) makes the exported feedback row replayable."""
        flagged = [v.model_dump(mode="json") for v in response.verdicts
                   if v.decision in ("flag", "block") and v.reason is not None]
        row = ReviewItemRow(
            id=str(uuid.uuid4()), tenant_id=caller.tenant_id, action=response.action, request_id=response.id,
            record=str(record) if record is not None else None, user_id=caller.user_id, teams=list(caller.teams),
            inputs=inputs or {}, flags=[f.model_dump(mode="json") for f in response.review_flags], verdicts=flagged,
            output=response.output.model_dump(mode="json"),
            citations=[c.model_dump(mode="json") for c in response.citations],
            prompt_name=response.prompt.name, prompt_version=response.prompt.version, model=response.model,
        )
        with self._sessions() as session:
            session.add(row)
            session.commit()
        return row.id

    def enqueue_if_flagged(self, response: ActionResponse[Any], caller: Caller, record: object = None,
                           inputs: dict[str, Any] | None = None) -> str | None:
        """Queue a result for review when it carries review flags; returns the item id or None."""
        return self.enqueue(response, caller, record, inputs) if response.review_flags else None

    def get(self, tenant_id: str, item_id: str) -> ReviewItemRow | None:
        with self._sessions() as session:
            row = session.get(ReviewItemRow, item_id)
        return row if row is not None and row.tenant_id == tenant_id else None

    def list_items(self, caller: Caller, *, status: str | None = None, action: str | None = None,
             record: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[ReviewItemRow], int]:
        """Items ``caller`` may see, newest first, with the total before paging."""
        query = select(ReviewItemRow).where(ReviewItemRow.tenant_id == caller.tenant_id)
        if caller.role != "admin":
            query = query.where(ReviewItemRow.user_id == caller.user_id)
        for column, value in ((ReviewItemRow.status, status), (ReviewItemRow.action, action),
                              (ReviewItemRow.record, record)):
            if value is not None:
                query = query.where(column == value)
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = list(session.scalars(query.order_by(ReviewItemRow.created_at.desc(), ReviewItemRow.id)
                                        .limit(limit).offset(offset)))
        return rows, total

    def decide(self, tenant_id: str, item_id: str, reviewer: str, decision: ReviewDecision) -> ReviewItemRow:
        """Record a decision on a pending item. Permission is checked by the caller first."""
        with self._sessions() as session:
            row = session.get(ReviewItemRow, item_id)
            if row is None or row.tenant_id != tenant_id:
                raise KeyError(item_id)
            if row.status != "pending":
                raise ReviewConflict(f"review item {item_id} was already {row.status} by {row.reviewer}")
            row.status = _STATUS_OF[decision.decision]
            row.reviewer = reviewer
            row.comment = decision.comment
            row.edited_output = decision.edited_output
            row.decided_at = _now()
            session.commit()
            return row

    def delete_for_records(self, tenant_id: str, records: Iterable[str]) -> int:
        """Erasure: remove every item about these records (``contact:C-101``...)."""
        wanted = list(records)
        if not wanted:
            return 0
        with self._sessions() as session:
            result = session.execute(delete(ReviewItemRow).where(
                ReviewItemRow.tenant_id == tenant_id, ReviewItemRow.record.in_(wanted)))
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    def export_feedback(self, tenant_id: str) -> list[dict[str, Any]]:
        """Decided items as eval rows (see the module docstring), oldest decision first."""
        with self._sessions() as session:
            rows = list(session.scalars(
                select(ReviewItemRow)
                .where(ReviewItemRow.tenant_id == tenant_id, ReviewItemRow.status != "pending")
                .order_by(ReviewItemRow.decided_at, ReviewItemRow.id)))
        return [feedback_row(row) for row in rows]


def feedback_row(row: ReviewItemRow) -> dict[str, Any]:
    decision = {"approved": "approve", "edited": "edit", "rejected": "reject"}[row.status]
    final = row.edited_output if decision == "edit" else None if decision == "reject" else row.output
    docs = [] if decision == "reject" else list(dict.fromkeys(
        str(c.get("document_id")) for c in row.citations if c.get("document_id")))
    codes = [str(f.get("code")) for f in row.flags]
    when = row.decided_at.date().isoformat() if row.decided_at else ""
    return {
        "id": f"review-{row.id}",
        "action": row.action,
        "tenant": row.tenant_id,
        "user": row.user_id,
        "teams": list(row.teams or []),
        "record": row.record,
        "inputs": dict(row.inputs or {}),
        "reference": {"decision": decision, "output": final, "original_output": row.output, "flags": codes,
                      "comment": row.comment},
        "relevant_doc_ids": docs,
        "notes": f"review feedback: {decision} by {row.reviewer} on {when}; flags {', '.join(codes) or 'none'}"
                 + (f"; {row.comment}" if row.comment else ""),
    }


def export_feedback(container_or_sessions: Any, tenant_id: str) -> list[dict[str, Any]]:
    """Decided review items of a tenant as eval rows (``ReviewQueue.export_feedback``)."""
    return ReviewQueue(_sessions_of(container_or_sessions)).export_feedback(tenant_id)
