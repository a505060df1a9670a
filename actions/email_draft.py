"""``email_draft``: a follow-up email (subject and body) to a contact after a call or meeting.

Reads data for the ``sales_outreach`` purpose, so a contact who withdrew outreach consent
(or never gave it) yields no evidence: the action then refuses, without calling the model.
It also refuses, with the policy flag, to write to anyone but the designated procurement
contact of an account whose records say a procurement quiet period is in effect.
The draft streams. Afterwards the tenant's policy rules check it (forbidden claims, missing
disclosures, unapproved discounts, other customers named) and every figure and date in it
is looked up in the evidence; findings become review flags, the draft is kept for editing."""

from __future__ import annotations

import calendar
import re
from typing import Literal

from pydantic import BaseModel, Field

from actions.base import (
    ActionContext,
    ActionInput,
    OptionalRecord,
    Outcome,
    contact_name,
    other_customers,
    record_label,
    render_evidence,
)
from actions.streaming import TextAction, TextPlan
from guardrails.policy import (
    DraftFacts,
    approved_discounts,
    check_draft,
    document_rules,
    quiet_period_contacts,
    quiet_period_facts,
)
from guardrails.verdicts import Decision, ReasonCode, Verdict
from prompts.chat import ChatResult
from prompts.store import PublishedPrompt
from retrieval.filters import SearchScope
from retrieval.models import DocType, RecordRef, SearchHit
from retrieval.search import pack_context
from retrieval.text import content_words

TONES = {
    "friendly": "warm and personal, first names, short sentences; still professional.",
    "formal": "polite and businesslike, full sentences, no slang or exclamation marks.",
    "concise": "plain and brief: the point first, no pleasantries beyond one line.",
}
LENGTHS = {  # words the body should have, and the token limit that enforces it
    "short": ("about 60-100 words, 1-2 short paragraphs", 220),
    "medium": ("about 120-180 words, 2-3 paragraphs", 380),
    "long": ("about 200-300 words, 3-4 paragraphs", 600),
}
DEFAULT_QUERY = "follow-up next steps agreed dates pricing questions decisions meeting call"
POLICY_QUERY = "sales policy claims disclosures discounts pricing communication rules"
QUIET_PERIOD_QUERY = "quiet period RFP procurement single point of contact"
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9 _/&'-]{1,40}\]")
_FIGURE = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?[kKmM]?|\b\d[\d,]*(?:\.\d+)?\s?%|\b\d{2,}(?:[,.]\d+)*\b")
_MONTHS = [m.lower() for m in calendar.month_name[1:]]
_DATE = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b")


class EmailDraftInput(ActionInput):
    contact_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="CRM id of the recipient, e.g. C-104")
    record: OptionalRecord = Field(default=None, description="The deal, account or call followed up on "
                               "(opportunity:ID, account:ID, document:ID)")
    tone: Literal["friendly", "formal", "concise"] = "friendly"
    length: Literal["short", "medium", "long"] = "medium"
    context: str = Field(default="", max_length=500, description="What the email is about, e.g. 'after the demo'")


class EmailDraftOutput(BaseModel):
    contact: str
    subject: str
    body: str
    placeholders: list[str] = Field(description="Facts the evidence did not give, left for the sender to fill")
    refused: bool = False
    refusal_reason: str | None = None


class EmailDraftAction(TextAction[EmailDraftInput, EmailDraftOutput]):
    """Follow-up email from evidence the contact allows us to use for outreach."""

    name = "email_draft"
    description = "Draft a follow-up email to a contact after a call or meeting, from the evidence only."
    purpose = "sales_outreach"
    prompt_name = "email_draft"
    input_model = EmailDraftInput
    output_model = EmailDraftOutput
    contact_top_k = 6
    record_top_k = 10

    def audit_record(self, inp: EmailDraftInput) -> str | None:
        return inp.record or f"contact:{inp.contact_id}"

    def plan(self, inp: EmailDraftInput, ctx: ActionContext) -> TextPlan:
        prompt = self.prompt(ctx)
        contact = RecordRef(kind="contact", id=inp.contact_id)
        query = inp.context or DEFAULT_QUERY
        about_contact = self.retrieve(ctx, query, SearchScope(record=contact), self.contact_top_k).hits
        if not about_contact:
            plan = TextPlan(prompt=prompt, packed=None, retrieved=[])
            reason = (f"no evidence about {contact} may be used for sales outreach: the contact has not consented "
                      "to outreach, or you may not see their records")
            output = EmailDraftOutput(contact=str(contact), subject="", body="", placeholders=[], refused=True,
                                      refusal_reason=reason)
            flag = Verdict(guard="retrieval", decision=Decision.FLAG, reason=ReasonCode.NO_EVIDENCE, message=reason)
            plan.early = Outcome(output, [], [flag], None, plan.prompt_ref, [])
            return plan
        if refusal := self._quiet_period_refusal(inp, ctx, prompt, about_contact):
            return refusal
        hits: dict[str, SearchHit] = {hit.id: hit for hit in about_contact}
        if inp.record:
            for hit in self.retrieve(ctx, query, SearchScope(record=RecordRef.parse(inp.record)),
                                     self.record_top_k).hits:
                hits.setdefault(hit.id, hit)
        ranked = sorted(hits.values(), key=lambda h: h.score, reverse=True)
        packed = pack_context(ranked, ctx.env.context_tokens, chronological=True)
        policy = self.retrieve(ctx, POLICY_QUERY, SearchScope(doc_types=(DocType.POLICY,)), 30, diversify=False,
                               label="policy").hits
        words, limit = LENGTHS[inp.length]
        plan = TextPlan(prompt=prompt, packed=packed, retrieved=list(hits),
                        max_tokens=min(limit, prompt.template.params.max_tokens),
                        state={"policy": policy, "hits": list(hits.values())})
        plan.messages = prompt.template.render({
            "recipient": record_label(ctx, contact),
            "record_label": record_label(ctx, RecordRef.parse(inp.record) if inp.record else None),
            "context": inp.context, "tone": inp.tone, "tone_guide": TONES[inp.tone], "length_guide": words,
            "evidence": render_evidence(packed),
        })
        return plan

    def _quiet_period_refusal(self, inp: EmailDraftInput, ctx: ActionContext, prompt: PublishedPrompt,
                              about_contact: list[SearchHit]) -> TextPlan | None:
        """Refuse, before the model runs, to write to anyone but the designated procurement
        contact of an account whose records say a procurement quiet period is in effect."""
        accounts = dict.fromkeys(h.chunk.account_id for h in about_contact if h.chunk.account_id)
        recipient = contact_name(ctx, inp.contact_id)
        for account in accounts:
            hits = self.retrieve(ctx, QUIET_PERIOD_QUERY, SearchScope(record=RecordRef(kind="account", id=account)),
                                 8, diversify=False, label="quiet_period").hits
            quiet, designated = quiet_period_facts((h.chunk.text for h in hits), recipient)
            if not quiet or designated is not False:
                continue
            named = quiet_period_contacts(h.chunk.text for h in hits)
            reason = (f"account {account} is in a procurement quiet period: write only to the designated "
                      f"procurement contact{' (' + ', '.join(named) + ')' if named else ''}, "
                      f"not to {recipient or inp.contact_id}")
            evidence = [h for h in hits if "quiet period" in h.chunk.text.lower()]
            plan = TextPlan(prompt=prompt, packed=None, retrieved=[h.id for h in evidence])
            output = EmailDraftOutput(contact=f"contact:{inp.contact_id}", subject="", body="", placeholders=[],
                                      refused=True, refusal_reason=reason)
            flag = Verdict(guard="policy", decision=Decision.FLAG, reason=ReasonCode.POLICY_VIOLATION,
                           message=reason, details={"rule": "quiet_period", "account": account})
            plan.early = Outcome(output, [h.citation() for h in evidence], [flag], None, plan.prompt_ref,
                                 plan.retrieved)
            return plan
        return None

    def finish(self, inp: EmailDraftInput, ctx: ActionContext, plan: TextPlan,
               chat: ChatResult) -> Outcome[EmailDraftOutput]:
        assert plan.packed is not None
        subject, body = split_email(chat.text)
        evidence = [hit.chunk.text for hit in plan.packed.hits]
        verdicts = policy_verdicts(f"{subject}\n\n{body}", ctx, plan.state["policy"], plan.state["hits"], inp)
        unsupported = unsupported_figures(f"{subject}\n{body}", evidence)
        if unsupported:
            verdicts.append(Verdict(
                guard="grounding", decision=Decision.FLAG, reason=ReasonCode.LOW_GROUNDING,
                message=f"figures or dates not found in the evidence: {', '.join(unsupported[:8])}",
                details={"unsupported": unsupported}))
        verdicts.extend(ctx.guards.check_email(body, timings=ctx.timings_ms))  # tone
        body_words = content_words(body)
        used = [hit for hit in plan.packed.hits if len(body_words & content_words(hit.chunk.text)) >= 4]
        output = EmailDraftOutput(contact=f"contact:{inp.contact_id}", subject=subject, body=body,
                                  placeholders=list(dict.fromkeys(_PLACEHOLDER.findall(f"{subject}\n{body}"))))
        return Outcome(output, [hit.citation() for hit in used], verdicts, chat, plan.prompt_ref, plan.retrieved)


def split_email(text: str) -> tuple[str, str]:
    """'Subject: ...' on the first line, the body after it; tolerant of markdown and missing subjects."""
    text = text.strip().strip("`").strip()
    match = re.match(r"^\**\s*subject\s*:?\**\s*:?\s*(.+?)\s*(?:\n|$)", text, re.I)
    if match:
        return match.group(1).strip("* "), text[match.end():].strip()
    return "[SUBJECT]", text


def unsupported_figures(text: str, evidence: list[str]) -> list[str]:
    """Amounts, percentages, numbers and month-day dates in ``text`` that no evidence block contains."""
    haystack = " ".join(evidence).replace(",", "").lower()
    missing = []
    for match in _FIGURE.finditer(text):
        figure = match.group().replace(",", "").replace(" ", "").lower().lstrip("$").rstrip("%kKmM")
        if not re.search(rf"(?<![\d.]){re.escape(figure)}(?!\d)", haystack):
            missing.append(match.group())
    for match in _DATE.finditer(text):
        month, day = _MONTHS.index(match.group(1).lower()) + 1, int(match.group(2))
        forms = (f"-{month:02d}-{day:02d}", f"{month}/{day}", f"{match.group(1)[:3].lower()} {day}",
                 f"{match.group(1).lower()} {day}")
        if not any(form in haystack for form in forms):
            missing.append(match.group())
    return list(dict.fromkeys(missing))


def policy_verdicts(draft: str, ctx: ActionContext, policy: list[SearchHit], record_hits: list[SearchHit],
                    inp: EmailDraftInput) -> list[Verdict]:
    """The tenant's policy rules applied to a finished draft, as review flags."""
    rule_sets = document_rules((h.id, h.chunk.document_id, h.chunk.text) for h in policy)
    own = {h.chunk.account_id for h in record_hits if h.chunk.account_id}
    facts = DraftFacts(approved_discounts=approved_discounts(h.chunk.text for h in record_hits),
                       other_customers=other_customers(ctx, own), recipient_may_receive_outreach=True)
    return [
        Verdict(guard="policy", decision=Decision.FLAG, reason=ReasonCode.POLICY_VIOLATION,
                message=f"policy {f.clause.id}: {f.message}" + (f" ({f.span!r})" if f.span else ""),
                details={"clause": f.clause.id, "span": f.span, "chunk_id": f.clause.chunk_id, "rule": f.rule})
        for rules in rule_sets for f in check_draft(draft, rules, facts)
    ]
