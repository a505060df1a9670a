"""The field_fill action: typed values, verbatim evidence spans, unknown stays unknown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import ValidationError

from actions.base import ActionContext
from actions.field_fill import FieldFillAction, FieldFillInput, FieldSpec, coerce, draft_schema
from guardrails.verdicts import ReasonCode
from prompts.chat import ChatMessage
from service.container import Container
from tests.actions.test_summary import evidence_blocks
from tests.conftest import MARIA, scripted

FIELDS = [
    {"name": "budget", "type": "currency", "description": "Customer's stated annual budget"},
    {"name": "decision_maker", "type": "text", "description": "Person who owns the buying decision"},
    {"name": "competitor", "type": "picklist", "description": "Main competitor",
     "allowed_values": ["Samsara", "Motive", "Geotab", "None"]},
    {"name": "fleet_size", "type": "number", "description": "Number of vehicles in scope"},
    {"name": "needs_sso", "type": "boolean", "description": "Customer requires single sign-on"},
    {"name": "annual_fuel_spend", "type": "currency", "description": "Customer's annual fuel spend"},
    {"name": "incumbent", "type": "picklist", "description": "Incumbent", "allowed_values": ["Samsara", "None"]},
    {"name": "trucks", "type": "number", "description": "Trucks"},
]


def where(blocks: dict[str, str], needle: str) -> str:
    return next(label for label, text in blocks.items() if needle in text)


def respond(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    blocks = evidence_blocks(messages)
    budget, owner = where(blocks, "$350k"), where(blocks, "Dana owns the decision")
    assert budget != owner  # decision_maker cites the wrong block on purpose
    return json.dumps({
        "budget": {"evidence": budget, "quote": "Budget ~$350k/yr", "value": 350000, "confidence": 0.9},
        "decision_maker": {"evidence": budget, "quote": "dana OWNS   the decision", "value": "Dana Whitfield",
                           "confidence": 0.8},
        "competitor": {"evidence": budget, "quote": "Samsara", "value": "samsara", "confidence": 0.9},
        "fleet_size": {"evidence": budget, "quote": "Acme runs exactly 420 trucks", "value": 420, "confidence": 0.9},
        "needs_sso": {"evidence": budget, "quote": "Samsara", "value": "yes", "confidence": 0.3},
        "annual_fuel_spend": {"evidence": None, "quote": None, "value": None, "confidence": 0.0},
        "incumbent": {"evidence": budget, "quote": "Samsara", "value": "Tesla", "confidence": 0.9},
        "trucks": {"evidence": budget, "quote": "Budget ~$350k/yr", "value": 77, "confidence": 0.9},
    })


def test_values_are_typed_and_backed_by_verbatim_spans(demo_container: Container) -> None:
    chat = scripted(demo_container)
    chat.responder = respond
    ctx = ActionContext(caller=MARIA, env=demo_container.action_env)
    response = FieldFillAction().run(FieldFillInput(record="opportunity:OPP-1001", fields=FIELDS), ctx)  # type: ignore[arg-type]
    got = {f.name: f for f in response.output.fields}
    assert got["budget"].value.model_dump() == {"value": 350000.0, "currency": "USD"}  # type: ignore[union-attr]
    assert got["budget"].status == "filled" and got["budget"].evidence is not None
    assert got["budget"].evidence.chunk_id in {c.chunk_id for c in response.citations}
    assert got["decision_maker"].value == "Dana Whitfield"  # quote matched up to case and spaces...
    assert got["decision_maker"].note.startswith("citation corrected")  # ...in the block that holds it
    assert got["decision_maker"].evidence.chunk_id != got["budget"].evidence.chunk_id  # type: ignore[union-attr]
    assert got["competitor"].value == "Samsara"  # picklist value in its canonical spelling
    assert got["fleet_size"].value is None and got["fleet_size"].status == "unknown"  # invented quote: dropped
    assert got["needs_sso"].value is True and got["needs_sso"].confidence == 0.3
    assert got["annual_fuel_spend"].value is None and got["annual_fuel_spend"].note.startswith("not stated")
    assert got["incumbent"].value is None  # not an allowed value
    assert got["trucks"].value == 77 and got["trucks"].confidence <= 0.4  # the quote has no 77
    flagged = {f.message.split(":")[0] for f in response.review_flags}
    assert all(f.code == ReasonCode.LOW_CONFIDENCE_FIELD for f in response.review_flags)
    assert flagged == {"fleet_size", "needs_sso", "incumbent", "trucks"}
    schema = chat.calls[-1]["json_schema"]
    assert schema == draft_schema([FieldSpec.model_validate(f) for f in FIELDS])
    assert schema["properties"]["competitor"]["properties"]["value"]["enum"] == ["Samsara", "Motive", "Geotab",
                                                                                  "None", None]


def test_field_schema_is_validated() -> None:
    with pytest.raises(ValidationError):
        FieldFillInput(record="opportunity:OPP-1001", fields=[{"name": "x", "type": "picklist"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        FieldFillInput(record="opportunity:OPP-1001",
                       fields=[{"name": "x", "type": "text"}, {"name": "x", "type": "number"}])  # type: ignore[list-item]


def test_coercion_by_type() -> None:
    spec = lambda t, **kw: FieldSpec(name="f", type=t, **kw)  # noqa: E731
    assert coerce(spec("number"), "1,850") == 1850
    assert coerce(spec("number"), True) is None
    assert coerce(spec("currency"), "$140k").model_dump() == {"value": 140000.0, "currency": "USD"}  # type: ignore[union-attr]
    assert coerce(spec("date"), "2026-10-23") == "2026-10-23"
    assert coerce(spec("date"), "next Tuesday") is None
    assert coerce(spec("boolean"), "No") is False
    assert coerce(spec("picklist", allowed_values=["annual", "monthly"]), "Monthly") == "monthly"
