"""ragas 0.4 metrics with our own chat model and embedder as the judge, in-process, offline.

ragas 0.4's metric collections (``ragas.metrics.collections``) talk to an LLM through
``InstructorBaseRagasLLM.agenerate(prompt, ResponseModel)`` and to embeddings through
``BaseRagasEmbedding``. :class:`ChatModelJudge` implements the first on any
:class:`prompts.chat.ChatModel`: with the in-process llama.cpp model the reply is
grammar-constrained to the response model's JSON schema, so no server (and no
``instructor`` client) is needed. :class:`EmbedderForRagas` implements the second on our
:class:`retrieval.embedder.Embedder` (the packaged MiniLM by default).

Without a judge, only ragas's non-LLM metrics run: ``NonLLMContextPrecisionWithReference``
and ``NonLLMContextRecall`` (string similarity of retrieved contexts to reference contexts).

Composition roots should set ``RAGAS_DO_NOT_TRACK=true`` before the first metric runs:
ragas's legacy metric classes queue usage analytics otherwise."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ragas.embeddings.base import BaseRagasEmbedding
from ragas.llms.base import InstructorBaseRagasLLM

from prompts.chat import ChatModel, Usage, strip_fences
from retrieval.embedder import Embedder

T = TypeVar("T", bound=BaseModel)


class JudgeFailed(Exception):
    """The judge's reply did not parse as the response model ragas asked for."""


class ChatModelJudge(InstructorBaseRagasLLM):
    """ragas's structured-output LLM on a :class:`ChatModel` (JSON-schema constrained)."""

    def __init__(self, chat: ChatModel, *, max_tokens: int = 768, retries: int = 1) -> None:
        self.chat = chat
        self.max_tokens = max_tokens
        self.retries = retries
        self.usage = Usage()
        self.calls = 0
        self.seconds = 0.0

    def generate(self, prompt: str, response_model: type[T]) -> T:
        schema = response_model.model_json_schema()
        problem = ""
        for _ in range(self.retries + 1):
            start = time.perf_counter()
            result = self.chat.complete([{"role": "user", "content": prompt}], max_tokens=self.max_tokens,
                                        temperature=0.0, json_schema=schema)
            self.seconds += time.perf_counter() - start
            self.calls += 1
            self.usage = self.usage + result.usage
            try:
                return response_model.model_validate_json(strip_fences(result.text))
            except ValidationError as exc:
                problem = str(exc)[:200]
        raise JudgeFailed(f"{response_model.__name__}: {problem}")

    async def agenerate(self, prompt: str, response_model: type[T]) -> T:
        # Blocking on purpose: the local model runs one request at a time anyway.
        return self.generate(prompt, response_model)


class EmbedderForRagas(BaseRagasEmbedding):
    """ragas's embedding interface on our :class:`Embedder`."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__(cache=None)
        self.embedder = embedder

    def embed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embedder.embed_query(text)

    async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
        return self.embed_text(text)

    def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
        return self.embed_texts(texts)


@dataclass
class RagasSample:
    """What ragas needs about one case; metrics whose inputs are missing are skipped."""

    user_input: str
    response: str | None
    contexts: list[str]
    reference: str | None = None
    reference_contexts: list[str] = field(default_factory=list)


@dataclass
class RagasScores:
    values: dict[str, float | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class RagasScorer:
    """Scores samples with the ragas metrics that their inputs and the judge allow.

    ``judge_contexts`` caps the contexts sent to the LLM judge (context precision makes one
    call per context; a 1.5B local model takes seconds per call)."""

    def __init__(self, judge: ChatModel | None = None, embedder: Embedder | None = None, *,
                 judge_contexts: int = 5, strictness: int = 1, judge_max_tokens: int = 768) -> None:
        from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

        self.non_llm_precision = NonLLMContextPrecisionWithReference()
        self.non_llm_recall = NonLLMContextRecall()
        self.judge = ChatModelJudge(judge, max_tokens=judge_max_tokens) if judge is not None else None
        self.judge_contexts = judge_contexts
        self.llm_metrics: dict[str, Any] = {}
        if self.judge is not None:
            from ragas.metrics.collections import (
                AnswerRelevancy,
                ContextPrecisionWithReference,
                ContextRecall,
                Faithfulness,
            )

            self.llm_metrics = {
                "faithfulness": Faithfulness(llm=self.judge),
                "context_precision": ContextPrecisionWithReference(llm=self.judge),
                "context_recall": ContextRecall(llm=self.judge),
            }
            if embedder is not None:
                self.llm_metrics["answer_relevancy"] = AnswerRelevancy(
                    llm=self.judge, embeddings=EmbedderForRagas(embedder), strictness=strictness)

    @property
    def judged(self) -> bool:
        return self.judge is not None

    def score(self, sample: RagasSample) -> RagasScores:
        start = time.perf_counter()
        out = RagasScores()
        for name, make in self._jobs(sample).items():
            try:
                value: float | None = asyncio.run(make())
            except Exception as exc:  # one metric failing must not lose the others
                out.errors[name] = f"{type(exc).__name__}: {exc}"[:300]
                out.values[name] = None
                continue
            out.values[name] = None if value is None or math.isnan(value) else round(float(value), 4)
        out.seconds = time.perf_counter() - start
        return out

    def _jobs(self, s: RagasSample) -> dict[str, Callable[[], Coroutine[Any, Any, float]]]:
        from ragas.dataset_schema import SingleTurnSample

        jobs: dict[str, Callable[[], Coroutine[Any, Any, float]]] = {}
        if s.contexts and s.reference_contexts:
            sample = SingleTurnSample(retrieved_contexts=s.contexts, reference_contexts=s.reference_contexts)
            jobs["context_precision_nonllm"] = lambda: self.non_llm_precision.single_turn_ascore(sample)
            jobs["context_recall_nonllm"] = lambda: self.non_llm_recall.single_turn_ascore(sample)
        m = self.llm_metrics
        contexts = s.contexts[: self.judge_contexts]

        async def value(coro: Awaitable[Any]) -> float:
            return float((await coro).value)

        if "faithfulness" in m and s.response and contexts:
            jobs["faithfulness"] = lambda: value(m["faithfulness"].ascore(
                user_input=s.user_input, response=s.response, retrieved_contexts=contexts))
        if "answer_relevancy" in m and s.response:
            jobs["answer_relevancy"] = lambda: value(m["answer_relevancy"].ascore(
                user_input=s.user_input, response=s.response))
        if "context_precision" in m and s.reference and contexts:
            jobs["context_precision"] = lambda: value(m["context_precision"].ascore(
                user_input=s.user_input, reference=s.reference, retrieved_contexts=contexts))
        if "context_recall" in m and s.reference and contexts:
            jobs["context_recall"] = lambda: value(m["context_recall"].ascore(
                user_input=s.user_input, retrieved_contexts=contexts, reference=s.reference))
        return jobs
