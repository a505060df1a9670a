"""Prompt-injection detection for user input and retrieved chunks.

A rule-based scorer, chosen because it is explainable (every flag names the phrase that
raised it), deterministic, fast (well under a millisecond per chunk) and needs no model:
the packaged chat model is far too slow to screen 14 chunks per request, and no packaged
injection classifier exists. Its blind spot is paraphrase; the measured detection and
false-positive rates are in ``eval/benchmarks/bench_guards.py``.

How a text is scored:

1. **Views.** The text is NFKC-normalised and stripped of zero-width and Unicode "tag"
   characters (tag characters are decoded: they smuggle invisible ASCII). Hidden channels
   are scanned as views of their own: HTML comments, Markdown link titles, base64 blobs
   that decode to readable text, and the text behind the zero-width characters.
2. **Signals.** Each rule belongs to a category (``override``, ``role_play``, ``jailbreak``,
   ``prompt_exfiltration``, ``data_exfiltration``, ``other_customers``, ``concealment``,
   ``ai_address``, ``directive``, ``template_tokens``) and has a weight. One unambiguous attack phrase
   ("ignore all previous instructions", a chat-template token) weighs 1.0; phrases that
   are only suspicious next to others ("note to the AI", "every other customer's pricing")
   weigh less, so a benign note that says "the customer asked us to ignore the previous
   quote" or "send the order form to legal@..." scores nothing or too little. Some signals
   need several parts in one sentence: a send verb, an address and sensitive data
   (``data_exfiltration``); words addressed to the AI followed by an order (``directive``).
   "Ignore the previous instructions I sent" weighs 0.3: a person's instructions.
3. **Score.** The highest weight per category, summed, plus 0.5 when a signal was found
   inside a hidden channel (nobody hides an honest instruction) and 0.5 for heavy
   zero-width interleaving. At or above the threshold (default 1.0) the text is suspect."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass

from guardrails.verdicts import Decision, ReasonCode, Verdict

_I = re.I | re.M

@dataclass(frozen=True)
class Rule:
    """A pattern and its weight; ``human_tail`` lowers the weight to 0.3 when the words right
    after the match show a person's instructions ("...the previous instructions I sent")."""

    category: str
    weight: float
    pattern: re.Pattern[str]
    human_tail: bool = False


_HUMAN_TAIL = re.compile(
    r"^\s*(that\s+)?(I|we|he|she|they|[A-Z][a-z]+)\s+(sent|gave|wrote|emailed|mentioned|shared|left|had)\b"
    r"|^\s+(about|regarding|from|on|for)\s+(the|our|my|his|her|their)\b")

# Patterns work on one sentence or line at most ([^.\n]).
RULES: tuple[Rule, ...] = tuple(Rule(*r) for r in (
    # -- overriding the instructions ---------------------------------------------------
    ("override", 1.0, re.compile(
        r"\b(ignore|disregard|forget|override|overrule|bypass|supersede|skip)\w*\b[^.\n]{0,40}?"
        r"\b(previous|prior|above|earlier|preceding|all|any|your|system|original|safety)\b[^.\n]{0,20}?"
        r"\b(instructions?|prompts?|directives?|guidelines|guardrails|rules|system prompt)\b", _I), True),
    ("override", 1.0, re.compile(
        r"\b(ignore|disregard|forget)\s+the\s+(rules|instructions|guidelines)\s+you('ve|\s+have)?\s*(were|been)?\s*"
        r"(given|told)\b", _I)),
    ("override", 1.0, re.compile(
        r"\b(ignore|disregard|forget)\s+(everything|anything|all)\s+(that\s+)?you('ve|\s+have)?\s+"
        r"(were|been|was)?\s*(told|given|instructed)", _I)),
    ("override", 1.0, re.compile(
        r"\byour\s+(new|real|actual|updated|true)\s+(instructions|task|orders|role|goal)\b", _I)),
    ("override", 0.5, re.compile(
        r"\b(previous|prior|earlier|above|original|old)\s+(instructions|rules|prompts?)\s+"
        r"(no longer apply|are (void|cancelled|revoked|obsolete|invalid)|do not apply)", _I)),
    ("override", 0.5, re.compile(r"\b(new|updated|priority)\s+(instructions|directives?|orders)\s*[:\-]", _I)),
    ("override", 1.0, re.compile(r"^\s*(system|system prompt|developer)\s*:\s", _I)),
    ("override", 1.0, re.compile(r"#{2,}\s*system\b|\bsystem\s+(prompt\s+)?override\b", _I)),
    # the same in the languages our customers write in most after English
    ("override", 1.0, re.compile(
        r"\bignorier\w*\s+(alle\s+)?(vorherigen|bisherigen|obigen|vorigen)\s+(anweisungen|instruktionen|regeln)"
        r"|\bignor\w*\s+(todas\s+)?(las\s+)?(instrucciones|reglas)\s+(anteriores|previas)"
        r"|\bignor\w*\s+(toutes\s+)?(les\s+)?(instructions|consignes|règles)\s+(précédentes|antérieures)", _I)),
    # -- role play and jailbreaks -------------------------------------------------------
    ("role_play", 1.0, re.compile(
        r"\b(from now on|starting now|henceforth),?\s+(you are|you're|you will be|act as)\b[^.\n]{0,40}"
        r"\b(AI|assistant|bot|model|GPT|LLM)\b", _I)),
    ("role_play", 0.7, re.compile(
        r"\b(pretend|act|behave|role-?play)\w*\b[^.\n]{0,25}\b(you are|you're|to be|as if you were|as)\b[^.\n]{0,30}"
        r"\b(AI|assistant|model|bot|CFO|CEO|admin|administrator|unrestricted|unfiltered|DAN)\b", _I)),
    ("role_play", 0.5, re.compile(r"\b(you are now|you're now)\b", _I)),
    ("jailbreak", 0.5, re.compile(r"\bjailbr(eak|oken)\w*", re.I)),
    ("jailbreak", 0.7, re.compile(
        r"\bDAN\b|\bdo anything now\b|\bdeveloper mode\b|\bjailbroken\b|\bunfiltered\b"
        r"|\bno (content )?(policy|restrictions|filters|limits)\b|\bwithout (any )?(restrictions|limits|filters)\b")),
    ("jailbreak", 0.7, re.compile(
        r"\b(safety|content) (checks|filters|policy|rules) (are|is) (disabled|off|lifted)\b", _I)),
    # -- stealing the prompt or secrets -----------------------------------------------
    ("prompt_exfiltration", 1.0, re.compile(
        r"\b(reveal|print|show|repeat|output|display|leak|dump|tell me|give me|share|what is|what are)\b[^.\n]{0,40}?"
        r"\b(system prompt|hidden prompt|initial prompt|prompt template|"
        r"your (instructions|prompt|configuration|rules))\b", _I)),
    ("prompt_exfiltration", 1.0, re.compile(
        r"\binstructions\s+(were you|you were|have you been|you've been)\s+given\b", _I)),
    ("prompt_exfiltration", 0.8, re.compile(
        r"\b(reveal|print|show|output|give|send|paste)\b[^.\n]{0,30}\b(api keys?|passwords?|credentials|secrets?|"
        r"access tokens?)\b", _I)),
    ("prompt_exfiltration", 0.5, re.compile(r"\b(repeat|print|output)\b[^.\n]{0,30}\b(word for word|verbatim)\b", _I)),
    # -- sending data out ----------------------------------------------------------------
    ("data_exfiltration", 1.0, re.compile(r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=", _I)),
    # -- hiding things from the person ---------------------------------------------------
    ("concealment", 0.8, re.compile(
        r"\b(do not|don't|must not|never)\s+(tell|mention|inform|show|flag|report|alert)\b[^.\n]{0,30}"
        r"\b(the )?(user|rep|sales rep|human|reviewer|review)\b", _I)),
    # -- text that talks to the model ----------------------------------------------------
    ("ai_address", 0.6, re.compile(
        r"\b(note|message|instructions?|reminder|p\.?s\.?)\s+(to|for)\s+(the\s+|any\s+)?"
        r"(AI|assistant|language model|LLM|model|bot|chatbot|copilot|sidekick)\b", _I)),
    ("ai_address", 0.6, re.compile(
        r"\b(hey|dear|attention|hi|hello)\s*,?\s+(AI|assistant|sidekick|chatbot|LLM|bot)\b", _I)),
    ("ai_address", 0.6, re.compile(r"(?:^|[.!?\[:]\s*)(AI|assistant|sidekick|LLM)(\s+system|\s+model)?\s*[:,]", _I)),
    ("ai_address", 0.6, re.compile(
        r"\b(AI|LLM)\s+(instructions|directive|override)\b|\bfor AI (systems|models|assistants)\b")),
    ("ai_address", 0.8, re.compile(r"\bif (you are|you're) an? (AI|LLM|language model|assistant|bot)\b", _I)),
    ("ai_address", 0.8, re.compile(r"\bif (there'?s|there is) an? (AI|assistant|bot)\b", _I)),
    ("ai_address", 0.8, re.compile(
        r"\b(AI|LLM|language model|assistant|model)s?\b[^.\n]{0,30}"
        r"\b(reading|processing|summari[sz]ing|parsing)\s+this\b", _I)),
    ("ai_address", 0.5, re.compile(
        r"\bwhen (you )?(summari[sz]e|summari[sz]ing|draft|drafting|writ(e|ing)|generat(e|ing))\b[^.\n]{0,30}"
        r"\b(this|the) (account|note|email|thread|summary|reply|call)\b", _I)),
    ("ai_address", 0.5, re.compile(r"\b(for|to) the (AI|LLM|language model)\b", _I)),
    # -- chat-template control tokens -----------------------------------------------------
    ("template_tokens", 1.0, re.compile(
        r"<\|(im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|\[/?INST\]|<<SYS>>"
        r"|<start_of_turn>")),
))

_EXFIL_VERB = re.compile(
    r"\b(send|forward|e-?mail|post|upload|transmit|submit|exfiltrate|paste|append|include|copy)\b", re.I)
_EXFIL_TARGET = re.compile(r"https?://\S+|[\w.+-]+@[\w-]+\.[\w.]+")
_SENSITIVE = re.compile(
    r"\b(contact (list|emails?|details)|customer list|"
    r"(all|every|full|complete)\b[^.\n]{0,20}\b(contacts?|customers?|emails?|records|notes|documents|data)|"
    r"phone numbers|conversation( history)?|chat history|crm notes|private notes|"
    r"system prompt)\b", re.I)
_OTHER = re.compile(r"\b(every|all|other|another)\b(\s+\w+){0,2}?\s+(customers?|clients?|accounts?|tenants?|retailers?|"
                    r"companies|bidders)\b", re.I)
_DATA = re.compile(r"\b(data|records?|notes|contacts?|emails?|pricing|prices|discounts?|deal sizes?|contract values?|"
                   r"pay|paying|revenue)\b", re.I)
_ASK = re.compile(r"\b(include|list|give|show|pull|paste|tell|reveal|output|send|add|what)\b", re.I)

_AI_ADDRESS = tuple(rule.pattern for rule in RULES if rule.category == "ai_address")
_DIRECTIVE = re.compile(
    r"\b(ignore|disregard|forget|tell|say|state|write|output|print|reveal|draft|mark|report|include|"
    r"list|append|send|forward|recommend|approve|answer|reply|respond|begin|start|end)\b", re.I)

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\u2062\u2063\u2064\ufeff\u180e]")
_TAGS = re.compile("[\U000e0000-\U000e007f]")
_HTML_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_LINK_TITLE = re.compile(r"\[[^\]]*\]\(\s*\S+\s+[\"'](.+?)[\"']\s*\)")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")  # not every dot: emails and URLs have them


@dataclass(frozen=True)
class Signal:
    """One reason a text looks like an injection attempt."""

    category: str
    weight: float
    excerpt: str
    channel: str = "text"  # text | html_comment | link_title | base64 | zero_width | unicode_tags


@dataclass(frozen=True)
class InjectionResult:
    score: float
    signals: tuple[Signal, ...]
    suspected: bool

    @property
    def categories(self) -> list[str]:
        return sorted({s.category for s in self.signals})


def _b64_text(blob: str) -> str | None:
    """The decoded blob if it is readable text with spaces (an instruction), else None."""
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return text if text and printable / len(text) > 0.95 and " " in text else None


def _views(text: str) -> tuple[list[tuple[str, str]], int]:
    """(channel, text) pairs to scan, and the number of zero-width characters."""
    zero_width = len(_ZERO_WIDTH.findall(text))
    tags = "".join(chr(ord(ch) - 0xE0000) for ch in _TAGS.findall(text))
    clean = unicodedata.normalize("NFKC", _TAGS.sub("", _ZERO_WIDTH.sub("", text)))
    views = [("text", clean)]
    if zero_width >= 3:  # the words the zero-width characters were woven through
        woven = [_ZERO_WIDTH.sub("", word) for word in text.split() if _ZERO_WIDTH.search(word)]
        views.append(("zero_width", unicodedata.normalize("NFKC", " ".join(woven))))
    if tags:
        views.append(("unicode_tags", tags))
    views += [("html_comment", m.group(1)) for m in _HTML_COMMENT.finditer(clean)]
    views += [("link_title", m.group(1)) for m in _LINK_TITLE.finditer(clean)]
    views += [("base64", decoded) for m in _BASE64.finditer(clean) if (decoded := _b64_text(m.group()))]
    return views, zero_width


def _sentence_signals(text: str, channel: str) -> list[Signal]:
    """Signals that need several parts in one sentence, in any order."""
    found = []
    for sentence in _SENTENCE_END.split(text):
        if _EXFIL_VERB.search(sentence) and _EXFIL_TARGET.search(sentence) and _SENSITIVE.search(sentence):
            found.append(Signal("data_exfiltration", 1.0, sentence.strip()[:160], channel))
        if _OTHER.search(sentence) and _DATA.search(sentence) and _ASK.search(sentence):
            found.append(Signal("other_customers", 0.7, sentence.strip()[:160], channel))
        for pattern in _AI_ADDRESS:  # text that talks to the model and then tells it to do something
            address = pattern.search(sentence)
            if address and _DIRECTIVE.search(sentence, address.end()):
                found.append(Signal("directive", 0.5, sentence.strip()[:160], channel))
                break
    return found


class InjectionDetector:
    """Scores text for injection attempts; ``threshold`` is the tenant's
    ``GuardConfig.injection_threshold``."""

    def __init__(self, threshold: float = 1.0) -> None:
        self.threshold = threshold

    def scan(self, text: str) -> InjectionResult:
        views, zero_width = _views(text)
        signals: list[Signal] = []
        for channel, view in views:
            for rule in RULES:
                match = rule.pattern.search(view)
                if match:
                    weight = rule.weight
                    if rule.human_tail and _HUMAN_TAIL.match(view[match.end():match.end() + 40]):
                        weight = 0.3
                    signals.append(Signal(rule.category, weight, match.group(0).strip()[:160], channel))
            signals += _sentence_signals(view, channel)
        best: dict[str, float] = {}
        for s in signals:
            best[s.category] = max(best.get(s.category, 0.0), s.weight)
        score = sum(best.values())
        if any(s.channel != "text" for s in signals):
            score += 0.5  # an instruction hidden from the human reader
        if zero_width >= 5:
            signals.append(Signal("obfuscation", 0.5, f"{zero_width} zero-width characters", "zero_width"))
            score += 0.5
        return InjectionResult(round(score, 3), tuple(signals), score >= self.threshold)

    def verdict(self, text: str, *, where: str = "input", block: bool = False) -> Verdict:
        """``allow`` or ``flag`` (``block`` if asked) with reason ``injection_suspected``."""
        result = self.scan(text)
        if not result.suspected:
            return Verdict(guard="injection", decision=Decision.ALLOW, details={"score": result.score, "where": where})
        return Verdict(
            guard="injection",
            decision=Decision.BLOCK if block else Decision.FLAG,
            reason=ReasonCode.INJECTION_SUSPECTED,
            message=f"possible prompt injection in the {where}: {', '.join(result.categories)}",
            details={"score": result.score, "where": where, "categories": result.categories,
                     "signals": [f"{s.category}@{s.channel}: {s.excerpt}" for s in result.signals][:8]},
        )
