"""What an eval run needs from the product, as small protocols its caller implements.

The eval suite drives actions exactly as the routes do, so it needs an assembled stack
(stores, models, the action runner). It does not build one: settings and the container
belong to the service, the composition root, which imports ``eval`` and never the other
way round. ``sidekick eval`` and the prompt builder pass the service's implementation
(``service.eval_stacks.ContainerStacks``); tests pass a container they built."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from actions.runner import ActionRunner
from ingest.pipeline import Ingestor
from prompts.chat import ChatModel
from retrieval.embedder import Embedder
from retrieval.store import VectorStore


class Stack(Protocol):
    """One assembled set of stores and models (the service's ``Container`` is one)."""

    @property
    def runner(self) -> ActionRunner:
        """Runs actions as the HTTP routes do (audit, review queue)."""
        ...

    @property
    def ingestor(self) -> Ingestor:
        """Ingests a golden set's corpus and documents into this stack's stores."""
        ...

    @property
    def store(self) -> VectorStore: ...

    @property
    def embedder(self) -> Embedder: ...

    @property
    def chat(self) -> ChatModel: ...

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The SQL store (prompt versions are copied through it)."""
        ...

    def close(self) -> None: ...


class Stacks(Protocol):
    """Builds the stacks of a run from the caller's configuration."""

    @property
    def data_dir(self) -> Path:
        """Where runs are saved (``<data_dir>/eval/runs``)."""
        ...

    @property
    def chat_backend(self) -> str:
        """The configured chat backend's name; ``llama-cpp`` and ``openai`` are LLMs that can judge."""
        ...

    def scratch(self, name: str) -> tuple[Stack, Path]:
        """An isolated stack for the golden set ``name``, kept between runs, and its folder.

        Its chat model is the configured one; its index depends on the embedding and chunking
        settings, so changing them gives another folder."""
        ...

    def service(self) -> Stack:
        """The service's own stores, as configured."""
        ...

    def judge(self) -> ChatModel:
        """The configured local LLM, to judge a model under test that is not an LLM."""
        ...


StacksFor = Callable[[Path | None, str | None], Stacks]
"""``(data_dir, chat backend)`` overrides -> the stacks of a run (the CLI's options)."""
