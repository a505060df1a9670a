"""Chat models behind one protocol.

Backends, built by name from :data:`CHAT_MODELS` with the ``chat`` settings section:
- ``llama-cpp``: a GGUF model run in this process by llama-cpp-python (embedded default);
  structured output is grammar-constrained from the JSON schema.
- ``openai``: any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp
  server) through the ``openai`` client, with timeouts and retries with backoff.
- ``extractive``: the no-LLM baseline (:mod:`prompts.extractive`; quotes the evidence).

The scripted test double (:mod:`prompts.scripted`) is registered only by tests and
benchmarks. Token usage is counted with tiktoken on every backend so numbers compare
across them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, TypedDict

from pydantic import BaseModel

from prompts.settings import ChatSettings
from retrieval.settings import secret
from retrieval.tokens import count_tokens


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class ChatResult(BaseModel):
    text: str
    usage: Usage
    model: str
    latency_ms: float
    finish_reason: str | None = None


class ChatError(Exception):
    """Base of chat-model failures."""


class ModelUnavailable(ChatError):
    """The model cannot be loaded, or the endpoint cannot be reached or keeps failing (after retries)."""


class ModelRejected(ChatError):
    """The endpoint refused the request (bad request, authentication, unknown model): retrying won't help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ContextOverflow(ChatError):
    """The prompt alone does not fit the model's context window."""


class ChatModel(Protocol):
    """Generates a reply to a list of messages.

    ``json_schema``, when given, constrains the reply to one JSON document of that schema
    (grammar-constrained locally, ``response_format`` remotely)."""

    name: str
    remote: bool
    """True when the messages leave this process (an endpoint): PII is then masked before
    sending, by default. A backend that does not declare it is treated as remote."""

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult: ...

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Text deltas as they are generated."""
        ...

    def ready(self) -> bool:
        """True when the model is loaded or the endpoint answers."""
        ...


def count_message_tokens(messages: Sequence[ChatMessage]) -> int:
    """Prompt tokens as the OpenAI chat format counts them (≈4 tokens of framing per message)."""
    return sum(count_tokens(m["content"]) + 4 for m in messages) + 2


def count_usage(messages: Sequence[ChatMessage], text: str) -> Usage:
    """Usage of one exchange counted with tiktoken, the same way for every backend (and for streams)."""
    return Usage(prompt_tokens=count_message_tokens(messages), completion_tokens=count_tokens(text))



def strip_fences(text: str) -> str:
    """A reply without the Markdown code fence models like to wrap JSON in (```json ... ```)."""
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else text
        text = text.rsplit("```", 1)[0]
    return text.strip()


class WholeReplyModel:
    """Base of in-process models that compute a whole reply at once (the extractive baseline,
    the scripted test double): ``complete`` adds usage and latency to ``reply``, ``stream``
    hands its words out one at a time. Subclasses set ``name`` and implement ``reply``."""

    name: str
    remote = False

    def reply(self, messages: Sequence[ChatMessage], json_schema: dict[str, Any] | None, max_tokens: int) -> str:
        raise NotImplementedError  # pragma: no cover - abstract

    def ready(self) -> bool:
        return True

    def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float,
                 json_schema: dict[str, Any] | None = None) -> ChatResult:
        start = time.perf_counter()
        text = self.reply(messages, json_schema, max_tokens)
        return ChatResult(text=text, usage=count_usage(messages, text), model=self.name,
                          latency_ms=(time.perf_counter() - start) * 1000, finish_reason="stop")

    def stream(self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float) -> Iterator[str]:
        words = self.reply(messages, None, max_tokens).split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "


class LlamaCppChatModel:
    """A GGUF model in-process. Loaded on first use (~2 s for the 1.1 GB default)."""

    remote = False

    def __init__(
        self,
        model_path: Path,
        *,
        name: str,
        context_tokens: int = 8192,
        threads: int | None = None,
        seed: int = 7,
    ) -> None:
        self._path = Path(model_path)
        self.name = name
        self._n_ctx = context_tokens
        self._threads = threads
        self._seed = seed
        self._llm: Any = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None

    def _model(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelUnavailable(
                    "llama-cpp-python is not installed: install the 'local' extra"
                ) from exc
            if not self._path.is_file():
                raise ModelUnavailable(f"model file not found: {self._path}")
            start = time.perf_counter()
            self._llm = Llama(
                model_path=str(self._path),
                n_ctx=self._n_ctx,
                n_threads=self._threads,
                seed=self._seed,
                verbose=False,
            )
            self.load_seconds = time.perf_counter() - start
        return self._llm

    def ready(self) -> bool:
        return self._llm is not None or self._path.is_file()

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        kwargs: dict[str, Any] = {}
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        start = time.perf_counter()
        with self._lock, _context_errors():
            out = self._model().create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=temperature,
                seed=self._seed, **kwargs,
            )
        choice = out["choices"][0]
        text = choice["message"]["content"] or ""
        return ChatResult(
            text=text, usage=count_usage(messages, text), model=self.name,
            latency_ms=(time.perf_counter() - start) * 1000, finish_reason=choice.get("finish_reason"),
        )

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        with self._lock, _context_errors():
            # llama.cpp clamps max_tokens to what is left of the context; only a prompt that
            # does not fit at all raises (on the first next(), hence inside the context manager).
            chunks = self._model().create_chat_completion(
                messages=list(messages), max_tokens=max_tokens, temperature=temperature,
                seed=self._seed, stream=True,
            )
            for chunk in chunks:
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta


@contextmanager
def _context_errors() -> Iterator[None]:
    try:
        yield
    except ValueError as exc:
        if "exceed context window" in str(exc):
            raise ContextOverflow(str(exc)) from exc
        raise


class OpenAIChatModel:
    """Any OpenAI-compatible chat endpoint.

    Timeouts and retries are the SDK's: connection errors, 408/409/429 and 5xx are retried
    ``max_retries`` times with exponential backoff and jitter. What still fails is mapped to
    :class:`ModelUnavailable` (worth retrying later) or :class:`ModelRejected` (not).

    Structured output: ``json_schema`` response formats by default (OpenAI, vLLM). Servers
    that reject them (llama.cpp's server answers HTTP 500) get ``{"type": "json_object",
    "schema": ...}`` instead, once detected, for the rest of the process."""

    remote = True

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout_s: float = 120.0,
        max_retries: int = 3,
        json_mode: Literal["json_schema", "json_object"] = "json_schema",
        seed: int | None = 7,
    ) -> None:
        from openai import OpenAI

        self._client = OpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=max_retries
        )
        self._model = model
        self.json_mode = json_mode
        self._seed = seed
        self.name = f"openai:{model}"

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.json_mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": False}}

    def ready(self) -> bool:
        try:
            self._client.models.list(timeout=5)
        except Exception:
            return False
        return True

    def _create(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Any:
        from openai import APIConnectionError, APIStatusError, APITimeoutError

        try:
            return self._client.chat.completions.create(
                model=self._model, messages=list(messages), seed=self._seed, **kwargs,  # type: ignore[arg-type]
            )
        except (APIConnectionError, APITimeoutError) as exc:
            raise ModelUnavailable(f"chat endpoint unavailable: {exc}") from exc
        except APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise ModelUnavailable(f"chat endpoint failed with HTTP {exc.status_code} after retries") from exc
            raise ModelRejected(f"chat endpoint rejected the request (HTTP {exc.status_code}): {exc.message}",
                                exc.status_code) from exc

    def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_schema: dict[str, Any] | None = None,
    ) -> ChatResult:
        start = time.perf_counter()
        kwargs: dict[str, Any] = {"max_tokens": max_tokens, "temperature": temperature}
        if json_schema is None:
            out = self._create(messages, **kwargs)
        else:
            try:
                out = self._create(messages, response_format=self._response_format(json_schema), **kwargs)
            except (ModelRejected, ModelUnavailable) as exc:
                status = getattr(exc.__cause__, "status_code", None)
                if self.json_mode != "json_schema" or status not in (400, 422, 500):
                    raise
                self.json_mode = "json_object"  # this server does not take json_schema: use its json_object
                out = self._create(messages, response_format=self._response_format(json_schema), **kwargs)
        text = out.choices[0].message.content or ""
        return ChatResult(
            text=text, usage=count_usage(messages, text), model=self.name,
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=out.choices[0].finish_reason,
        )

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        from openai import APIConnectionError, APITimeoutError

        chunks = self._create(messages, max_tokens=max_tokens, temperature=temperature, stream=True)
        try:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except (APIConnectionError, APITimeoutError) as exc:
            raise ModelUnavailable(f"chat endpoint stream broke off: {exc}") from exc


def _llama_cpp(settings: ChatSettings, cache_dir: Path) -> ChatModel:
    from prompts.local_model import MODEL_NAME, assemble_packaged_model

    path = settings.model_path or assemble_packaged_model(cache_dir)
    name = settings.model if settings.model_path else MODEL_NAME
    return LlamaCppChatModel(path, name=name, context_tokens=settings.context_tokens, threads=settings.threads,
                             seed=settings.seed)


def _openai(settings: ChatSettings, cache_dir: Path) -> ChatModel:
    return OpenAIChatModel(model=settings.model, base_url=settings.base_url, api_key=secret(settings.api_key),
                           timeout_s=settings.timeout_s, max_retries=settings.max_retries,
                           json_mode=settings.json_mode, seed=settings.seed)


def _extractive(settings: ChatSettings, cache_dir: Path) -> ChatModel:
    from prompts.extractive import ExtractiveChatModel  # it reads prompts with this module's types

    return ExtractiveChatModel()


ChatFactory = Callable[[ChatSettings, Path], ChatModel]
"""Builds a backend from the ``chat`` settings and a folder it may keep files in (the model cache)."""
CHAT_MODELS: dict[str, ChatFactory] = {
    "llama-cpp": _llama_cpp,
    "openai": _openai,
    "extractive": _extractive,
}
