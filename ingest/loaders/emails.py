"""E-mail messages (``.eml``) through the standard library's ``email`` package.

Why not ``partition_email``: the stdlib parser with ``policy.default`` decodes MIME
headers, charsets and transfer encodings itself, never fails on a malformed header (it
records a defect instead), and gives us the raw headers we keep. unstructured is only used
to turn an HTML-only body into text.

Segments: the new text of the message (section ``[]``), then the quoted history (section
``["quoted"]``): lines starting with ``>``, the ``On … wrote:`` line introducing them, and
everything after an ``-----Original Message-----`` separator. The chunker keeps quoted
text in chunks of its own, flagged ``extra["quoted"] = True`` so retrieval can down-weight
it (it usually repeats an earlier message of the thread).
"""

from __future__ import annotations

import re
from datetime import UTC
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from typing import Any, cast

from ingest.documents import Segment
from ingest.loaders.base import FileSource, LoadResult, Reason
from ingest.loaders.files import elements_to_segments, partition_text_as
from ingest.loaders.text import BinaryDataError, decode_text
from retrieval.models import DocType

QUOTED_SECTION = "quoted"
_HEADERS = {
    "from": "From",
    "to": "To",
    "cc": "Cc",
    "subject": "Subject",
    "date": "Date",
    "message_id": "Message-ID",
    "in_reply_to": "In-Reply-To",
}
_QUOTE_LINE = re.compile(r"^\s*>")
_ATTRIBUTION = re.compile(r"^\s*On .{4,200} wrote:\s*$")
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE
)


def load_email(src: FileSource) -> LoadResult:
    """One ``.eml`` file: headers in ``metadata``, ``occurred_at`` from ``Date``."""
    raw = src.path.read_bytes()
    try:
        decode_text(raw)  # MIME is text; binary data here is not an e-mail
    except BinaryDataError as exc:
        raise src.error(Reason.BAD_ENCODING, f"{src.label}: {exc}") from None
    # policy.default makes the parser build EmailMessage objects
    message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))
    headers = {key: str(message[name]) for key, name in _HEADERS.items() if message[name]}
    if not headers:
        raise src.error(Reason.CORRUPT, f"{src.label}: no e-mail headers found")
    segments = split_quoted(body_text(message))
    if not segments:
        raise src.error(Reason.NO_TEXT, f"{src.label}: the message has no text body")
    attachments = [part.get_filename() or "" for part in message.iter_attachments()]
    metadata: dict[str, Any] = {**headers, "attachments": [a for a in attachments if a]}
    doc = src.document(
        doc_type=DocType.EMAIL,
        title=headers.get("subject", src.path.name),
        segments=segments,
        author=headers.get("from"),
        occurred_at=_date(message),
        metadata=metadata,
    )
    return LoadResult(documents=[doc])


def body_text(message: EmailMessage) -> str:
    """The plain-text body, else the HTML body as text, else ``""``."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # an unknown or wrong declared charset
        payload = part.get_payload(decode=True)
        content = decode_text(payload if isinstance(payload, bytes) else b"")
    text = content if isinstance(content, str) else ""
    if part.get_content_subtype() == "html":
        segments, _ = elements_to_segments(partition_text_as(".html", text))
        text = "\n\n".join(segment.text for segment in segments)
    return text.replace("\r\n", "\n").strip()


def split_quoted(body: str) -> list[Segment]:
    """The new text and the quoted history as two segments (either may be absent)."""
    lines = body.split("\n")
    quoted = [bool(_QUOTE_LINE.match(line)) for line in lines]
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            quoted[index:] = [True] * (len(lines) - index)
            break
        if _ATTRIBUTION.match(line) and _next_text_is_quoted(lines, quoted, index):
            quoted[index] = True
    new = "\n".join(line for line, q in zip(lines, quoted, strict=True) if not q).strip()
    old = "\n".join(line for line, q in zip(lines, quoted, strict=True) if q).strip()
    segments = [Segment(text=new)] if new else []
    if old:
        segments.append(Segment(text=old, section=[QUOTED_SECTION]))
    return segments


def _next_text_is_quoted(lines: list[str], quoted: list[bool], index: int) -> bool:
    following = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
    return following is not None and quoted[following]


def _date(message: EmailMessage) -> str | None:
    value = message["Date"]
    if not value:
        return None
    try:
        sent = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return (sent if sent.tzinfo else sent.replace(tzinfo=UTC)).isoformat()
