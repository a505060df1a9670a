"""``summary``: a record's key facts, open questions, risks and next steps, every bullet cited."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from actions.base import Action, ActionContext, ActionInput, Outcome, record_label, render_evidence
from guardrails.grounding import Claim, verify_citations
from retrieval.models import Citation, RecordRef

SECTIONS = ("key_facts", "open_questions", "risks", "next_steps")
MAX_LABELS = 4
DEFAULT_QUERY = "key facts decisions amounts dates pricing discount objections risks next steps open questions"


class SummaryInput(ActionInput):
    record: str = Field(description="Record to summarise: account:ID, opportunity:ID, contact:ID or document:ID")
    focus: str | None = Field(default=None, max_length=500, description="Optional focus, e.g. 'pricing'")
    max_bullets: int = Field(default=4, ge=1, le=8)

    @field_validator("record")
    @classmethod
    def _record(cls, value: str) -> str:
        RecordRef.parse(value)
        return value


class _DraftBullet(BaseModel):
    text: str
    evidence: list[str] = Field(default_factory=list)


class SummaryDraft(BaseModel):
    """What the model is asked to produce (evidence cited by label E1..En)."""

    headline: str
    key_facts: list[_DraftBullet] = Field(default_factory=list)
    open_questions: list[_DraftBullet] = Field(default_factory=list)
    risks: list[_DraftBullet] = Field(default_factory=list)
    next_steps: list[_DraftBullet] = Field(default_factory=list)


class Bullet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    citations: list[str] = Field(description="chunk ids of the evidence this bullet rests on")
    support: float = Field(description="share of the bullet's content words found in its evidence")


class SummaryOutput(BaseModel):
    record: str
    headline: str
    key_facts: list[Bullet]
    open_questions: list[Bullet]
    risks: list[Bullet]
    next_steps: list[Bullet]


class SummaryAction(Action[SummaryInput, SummaryOutput]):
    name = "summary"
    description = "Summarise a record: key facts, open questions, risks and next steps, with citations."
    purpose = "sales_insights"
    prompt_name = "summary"
    input_model = SummaryInput
    output_model = SummaryOutput
    top_k = 14

    def execute(self, inp: SummaryInput, ctx: ActionContext) -> Outcome[SummaryOutput]:
        ev = self.record_evidence(ctx, inp.record, inp.focus or DEFAULT_QUERY, self.top_k)
        if not ev.packed.hits:
            return ev.no_evidence(SummaryOutput(record=str(ev.record), headline="No evidence found for this record.",
                                                key_facts=[], open_questions=[], risks=[], next_steps=[]))

        values = {
            "record_label": record_label(ctx, ev.record),
            "evidence": render_evidence(ev.packed),
            "focus": inp.focus or "",
            "max_bullets": inp.max_bullets,
        }
        draft, chat = self.generate(ctx, ev.prompt, values, SummaryDraft, json_schema=draft_schema(inp.max_bullets))
        assert isinstance(draft, SummaryDraft)

        labels = ev.packed.by_label()
        texts = {label: hit.chunk.text for label, hit in labels.items()}
        sections: dict[str, list[Bullet]] = {}
        verdicts = []
        cited: dict[str, Citation] = {}
        for section in SECTIONS:
            bullets = getattr(draft, section)[: inp.max_bullets]
            claims = [Claim(b.text, tuple(_norm(e) for e in b.evidence)) for b in bullets]
            found, scores = verify_citations(claims, texts, min_support=ctx.env.min_support)
            verdicts.extend(found)
            sections[section] = []
            for claim, score in zip(claims, scores, strict=True):
                ids = []
                for label in claim.evidence:
                    if label in labels:
                        hit = labels[label]
                        ids.append(hit.id)
                        cited.setdefault(hit.id, hit.citation())
                sections[section].append(Bullet(text=claim.text, citations=ids, support=round(score, 3)))
        output = SummaryOutput(record=str(ev.record), headline=draft.headline, **sections)
        return ev.outcome(output, list(cited.values()), verdicts, chat)


def draft_schema(max_bullets: int) -> dict[str, Any]:
    """The draft's JSON schema with its lists bounded: at most ``max_bullets`` per section and
    a few labels per bullet. Under grammar-constrained decoding a small model cannot then list
    bullet after bullet past the prompt's token limit, which would cut the JSON off. (String
    lengths stay unbounded: a ``maxLength`` grammar nests one rule per character.)"""
    schema = SummaryDraft.model_json_schema()
    schema["$defs"]["_DraftBullet"]["properties"]["evidence"]["maxItems"] = MAX_LABELS
    for section in SECTIONS:
        schema["properties"][section]["maxItems"] = max_bullets
    return schema


def _norm(label: str) -> str:
    """Accept 'E3', '[E3]', 'e3' from the model."""
    return label.strip().strip("[]").upper()
