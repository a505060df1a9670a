"""The scripted chat model: the sanctioned fake for the LLM in fast tests and overhead benchmarks.

It implements :class:`prompts.chat.ChatModel` for real (replies returned instantly,
streamed word by word, every call recorded) and is injected the way production backends
are: pass it to the container, or call :func:`register_scripted` so the settings name
``scripted`` selects it. Production code never registers it, so production settings
reject that name."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prompts.chat import CHAT_MODELS, ChatError, ChatMessage, ChatModel, WholeReplyModel
from prompts.settings import ChatSettings

Responder = Callable[[Sequence[ChatMessage], dict[str, Any] | None], str]
"""Computes a reply from the messages and the JSON schema asked for (None for free text)."""


class ScriptedChatModel(WholeReplyModel):
    """Replays queued replies, then asks :attr:`responder`; records every call in :attr:`calls`."""

    def __init__(self, replies: Sequence[str | dict[str, Any]] = (), *, responder: Responder | None = None,
                 name: str = "scripted") -> None:
        self._replies: deque[str] = deque(
            r if isinstance(r, str) else json.dumps(r) for r in replies
        )
        self.responder = responder
        """Answers once the queue is empty; tests may replace it at any time."""
        self.calls: list[dict[str, Any]] = []
        self.name = name

    def queue(self, *replies: str | dict[str, Any]) -> None:
        self._replies.extend(r if isinstance(r, str) else json.dumps(r) for r in replies)

    def reply(self, messages: Sequence[ChatMessage], json_schema: dict[str, Any] | None, max_tokens: int) -> str:
        self.calls.append({"messages": list(messages), "json_schema": json_schema, "max_tokens": max_tokens})
        if self._replies:
            return self._replies.popleft()
        if self.responder is not None:
            return self.responder(messages, json_schema)
        raise ChatError("scripted model has no reply queued")


def _scripted(settings: ChatSettings, cache_dir: Path) -> ChatModel:
    return ScriptedChatModel()


def register_scripted() -> None:
    """Make ``scripted`` a chat backend name (tests and benchmarks only)."""
    CHAT_MODELS.setdefault("scripted", _scripted)
