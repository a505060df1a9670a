"""Entry points: files and folders in, documents, CRM records and per-item errors out.

``LOADERS`` maps a file extension to its family loader. Two extensions hold more than one
family and are told apart by content: ``.txt`` (a speaker-turn transcript when most lines
are ``Speaker: text``, else a document) and ``.json`` (call-recorder JSON when it has
``utterances``, else a CRM export). Nothing raised while loading one file escapes: every
failure becomes a ``LoadError`` with a stable ``reason`` and the batch goes on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from ingest.documents import LoadError
from ingest.loaders import crm, emails, files, transcripts
from ingest.loaders.base import FileSource, Loader, LoadResult, Reason, SourceDefaults
from ingest.loaders.sidecar import (
    SIDECAR_SUFFIX,
    Sidecar,
    SidecarError,
    parse_sidecar,
    read_sidecar,
)
from ingest.loaders.text import read_text

logger = logging.getLogger(__name__)


def _load_txt(src: FileSource) -> LoadResult:
    text = read_text(src)
    if transcripts.looks_like_transcript(text):
        return transcripts.load_speaker_text(src, text)
    return files.load_text_document(src, text)


def _load_json(src: FileSource) -> LoadResult:
    data = crm.read_json(src)
    if isinstance(data, dict) and "utterances" in data:
        return transcripts.load_call_json(src, data)
    return crm.load_json_records(src, data)


LOADERS: dict[str, Loader] = {
    **{extension: files.load_document for extension in files.EXTENSIONS},
    ".txt": _load_txt,  # replaces the documents entry: a .txt may be a transcript
    ".eml": emails.load_email,
    ".vtt": transcripts.load_captions,
    ".srt": transcripts.load_captions,
    ".json": _load_json,
    ".csv": crm.load_csv,
}


def load_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    root: str | os.PathLike[str] | None = None,
    defaults: SourceDefaults = SourceDefaults(),
) -> LoadResult:
    """Load files and folders (recursively, in name order).

    Hidden files and folders and ``*.meta.json`` sidecars are not loaded (hidden ones and
    sidecars without their file are listed in ``skipped``). A file's ``document_id`` is
    ``file:<path relative to root>``, root being ``root`` if given, else the folder given,
    else a single file's parent folder."""
    result = LoadResult()
    for given in map(Path, paths):
        if not given.exists():
            result.errors.append(LoadError(str(given), Reason.NOT_FOUND, f"{given} does not exist"))
            continue
        base = Path(root) if root is not None else given if given.is_dir() else given.parent
        found = _walk(given, result.skipped) if given.is_dir() else _single(given, result.skipped)
        for path in found:
            document_id = f"file:{_relative(path, base)}"
            uri = path.resolve().as_uri()
            result.extend(_load_one(path, document_id, uri, partial(read_sidecar, path), defaults))
    return result


def load_file(
    path: str | os.PathLike[str],
    *,
    document_id: str,
    meta: Mapping[str, Any] | None = None,
    defaults: SourceDefaults = SourceDefaults(),
    source_uri: str | None = None,
) -> LoadResult:
    """Load one uploaded file. ``meta`` takes the place of a sidecar (same keys); the file's
    extension chooses the loader, so keep the original file name. ``source_uri`` defaults to
    the file's ``file://`` URI."""
    file = Path(path)
    if not file.is_file():
        missing = LoadError(document_id, Reason.NOT_FOUND, f"{file} does not exist")
        return LoadResult(errors=[missing])
    uri = source_uri or file.resolve().as_uri()
    return _load_one(file, document_id, uri, lambda: parse_sidecar(meta), defaults)


def _load_one(
    path: Path,
    document_id: str,
    source_uri: str,
    read_meta: Callable[[], Sidecar],
    defaults: SourceDefaults,
) -> LoadResult:
    label = document_id.removeprefix("file:")

    def failed(reason: Reason, message: str) -> LoadResult:
        return LoadResult(errors=[LoadError(document_id, reason, f"{label}: {message}")])

    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        kind = f"{path.suffix!r} files" if path.suffix else "files without an extension"
        return failed(Reason.UNSUPPORTED_TYPE, f"{kind} are not supported ({_supported()})")
    try:
        size = path.stat().st_size
        sidecar = read_meta()
        if size == 0:
            return failed(Reason.EMPTY, "the file is empty")
        if size > defaults.byte_limit:
            return failed(Reason.TOO_LARGE, f"{size} bytes, over the {defaults.byte_limit} limit")
        result = loader(FileSource(path, document_id, source_uri, sidecar, defaults))
    except SidecarError as exc:
        return failed(Reason.BAD_METADATA, f"bad metadata: {exc}")
    except LoadError as exc:
        return LoadResult(errors=[exc])
    except OSError as exc:
        return failed(Reason.UNREADABLE, f"cannot be read ({exc.strerror or exc})")
    except Exception as exc:  # a loader bug must not sink the batch; the log has the trace
        logger.exception("loading %s failed", label)
        return failed(Reason.CORRUPT, f"cannot be loaded ({type(exc).__name__}: {exc})")
    if not (result.documents or result.records or result.errors):
        return failed(Reason.NO_TEXT, "nothing to index in the file")
    return result


def _walk(folder: Path, skipped: list[str]) -> Iterator[Path]:
    for current, dirs, names in os.walk(folder):
        here = Path(current)
        skipped.extend(str(here / d) for d in sorted(dirs) if d.startswith("."))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            yield from _single(here / name, skipped)


def _single(path: Path, skipped: list[str]) -> Iterator[Path]:
    """``path`` unless it is hidden or a sidecar (skipped when its file is missing)."""
    if path.name.endswith(SIDECAR_SUFFIX):
        if not path.with_name(path.name.removesuffix(SIDECAR_SUFFIX)).exists():
            skipped.append(str(path))
    elif path.name.startswith("."):
        skipped.append(str(path))
    else:
        yield path


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:  # an explicit root that does not contain the file
        return path.resolve().as_posix()


def _supported() -> str:
    return "supported: " + ", ".join(sorted(LOADERS))
