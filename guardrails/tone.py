"""Unprofessional tone in drafted emails: profanity, insults, pressure tactics, threats,
shouting, exclamation marks, over-familiar language, sarcasm and passive aggression.

Approach: word lists and patterns with weights, summed into a score; at or above the
tenant's ``tone_threshold`` (default 1.0) the draft is flagged ``unprofessional_tone``.
Why not a model: the packaged chat model would add seconds per draft, no packaged
toxicity classifier exists, and general toxicity classifiers miss what matters in sales
email (a polite "only 2 spots left, lock it in NOW" is a pressure tactic, not toxicity).
Every flag names the words that raised it, so a reviewer sees why. Text the writer quotes
(``"..."`` and ``>`` reply lines) is not scored: quoting a customer's complaint is fine.
Measured on ``eval/datasets/tone_labelled.jsonl`` by ``eval/benchmarks/bench_guards.py``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from guardrails.verdicts import Decision, ReasonCode, Verdict

_W = re.I

# (category, weight, pattern); every match adds its weight, capped per category.
PATTERNS: tuple[tuple[str, float, re.Pattern[str]], ...] = (
    ("profanity", 1.0, re.compile(
        r"\b(f+u+c+k\w*|f[*#@!]{2,}\w*|f\*ck\w*|sh[i1]t\w*|bullsh\w+|wtf|what the (hell|heck|f\w*)|bastard\w*|"
        r"ass(hole)?s?|screw you|piss(ed)? off|goddamn\w*)\b", _W)),
    ("profanity", 0.5, re.compile(r"\b(damn\w*|bloody|crap\w*|hell of a|sucks?)\b", _W)),
    ("insult", 1.0, re.compile(
        r"\b(idiots?|idiotic|stupid|morons?|moronic|incompetent|pathetic|clueless|dumb|useless|imbeciles?|"
        r"ridiculous|absurd|laughable|amateurs?)\b", _W)),
    ("insult", 0.7, re.compile(
        r"\b(you (don't|do not|clearly don't) (understand|get it)|someone smarter|no offen[cs]e,? but|"
        r"how else to explain|even a child)\b", _W)),
    ("pressure", 0.6, re.compile(
        r"\b(last chance|act now|or lose|you'?ll regret|only a fool|i'?m warning you|or i walk|"
        r"(offer|price|deal) (is|will be) gone|gone for good|going fast|before your competitors|price doubles|"
        r"don'?t make me|go over your head|sign (today|now|tomorrow) or|you have \d+ (hours|minutes)|"
        r"only \d+ (spots?|slots?|licen[cs]es?|seats?) left|lock it in|now or never|forever)\b", _W)),
    ("threat", 1.0, re.compile(
        r"\b(i'?ll make sure (everyone|you)|or else\b|you will regret|we will (sue|blacklist)|"
        r"everyone in the industry (will )?hears?)", _W)),
    ("sarcasm", 1.0, re.compile(r"\bthank(s| you)\b[^.\n]{0,25}\bfor finally\b|\breally appreciate the urgency\b", _W)),
    ("passive_aggressive", 0.5, re.compile(
        r"\b(as i (already|previously) (told|said|mentioned)|per my (last|previous) email|as previously stated|"
        r"read it this time|for the (second|third|last) time|i already sent you|twice now)\b", _W)),
    ("over_familiar", 1.0, re.compile(
        r"\b(babe|baby|sweet(ie|heart)|honey|hun|darling|love ya|xoxo|pretty (little )?head)\b", _W)),
    ("over_familiar", 0.5, re.compile(
        r"\b(yo|dude|bro|buddy|pal|mate|my man|hit me up|s+o{3,}|cheers mate)\b|;\)|:P\b", _W)),
)

# Upper-case words that are names of things, not shouting (extend per tenant).
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ACRONYMS = _words(
    "HIPAA BAA SOC DPA NDA CISO RFP MSA ACV TCV SSO SAML API ELD HOS CFO CEO COO CTO CRM SLA SKU GDPR CCPA "
    "FEDRAMP OBD LTE GPS PDF CSV USD EUR ASAP FAQ AES TLS VPN IFTA DVIR USA EMEA APAC KPI ROI QBR"
)
EMPHASIS = _words("NOW SO NOT NEVER ALWAYS STILL ALREADY TODAY ONLY VERY REALLY PLEASE MUST NEED LAST YOU")
_LABEL = re.compile(r"\b[A-Z][A-Z0-9' ]*[A-Z0-9]:")
_CAPS_WORD = re.compile(r"\b[A-Z][A-Z']+\b")
_QUOTED = re.compile(r"\"[^\"\n]{0,300}\"|“[^”\n]{0,300}”")


@dataclass(frozen=True)
class ToneHit:
    category: str
    weight: float
    excerpt: str


@dataclass(frozen=True)
class ToneResult:
    score: float
    hits: tuple[ToneHit, ...]
    flagged: bool

    @property
    def categories(self) -> list[str]:
        return sorted({h.category for h in self.hits})


def _own_words(text: str) -> str:
    """The writer's own text: quoted reply lines and quoted speech removed."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return _QUOTED.sub(" ", "\n".join(lines))


def _shouting(text: str, acronyms: frozenset[str]) -> list[ToneHit]:
    hits = []
    for line in text.splitlines():
        stripped = _LABEL.sub(" ", line).strip()  # a heading or label: "SUMMARY OF NEXT STEPS:"
        if not stripped:
            continue
        words = [w for w in re.findall(r"[A-Za-z']+", stripped) if len(w) > 1]
        run = best = 0
        for w in words:
            run = run + 1 if w.isupper() and w not in acronyms else 0
            best = max(best, run)
        if best >= 3:
            hits.append(ToneHit("shouting", 1.0, stripped[:80]))
            continue
        for w in _CAPS_WORD.findall(stripped):
            if w not in acronyms and (w in EMPHASIS or len(w) >= 5):
                hits.append(ToneHit("shouting", 0.3, w))
    return hits


def _exclamations(text: str) -> list[ToneHit]:
    repeated = re.findall(r"!{2,}", text)
    if repeated:
        return [ToneHit("exclamation", 1.0, f"{len(repeated)}x '!!'")]
    count = text.count("!")
    if count >= 4:
        return [ToneHit("exclamation", 1.0, f"{count} exclamation marks")]
    if count == 3:
        return [ToneHit("exclamation", 0.5, "3 exclamation marks")]
    return []


class ToneChecker:
    """Scores a drafted email for unprofessional tone; ``threshold`` is the tenant's
    ``GuardConfig.tone_threshold``; ``acronyms`` adds the tenant's own upper-case terms."""

    def __init__(self, threshold: float = 1.0, acronyms: Iterable[str] = ()) -> None:
        self.threshold = threshold
        self.acronyms = ACRONYMS | {a.upper() for a in acronyms}

    def scan(self, text: str) -> ToneResult:
        own = _own_words(text)
        hits: list[ToneHit] = []
        for category, weight, pattern in PATTERNS:
            hits += [ToneHit(category, weight, m.group(0)) for m in pattern.finditer(own)]
        hits += _shouting(own, self.acronyms)
        hits += _exclamations(own)
        per_category: dict[str, float] = {}
        for h in hits:  # cap each category so one long rant does not dwarf the threshold
            per_category[h.category] = min(2.0, per_category.get(h.category, 0.0) + h.weight)
        score = round(sum(per_category.values()), 3)
        return ToneResult(score, tuple(hits), score >= self.threshold)

    def verdict(self, text: str) -> Verdict:
        result = self.scan(text)
        if not result.flagged:
            return Verdict(guard="tone", decision=Decision.ALLOW, details={"score": result.score})
        words = sorted({h.excerpt for h in result.hits})[:8]
        return Verdict(
            guard="tone",
            decision=Decision.FLAG,
            reason=ReasonCode.UNPROFESSIONAL_TONE,
            message=f"the draft reads as unprofessional ({', '.join(result.categories)}): {', '.join(words)}",
            details={"score": result.score, "categories": result.categories, "matches": words},
        )
