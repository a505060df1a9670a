"""What every guard returns: a verdict with a reason code, and the flags an answer carries."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Decision(StrEnum):
    ALLOW = "allow"
    REDACT = "redact"
    FLAG = "flag"
    BLOCK = "block"


class ReasonCode(StrEnum):
    LOW_GROUNDING = "low_grounding"
    UNCITED_CLAIM = "uncited_claim"
    UNKNOWN_CITATION = "unknown_citation"
    NO_EVIDENCE = "no_evidence"
    PII_DETECTED = "pii_detected"
    INJECTION_SUSPECTED = "injection_suspected"
    POLICY_VIOLATION = "policy_violation"
    LOW_CONFIDENCE_FIELD = "low_confidence_field"
    INVALID_OUTPUT = "invalid_output"
    UNPROFESSIONAL_TONE = "unprofessional_tone"


class Verdict(BaseModel):
    guard: str
    decision: Decision
    reason: ReasonCode | None = None
    message: str = ""
    details: dict[str, object] = Field(default_factory=dict)


class ReviewFlag(BaseModel):
    """Why a person should look at an answer before trusting it."""

    code: ReasonCode
    message: str
    guard: str
    severity: str = "warning"  # warning | error


def flags_from(verdicts: list[Verdict]) -> list[ReviewFlag]:
    return [
        ReviewFlag(
            code=v.reason,
            message=v.message,
            guard=v.guard,
            severity="error" if v.decision == Decision.BLOCK else "warning",
        )
        for v in verdicts
        if v.decision in (Decision.FLAG, Decision.BLOCK) and v.reason is not None
    ]
