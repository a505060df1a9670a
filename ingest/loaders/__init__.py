"""Loaders: files, folders and uploads -> ``SourceDocument``s, ``CrmRecord``s and errors.

Modules, one per family:

- ``registry``: ``load_paths`` / ``load_file`` and the extension -> loader table
- ``files``: PDF, DOCX, HTML, Markdown and plain text through unstructured (offline)
- ``emails``: ``.eml`` through the standard library
- ``transcripts``: WebVTT, SRT, speaker-turn text, call-recorder JSON
- ``crm``: CSV/JSON exports of accounts, contacts, opportunities, notes, activities
- ``sidecar``: ``X.ext.meta.json`` metadata; ``text``: encoding detection;
  ``fields``: dates, lists, amounts; ``base``: shared types and error codes

The user-facing reference of formats, columns and error codes is ``ingest/FORMATS.md``.
"""

from ingest.loaders.base import (
    DEFAULT_MAX_BYTES,
    CrmRecord,
    LoadResult,
    Reason,
    SourceDefaults,
)
from ingest.loaders.registry import LOADERS, load_file, load_paths
from ingest.loaders.text import BinaryDataError, decode_text

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LOADERS",
    "BinaryDataError",
    "CrmRecord",
    "LoadResult",
    "Reason",
    "SourceDefaults",
    "decode_text",
    "load_file",
    "load_paths",
]
