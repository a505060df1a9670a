"""``compliance_check``: a draft message (or a call transcript) against the tenant's policy.

Two layers. Deterministic rules (:mod:`guardrails.policy`), read from the policy documents
the caller can see, check what wording can settle: forbidden claims, required disclosures,
discount bands against the approvals recorded on the record, consent, other customers named.
The model then adds judgment for clauses the rules cannot check. It may not overrule a rule:
a model "violation" of a clause the rules settled as passing becomes ``needs_review``; a
span it quotes that is not in the draft becomes ``needs_review`` without a span."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from actions.base import (
    Action,
    ActionContext,
    ActionInput,
    OptionalRecord,
    Outcome,
    PromptRef,
    contact_name,
    other_customers,
    record_label,
    render_evidence,
)
from guardrails.policy import (
    Clause,
    DraftFacts,
    Finding,
    approved_discounts,
    check_draft,
    document_rules,
    parse_clauses,
    quiet_period_facts,
)
from guardrails.verdicts import Decision, ReasonCode, Verdict
from retrieval.filters import SearchScope
from retrieval.models import Citation, DocType, RecordRef, SearchHit
from retrieval.search import pack_context

FACTS_QUERY = "discount approved approval quiet period procurement contact"


class ComplianceInput(ActionInput):
    draft: str | None = Field(default=None, min_length=1, max_length=20_000, description="The message to check")
    record: OptionalRecord = Field(default=None, description="The record the draft is for (account:ID, opportunity:ID, "
                               "...), or document:ID of a call transcript to check instead of a draft")
    recipient_contact_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    channel: Literal["email", "call_script", "transcript"] = "email"

    @model_validator(mode="after")
    def _something_to_check(self) -> ComplianceInput:
        if self.draft is None and not (self.record and self.record.startswith("document:")):
            raise ValueError("give a draft, or a document:ID record whose transcript is checked")
        return self


class ClauseVerdict(BaseModel):
    clause: str = Field(description="Clause id in the policy, e.g. '3.2'")
    verdict: Literal["pass", "violation", "needs_review"]
    span: str | None = Field(default=None, description="Offending text, verbatim from the draft")
    start: int | None = Field(default=None, description="Offset of the span in the checked text")
    message: str = ""
    source: Literal["rule", "model"]
    policy_chunk_id: str | None = None
    policy_document_id: str | None = None


class ComplianceOutput(BaseModel):
    compliant: bool
    checked: Literal["draft", "transcript"]
    text: str = Field(description="The text that was checked (the transcript, when a document was given)")
    verdicts: list[ClauseVerdict]


class _ModelFinding(BaseModel):
    clause: str
    verdict: Literal["violation", "needs_review"]
    span: str | None = None
    evidence: str | None = None
    reason: str = ""


class ComplianceDraft(BaseModel):
    """What the model returns: findings beyond the rules'."""

    findings: list[_ModelFinding] = Field(default_factory=list, max_length=8)


class ComplianceCheckAction(Action[ComplianceInput, ComplianceOutput]):
    """Policy verdicts per clause, with spans from the draft and the clause they cite."""

    name = "compliance_check"
    description = "Check a draft message or call transcript against the tenant's policy and contract documents."
    purpose = "sales_insights"
    prompt_name = "compliance_check"
    input_model = ComplianceInput
    output_model = ComplianceOutput

    def execute(self, inp: ComplianceInput, ctx: ActionContext) -> Outcome[ComplianceOutput]:
        prompt = self.prompt(ctx)
        prompt_ref = PromptRef.of(prompt)
        ref = RecordRef.parse(inp.record) if inp.record else None
        if inp.draft is not None:
            text, channel = inp.draft, inp.channel
        else:
            text, channel = self._transcript(ctx, ref), "transcript"
        query = text[:1500]
        policy = self.retrieve(ctx, query, SearchScope(doc_types=(DocType.POLICY,)), 40, diversify=False,
                               label="policy").hits
        contracts = self.retrieve(ctx, query, SearchScope(record=ref, doc_types=(DocType.CONTRACT,)), 6,
                                  label="contract").hits if ref else []
        facts = self._facts(ctx, ref, inp, channel)
        rule_sets = document_rules((h.id, h.chunk.document_id, h.chunk.text) for h in policy)
        findings = [f for rules in rule_sets for f in check_draft(text, rules, facts)]
        authoritative = {c for rules in rule_sets for c in rules.authoritative(facts)}
        covered = sorted({c for rules in rule_sets for c in rules.covered}, key=_clause_order)
        verdicts = [_from_finding(f) for f in findings]
        packed = pack_context(policy + contracts, ctx.env.context_tokens)
        chat = None
        if packed.hits:
            draft_text = text.replace("</draft", "</ draft")
            values = {"evidence": render_evidence(packed), "covered": ", ".join(covered) or "none",
                      "rule_findings": "\n".join(f"- {v.clause} {v.verdict}: {v.span!r}" for v in verdicts),
                      "context": record_label(ctx, ref),
                      "channel": channel, "draft": draft_text}
            reply, chat = self.generate(ctx, prompt, values, ComplianceDraft)
            assert isinstance(reply, ComplianceDraft)
            clauses = _all_clauses(policy + contracts)
            labels = packed.by_label()
            for finding in reply.findings:
                judged = _judge(finding, text, clauses, labels, verdicts, authoritative)
                if judged is not None:
                    verdicts.append(judged)
        flagged = {v.clause for v in verdicts}
        by_id = {c.id: c for rules in rule_sets for c in rules.clauses.values()}
        verdicts += [ClauseVerdict(clause=c, verdict="pass", source="rule", policy_chunk_id=by_id[c].chunk_id,
                                   policy_document_id=by_id[c].document_id) for c in covered if c not in flagged]
        output = ComplianceOutput(compliant=not any(v.verdict == "violation" for v in verdicts),
                                  checked="draft" if inp.draft is not None else "transcript", text=text,
                                  verdicts=verdicts)
        return Outcome(output, _citations(verdicts, policy + contracts), _flags(verdicts), chat, prompt_ref,
                       list(dict.fromkeys(h.id for h in ctx.evidence)))

    def _transcript(self, ctx: ActionContext, ref: RecordRef | None) -> str:
        """The checked document's text, re-assembled from its chunks (their overlaps removed)."""
        assert ref is not None
        hits = self.retrieve(ctx, "call transcript", SearchScope(record=ref), 80, diversify=False,
                             label="transcript").hits
        text = ""
        for hit in sorted(hits, key=lambda h: h.chunk.chunk_index):
            part = hit.chunk.text
            overlap = next((n for n in range(min(len(text), len(part)), 0, -1) if text.endswith(part[:n])), 0)
            text += ("" if overlap or not text else "\n") + part[overlap:]
        if not text.strip():
            raise TranscriptNotFound(str(ref))
        return text

    def _facts(self, ctx: ActionContext, ref: RecordRef | None, inp: ComplianceInput, channel: str) -> DraftFacts:
        facts = DraftFacts(channel=channel)
        own: set[str] = set()
        if ref is not None:
            hits = self.retrieve(ctx, FACTS_QUERY, SearchScope(record=ref), 14, diversify=False,
                                 label="facts").hits
            facts.approved_discounts = approved_discounts(h.chunk.text for h in hits)
            own = {h.chunk.account_id for h in hits if h.chunk.account_id}
            if ref.kind == "account":
                own.add(ref.id)
            recipient = contact_name(ctx, inp.recipient_contact_id) if inp.recipient_contact_id else None
            facts.quiet_period, facts.recipient_designated = quiet_period_facts((h.chunk.text for h in hits),
                                                                                recipient)
        facts.other_customers = other_customers(ctx, own)
        if inp.recipient_contact_id and channel == "email":
            contact = SearchScope(record=RecordRef(kind="contact", id=inp.recipient_contact_id))
            if self.retrieve(ctx, "contact", contact, 1, purpose="sales_outreach", label="consent").hits:
                facts.recipient_may_receive_outreach = True
            elif self.retrieve(ctx, "contact", contact, 1, label="consent").hits:
                facts.recipient_may_receive_outreach = False  # visible, but not for outreach
        return facts


class TranscriptNotFound(LookupError):
    """The document to check has no text the caller may see."""

    def __init__(self, record: str) -> None:
        super().__init__(f"no text you may see for {record}")
        self.record = record


def _clause_order(clause: str) -> tuple[int, ...]:
    return tuple(int(p) for p in clause.split("."))


def _from_finding(f: Finding) -> ClauseVerdict:
    return ClauseVerdict(clause=f.clause.id, verdict=f.verdict, span=f.span, start=f.start, message=f.message,
                         source="rule", policy_chunk_id=f.clause.chunk_id, policy_document_id=f.clause.document_id)


def _all_clauses(hits: list[SearchHit]) -> dict[str, dict[str, Clause]]:
    by_doc: dict[str, list[tuple[str, str, str]]] = {}
    for h in hits:
        by_doc.setdefault(h.chunk.document_id, []).append((h.id, h.chunk.document_id, h.chunk.text))
    return {doc: parse_clauses(items) for doc, items in by_doc.items()}


def _locate(span: str, text: str) -> tuple[int, int] | None:
    """Where ``span`` is in ``text``: exactly, else ignoring case and runs of white space."""
    if (pos := text.find(span)) >= 0:
        return pos, pos + len(span)
    pattern = r"\s+".join(re.escape(w) for w in span.split())
    match = re.search(pattern, text, re.I) if pattern else None
    return match.span() if match else None


def _judge(found: _ModelFinding, text: str, clauses: dict[str, dict[str, Clause]], labels: dict[str, SearchHit],
           rule_verdicts: list[ClauseVerdict], authoritative: set[str]) -> ClauseVerdict | None:
    """A model finding made safe: its clause must exist, its span must be in the text, rules win."""
    clause_id = found.clause.strip().lstrip("§").split()[0].rstrip(".") if found.clause.strip() else ""
    hit = labels.get((found.evidence or "").strip().strip("[]").upper())
    docs = ([hit.chunk.document_id] if hit else []) + sorted(clauses)
    clause = next((clauses[d][clause_id] for d in docs if clause_id in clauses.get(d, {})), None)
    if clause is None:
        return None
    span, start, verdict = None, None, found.verdict
    if found.span and (where := _locate(found.span.strip(), text)) is not None:
        start, span = where[0], text[where[0]:where[1]]
    else:
        verdict = "needs_review"  # a quote that is not in the draft cannot be trusted
    message = found.reason[:300]
    same_clause = [v for v in rule_verdicts if v.clause == clause.id]
    if any(v.start is not None and start is not None and abs(v.start - start) < max(len(v.span or ""), 1)
           for v in same_clause):
        return None  # the rules already said it
    if clause.id in authoritative and not same_clause and verdict == "violation":
        verdict, message = "needs_review", f"the model flags this but the policy rules find no breach: {message}"
    return ClauseVerdict(clause=clause.id, verdict=verdict, span=span, start=start, message=message, source="model",
                         policy_chunk_id=clause.chunk_id, policy_document_id=clause.document_id)


def _flags(verdicts: list[ClauseVerdict]) -> list[Verdict]:
    return [Verdict(guard="policy", decision=Decision.FLAG, reason=ReasonCode.POLICY_VIOLATION,
                    message=f"{v.verdict} of clause {v.clause}" + (f": {v.span!r}" if v.span else ""),
                    details={"clause": v.clause, "span": v.span, "source": v.source})
            for v in verdicts if v.verdict != "pass"]


def _citations(verdicts: list[ClauseVerdict], hits: list[SearchHit]) -> list[Citation]:
    wanted = {v.policy_chunk_id for v in verdicts if v.verdict != "pass"}
    return [h.citation() for h in hits if h.id in wanted]
