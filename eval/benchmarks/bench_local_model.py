"""Load time, generation speed and time to first token of the packaged local chat model.

    .venv/bin/python -m eval.benchmarks.bench_local_model [--runs 3] [--threads 2]

Speed is counted in the model's own tokens (llama.cpp's usage), over a fixed prompt."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPT = (
    "Write a friendly follow-up email (about 150 words) to Dana Whitfield at Acme Logistics after a demo of "
    "Helio Fleet, a fleet telematics product. Mention route optimisation, the Growth tier at $59 per vehicle "
    "per month, and propose a call next Tuesday."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "sidekick-models")
    args = parser.parse_args()

    from llama_cpp import Llama

    from prompts.local_model import assemble_packaged_model

    t0 = time.perf_counter()
    path = assemble_packaged_model(args.cache_dir)
    assemble_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    llm = Llama(model_path=str(path), n_ctx=4096, n_threads=args.threads, seed=7, verbose=False)
    load_s = time.perf_counter() - t0
    messages: list[Any] = [{"role": "user", "content": PROMPT}]
    speeds, ttfts = [], []
    for _ in range(args.runs):
        llm.reset()  # no prompt-cache reuse between runs: every run evaluates the prompt
        start = time.perf_counter()
        first = None
        n = 0
        stream: Any = llm.create_chat_completion(messages=messages, max_tokens=args.max_tokens, temperature=0.0,
                                                stream=True)
        for chunk in stream:
            if chunk["choices"][0].get("delta", {}).get("content"):
                n += 1
                if first is None:
                    first = time.perf_counter() - start
        total = time.perf_counter() - start
        ttfts.append(first or total)
        speeds.append((n - 1) / (total - (first or 0)) if n > 1 else 0.0)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, threads={args.threads}",
        "model": path.name,
        "model_bytes": path.stat().st_size,
        "assemble_s": round(assemble_s, 2),
        "load_s": round(load_s, 2),
        "decode_tokens_per_s_median": round(statistics.median(speeds), 1),
        "ttft_s_median": round(statistics.median(ttfts), 2),
        "runs": args.runs,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
