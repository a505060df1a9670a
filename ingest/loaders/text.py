"""Decoding text files whose encoding nobody declared.

Order: a byte-order mark decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); otherwise strict
UTF-8; otherwise cp1252 (what Windows tools write for Western text). Data with NUL bytes,
bytes undefined in cp1252, or many control characters is binary, not text."""

from __future__ import annotations

import codecs

from ingest.loaders.base import FileSource, Reason

# UTF-32 LE must be tried before UTF-16 LE: its BOM starts with the UTF-16 LE BOM.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")
_MAX_CONTROL_RATIO = 0.01


class BinaryDataError(ValueError):
    """The bytes are not text in any encoding we accept."""


def decode_text(data: bytes) -> str:
    """Decode ``data`` as text and normalise newlines to ``\\n``.

    Raises ``BinaryDataError`` when the bytes look binary."""
    text = _decode(data)
    controls = sum(1 for ch in text if ch < " " and ch not in _ALLOWED_CONTROLS)
    if text and controls / len(text) > _MAX_CONTROL_RATIO:
        raise BinaryDataError(f"{controls} control characters in {len(text)}: binary data")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise BinaryDataError(f"invalid {codec} after its byte-order mark") from exc
    if b"\x00" in data:
        raise BinaryDataError("NUL bytes: binary data")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise BinaryDataError("neither UTF-8 nor cp1252: binary data") from exc


def read_text(src: FileSource) -> str:
    """The file's text; ``bad_encoding`` if binary, ``empty`` if only whitespace."""
    try:
        text = decode_text(src.path.read_bytes())
    except BinaryDataError as exc:
        raise src.error(Reason.BAD_ENCODING, f"{src.label}: {exc}") from None
    if not text.strip():
        raise src.error(Reason.EMPTY, f"{src.label} contains only whitespace")
    return text
