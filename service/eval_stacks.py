"""The service's :class:`eval.stack.Stacks`: eval stacks are containers built from settings.

``sidekick eval`` (mounted by ``service/cli.py``) and the prompt builder's evaluate pass
this to the eval suite, which never imports the service."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from prompts.chat import ChatModel
from service.container import Container, build_chat
from service.settings import DatabaseSettings, Settings, VectorSettings


def scratch_settings(settings: Settings, name: str) -> Settings:
    """Settings for an isolated collection keyed by the set and everything that shapes its index."""
    shape = json.dumps([settings.embedding.model_dump(mode="json"), settings.ingest.model_dump(mode="json")],
                       sort_keys=True, default=str)
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-")[:40] or "set"
    folder = settings.data_dir / "eval" / "scratch" / f"{slug}-{hashlib.sha256(shape.encode()).hexdigest()[:8]}"
    return settings.model_copy(update={"data_dir": folder, "vector": VectorSettings(backend="edge"),
                                       "database": DatabaseSettings()})


class ContainerStacks:
    """Eval stacks from the service's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def chat_backend(self) -> str:
        return self.settings.chat.backend

    def scratch(self, name: str) -> tuple[Container, Path]:
        settings = scratch_settings(self.settings, name)
        # the chat model comes from the service's settings: its model cache, not a second copy
        return Container(settings, chat=build_chat(self.settings)), settings.data_dir

    def service(self) -> Container:
        return Container(self.settings)

    def judge(self) -> ChatModel:
        local = self.settings.chat.model_copy(update={"backend": "llama-cpp"})
        return build_chat(self.settings.model_copy(update={"chat": local}))


def stacks_for(data_dir: Path | None, backend: str | None) -> ContainerStacks:
    """Settings from ``SIDEKICK_*`` with the eval CLI's ``--data-dir`` and ``--backend``."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if backend is not None:
        overrides["chat"] = {"backend": backend}
    return ContainerStacks(Settings(**overrides))
