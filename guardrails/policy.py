"""Deterministic sales-policy rules, read from the text of the tenant's policy documents.

No clause number or limit is hard-coded: each rule comes from the clause that states it
(a tenant whose policy says 20% gets 20%). Recognised wordings: quoted phrases in a
"never" / "do not" clause (minus its "approved wording"; a negated phrase does not count);
discount bands ("up to N% without approval", "above N% ... requires approval from ...",
"never exceed N%", no promises "before it has been approved"); required sentences for
price offers; "Whenever X is mentioned, state that ..."; the recording notice; material
that "may be shared only after" a condition; personal channels; competitors named in a
"do not disparage" clause; roadmap dates; other customers and their terms; outreach
consent; the procurement quiet period. Findings carry spans that are exact substrings."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from retrieval.text import content_words

VerdictKind = Literal["pass", "violation", "needs_review"]
_CLAUSE = re.compile(r"^(\d{1,2}\.\d{1,2})\s+(?=\S)", re.M)  # "3.4 The..." starts a clause, "3.4. Example" does not
_QUOTED = re.compile(r"[\"“]([^\"”]{2,200})[\"”]")
_PCT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s?%")
_NEGATION = re.compile(r"\b(not|never|no|cannot|without)\b|n't\b", re.I)
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n")
_PRICE_OFFER = re.compile(
    r"\$\s?\d[\d,]*(?:\.\d+)?\s*(?:k\b)?\s*(?:/|per\s+|a\s+)\s*(?:year|yr|month|mo|vehicle|van|truck|sensor|driver)"
    r"|(?:annual|yearly|monthly)\s+(?:price|contract value|fee)s?\b[^.\n]{0,40}\$\s?\d", re.I)
_DISCOUNT_CUE = re.compile(r"\b(off|discount|less)\b|\bcan\s+(get|give|offer|take|do)\b", re.I)
_SHARE_CUE = re.compile(r"\b(attach(ed|ing)?|enclos(ed|ing)|send(ing)?|sent|here is|here's|shar(e|ing)|access)\b", re.I)
_CONDITION_CUE = re.compile(r"\b(once|after|when|as soon as|until)\b", re.I)
_NEGATIVE = re.compile(r"\b(fail\w*|broken|unreliable|terrible|awful|worse|worst|lost [a-z ]*data|outages?|scam\w*"
                       r"|junk|crash\w*|lie|lies|lying|incompetent)\b", re.I)
_ROADMAP = re.compile(r"\b(?:will|is going to|are going to)\s+(?:be\s+)?(?:released|available|launched|shipped|live"
                      r"|released|ship|launch)\s+(?:in|by|on|for)\s+[^,.;\n]*?(?:Q[1-4]|quarter|20\d\d|January|February"
                      r"|March|April|May|June|July|August|September|October|November|December|release\s+\d)[^,.;\n]*",
                      re.I)
_HOSPITALITY = re.compile(r"\b(coffee|lunch|dinner|drinks?|gifts?|tickets?|golf|hospitality)\b", re.I)
_CHANNEL_TERMS = {
    "email": r"personal\s+(?:e-?mail|gmail|inbox)",
    "phone": r"personal\s+(?:phone|cell|mobile)(?:\s+numbers?)?",
    "text": r"\btext(?:ing)?\s+me\b|\btext\s+messages?\b|\bsms\b",
    "messaging": r"\b(?:whatsapp|signal|telegram|messaging\s+apps?)\b",
}


@dataclass(frozen=True)
class Clause:
    """One numbered clause of a policy or contract document, and the chunk that holds it."""

    id: str
    text: str
    chunk_id: str
    document_id: str


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one clause, with the offending span (an exact substring of the draft)."""

    clause: Clause
    verdict: VerdictKind
    rule: str
    message: str
    span: str | None = None
    start: int | None = None


@dataclass
class DraftFacts:
    """What the draft's context says, found by the caller (retrieval, CRM), not by the rules."""

    channel: str = "email"
    """``email``, ``call_script`` or ``transcript`` (the recording notice applies to the last two)."""
    approved_discounts: set[float] | None = None
    """Discount levels recorded as approved for the record; None when no record was given."""
    other_customers: tuple[str, ...] = ()
    recipient_may_receive_outreach: bool | None = None
    quiet_period: bool = False
    recipient_designated: bool | None = None
    """Whether the recipient is the designated procurement contact (quiet period)."""


@dataclass
class PolicyRules:
    """Rules read from the clauses; ``covered`` lists the clauses they check."""

    clauses: dict[str, Clause]
    forbidden: list[tuple[Clause, re.Pattern[str]]] = field(default_factory=list)
    approved_wording: list[str] = field(default_factory=list)
    required_sentences: list[tuple[Clause, str]] = field(default_factory=list)
    disclosures: list[tuple[Clause, re.Pattern[str], str]] = field(default_factory=list)
    bands: list[tuple[Clause, float, float, str]] = field(default_factory=list)
    """(clause, above, up to, who approves): offering more than ``above`` needs approval."""
    cap: tuple[Clause, float] | None = None
    premature: Clause | None = None
    recording: Clause | None = None
    gated: list[tuple[Clause, re.Pattern[str], str]] = field(default_factory=list)
    channels: tuple[Clause, re.Pattern[str]] | None = None
    competitors: tuple[Clause, re.Pattern[str]] | None = None
    roadmap: Clause | None = None
    other_customer: Clause | None = None
    customer_terms: Clause | None = None
    consent: Clause | None = None
    quiet_period: Clause | None = None

    def authoritative(self, facts: DraftFacts) -> set[str]:
        """Clauses the rules settle given ``facts``: a model may not overrule a pass on them.

        Lexicon-based rules (competitors, channels, roadmap, quiet period) are left open."""
        found = [c for c, *_ in self.forbidden + self.required_sentences + self.disclosures + self.gated]
        if facts.approved_discounts is not None:
            found += [c for c, *_ in self.bands] + [c for c in (self.premature, self.cap and self.cap[0]) if c]
        if self.recording:  # the channel decides: checked on calls, not applicable to emails
            found.append(self.recording)
        if self.consent and facts.recipient_may_receive_outreach is not None:
            found.append(self.consent)
        if facts.other_customers:
            found += [c for c in (self.other_customer, self.customer_terms) if c]
        return {c.id for c in found}

    @property
    def covered(self) -> set[str]:
        found = [c for c, *_ in self.forbidden + self.required_sentences + self.disclosures + self.bands + self.gated]
        found += [c for c in (self.premature, self.recording, self.roadmap, self.other_customer,
                              self.customer_terms, self.consent, self.quiet_period) if c]
        found += [pair[0] for pair in (self.cap, self.channels, self.competitors) if pair]
        return {c.id for c in found}


def parse_clauses(chunks: Iterable[tuple[str, str, str]]) -> dict[str, Clause]:
    """Numbered clauses from (chunk id, document id, text) triples; the longest text of a clause wins.

    Chunks overlap, so a clause can appear in two chunks, once cut short."""
    out: dict[str, Clause] = {}
    for chunk_id, document_id, text in chunks:
        starts = list(_CLAUSE.finditer(text))
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            body = " ".join(text[match.end():end].split())
            if match.group(1) not in out or len(body) > len(out[match.group(1)].text):
                out[match.group(1)] = Clause(match.group(1), body, chunk_id, document_id)
    return out


def document_rules(chunks: Iterable[tuple[str, str, str]]) -> list[PolicyRules]:
    """Rules per policy document, from (chunk id, document id, text); clause numbers repeat across documents.

    Memoised on the chunks: a policy changes rarely, its rules are read once (treat them as read-only)."""
    return _document_rules(tuple(sorted(chunks)))


@lru_cache(maxsize=64)
def _document_rules(chunks: tuple[tuple[str, str, str], ...]) -> list[PolicyRules]:
    by_document: dict[str, list[tuple[str, str, str]]] = {}
    for chunk in chunks:
        by_document.setdefault(chunk[1], []).append(chunk)
    return [derive_rules(parse_clauses(items)) for _, items in sorted(by_document.items())]


def _phrase_pattern(phrase: str, *, example: bool = False) -> re.Pattern[str]:
    """A phrase matched across spaces/hyphens; in an example ("you will save 15%") any number matches."""
    words = [re.escape(w) for w in re.split(r"[\s\-]+", phrase.strip(". "))]
    if example:
        words = [re.sub(r"\d+", r"\\d+(?:\\.\\d+)?", w) for w in words]
    return re.compile(r"\b" + r"[\s\-]+".join(words) + r"(?!\w)", re.I)


def _pcts(text: str) -> list[float]:
    return [float(p) for p in _PCT.findall(text)]


def derive_rules(clauses: dict[str, Clause]) -> PolicyRules:
    """Read the rules the clauses state. Clauses that state no checkable rule are left to judgment."""
    rules = PolicyRules(clauses=clauses)
    for clause in clauses.values():
        text, low = clause.text, clause.text.lower()
        prohibits = bool(re.search(r"\b(never|do not|don't|must not)\b", low))
        quoted = _QUOTED.findall(text)
        if "approved wording" in low:
            cut = low.index("approved wording")
            rules.approved_wording += _QUOTED.findall(text[cut:])
            quoted = _QUOTED.findall(text[:cut])
        if "must include the sentence" in low and quoted:
            rules.required_sentences.append((clause, quoted[0]))
        elif prohibits and quoted:
            examples = {m.group(1) for m in re.finditer(r"\([\"“]([^\"”]+)[\"”]\)", text)}
            rules.forbidden += [(clause, _phrase_pattern(q, example=q in examples)) for q in quoted]
        if "discount" in low:
            pcts = _pcts(text)
            if re.search(r"never exceed|must not exceed", low) and pcts:
                rules.cap = (clause, pcts[0])
            elif "without approval" in low and pcts:
                rules.bands.append((clause, -math.inf, max(pcts), ""))
            elif (m := re.search(r"above (\d+(?:\.\d+)?)%(?: and up to (\d+(?:\.\d+)?)%)?.*?approval from (.+?)[,.]",
                                 text)):
                rules.bands.append((clause, float(m.group(1)), float(m.group(2) or math.inf), m.group(3)))
            elif "before it has been approved" in low or "before approval" in low:
                rules.premature = clause
        if m := re.search(r"whenever (.+?) (?:is|are) mentioned[^,]*, state that (.+?)\.?$", text, re.I):
            triggers = [t.strip() for t in re.split(r",|\bor\b|\band\b", m.group(1)) if t.strip()]
            words = [re.escape(re.sub(r"^the\s+", "", t, flags=re.I)) for t in triggers]
            rules.disclosures.append((clause, re.compile(r"\b(" + "|".join(words) + r")s?\b", re.I), m.group(2)))
        if "recorded call" in low or "being recorded" in low:
            rules.recording = clause
        if m := re.search(r"^(.+?) may be shared only after (.+?)\.?$", text, re.I):
            for item in re.split(r"\band\b", m.group(1)):
                key = re.sub(r"^(the|our|a)\s+|\s+(report|summary|document)s?$", "", item.strip(), flags=re.I)
                key_re = re.escape(key).replace("penetration", "pen(?:etration)?")
                condition = re.findall(r"\b[A-Z]{2,}\b", m.group(2)) or [m.group(2).split()[-1]]
                rules.gated.append((clause, re.compile(r"\b" + key_re, re.I), condition[0]))
        if re.search(r"never use personal", low):
            terms = [p for k, p in _CHANNEL_TERMS.items() if k in low]
            rules.channels = (clause, re.compile("|".join(terms), re.I))
        if "disparage" in low and (m := re.search(r"for example ([^)]+)\)", text)):
            names = [n.strip() for n in re.split(r",|\bor\b", m.group(1)) if n.strip()]
            rules.competitors = (clause, re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b"))
        if "roadmap" in low and prohibits:
            rules.roadmap = clause
        if re.search(r"do not name another customer", low):
            rules.other_customer = clause
        if re.search(r"another customer's (prices|discounts|contract terms)", low):
            rules.customer_terms = clause
        if "sales outreach" in low and "only to contacts" in low:
            rules.consent = clause
        if "quiet period" in low and "communicate" in low:
            rules.quiet_period = clause
    return rules


# -- checking a draft --------------------------------------------------------------------------


def _segments(draft: str, start: int, end: int) -> list[tuple[int, int]]:
    """Comma / semicolon / dash separated parts of draft[start:end], as trimmed offsets."""
    out, pos = [], start
    for m in re.finditer(r",\s|;\s|\s[-–—]\s|:\s", draft[start:end]):
        out.append((pos, start + m.start()))
        pos = start + m.end()
    out.append((pos, end))
    return [_trim(draft, a, b) for a, b in out if draft[a:b].strip()]


def _trim(draft: str, a: int, b: int) -> tuple[int, int]:
    while a < b and draft[a] in " \t\n\"'-*•":
        a += 1
    while b > a and draft[b - 1] in " \t\n.!?,\"'":
        b -= 1
    return a, b


def _sentences(draft: str) -> list[tuple[int, int]]:
    """Sentences (ended by . ! ? before a space, or a line break) as trimmed offsets; "99.9%" stays whole."""
    out, pos = [], 0
    for m in _SENTENCE_END.finditer(draft):
        if draft[pos:m.start()].strip():
            out.append(_trim(draft, pos, m.start()))
        pos = m.end()
    if draft[pos:].strip():
        out.append(_trim(draft, pos, len(draft)))
    return out


def _segment_at(draft: str, pos: int) -> tuple[int, int]:
    for a, b in _sentences(draft):
        if a <= pos < b:
            return next(((s, e) for s, e in _segments(draft, a, b) if s <= pos < e), (a, b))
    return _trim(draft, pos, len(draft))


def _finding(draft: str, clause: Clause, rule: str, message: str, span: tuple[int, int] | None,
             verdict: VerdictKind = "violation") -> Finding:
    if span is None:
        return Finding(clause, verdict, rule, message)
    return Finding(clause, verdict, rule, message, draft[span[0]:span[1]], span[0])


def _negated_before(draft: str, pos: int) -> bool:
    sentence_start = max(draft.rfind(ch, 0, pos) for ch in ".!?\n") + 1
    return bool(_NEGATION.search(" ".join(draft[sentence_start:pos].split()[-4:])))


def check_draft(draft: str, rules: PolicyRules, facts: DraftFacts) -> list[Finding]:
    """Every violation (or needs-review) the rules find in ``draft``."""
    out: list[Finding] = []
    approved = [m.span() for w in rules.approved_wording for m in _phrase_pattern(w).finditer(draft)]
    for clause, pattern in rules.forbidden:
        for m in pattern.finditer(draft):
            inside_approved = any(a <= m.start() < b for a, b in approved)
            if not inside_approved and not _negated_before(draft, m.start()):
                out.append(_finding(draft, clause, "forbidden_phrase", f"uses {m.group()!r}",
                                    _segment_at(draft, m.start())))
                break
    sentences = [(a, b, draft[a:b]) for a, b in _sentences(draft)]
    offers = [(a, b) for a, b, s in sentences if _PRICE_OFFER.search(s)]
    for clause, sentence in rules.required_sentences:
        if offers and " ".join(sentence.lower().split()).rstrip(".") not in " ".join(draft.lower().split()):
            out.append(_finding(draft, clause, "required_sentence", f"a price offer without {sentence!r}", offers[0]))
    for clause, triggers, disclosure in rules.disclosures:
        needed = content_words(disclosure)
        mentions = [m for m in triggers.finditer(draft)]
        if mentions and not any(len(needed & content_words(s)) >= 0.8 * len(needed) for _, _, s in sentences):
            out.append(_finding(draft, clause, "required_disclosure", f"mentions {mentions[0].group()!r} without "
                                f"stating that {disclosure}", _segment_at(draft, mentions[0].start())))
    out += _check_discounts(draft, sentences, rules, facts)
    if rules.recording and facts.channel in ("call_script", "transcript"):
        quoted = re.search(r"[\"“]([^\"”]+)", draft)
        a = quoted.start(1) if quoted and facts.channel == "call_script" else 0
        opening = draft[a:a + 400]
        if not re.search(r"\brecord(ed|ing)?\b", opening, re.I):
            first = next(((s, e) for s, e in _sentences(draft) if s >= a), None)
            out.append(_finding(draft, rules.recording, "recording_notice",
                                "the call opens without telling participants it is recorded", first))
    for clause, item, condition in rules.gated:
        for a, b, s in sentences:
            if item.search(s) and _SHARE_CUE.search(s) and not (condition in s and _CONDITION_CUE.search(s)):
                out.append(_finding(draft, clause, "shared_before_condition",
                                    f"shares {item.pattern!r} material without the {condition} condition", (a, b)))
                break
    pairs = [(rules.channels, "personal_channel"), ((rules.roadmap, _ROADMAP) if rules.roadmap else None, "roadmap")]
    for pair, rule in pairs:
        hit = pair[1].search(draft) if pair else None
        if pair and hit:
            span = hit.span() if rule == "roadmap" else _segment_at(draft, hit.start())
            out.append(_finding(draft, pair[0], rule, f"{hit.group()!r}", span))
    if rules.competitors:
        for a, _b, s in sentences:
            if rules.competitors[1].search(s) and (neg := _NEGATIVE.search(s)):
                out.append(_finding(draft, rules.competitors[0], "disparaging", f"says {neg.group()!r} about a "
                                    "competitor", _segment_at(draft, a + neg.start())))
    out += _check_people(draft, sentences, rules, facts)
    unique: dict[tuple[str, int | None], Finding] = {}
    for finding in out:
        unique.setdefault((finding.clause.id, finding.start), finding)
    return list(unique.values())


def _check_discounts(draft: str, sentences: list[tuple[int, int, str]], rules: PolicyRules,
                     facts: DraftFacts) -> list[Finding]:
    out: list[Finding] = []
    for a, _b, s in sentences:
        pcts = _pcts(s)
        if not pcts or not _DISCOUNT_CUE.search(s) or _NEGATION.search(s) or _names_customer(s, facts):
            continue
        offered = max(pcts)
        span = _segment_at(draft, a + s.index(_PCT.findall(s)[pcts.index(offered)]))
        if rules.cap and offered > rules.cap[1]:
            out.append(_finding(draft, rules.cap[0], "discount_cap", f"{offered:g}% exceeds the cap", span))
            continue
        band = next((x for x in rules.bands if x[1] < offered <= x[2] and x[3]), None)
        if band is None:
            continue
        if facts.approved_discounts is None:
            out.append(_finding(draft, band[0], "discount_approval", f"{offered:g}% needs approval from {band[3]}; "
                                "no record given to check it", span, "needs_review"))
        elif not any(level >= offered for level in facts.approved_discounts):
            out.append(_finding(draft, band[0], "discount_approval",
                                f"{offered:g}% offered without a recorded approval from {band[3]}", span))
            if rules.premature and re.search(r"\b(asked|request(ed)?)\b", s, re.I):
                out.append(_finding(draft, rules.premature, "discount_approval",
                                    "promises a requested discount before it is approved", span))
    return out


def _names_customer(sentence: str, facts: DraftFacts) -> re.Match[str] | None:
    names = {n for full in facts.other_customers for n in (full, full.split()[0]) if len(n) >= 4}
    if not names:
        return None
    return re.search(r"\b(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")\b", sentence)


def _check_people(draft: str, sentences: list[tuple[int, int, str]], rules: PolicyRules,
                  facts: DraftFacts) -> list[Finding]:
    out: list[Finding] = []
    for a, _b, s in sentences:
        if rules.other_customer and (m := _names_customer(s, facts)):
            span = _segment_at(draft, a + m.start())
            out.append(_finding(draft, rules.other_customer, "other_customer", f"names {m.group()!r}, another "
                                "customer (unless it gave reference consent)", span))
            if rules.customer_terms and re.search(r"[$%]|\bnet\s+\d|\b(price|discount|terms)\b", s, re.I):
                out.append(_finding(draft, rules.customer_terms, "other_customer_terms",
                                    f"shares terms of {m.group()!r}", span))
    parts = _sentences(draft)
    greeting = _segments(draft, *parts[0])[0] if parts else None  # "Hi Hannah": who the message goes to
    opening = (_segments(draft, *parts[1])[0] if len(parts) > 1 else greeting)  # what it starts discussing
    if rules.consent and facts.recipient_may_receive_outreach is False:
        out.append(_finding(draft, rules.consent, "consent", "the recipient has not consented to sales outreach",
                            greeting))
    if rules.quiet_period and facts.quiet_period:
        if facts.recipient_designated is False:
            out.append(_finding(draft, rules.quiet_period, "quiet_period", "during the quiet period, write only to "
                                "the designated procurement contact", opening))
        for a, _b, s in sentences:
            if m := _HOSPITALITY.search(s):
                out.append(_finding(draft, rules.quiet_period, "quiet_period", f"offers {m.group()!r} during the "
                                    "quiet period", _segment_at(draft, a + m.start())))
    return out


# -- facts read from a record's evidence -------------------------------------------------------
_APPROVAL = re.compile(r"\b(approved|I approve|approval granted)\b", re.I)
_NOT_APPROVAL = re.compile(r"\b(request(ed|ing)?|not|no|can't|cannot|without|needs?|pending)\b|n't\b", re.I)
_DESIGNATED = re.compile(r"\b(?:via|through|to)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)")


def approved_discounts(texts: Iterable[str]) -> set[float]:
    """Discount levels that evidence sentences record as approved ("Approved 20% discount ...").

    Sentences that only ask for, refuse or condition an approval do not count."""
    found: set[float] = set()
    for text in texts:
        for a, b in _sentences(text):
            sentence = text[a:b]
            if _APPROVAL.search(sentence) and not _NOT_APPROVAL.search(sentence):
                found.update(_pcts(sentence))
    return found


def quiet_period_contacts(texts: Iterable[str]) -> list[str]:
    """The names that sentences about a quiet period designate as the point of contact
    (the fullest form of each: "Derek Hall", not also "Derek")."""
    names: dict[str, None] = {}
    for text in texts:
        for a, b in _sentences(text):
            if "quiet period" in text[a:b].lower():
                names.update(dict.fromkeys(m.group(1) for m in _DESIGNATED.finditer(text[a:b])))
    return [n for n in names if not any(o != n and o.startswith(n + " ") for o in names)]


def quiet_period_facts(texts: Iterable[str], recipient: str | None) -> tuple[bool, bool | None]:
    """(is a quiet period recorded, is ``recipient`` (a person's name) the contact it designates)."""
    texts = list(texts)
    quiet = any("quiet period" in text.lower() for text in texts)
    designated = quiet_period_contacts(texts)
    if not quiet or not recipient or not designated:
        return quiet, None
    first = recipient.split()[0]
    return quiet, any(first == name.split()[0] for name in designated)
