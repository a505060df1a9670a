"""The chat model's settings section (nested as ``chat`` in the service's ``Settings``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr

from retrieval.settings import Section


class ChatSettings(Section):
    backend: str = "llama-cpp"
    """A name in :data:`prompts.chat.CHAT_MODELS`: ``llama-cpp`` (in-process GGUF), ``openai``
    (any OpenAI-compatible endpoint) or ``extractive`` (the no-LLM baseline)."""
    model_path: Path | None = None
    """A GGUF file; the packaged Qwen2.5-Coder-1.5B-Instruct if unset."""
    model: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    base_url: str | None = None
    api_key: SecretStr | None = None
    json_mode: Literal["json_schema", "json_object"] = "json_schema"
    """How structured output is requested from an OpenAI-compatible endpoint. llama.cpp's
    server only supports ``json_object`` with a schema; OpenAI and vLLM take ``json_schema``."""
    context_tokens: int = 8192
    threads: int | None = None
    max_tokens: int = 512
    temperature: float = 0.2
    timeout_s: float = 120.0
    max_retries: int = 3
    seed: int = 7

