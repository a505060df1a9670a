"""CRM exports: accounts, contacts, opportunities, notes and activities, as CSV or JSON.

The kind of a table is detected from its columns (a CSV header, a JSON object's keys),
never from the file name: the first of ``note_id``, ``activity_id``, ``contact_id``,
``opportunity_id``, ``account_id`` present decides (a note also carries ``contact_id``,
so notes are tried first). Every row becomes a ``SourceDocument`` (``note:N-001``,
``account:ACME-001``...); accounts, opportunities and contacts also become a
``CrmRecord``. A bad row is one ``bad_row`` error naming the file and line (CSV) or
record number (JSON); the other rows still load.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from ingest.documents import LoadError, Segment, SourceDocument, Visibility
from ingest.loaders.base import CrmRecord, FileSource, LoadResult, Reason
from ingest.loaders.fields import normalize_datetime, parse_amount, split_list
from ingest.loaders.text import read_text
from retrieval.models import DocType

_VISIBILITIES = ("public", "team", "private")
# Access columns are metadata, not text worth retrieving.
_HIDDEN_COLUMNS = frozenset({"team", "visibility", "consent"})
_LABELS = {
    "account_id": "Account",
    "opportunity_id": "Opportunity",
    "contact_id": "Contact",
    "close_date": "Close date",
    "created_at": "Created",
    "updated_at": "Updated",
}


class RowError(ValueError):
    """A row cannot be loaded; the message says which column and why."""


@dataclass(frozen=True)
class Kind:
    """One kind of CRM table: how it is recognised and what its rows become."""

    name: str
    id_column: str
    required: tuple[str, ...]
    doc_type: DocType
    label: str
    name_columns: tuple[str, ...]
    body_column: str | None = None
    """A free-text column rendered as the document's body instead of a ``Label: value``."""


# Detection order matters: notes and activities also have contact/account id columns.
KINDS = (
    Kind("note", "note_id", ("note_id", "body"), DocType.NOTE, "Note", ("subject",), "body"),
    Kind("activity", "activity_id", ("activity_id", "type", "description"), DocType.ACTIVITY,
         "Activity", ("subject",), "description"),
    Kind("contact", "contact_id", ("contact_id", "account_id", "first_name", "last_name"),
         DocType.CONTACT, "Contact", ("first_name", "last_name")),
    Kind("opportunity", "opportunity_id", ("opportunity_id", "account_id", "name"),
         DocType.OPPORTUNITY, "Opportunity", ("name",)),
    Kind("account", "account_id", ("account_id", "name"), DocType.ACCOUNT, "Account", ("name",)),
)


def detect_kind(columns: set[str]) -> Kind | None:
    """The kind of table whose id column appears first in ``KINDS`` order."""
    return next((kind for kind in KINDS if kind.id_column in columns), None)


# -- reading files ---------------------------------------------------------------------------


def load_csv(src: FileSource) -> LoadResult:
    """A CSV export with a header row; lines are numbered as in a text editor."""
    reader = csv.reader(io.StringIO(read_text(src), newline=""))
    header = [_column(name) for name in next(reader, [])]
    kind = detect_kind(set(header))
    if kind is None:
        raise src.error(Reason.UNSUPPORTED_TYPE, f"{src.label}: not a CRM export ({_known()})")
    missing = [column for column in kind.required if column not in header]
    if missing:
        raise src.error(
            Reason.BAD_ROW, f"{src.label} line 1: {kind.name} export lacks columns {missing}"
        )
    result = LoadResult()
    for line, values in _numbered_rows(reader):
        if len(values) != len(header):
            where = f"line {line}"
            message = f"{len(values)} values for {len(header)} columns"
            result.errors.append(_row_error(src, where, None, message))
            continue
        _load_row(src, kind, dict(zip(header, values, strict=True)), f"line {line}", result)
    return result


def _numbered_rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (quoted values may span lines)."""
    while True:
        start = reader.line_num + 1
        values = next(reader, None)
        if values is None:
            return
        if any(value.strip() for value in values):
            yield start, values


def load_json_records(src: FileSource, data: Any) -> LoadResult:
    """A JSON array of row objects, or ``{"records": [...]}``; each object's keys decide
    its kind, so one file may mix kinds."""
    rows = data.get("records") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise src.error(
            Reason.UNSUPPORTED_TYPE,
            f"{src.label}: JSON is neither a CRM export (an array or {{\"records\": [...]}}) "
            "nor a call-recorder transcript (\"utterances\")",
        )
    if not rows:
        raise src.error(Reason.NO_TEXT, f"{src.label}: no records")
    result = LoadResult()
    for number, item in enumerate(rows, start=1):
        where = f"record {number}"
        if not isinstance(item, dict):
            result.errors.append(_row_error(src, where, None, "not a JSON object"))
            continue
        row = {_column(key): _cell(value) for key, value in item.items()}
        kind = detect_kind(set(row))
        missing = [key for key in kind.required if key not in row] if kind else []
        if kind is None or missing:
            problem = f"lacks keys {missing}" if missing else f"unknown record ({_known()})"
            result.errors.append(_row_error(src, where, None, problem))
            continue
        _load_row(src, kind, row, where, result)
    return result


def read_json(src: FileSource) -> Any:
    """Parse a ``.json`` file; ``corrupt`` when it is not valid JSON."""
    try:
        return json.loads(read_text(src))
    except json.JSONDecodeError as exc:
        raise src.error(Reason.CORRUPT, f"{src.label}: invalid JSON ({exc})") from None


def _column(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


def _known() -> str:
    return "expected one of the columns " + ", ".join(kind.id_column for kind in KINDS)


# -- one row ---------------------------------------------------------------------------------


def _load_row(
    src: FileSource, kind: Kind, row: dict[str, str], where: str, result: LoadResult
) -> None:
    row = {key: value.strip() for key, value in row.items()}
    record_id = row.get(kind.id_column, "")
    if not record_id:
        result.errors.append(_row_error(src, where, None, f"missing {kind.id_column}"))
        return
    document_id = f"{kind.name}:{record_id}"
    try:
        doc = _row_document(src, kind, row, document_id)
        if kind.name in ("account", "opportunity", "contact"):
            result.records.append(_row_record(kind, row, doc))
    except RowError as exc:
        result.errors.append(_row_error(src, where, document_id, str(exc)))
        return
    result.documents.append(doc)


def _row_error(src: FileSource, where: str, document_id: str | None, message: str) -> LoadError:
    source = document_id or f"{src.document_id}#{where.replace(' ', '=')}"
    return LoadError(source, Reason.BAD_ROW, f"{src.label} {where}: {message}")


def _row_document(
    src: FileSource, kind: Kind, row: dict[str, str], document_id: str
) -> SourceDocument:
    dates = {key: _date(key, value) for key, value in row.items() if _is_date(key) and value}
    text = render_row(kind, row)
    if not text:
        raise RowError(f"the {kind.name} has no text")
    side = src.sidecar
    return SourceDocument(
        document_id=document_id,
        source_uri=src.source_uri,
        doc_type=kind.doc_type,
        title=_title(kind, row),
        segments=[Segment(text=text)],
        account_id=row.get("account_id") or side.account_id,
        opportunity_id=row.get("opportunity_id") or side.opportunity_id,
        contact_ids=split_list(row.get("contact_id")) or side.contact_ids,
        author=row.get("author") or side.author,
        owner=row.get("owner") or row.get("author") or side.owner or src.defaults.owner,
        team=split_list(row.get("team")) or side.team or list(src.defaults.team),
        visibility=_visibility(src, row),
        created_at=dates.get("created_at") or side.created_at,
        updated_at=dates.get("updated_at") or side.updated_at,
        occurred_at=_occurred_at(dates) or side.occurred_at,
        metadata={"kind": kind.name, "fields": row},
    )


def _row_record(kind: Kind, row: dict[str, str], doc: SourceDocument) -> CrmRecord:
    try:
        amount = parse_amount(row["amount"]) if row.get("amount") else None
    except ValueError:
        raise RowError(f"amount {row['amount']!r} is not a number") from None
    close_date = row.get("close_date")
    return CrmRecord(
        kind=kind.name,  # type: ignore[arg-type]  # only called for record kinds
        id=row[kind.id_column],
        name=_name(kind, row),
        account_id=doc.account_id,
        stage=row.get("stage") or None,
        amount=amount,
        currency=row.get("currency") or None,
        close_date=normalize_datetime(close_date) if close_date else None,
        owner=doc.owner,
        team=doc.team,
        visibility=doc.visibility,
        consent=sorted({p.lower() for p in split_list(row.get("consent"))}),
        email=row.get("email") or None,
        phone=row.get("phone") or None,
        title=row.get("title") or None,
        fields=dict(row),
    )


def _visibility(src: FileSource, row: Mapping[str, str]) -> Visibility:
    value = row.get("visibility", "").lower()
    if not value:
        return src.sidecar.visibility or src.defaults.visibility
    if value not in _VISIBILITIES:
        raise RowError(f"visibility {row['visibility']!r} is not one of {_VISIBILITIES}")
    return cast(Visibility, value)


def _is_date(column: str) -> bool:
    return column == "date" or column.endswith(("_at", "_date"))


def _date(column: str, value: str) -> str:
    try:
        return normalize_datetime(value)
    except ValueError:
        raise RowError(f"{column} {value!r} is not a date") from None


def _occurred_at(dates: Mapping[str, str]) -> str | None:
    for column in ("occurred_at", "date", "activity_date", "due_date", "created_at"):
        if dates.get(column):
            return dates[column]
    return None


# -- rendering ---------------------------------------------------------------------------------


def _name(kind: Kind, row: Mapping[str, str]) -> str:
    return " ".join(row[column] for column in kind.name_columns if row.get(column))


def _title(kind: Kind, row: Mapping[str, str]) -> str:
    name = _name(kind, row)
    return name or f"{kind.label} {row[kind.id_column]}"


def render_row(kind: Kind, row: Mapping[str, str]) -> str:
    """Readable text of a row: ``Kind: name`` then ``Label: value`` lines, then the body.

    Notes render as their subject and body only; team, visibility and consent columns are
    left out of every text."""
    body = row.get(kind.body_column, "") if kind.body_column else ""
    if kind.name == "note":
        return "\n\n".join(part for part in (row.get("subject", ""), body) if part)
    lines = [f"{kind.label}: {_title(kind, row)}"]
    hidden = _HIDDEN_COLUMNS | set(kind.name_columns) | {kind.id_column, "currency"}
    hidden |= {kind.body_column} if kind.body_column else set()
    for column, value in row.items():
        if value and column not in hidden:
            lines.append(f"{_label(column)}: {_value(column, value, row)}")
    return "\n".join(lines) + (f"\n\n{body}" if body else "")


def _label(column: str) -> str:
    return _LABELS.get(column) or column.replace("_", " ").capitalize()


def _value(column: str, value: str, row: Mapping[str, str]) -> str:
    if column == "amount" and row.get("currency"):
        return f"{value} {row['currency']}"
    return value
