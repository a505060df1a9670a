"""Parsing of the loose values found in exports and sidecars: dates, id lists, amounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from dateutil import parser as date_parser

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LIST_SEPARATORS = re.compile(r"[;,]")
_AMOUNT_NOISE = re.compile(r"[\s,_$€£]")


def normalize_datetime(value: str) -> str:
    """Return ``value`` as ISO 8601: ``YYYY-MM-DD`` for a bare date, otherwise a datetime
    with its offset (a missing offset is taken as UTC). Raises ``ValueError`` if unparseable."""
    text = value.strip()
    if _DATE_ONLY.match(text):
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
    try:
        parsed = date_parser.parse(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"unparseable date {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def to_epoch(value: str | None) -> float | None:
    """Epoch seconds of an ISO date or datetime (UTC when no offset); ``None`` if unparseable."""
    if not value:
        return None
    try:
        normalized = normalize_datetime(value)
    except ValueError:
        return None
    parsed = datetime.fromisoformat(normalized)
    if parsed.tzinfo is None:  # a bare date: midnight UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def split_list(value: Any) -> list[str]:
    """``"a; b"`` or ``["a", "b"]`` -> ``["a", "b"]``; blanks dropped, order and case kept.

    Strings are split on ``;`` (and ``,`` so a hand-written ``"sales, emea"`` works too)."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else _LIST_SEPARATORS.split(str(value))
    return [str(item).strip() for item in items if str(item).strip()]


def parse_amount(value: str) -> float | None:
    """``"250,000"`` or ``"$250000.50"`` -> float; blank -> ``None``; raises ``ValueError``."""
    text = _AMOUNT_NOISE.sub("", value)
    if not text:
        return None
    return float(text)
