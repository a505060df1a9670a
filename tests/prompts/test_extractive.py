"""The no-LLM extractive baseline: schema-valid, grounded, and honest about what it cannot know."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from actions.base import render_evidence
from actions.field_fill import FieldFillDraft, FieldSpec, draft_schema
from actions.summary import SummaryDraft
from prompts.chat import CHAT_MODELS, ChatMessage
from prompts.extractive import ExtractiveChatModel
from prompts.settings import ChatSettings
from retrieval.models import Chunk, DocType, SearchHit
from retrieval.search import PackedContext
from service.container import build_chat
from service.settings import Settings

BLOCKS = [
    "Pricing call notes\nDana asked for a 30% discount on the Enterprise tier. We will send the order form by "
    "2026-09-30. Budget is $350k per year.",
    "[00:12] Greg: Samsara is the incumbent and their renewal notice is due 2026-10-31. Acme runs 420 trucks "
    "out of Columbus. What about EU data residency?",
    "Growth costs $59 per vehicle per month on annual billing. Enterprise costs $79 per vehicle per month.",
]


def evidence() -> tuple[str, dict[str, str]]:
    hits = [SearchHit(id=f"c{i}", score=1.0, chunk=Chunk(tenant_id="t", document_id=f"doc:{i}", chunk_index=0,
                                                       text=text, doc_type=DocType.NOTE))
            for i, text in enumerate(BLOCKS)]
    packed = PackedContext(hits=hits, tokens=0)
    return render_evidence(packed), {f"E{i + 1}": text for i, text in enumerate(BLOCKS)}


def messages(request: str, system: str = "Answer from the evidence.") -> list[ChatMessage]:
    rendered, _ = evidence()
    return [{"role": "system", "content": system}, {"role": "user", "content": f"{request}\n\nEvidence:\n{rendered}"}]


def reply(msgs: list[ChatMessage], schema: dict | None = None) -> str:
    return ExtractiveChatModel().complete(msgs, max_tokens=100, temperature=0.0, json_schema=schema).text


def test_summary_bullets_are_quoted_from_the_block_they_cite() -> None:
    _, blocks = evidence()
    text = reply(messages("Summarise account Acme.\nReturn JSON."), SummaryDraft.model_json_schema())
    draft = SummaryDraft.model_validate_json(text)
    bullets = draft.key_facts + draft.open_questions + draft.risks + draft.next_steps
    assert draft.headline and len(bullets) >= 3
    for bullet in bullets:
        assert bullet.evidence and all(bullet.text in blocks[label] for label in bullet.evidence)
    assert all(b.text.endswith("?") for b in draft.open_questions) and draft.open_questions
    assert reply(messages("Summarise account Acme."), SummaryDraft.model_json_schema()) == text  # deterministic


def test_text_answers_follow_the_prompts_cues() -> None:
    system = "Cite like [E2] after every sentence. If the evidence does not answer, reply exactly: Not found here."
    _, blocks = evidence()
    answer = reply(messages("Question: How much does the Growth tier cost per vehicle?", system))
    first, label = re.match(r"(.+?) \[(E\d)\]", answer).groups()  # type: ignore[union-attr]
    assert "$59" in first and first in blocks[label]
    assert reply(messages("Question: What is the battery life of the TempTag sensor?", system)) == "Not found here."
    email = reply(messages("Write a follow-up email.\nContext from the salesperson: order form",
                           "Write exactly this format:\nSubject: <line>\n\n<body>"))
    assert email.startswith("Subject: ") and "\n\n" in email


def test_field_objects_get_typed_values_from_a_sentence_naming_the_field() -> None:
    specs = [FieldSpec(name="budget", type="currency", description="Customer's stated annual budget"),
             FieldSpec(name="fleet_size", type="number", description="Number of trucks in the fleet"),
             FieldSpec(name="renewal_notice", type="date", description="Incumbent renewal notice date"),
             FieldSpec(name="competitor", type="picklist", description="Main competitor",
                       allowed_values=["Samsara", "Motive", "None"]),
             FieldSpec(name="decision_maker", type="text", description="Person who decides")]
    listing = "\n".join(f"- {s.name} ({s.type}): {s.description}" for s in specs)
    text = reply(messages(f"Fill these fields:\n{listing}"), draft_schema(specs))
    fields = FieldFillDraft.model_validate_json(text).root
    _, blocks = evidence()
    assert fields["budget"].value == 350000
    assert fields["renewal_notice"].value == "2026-10-31"
    assert fields["competitor"].value == "Samsara"
    assert fields["decision_maker"].value is None and fields["decision_maker"].confidence == 0.0
    assert fields["fleet_size"].value is None  # no sentence says "fleet" or "size": not guessed from "420 trucks"
    budget = fields["budget"]
    assert budget.quote and budget.evidence and budget.quote in blocks[budget.evidence]


class Item(BaseModel):
    kind: Literal["fact"] = "fact"
    text: str
    sources: list[str] = Field(max_length=2)


class Answer(BaseModel):
    answer: str | None
    answerable: bool
    not_found: bool
    confidence: float = Field(ge=0, le=1)
    rank: int = Field(ge=1)
    tone: Literal["formal", "friendly"]
    points: list[Item] = Field(min_length=1, max_length=2)
    violations: list[Item] = Field(default_factory=list)
    note: str | None = None


def test_any_schema_is_filled_validly_and_unknowns_stay_empty() -> None:
    schema = Answer.model_json_schema()
    known = Answer.model_validate_json(reply(messages("Question: When is the Samsara renewal notice due?"), schema))
    assert known.answerable and not known.not_found and known.answer and "2026-10-31" in known.answer
    assert known.violations == [] and known.note is None and 1 <= len(known.points) <= 2
    unknown = Answer.model_validate_json(reply(messages("Question: What is the TempTag battery life?"), schema))
    assert unknown.answer is None and unknown.not_found and not unknown.answerable


def test_no_evidence_gives_empty_but_valid_output() -> None:
    msgs: list[ChatMessage] = [{"role": "user", "content": "Summarise it.\n\nEvidence:\n(no evidence found)"}]
    draft = SummaryDraft.model_validate_json(reply(msgs, SummaryDraft.model_json_schema()))
    assert draft.key_facts == [] and draft.risks == []
    assert json.loads(reply(msgs, Answer.model_json_schema()))["answerable"] is False


def test_selectable_as_the_extractive_chat_backend(tmp_path: Path) -> None:
    assert CHAT_MODELS["extractive"](ChatSettings(backend="extractive"), tmp_path).name == "extractive"
    chat = build_chat(Settings(data_dir=tmp_path, chat={"backend": "extractive"}))  # type: ignore[arg-type]
    assert isinstance(chat, ExtractiveChatModel) and chat.ready()
    assert "".join(chat.stream(messages("Question: What does Growth cost?"), max_tokens=50, temperature=0.0))


def test_backend_names_come_from_the_registry_and_scripted_is_not_one_in_production() -> None:
    """A fresh interpreter (no test registered ``scripted``): production settings offer the
    registered backends only, and an unknown name is a readable settings error."""
    import subprocess
    import sys

    probe = ("from prompts.chat import CHAT_MODELS; from service.settings import Settings\n"
             "print(sorted(CHAT_MODELS))\n"
             "try:\n    Settings(chat={'backend': 'scripted'})\nexcept ValueError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.splitlines()[0] == "['extractive', 'llama-cpp', 'openai']"
    assert "unknown chat backend 'scripted'; registered: extractive, llama-cpp, openai" in out
