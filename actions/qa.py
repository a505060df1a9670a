"""``qa``: answer a question from product docs, policies and records, citing evidence inline.

The model writes free text (so it streams) with ``[E1]`` labels after its sentences; the
labels are mapped to chunk ids and checked. When the evidence does not answer the question
the answer is exactly :data:`NOT_FOUND` and ``answerable`` is false; when nothing at all is
retrieved the model is not called."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from actions.base import (
    ActionContext,
    ActionInput,
    OptionalRecord,
    Outcome,
    no_evidence_verdict,
    record_label,
    render_evidence,
)
from actions.streaming import TextAction, TextPlan
from guardrails.grounding import Claim, verify_citations
from guardrails.verdicts import Decision, ReasonCode, Verdict
from prompts.chat import ChatResult
from retrieval.filters import SearchScope
from retrieval.models import Citation, RecordRef, SearchHit
from retrieval.search import pack_context

NOT_FOUND = "Not found in the sources."
_LABELS = re.compile(r"\[((?:E\d+)(?:\s*[,;]\s*E\d+)*)\]", re.I)
_NOT_FOUND_RE = re.compile(r"^\W*not found in the (sources|evidence)\b", re.I)


class QATurn(BaseModel):
    role: Literal["user", "agent"]
    text: str = Field(max_length=4000)


class QAInput(ActionInput):
    question: str = Field(min_length=2, max_length=1000, description="The question, in plain language")
    record: OptionalRecord = Field(default=None, description="Optional record in focus: account:ID, opportunity:ID")
    history: list[QATurn] = Field(default_factory=list, max_length=20,
                                  description="Earlier turns of the conversation, oldest first")


class QASource(BaseModel):
    label: str
    chunk_id: str


class QAOutput(BaseModel):
    answer: str = Field(description=f"The answer with inline [E1] citations, or exactly {NOT_FOUND!r}")
    answerable: bool
    sources: list[QASource] = Field(description="What each inline label stands for")


class QAAction(TextAction[QAInput, QAOutput]):
    """Grounded Q&A over everything the caller may see, with inline citations."""

    name = "qa"
    description = "Answer a question from product docs and records, with citations; says when the sources don't."
    purpose = "sales_insights"
    prompt_name = "qa"
    input_model = QAInput
    output_model = QAOutput
    top_k = 8
    record_top_k = 6
    max_sentences = 4

    def plan(self, inp: QAInput, ctx: ActionContext) -> TextPlan:
        prompt = self.prompt(ctx)
        # A follow-up ("and on Growth?") is searched together with the question before it.
        previous = next((t.text for t in reversed(inp.history) if t.role == "user"), "")
        query = f"{inp.question} {previous[:300]}".strip()
        hits: dict[str, SearchHit] = {}
        if inp.record:
            record = RecordRef.parse(inp.record)
            for hit in self.retrieve(ctx, query, SearchScope(record=record), self.record_top_k).hits:
                hits[hit.id] = hit
        for hit in self.retrieve(ctx, query, SearchScope(), self.top_k).hits:
            hits.setdefault(hit.id, hit)
        packed = pack_context(list(hits.values()), ctx.env.context_tokens)
        plan = TextPlan(prompt=prompt, packed=packed, retrieved=list(hits),
                        max_tokens=prompt.template.params.max_tokens)
        if not packed.hits:
            plan.early = Outcome(QAOutput(answer=NOT_FOUND, answerable=False, sources=[]), [],
                                 [no_evidence_verdict("this question")], None, plan.prompt_ref, plan.retrieved)
            return plan
        history = "\n".join(f"{t.role}: {t.text}" for t in inp.history[-6:])
        focus = RecordRef.parse(inp.record) if inp.record else None
        plan.messages = prompt.template.render({
            "evidence": render_evidence(packed), "question": inp.question, "record_label": record_label(ctx, focus),
            "history": history, "max_sentences": self.max_sentences,
        })
        return plan

    def finish(self, inp: QAInput, ctx: ActionContext, plan: TextPlan, chat: ChatResult) -> Outcome[QAOutput]:
        assert plan.packed is not None
        text = chat.text.strip()
        labels = plan.packed.by_label()
        cited_any = any(label in labels for _, cited in _claims(text) for label in cited)
        if not text or _NOT_FOUND_RE.search(text) or (NOT_FOUND[:-1].lower() in text.lower() and not cited_any):
            return Outcome(QAOutput(answer=NOT_FOUND, answerable=False, sources=[]), [], [], chat,
                           plan.prompt_ref, plan.retrieved)
        claims = [Claim(sentence, tuple(cited)) for sentence, cited in _claims(text)]
        named = tuple(label for label, hit in labels.items() if hit.chunk.document_id in text)
        if named and all(not c.evidence for c in claims):  # small models cite "file:docs/x.md" instead of [E1]
            claims = [Claim(c.text, named) for c in claims]
        if claims and all(not c.evidence for c in claims):
            verdicts = [Verdict(guard="citations", decision=Decision.FLAG, reason=ReasonCode.UNCITED_CLAIM,
                                message="the answer cites no evidence")]
            claims = []
        else:
            verdicts = []
        found, _scores = verify_citations([c for c in claims if c.evidence],
                                          {label: hit.chunk.text for label, hit in labels.items()},
                                          min_support=ctx.env.min_support)
        verdicts.extend(found)
        sources: list[QASource] = []
        citations: dict[str, Citation] = {}
        for label in dict.fromkeys(label for c in claims for label in c.evidence):
            if label in labels:
                sources.append(QASource(label=label, chunk_id=labels[label].id))
                citations.setdefault(labels[label].id, labels[label].citation())
        output = QAOutput(answer=text, answerable=True, sources=sources)
        return Outcome(output, list(citations.values()), verdicts, chat, plan.prompt_ref, plan.retrieved)


def _claims(text: str) -> list[tuple[str, list[str]]]:
    """Sentences with the labels they cite; a label block closing a sentence belongs to it."""
    out: list[tuple[str, list[str]]] = []
    for sentence in re.split(r"(?<=[.!?\]])\s+(?=[A-Z0-9\"(])", text):
        cited = [label.strip().upper() for block in _LABELS.findall(sentence) for label in re.split(r"[,;]", block)]
        plain = _LABELS.sub("", sentence).strip()
        if plain:
            out.append((plain, cited))
        elif cited and out:  # a label block on its own belongs to the sentence before
            out[-1][1].extend(cited)
    return out
