"""``field_fill``: propose values for CRM fields, each backed by a verbatim quote from the evidence.

The field schema comes with the request (name, type, description, allowed values). The
model is constrained to a JSON schema built from it (one object per field: evidence id,
quote, value, confidence). Every proposal is then checked without the model:

- the quote must occur verbatim (up to case and white space) in the chunk it cites, or the
  value is dropped to unknown and flagged ``low_confidence_field`` (a quote that is verbatim
  in another evidence block is re-cited to that block instead);
- the value must parse as its type (number, currency, ISO date, boolean, one of the allowed
  picklist values), or it is dropped to unknown and flagged;
- a number the quote does not contain, or a confidence under 0.5, keeps the value but flags it.

Unknown stays unknown (null): nothing is guessed."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from actions.base import Action, ActionContext, ActionInput, Outcome, record_label, render_evidence
from guardrails.verdicts import Decision, ReasonCode, Verdict
from retrieval.models import Citation, RecordRef, SearchHit

FieldType = Literal["text", "number", "currency", "date", "picklist", "boolean"]
MIN_CONFIDENCE = 0.5


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    type: FieldType
    description: str = Field(default="", max_length=300)
    allowed_values: list[str] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _picklist(self) -> FieldSpec:
        if self.type == "picklist" and not self.allowed_values:
            raise ValueError(f"picklist field {self.name!r} needs allowed_values")
        return self


class FieldFillInput(ActionInput):
    record: str = Field(description="Record whose fields are filled: account:ID, opportunity:ID, contact:ID")
    fields: list[FieldSpec] = Field(min_length=1, max_length=25)

    @field_validator("record")
    @classmethod
    def _record(cls, value: str) -> str:
        RecordRef.parse(value)
        return value

    @field_validator("fields")
    @classmethod
    def _unique(cls, value: list[FieldSpec]) -> list[FieldSpec]:
        names = [f.name for f in value]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        return value


class Currency(BaseModel):
    value: float
    currency: str = "USD"


class EvidenceSpan(BaseModel):
    chunk_id: str
    quote: str = Field(description="Verbatim text of the chunk that states the value")


class FieldValue(BaseModel):
    name: str
    type: FieldType
    value: Currency | bool | int | float | str | None
    status: Literal["filled", "unknown"]
    confidence: float
    evidence: EvidenceSpan | None = None
    note: str = ""


class FieldFillOutput(BaseModel):
    record: str
    fields: list[FieldValue]


class _DraftField(BaseModel):
    evidence: str | None = None
    quote: str | None = None
    value: Any = None
    confidence: float = 0.5


class FieldFillDraft(RootModel[dict[str, _DraftField]]):
    """What the model returns: one object per requested field."""


class FieldFillAction(Action[FieldFillInput, FieldFillOutput]):
    """CRM field values proposed from a record's evidence, each with its source span."""

    name = "field_fill"
    description = "Propose CRM field values from a record's evidence, each with a confidence and a verbatim source."
    purpose = "sales_insights"
    prompt_name = "field_fill"
    input_model = FieldFillInput
    output_model = FieldFillOutput
    top_k = 16

    def execute(self, inp: FieldFillInput, ctx: ActionContext) -> Outcome[FieldFillOutput]:
        query = " ".join(f"{f.name.replace('_', ' ')} {f.description}" for f in inp.fields)[:1000]
        ev = self.record_evidence(ctx, inp.record, query, self.top_k)
        if not ev.packed.hits:
            unknown = [_unknown(f, "no evidence") for f in inp.fields]
            return ev.no_evidence(FieldFillOutput(record=str(ev.record), fields=unknown))
        values = {
            "record_label": record_label(ctx, ev.record),
            "fields": "\n".join(_describe(f) for f in inp.fields),
            "evidence": render_evidence(ev.packed),
        }
        draft, chat = self.generate(ctx, ev.prompt, values, FieldFillDraft, json_schema=draft_schema(inp.fields))
        assert isinstance(draft, FieldFillDraft)
        labels = ev.packed.by_label()
        fields: list[FieldValue] = []
        verdicts: list[Verdict] = []
        cited: dict[str, Citation] = {}
        for spec in inp.fields:
            value, verdict = check_field(spec, draft.root.get(spec.name), labels)
            fields.append(value)
            if verdict is not None:
                verdicts.append(verdict)
            if value.evidence is not None:
                hit = next(h for h in labels.values() if h.id == value.evidence.chunk_id)
                cited.setdefault(hit.id, hit.citation())
        output = FieldFillOutput(record=str(ev.record), fields=fields)
        return ev.outcome(output, list(cited.values()), verdicts, chat)


def _describe(spec: FieldSpec) -> str:
    allowed = f"; allowed values: {', '.join(spec.allowed_values)}" if spec.allowed_values else ""
    return f"- {spec.name} ({spec.type}): {spec.description}{allowed}"


def draft_schema(fields: list[FieldSpec]) -> dict[str, Any]:
    """The JSON schema the model must follow: per field, evidence id, quote, typed value, confidence."""
    value_types: dict[str, dict[str, Any]] = {
        "number": {"type": ["number", "null"]}, "currency": {"type": ["number", "null"]},
        "boolean": {"type": ["boolean", "null"]}, "date": {"type": ["string", "null"]},
        "text": {"type": ["string", "null"]},
    }
    props = {}
    for spec in fields:
        value = {"enum": [*(spec.allowed_values or []), None]} if spec.type == "picklist" else value_types[spec.type]
        props[spec.name] = {
            "type": "object",
            "properties": {"evidence": {"type": ["string", "null"]}, "quote": {"type": ["string", "null"]},
                           "value": value, "confidence": {"type": "number"}},
            "required": ["evidence", "quote", "value", "confidence"],
        }
    return {"type": "object", "properties": props, "required": [f.name for f in fields]}


def _unknown(spec: FieldSpec, note: str) -> FieldValue:
    return FieldValue(name=spec.name, type=spec.type, value=None, status="unknown", confidence=0.0, note=note)


def _flag(spec: FieldSpec, message: str) -> Verdict:
    return Verdict(guard="field_fill", decision=Decision.FLAG, reason=ReasonCode.LOW_CONFIDENCE_FIELD,
                   message=f"{spec.name}: {message}", details={"field": spec.name})


def _norm(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(text.lower().split())


def check_field(spec: FieldSpec, draft: _DraftField | None, labels: dict[str, SearchHit]
                ) -> tuple[FieldValue, Verdict | None]:
    """Validate one proposal against its type and its evidence span; unknown unless both hold."""
    if draft is None or draft.value is None or draft.value == "":
        return _unknown(spec, "not stated in the evidence"), None
    label = (draft.evidence or "").strip().strip("[]").upper()
    hit = labels.get(label)
    quote = (draft.quote or "").strip()
    note = ""
    if hit is None or not quote or _norm(quote) not in _norm(hit.chunk.text):
        # Small models copy the right words but cite the wrong block: a quote found verbatim in
        # another block is re-cited to it (the first such block), so the span stays verifiable.
        holders = [(lab, h) for lab, h in labels.items() if len(quote) >= 10 and _norm(quote) in _norm(h.chunk.text)]
        if not holders:
            why = "cites no retrieved evidence" if hit is None else "its quote is not in the cited evidence"
            return _unknown(spec, f"dropped: {why}"), _flag(spec, f"proposed {draft.value!r} but {why}")
        note = f"citation corrected from {label or 'none'} to {holders[0][0]}"
        hit = holders[0][1]
    value = coerce(spec, draft.value)
    if value is None:
        return (_unknown(spec, f"dropped: {draft.value!r} is not a valid {spec.type}"),
                _flag(spec, f"{draft.value!r} is not a valid {spec.type}"))
    confidence = min(max(float(draft.confidence), 0.0), 1.0)
    problem = None
    if spec.type in ("number", "currency") and not _number_in(value, quote):
        confidence, problem = min(confidence, 0.4), f"the quote does not contain the number {draft.value!r}"
    elif confidence < MIN_CONFIDENCE:
        problem = f"low confidence ({confidence:.2f})"
    field = FieldValue(name=spec.name, type=spec.type, value=value, status="filled", confidence=round(confidence, 3),
                       evidence=EvidenceSpan(chunk_id=hit.id, quote=quote),
                       note="; ".join(n for n in (note, problem) if n))
    return field, (_flag(spec, problem) if problem else None)


def coerce(spec: FieldSpec, raw: Any) -> Currency | bool | int | float | str | None:
    """``raw`` as the field's type, or None when it is not one."""
    if spec.type in ("number", "currency"):
        number = _number(raw)
        if number is None:
            return None
        return Currency(value=number) if spec.type == "currency" else (int(number) if number.is_integer() else number)
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return raw
        return {"true": True, "yes": True, "false": False, "no": False}.get(str(raw).strip().lower())
    if spec.type == "date":
        try:
            return date.fromisoformat(str(raw).strip()[:10]).isoformat()
        except ValueError:
            return None
    if spec.type == "picklist":
        return next((v for v in spec.allowed_values or [] if v.lower() == str(raw).strip().lower()), None)
    text = str(raw).strip()
    return text or None


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    match = re.fullmatch(r"\$?\s*(\d[\d,]*(?:\.\d+)?)\s*([kKmM])?\s*%?", str(raw).strip())
    if not match:
        return None
    scale = {"k": 1e3, "m": 1e6}.get((match.group(2) or "").lower(), 1.0)
    return float(match.group(1).replace(",", "")) * scale


def _number_in(value: Currency | bool | int | float | str, quote: str) -> bool:
    number = value.value if isinstance(value, Currency) else float(value)  # type: ignore[arg-type]
    found = [n for n in (_number(m) for m in re.findall(r"\d[\d,]*(?:\.\d+)?\s*[kKmM]?(?![\d])", quote)) if n]
    return any(abs(n - number) < 1e-6 or abs(n * 1000 - number) < 1e-6 for n in found)
