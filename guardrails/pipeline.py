"""The guards an action runs, in one object built per tenant from its ``GuardConfig``.

Input side: ``check_input`` (injection in what the user typed), ``screen_evidence``
(injection in retrieved chunks: suspicious chunks leave the evidence), and
``mask_for_external`` (PII masked before messages leave the process). Output side:
``check_email`` (tone) and ``verify`` (citations). Every method returns the verdicts worth
recording: findings only, never a pile of ``allow`` verdicts.

Each method takes an optional ``timings`` dict (an ``ActionContext.timings_ms``) and adds
``guard_<name>`` milliseconds to it, so the audit record shows what each guard cost."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from guardrails.config import DEFAULT_GUARD_CONFIG, GuardConfig
from guardrails.grounding import Claim, verify_citations
from guardrails.injection import InjectionDetector
from guardrails.pii import PiiDetector, Vault
from guardrails.tone import ToneChecker
from guardrails.verdicts import Decision, ReasonCode, Verdict
from prompts.chat import ChatMessage, ChatModel
from retrieval.models import SearchHit


class InputBlocked(Exception):
    """The tenant blocks requests whose input looks like an injection attempt (422)."""

    def __init__(self, verdicts: Sequence[Verdict]) -> None:
        super().__init__("; ".join(v.message for v in verdicts) or "input blocked by a guard")
        self.verdicts = list(verdicts)


def is_external(chat: ChatModel) -> bool:
    """Does text sent to this model leave the process? Its declared ``remote``; a backend
    that does not declare it is treated as remote, so a new one cannot send PII unmasked."""
    return bool(getattr(chat, "remote", True))


class _Timer:
    def __init__(self, timings: dict[str, float] | None, name: str) -> None:
        self._timings, self._name = timings, name

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        if self._timings is not None:
            key = f"guard_{self._name}"
            self._timings[key] = self._timings.get(key, 0.0) + (time.perf_counter() - self._start) * 1000


class GuardPipeline:
    """Guards for one tenant. ``names`` are the tenant's people (CRM contacts and users) for
    PII masking; ``embedder`` enables semantic citation support when the config asks for it."""

    def __init__(self, config: GuardConfig = DEFAULT_GUARD_CONFIG, *, names: Iterable[str] = (),
                 embedder: Any = None) -> None:
        self.config = config
        self.pii = PiiDetector(names, use_ner=config.pii_person_ner, types=config.pii_types)
        self.injection = InjectionDetector(config.injection_threshold)
        self.tone = ToneChecker(config.tone_threshold)
        self._embedder = embedder

    # -- input ---------------------------------------------------------------------------
    def check_input(self, text: str, *, timings: dict[str, float] | None = None) -> list[Verdict]:
        """Injection in the user's own input: ``flag`` (or ``block`` if the tenant says so).
        A ``block`` verdict means the caller raises :class:`InputBlocked`."""
        with _Timer(timings, "injection_input"):
            verdict = self.injection.verdict(text, where="request", block=self.config.block_injected_input)
        return [] if verdict.decision == Decision.ALLOW else [verdict]

    def screen_evidence(
        self, hits: Sequence[SearchHit], *, timings: dict[str, float] | None = None
    ) -> tuple[list[SearchHit], list[SearchHit], list[Verdict]]:
        """Split retrieved hits into (kept, quarantined, verdicts).

        Suspicious chunks never reach the prompt. With ``injection_action="quarantine"`` they
        are returned so the review item can show them; with ``"drop"`` they are discarded and
        only their ids are recorded. Either way one ``injection_suspected`` flag is raised."""
        kept: list[SearchHit] = []
        suspicious: list[tuple[SearchHit, list[str], float]] = []
        with _Timer(timings, "injection_evidence"):
            for hit in hits:
                result = self.injection.scan(f"{hit.chunk.title}\n{hit.chunk.text}")
                if result.suspected:
                    suspicious.append((hit, result.categories, result.score))
                else:
                    kept.append(hit)
        if not suspicious:
            return kept, [], []
        mode = self.config.injection_action
        chunks = [
            {"chunk_id": hit.id, "document_id": hit.chunk.document_id, "categories": categories, "score": score,
             **({"excerpt": hit.chunk.text[:300]} if mode == "quarantine" else {})}
            for hit, categories, score in suspicious
        ]
        verdict = Verdict(
            guard="injection",
            decision=Decision.FLAG,
            reason=ReasonCode.INJECTION_SUSPECTED,
            message=f"{len(suspicious)} retrieved chunk(s) looked like prompt injection and were "
                    f"{'quarantined' if mode == 'quarantine' else 'dropped'}: "
                    f"{', '.join(sorted({h.chunk.document_id for h, _, _ in suspicious}))}",
            details={"action": mode, "chunks": chunks},
        )
        quarantined = [hit for hit, _, _ in suspicious] if mode == "quarantine" else []
        return kept, quarantined, [verdict]

    def should_mask(self, chat: ChatModel) -> bool:
        return self.config.pii_mask_local or (self.config.pii_mask_external and is_external(chat))

    def mask_for_external(
        self, messages: Sequence[ChatMessage], *, timings: dict[str, float] | None = None
    ) -> tuple[list[ChatMessage], Vault]:
        """Every message with PII replaced by placeholders, and the vault to restore them.
        One vault for all messages, so a value has one placeholder across the request."""
        vault = Vault()
        masked: list[ChatMessage] = []
        with _Timer(timings, "pii_mask"):
            for message in messages:
                text, _ = self.pii.mask(message["content"], vault)
                masked.append({"role": message["role"], "content": text})
        return masked, vault

    # -- output --------------------------------------------------------------------------
    def check_email(self, text: str, *, timings: dict[str, float] | None = None) -> list[Verdict]:
        """Tone of a drafted email: an ``unprofessional_tone`` flag or nothing."""
        with _Timer(timings, "tone"):
            verdict = self.tone.verdict(text)
        return [] if verdict.decision == Decision.ALLOW else [verdict]

    def verify(self, claims: Sequence[Claim], evidence: Mapping[str, str], *,
               timings: dict[str, float] | None = None) -> tuple[list[Verdict], list[float]]:
        """``verify_citations`` with this tenant's thresholds."""
        embedder = self._embedder if self.config.semantic_grounding else None
        with _Timer(timings, "citations"):
            return verify_citations(claims, evidence, min_support=self.config.min_support,
                                    embedder=embedder, min_similarity=self.config.min_similarity)
