"""Task metrics on structured outputs: field-level P/R/F1 for field fill, verdict P/R for
compliance checks.

Both count per case (``Counts``) so a run can report micro-averages: precision is the
share of filled fields (or flagged clauses) that are right, recall the share of the
reference's known values (or violated clauses) that were found. A field left empty when
the records never state it is a correct abstention, counted apart."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from eval.metrics.text import token_f1

_NUM = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_CLAUSE = re.compile(r"\d+(?:\.\d+)*")
_CURRENCY = re.compile(r"\b(USD|EUR|GBP|CAD|AUD|CHF|JPY)\b|([$€£])", re.I)
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP"}
VIOLATION_WORDS = {"violation", "violated", "violates", "fail", "failed", "non_compliant", "noncompliant", "breach"}
FIELD_META_KEYS = {"record", "citations", "evidence", "review_flags", "notes", "confidence", "support"}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    abstained_ok: int = 0
    """Reference is null and the prediction left the field empty."""

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn,
                      self.abstained_ok + other.abstained_ok)

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def f1(self) -> float | None:
        p, r = self.precision(), self.recall()
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


# -- field fill ---------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "null", "none", "unknown", "n/a"))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return _number(value.get("value", value.get("amount")))
    if isinstance(value, str):
        match = _NUM.search(value)
        if match:
            number = float(match.group().replace(",", ""))
            tail = value[match.end(): match.end() + 2].strip().lower()
            return number * 1000 if tail.startswith("k") else number * 1_000_000 if tail.startswith("m") else number
    return None


def _currency_code(value: Any) -> str | None:
    if isinstance(value, Mapping):
        code = value.get("currency")
        return str(code).upper() if code else None
    if isinstance(value, str):
        match = _CURRENCY.search(value)
        if match:
            return (match.group(1) or _SYMBOLS[match.group(2)]).upper()
    return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip()[:10]).date()
    except ValueError:
        pass
    from dateutil import parser

    try:
        return parser.parse(value, default=datetime(2000, 1, 1)).date()
    except (ValueError, OverflowError):
        return None


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "y", "1"):
            return True
        if low in ("false", "no", "n", "0"):
            return False
    return None


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("value", "")
    return " ".join(re.findall(r"[a-z0-9@.+]+", str(value).lower()))


def values_match(predicted: Any, reference: Any, field_type: str = "text") -> bool:
    """Whether a filled value equals the reference for a field of ``field_type``:
    numbers exactly and currency amounts within 0.5% (rounding), dates as days, booleans as truth values,
    picklists case-insensitively, text by token F1 >= 0.8."""
    if field_type in ("number", "currency"):
        p, r = _number(predicted), _number(reference)
        tolerance = 0.005 * abs(r) if field_type == "currency" and r is not None else 1e-9
        if p is None or r is None or abs(p - r) > tolerance:
            return False
        pc, rc = _currency_code(predicted), _currency_code(reference)
        return field_type != "currency" or pc is None or rc is None or pc == rc
    if field_type == "date":
        pd, rd = _date(predicted), _date(reference)
        return pd is not None and pd == rd
    if field_type == "boolean":
        pb, rb = _boolean(predicted), _boolean(reference)
        return pb is not None and pb == rb
    if field_type == "picklist":
        return _text(predicted) == _text(reference)
    return token_f1(_text(predicted), _text(reference)) >= 0.8


def _unwrap(value: Any) -> Any:
    """A predicted value, out of a ``{"value": ..., "citations": ...}`` wrapper if any (a
    currency object ``{"value", "currency"}`` is kept whole)."""
    if isinstance(value, Mapping) and "value" in value and "currency" not in value:
        return value["value"]
    return value


def extract_fields(output: Mapping[str, Any]) -> dict[str, Any]:
    """Predicted ``{field name: value}`` from a field-fill output, whatever its layout:
    ``{"fields": {name: value}}``, ``{"fields": [{"name", "value"}]}`` or top-level keys."""
    fields = output.get("fields", output)
    if isinstance(fields, Sequence) and not isinstance(fields, str):
        out = {}
        for item in fields:
            if isinstance(item, Mapping) and (name := item.get("name", item.get("field"))):
                value = item.get("value")
                if "currency" in item and value is not None and not isinstance(value, Mapping):
                    value = {"value": value, "currency": item["currency"]}
                out[str(name)] = _unwrap(value)
        return out
    if isinstance(fields, Mapping):
        return {str(k): _unwrap(v) for k, v in fields.items() if k not in FIELD_META_KEYS}
    return {}


def field_counts(predicted: Mapping[str, Any], reference: Mapping[str, Any],
                 types: Mapping[str, str] | None = None) -> Counts:
    """Count one case's fields (only the reference's fields are scored)."""
    types = types or {}
    counts = Counts()
    for name, ref in reference.items():
        pred = predicted.get(name)
        filled, known = not is_empty(pred), ref is not None
        if filled and known and values_match(pred, ref, types.get(name, "text")):
            counts.tp += 1
        elif filled:
            counts.fp += 1
            counts.fn += int(known)
        elif known:
            counts.fn += 1
        else:
            counts.abstained_ok += 1
    return counts


# -- compliance ---------------------------------------------------------------------------


def clause_id(value: Any) -> str | None:
    """``"3.3"`` from ``"3.3"``, ``"§3.3"``, ``"Clause 3.3 (discounts)"``."""
    match = _CLAUSE.search(str(value or ""))
    return match.group() if match else None


def extract_violations(output: Mapping[str, Any]) -> set[str]:
    """Clause ids an output flags as violated. Items under ``verdicts``/``violations``/
    ``findings``/``issues`` count unless their verdict/status says they are not a violation."""
    clauses: set[str] = set()
    for key in ("verdicts", "violations", "findings", "issues"):
        items = output.get(key)
        if not isinstance(items, Sequence) or isinstance(items, str):
            continue
        for item in items:
            if not isinstance(item, Mapping):
                continue
            status = item.get("verdict", item.get("status", item.get("decision")))
            if status is not None and str(status).strip().lower().replace(" ", "_") not in VIOLATION_WORDS:
                continue
            cid = clause_id(item.get("clause", item.get("clause_id", item.get("rule", item.get("policy_clause")))))
            if cid:
                clauses.add(cid)
    return clauses


def verdict_counts(predicted: set[str], reference: set[str]) -> Counts:
    return Counts(tp=len(predicted & reference), fp=len(predicted - reference), fn=len(reference - predicted),
                  abstained_ok=int(not predicted and not reference))


def predicted_compliant(output: Mapping[str, Any]) -> bool:
    if isinstance(output.get("compliant"), bool):
        return bool(output["compliant"])
    return not extract_violations(output)
