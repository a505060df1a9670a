"""What an action costs besides the model: retrieval, prompt, guardrails, envelope and audit.

    .venv/bin/python -m eval.benchmarks.bench_action_overhead [--calls 40] [--ttft-runs 2] [--skip-ttft]

Part 1 runs every registered action through ``actions.runner.ActionRunner`` (as the
HTTP routes do, audit write included) on the demo corpus, with a scripted model that
replies instantly with a valid answer, over inputs taken from the labelled demo sets.
Model time (``timings_ms["model"]``, ~0 here) is subtracted; p50/p95 are reported with
the reply cache off (every call does all the work) and on (the repeat of an unchanged
record: retrieval and guardrails still run, the model is skipped). Target: p95 < 100 ms.

Part 2 streams ``qa`` and ``email_draft`` with the packaged local model and reports the
time to the first token event (retrieval + prompt evaluation) and to ``done``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from actions.base import ActionContext  # noqa: E402
from actions.registry import ACTIONS  # noqa: E402
from prompts.chat import ChatMessage  # noqa: E402
from prompts.scripted import ScriptedChatModel  # noqa: E402
from retrieval.identity import Caller  # noqa: E402
from service.container import Container  # noqa: E402
from service.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "eval" / "datasets"
DEMO = REPO / "ingest" / "demo_corpus"
_EVIDENCE = re.compile(r'<evidence id="(E\d+)"[^>]*>\n(.*?)\n</evidence>', re.S)


def instant_reply(messages: Sequence[ChatMessage], schema: dict[str, Any] | None) -> str:
    """A valid reply for any action, built from the prompt in microseconds."""
    blocks = _EVIDENCE.findall(messages[-1]["content"])
    first = blocks[0] if blocks else ("E1", "nothing")
    line = first[1].splitlines()[-1][:200]
    props = (schema or {}).get("properties", {})
    if "findings" in props:
        return '{"findings": []}'
    if "headline" in props:
        bullet = {"text": line, "evidence": [first[0]]}
        return json.dumps({"headline": "Where things stand.", "key_facts": [bullet], "open_questions": [],
                           "risks": [], "next_steps": [bullet]})
    if schema:
        return json.dumps({name: {"evidence": first[0], "quote": line[:60], "value": None, "confidence": 0.5}
                           for name in props})
    if "Subject:" in messages[0]["content"]:
        return f"Subject: Following up\n\nHi,\n\nThanks for your time. {line}\n\nBest,\n[YOUR NAME]"
    return f"{line} [{first[0]}]"


def cases() -> dict[str, list[tuple[dict[str, Any], Caller]]]:
    def rows(name: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in (DATASETS / name).read_text().splitlines() if x.strip()]

    def who(r: dict[str, Any]) -> Caller:
        return Caller(tenant_id="demo", user_id=r["user"], teams=tuple(r["teams"]))

    return {
        "summary": [({"record": r["record"]}, who(r)) for r in rows("demo_summary.jsonl")],
        "email_draft": [({"contact_id": r["inputs"]["contact_id"], "record": r["record"], "tone": r["inputs"]["tone"],
                          "length": r["inputs"]["length"], "context": r["inputs"]["context"]}, who(r))
                        for r in rows("demo_email.jsonl")],
        "field_fill": [(dict(r["inputs"], record=r["record"]), who(r)) for r in rows("demo_field_fill.jsonl")],
        "compliance_check": [(dict(r["inputs"], record=r["record"]), who(r)) for r in rows("demo_compliance.jsonl")],
        "qa": [({"question": r["inputs"]["question"], "record": r["record"]}, who(r)) for r in rows("demo_qa.jsonl")],
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 1)


def overhead(container: Container, calls: int, cached: bool) -> dict[str, Any]:
    env = container.action_env
    saved = env.cache
    env.cache = saved if cached else None
    results: dict[str, Any] = {}
    try:
        for name, items in cases().items():
            action = ACTIONS[name]
            parsed = [(action.input_model.model_validate(inputs), who) for inputs, who in items]
            for inp, who in parsed[:3]:  # warm up (and, with the cache on, fill it)
                container.runner.run(action, inp, who)
            totals, retrieval, encode = [], [], []
            for i in range(calls):
                inp, who = parsed[i % len(parsed)]
                start = time.perf_counter()
                response = container.runner.run(action, inp, who)
                elapsed = (time.perf_counter() - start) * 1000 - response.timings_ms.get("model", 0.0)
                totals.append(elapsed)
                retrieval.append(sum(v for k, v in response.timings_ms.items() if k.endswith("_total")))
                encode.append(sum(v for k, v in response.timings_ms.items() if k.endswith("_encode")))
            results[name] = {"p50_ms": pct(totals, 0.5), "p95_ms": pct(totals, 0.95),
                             "mean_ms": round(statistics.mean(totals), 1),
                             "retrieval_p50_ms": pct(retrieval, 0.5), "query_embedding_p50_ms": pct(encode, 0.5),
                             "p95_without_embedding_ms": pct([t - e for t, e in zip(totals, encode, strict=True)],
                                                             0.95),
                             "calls": calls}
    finally:
        env.cache = saved
    return results


def time_to_first_token(container: Container, runs: int, data_dir: Path) -> dict[str, Any]:
    from prompts.chat import LlamaCppChatModel
    from prompts.local_model import MODEL_NAME, assemble_packaged_model

    model = LlamaCppChatModel(assemble_packaged_model(data_dir.parent / "sidekick-models"), name=MODEL_NAME,
                              threads=2)
    model.complete([{"role": "user", "content": "Hi"}], max_tokens=1, temperature=0.0)  # load outside the timing
    env = container.action_env
    env.chat, env.cache = model, None
    picks = {"qa": cases()["qa"][:runs], "email_draft": cases()["email_draft"][:runs]}
    out: dict[str, Any] = {}
    for name, items in picks.items():
        action = ACTIONS[name]
        firsts, dones, samples = [], [], []
        for inputs, who in items:
            ctx = ActionContext(caller=who, env=env)
            start = time.perf_counter()
            first = None
            for event in action.stream(action.input_model.model_validate(inputs), ctx):
                if event.event == "token" and first is None:
                    first = time.perf_counter() - start
                if event.response is not None:
                    samples.append({"output": str(event.response.output.model_dump())[:400],
                                    "flags": [f.code for f in event.response.review_flags]})
            dones.append(time.perf_counter() - start)
            firsts.append(first if first is not None else dones[-1])
        out[name] = {"ttft_s": [round(x, 2) for x in firsts], "done_s": [round(x, 2) for x in dones],
                     "samples": samples}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=40, help="measured calls per action and mode")
    parser.add_argument("--ttft-runs", type=int, default=2)
    parser.add_argument("--skip-ttft", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "sidekick-overhead" / "data")
    args = parser.parse_args()

    chat = ScriptedChatModel(responder=instant_reply, name="scripted-instant")
    container = Container(Settings(data_dir=args.data_dir), chat=chat)
    marker = args.data_dir / ".demo-ingested"
    if not marker.exists():
        assert container.ingestor.ingest_paths("demo", [DEMO], root=DEMO).count("failed") == 0
        marker.touch()
    load = os.getloadavg()
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load avg {load[0]:.1f}/{load[1]:.1f}",
        "overhead_no_cache": overhead(container, args.calls, cached=False),
        "overhead_cache_hit": overhead(container, args.calls, cached=True),
    }
    if not args.skip_ttft:
        result["streaming_local_model"] = time_to_first_token(container, args.ttft_runs, args.data_dir)
    result["load_avg_after"] = [round(x, 1) for x in os.getloadavg()]
    container.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
