"""Guard thresholds and switches: one small model with safe defaults, overridable per tenant.

Defaults were chosen on the labelled sets in ``eval/datasets`` (see
``eval/benchmarks/bench_guards.py`` for the numbers). Per-tenant overrides are a plain
dict of these fields (``GuardConfig.model_validate({**defaults, **overrides})``), so they
can be stored as JSON later without a schema change."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PiiType = Literal["EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "PERSON"]
ALL_PII_TYPES: tuple[PiiType, ...] = ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "PERSON")


class GuardConfig(BaseModel):
    """What the guards do for one tenant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- output: grounding -------------------------------------------------------------
    min_support: float = Field(default=0.5, ge=0.0, le=1.0)
    """Lexical support (share of a claim's content words found in its evidence) below which
    a claim is flagged ``low_grounding`` unless the semantic check rescues it."""
    semantic_grounding: bool = False
    """Also accept a claim whose embedding is close to its cited text (a paraphrase). Off:
    with the packaged MiniLM it passed as many contradictions as it rescued paraphrases."""
    min_similarity: float = Field(default=0.6, ge=0.0, le=1.0)
    """Cosine similarity between a claim and its best cited sentence window that counts as
    support on its own (with ``semantic_grounding``), when every number of the claim occurs
    in the evidence."""

    # -- input: PII -------------------------------------------------------------------
    pii_mask_external: bool = True
    """Mask PII in every message sent to a chat model outside this process (the invariant);
    a tenant that has a data-processing agreement with its endpoint may turn it off."""
    pii_mask_local: bool = False
    """Also mask for the in-process model (off: the text never leaves the machine)."""
    pii_types: tuple[PiiType, ...] = ALL_PII_TYPES
    pii_person_ner: bool = True
    """Use the packaged spaCy NER for person names besides the tenant's CRM name dictionary."""

    # -- input: injection --------------------------------------------------------------
    injection_threshold: float = Field(default=1.0, gt=0.0)
    """Score at which text counts as an injection attempt (one strong signal scores 1.0)."""
    injection_action: Literal["drop", "quarantine"] = "quarantine"
    """What happens to a suspicious retrieved chunk: ``drop`` removes it from the evidence;
    ``quarantine`` removes it too and hands it back so the review item shows it."""
    block_injected_input: bool = False
    """Block (rather than flag) a request whose own user input looks like an injection."""

    # -- output: tone -----------------------------------------------------------------
    tone_threshold: float = Field(default=1.0, gt=0.0)
    """Score at which a drafted email is flagged ``unprofessional_tone``."""


DEFAULT_GUARD_CONFIG = GuardConfig()
