"""Cached model replies, so an unchanged record answers at once.

A reply is stored under a key made of the tenant, the action, its inputs, the prompt name
and version, the model, the evidence fingerprint (retrieved chunk ids and the content hashes
of their documents) and a hash of the exact messages sent. Retrieval still runs on every
call: it computes the fingerprint and applies the caller's permissions, so new evidence
for a record (or evidence the caller may no longer see) changes the key and misses. Only
the model call is skipped; guardrails re-run on the cached reply, so they stay current.

The table belongs to this module (its own ``DeclarativeBase``); ``service/db.py`` creates it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, delete, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from prompts.chat import ChatMessage, ChatResult, Usage
from retrieval.models import SearchHit


class CacheBase(DeclarativeBase):
    pass


class ActionCacheRow(CacheBase):
    __tablename__ = "action_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    record: Mapped[str | None] = mapped_column(String(256), nullable=True, index=True)
    prompt_name: Mapped[str] = mapped_column(String(64))
    prompt_version: Mapped[int] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    chunk_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def evidence_fingerprint(hits: Iterable[SearchHit]) -> str:
    """Hash of the retrieved chunk ids and their documents' content hashes (order-insensitive)."""
    return _sha(sorted({(hit.id, hit.chunk.content_hash) for hit in hits}))


@dataclass(frozen=True)
class CacheKey:
    """Everything a model reply depends on."""

    tenant_id: str
    action: str
    inputs: str
    """The action input as canonical JSON."""
    prompt_name: str
    prompt_version: int
    model: str
    fingerprint: str
    messages: str
    """Hash of the rendered messages, schema and generation limits."""

    @classmethod
    def build(cls, *, tenant_id: str, action: str, inputs: dict[str, Any], prompt_name: str, prompt_version: int,
              model: str, fingerprint: str, messages: Sequence[ChatMessage], json_schema: dict[str, Any] | None,
              max_tokens: int, temperature: float) -> CacheKey:
        return cls(tenant_id, action, json.dumps(inputs, sort_keys=True, default=str), prompt_name, prompt_version,
                   model, fingerprint, _sha([list(messages), json_schema, max_tokens, temperature]))

    @property
    def digest(self) -> str:
        return _sha([self.tenant_id, self.action, self.inputs, self.prompt_name, self.prompt_version, self.model,
                     self.fingerprint, self.messages])


class ActionCache:
    """Model replies in SQL, per :class:`CacheKey`. ``max_age`` bounds how long a reply is reused."""

    def __init__(self, sessions: sessionmaker[Session], *, max_age: timedelta | None = timedelta(days=7)) -> None:
        self._sessions = sessions
        self._max_age = max_age

    def get(self, key: CacheKey) -> ChatResult | None:
        """The stored reply, with zero usage (no tokens were spent this time), or None."""
        with self._sessions() as session:
            row = session.get(ActionCacheRow, key.digest)
        if row is None or row.tenant_id != key.tenant_id:
            return None
        if self._max_age is not None and _aware(row.created_at) < datetime.now(UTC) - self._max_age:
            return None
        return ChatResult(text=row.text, usage=Usage(), model=row.model, latency_ms=0.0,
                          finish_reason=row.finish_reason)

    def put(self, key: CacheKey, result: ChatResult, *, record: str | None, chunk_ids: Sequence[str]) -> None:
        row = ActionCacheRow(
            key=key.digest, tenant_id=key.tenant_id, action=key.action, record=record,
            prompt_name=key.prompt_name, prompt_version=key.prompt_version, model=key.model,
            fingerprint=key.fingerprint, chunk_ids=sorted(set(chunk_ids)), text=result.text,
            prompt_tokens=result.usage.prompt_tokens, completion_tokens=result.usage.completion_tokens,
            finish_reason=result.finish_reason, created_at=datetime.now(UTC),
        )
        with self._sessions() as session:
            session.merge(row)  # two identical requests racing both store the same reply
            session.commit()

    def purge(self, tenant_id: str, *, record: str | None = None, chunk_ids: Iterable[str] = ()) -> int:
        """Delete a tenant's cached replies (all, one record's, or those built on given chunks).

        Cached replies can hold personal data: erasure of a data subject must purge the
        replies built on their chunks. Returns the number of rows removed."""
        doomed = set(chunk_ids)
        with self._sessions() as session:
            if doomed:
                rows = session.scalars(select(ActionCacheRow).where(ActionCacheRow.tenant_id == tenant_id)).all()
                keys = [r.key for r in rows if doomed & set(r.chunk_ids) or (record and r.record == record)]
                if not keys:
                    return 0
                result = session.execute(delete(ActionCacheRow).where(ActionCacheRow.key.in_(keys)))
            else:
                query = delete(ActionCacheRow).where(ActionCacheRow.tenant_id == tenant_id)
                if record is not None:
                    query = query.where(ActionCacheRow.record == record)
                result = session.execute(query)
            session.commit()
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
