"""Quality of the compliance_check, field_fill and qa actions on the labelled demo sets and MTRAG.

    .venv/bin/python -m eval.benchmarks.bench_action_quality --model local \\
        --tasks compliance,field_fill,qa,mtrag [--limit 10] [--mtrag-limit 20] [--out results.jsonl]

``--model scripted`` runs the same code path with an instant model that finds nothing
beyond the deterministic rules: for ``compliance`` that is the rules-only baseline; for the
other tasks it only checks the harness. Actions run through ``actions.runner.ActionRunner``
as the HTTP routes do, as each row's user, on the demo corpus ingested into ``--data-dir``
(once) and, for ``mtrag``, the MTRAG-UN IBM Cloud passages in tenant ``mtrag``. The reply
cache stays on, so an interrupted run resumes where it stopped. Per-row details go to
``--out`` as JSON lines; the summary is printed as JSON.

Scoring:
- compliance: a predicted ``violation`` is a true positive when a reference verdict has the
  same clause and an overlapping span (each reference matched once); also clause-level
  scores (clause ids only) and draft-level accuracy of ``compliant``.
- field_fill: per field, exact match after normalising (numbers and currency by value, dates
  as ISO, text case- and space-insensitive); unknown (null) counts as a value. Precision and
  recall over non-null values; unknown accuracy = share of reference-null fields left null.
- qa / mtrag: not-found accuracy = share of unanswerable rows answered exactly "Not found in
  the sources."; answer rate = share of answerable rows answered (with citations)."""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from actions.registry import ACTIONS  # noqa: E402
from prompts.chat import ChatModel  # noqa: E402
from prompts.scripted import ScriptedChatModel  # noqa: E402
from retrieval.identity import Caller  # noqa: E402
from service.container import Container  # noqa: E402
from service.settings import Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "eval" / "datasets"
DEMO = REPO / "ingest" / "demo_corpus"
MTRAG = REPO.parent / "shared" / "datasets" / "mtrag_cloud"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def build_container(data_dir: Path, model: str, threads: int, context_tokens: int) -> Container:
    chat: ChatModel
    if model == "local":
        from prompts.chat import LlamaCppChatModel
        from prompts.local_model import MODEL_NAME, assemble_packaged_model

        path = assemble_packaged_model(data_dir.parent / "sidekick-models")
        chat = LlamaCppChatModel(path, name=MODEL_NAME, context_tokens=8192, threads=threads)
    else:
        chat = ScriptedChatModel(responder=_nothing_more, name="scripted-rules-only")
    settings = Settings(data_dir=data_dir, retrieval={"context_tokens": context_tokens})  # type: ignore[arg-type]
    container = Container(settings, chat=chat)
    marker = data_dir / ".demo-ingested"
    if not marker.exists():
        report = container.ingestor.ingest_paths("demo", [DEMO], root=DEMO)
        assert report.count("failed") == 0
        marker.touch()
    return container


def _nothing_more(messages: Any, schema: dict[str, Any] | None) -> str:
    """The instant model: no findings beyond the rules, no field values, never an answer."""
    if schema and "findings" in schema.get("properties", {}):
        return '{"findings": []}'
    if schema:
        return json.dumps({name: {"evidence": None, "quote": None, "value": None, "confidence": 0}
                           for name in schema.get("properties", {})})
    return "Not found in the sources."


def ingest_mtrag(container: Container, data_dir: Path) -> None:
    marker = data_dir / ".mtrag-ingested"
    if marker.exists():
        return
    from ingest.documents import Segment, SourceDocument
    from ingest.loaders import LoadResult
    from retrieval.models import DocType

    documents = [SourceDocument(document_id=f"mtrag:{d['doc_id']}", source_uri=f"mtrag:{d['doc_id']}",
                                doc_type=DocType.PRODUCT_DOC, segments=[Segment(text=d["text"].strip())],
                                visibility="public", owner="docs")
                 for d in read_jsonl(MTRAG / "docs.jsonl")]
    container.ingestor.ingest_loaded("mtrag", LoadResult(documents=documents))
    marker.touch()


def caller(row: dict[str, Any]) -> Caller:
    return Caller(tenant_id=row.get("tenant", "demo"), user_id=row["user"], teams=tuple(row.get("teams", ())))


def run(container: Container, name: str, inputs: dict[str, Any], who: Caller) -> tuple[Any, float]:
    action = ACTIONS[name]
    start = time.perf_counter()
    response = container.runner.run(action, action.input_model.model_validate(inputs), who)
    return response, time.perf_counter() - start


# -- compliance ------------------------------------------------------------------------------------
def score_compliance(rows: list[dict[str, Any]], container: Container, out: Any) -> dict[str, Any]:
    tp = fp = fn = ctp = cfp = cfn = right = reviews = 0
    for row in rows:
        draft = row["inputs"]["draft"]
        inputs = dict(row["inputs"], record=row["record"])
        response, seconds = run(container, "compliance_check", inputs, caller(row))
        got = [v for v in response.output.verdicts if v.verdict == "violation"]
        reviews += sum(v.verdict == "needs_review" for v in response.output.verdicts)
        refs = [(v["clause"], draft.index(v["span"]), draft.index(v["span"]) + len(v["span"]))
                for v in row["reference"]["verdicts"]]
        used: set[int] = set()
        for v in got:
            match = next((i for i, (c, a, b) in enumerate(refs) if i not in used and c == v.clause
                          and v.start is not None and v.start < b and a < v.start + len(v.span or "")), None)
            if match is None:
                fp += 1
            else:
                used.add(match)
                tp += 1
        fn += len(refs) - len(used)
        predicted, expected = {v.clause for v in got}, {c for c, _, _ in refs}
        ctp += len(predicted & expected)
        cfp += len(predicted - expected)
        cfn += len(expected - predicted)
        right += response.output.compliant == row["reference"]["compliant"]
        out.write(json.dumps({"task": "compliance", "id": row["id"], "seconds": round(seconds, 1),
                              "cached": response.cached, "compliant": response.output.compliant,
                              "expected": row["reference"]["compliant"],
                              "verdicts": [v.model_dump(exclude={"message"}) for v in response.output.verdicts
                                           if v.verdict != "pass"]}) + "\n")
        out.flush()
    return {"rows": len(rows), "span_level": _prf(tp, fp, fn), "clause_level": _prf(ctp, cfp, cfn),
            "draft_accuracy": round(right / max(len(rows), 1), 3), "needs_review": reviews}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 3), "recall": round(r, 3),
            "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}


# -- field fill --------------------------------------------------------------------------------------
def _same(expected: Any, got: Any) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, dict):  # currency
        return isinstance(got, dict) and abs(float(got["value"]) - float(expected["value"])) < 0.01
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got
    if isinstance(expected, int | float):
        return isinstance(got, int | float) and abs(float(got) - float(expected)) < 1e-6
    norm = lambda s: " ".join(re.sub(r"[^\w\s]", " ", str(s).lower()).split())  # noqa: E731
    return norm(expected) == norm(got)


def score_field_fill(rows: list[dict[str, Any]], container: Container, out: Any) -> dict[str, Any]:
    exact = total = tp = predicted = relevant = null_right = nulls = flagged = 0
    for row in rows:
        response, seconds = run(container, "field_fill", dict(row["inputs"], record=row["record"]), caller(row))
        got = {f.name: f.value.model_dump() if hasattr(f.value, "model_dump") else f.value
               for f in response.output.fields}
        for name, expected in row["reference"]["fields"].items():
            value = got.get(name)
            ok = _same(expected, value)
            total, exact = total + 1, exact + ok
            predicted += value is not None
            relevant += expected is not None
            tp += ok and expected is not None
            nulls += expected is None
            null_right += expected is None and value is None
        flagged += len(response.review_flags)
        out.write(json.dumps({"task": "field_fill", "id": row["id"], "seconds": round(seconds, 1),
                              "cached": response.cached, "got": got, "expected": row["reference"]["fields"],
                              "flags": [f.message for f in response.review_flags]}, default=str) + "\n")
        out.flush()
    p, r = tp / max(predicted, 1), tp / max(relevant, 1)
    return {"rows": len(rows), "fields": total, "exact_match": round(exact / max(total, 1), 3),
            "precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "unknown_accuracy": round(null_right / max(nulls, 1), 3), "review_flags": flagged}


# -- qa ----------------------------------------------------------------------------------------------
def score_qa(rows: list[tuple[str, dict[str, Any], Caller, bool]], container: Container, out: Any,
             task: str) -> dict[str, Any]:
    nf_right = nf_total = answered = ans_total = cited = 0
    for row_id, inputs, who, answerable in rows:
        response, seconds = run(container, "qa", inputs, who)
        said = response.output.answerable
        if answerable:
            ans_total += 1
            answered += said
            cited += said and bool(response.output.sources)
        else:
            nf_total += 1
            nf_right += not said
        out.write(json.dumps({"task": task, "id": row_id, "seconds": round(seconds, 1), "cached": response.cached,
                              "answerable": answerable, "answer": response.output.answer}) + "\n")
        out.flush()
    return {"rows": len(rows), "unanswerable": nf_total,
            "not_found_accuracy": round(nf_right / nf_total, 3) if nf_total else None,
            "answerable": ans_total, "answer_rate": round(answered / ans_total, 3) if ans_total else None,
            "answered_with_citations": cited}


def demo_qa_rows(limit: int | None, rng: random.Random) -> list[tuple[str, dict[str, Any], Caller, bool]]:
    rows = read_jsonl(DATASETS / "demo_qa.jsonl")
    unanswerable = [r for r in rows if not r["reference"]["answerable"]]
    answerable = [r for r in rows if r["reference"]["answerable"]]
    if limit:  # keep the mix: at least half unanswerable
        k = min(len(unanswerable), (limit + 1) // 2)
        unanswerable, answerable = unanswerable[:k], rng.sample(answerable, min(len(answerable), limit - k))
    return [(r["id"], {"question": r["inputs"]["question"], "record": r["record"]}, caller(r),
             r["reference"]["answerable"]) for r in unanswerable + answerable]


def mtrag_rows(limit: int, answerable: int, rng: random.Random) -> list[tuple[str, dict[str, Any], Caller, bool]]:
    rows = read_jsonl(MTRAG / "qa.jsonl")
    who = Caller(tenant_id="mtrag", user_id="eval")
    picked = rng.sample([r for r in rows if r["answerability"] == "UNANSWERABLE"], limit)
    picked += rng.sample([r for r in rows if r["answerability"] == "ANSWERABLE"], answerable)
    out = []
    for r in picked:
        history = [{"role": t["role"], "text": t["text"][:4000]} for t in r["history"][-6:]]
        out.append((r["id"], {"question": r["question"][:1000], "history": history}, who,
                    r["answerability"] == "ANSWERABLE"))
    return out


def _balanced(rows: list[dict[str, Any]], limit: int | None, key: Any) -> list[dict[str, Any]]:
    if not limit:
        return rows
    yes, no = [r for r in rows if key(r)], [r for r in rows if not key(r)]
    take = (limit + 1) // 2
    return yes[:take] + no[: limit - min(take, len(yes))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("local", "scripted"), default="local")
    parser.add_argument("--tasks", default="compliance,field_fill,qa,mtrag")
    parser.add_argument("--limit", type=int, default=None, help="rows per demo task (balanced); all if unset")
    parser.add_argument("--mtrag-limit", type=int, default=20, help="unanswerable MTRAG rows")
    parser.add_argument("--mtrag-answerable", type=int, default=0, help="answerable MTRAG rows, for contrast")
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "sidekick-quality" / "data")
    parser.add_argument("--context-tokens", type=int, default=1800, help="evidence budget of the prompts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("action_quality.jsonl"))
    args = parser.parse_args()

    rng = random.Random(args.seed)
    container = build_container(args.data_dir, args.model, args.threads, args.context_tokens)
    tasks = args.tasks.split(",")
    summary: dict[str, Any] = {"model": container.chat.name, "context_tokens": args.context_tokens}
    with args.out.open("a", encoding="utf-8") as out:
        if "compliance" in tasks:
            rows = _balanced(read_jsonl(DATASETS / "demo_compliance.jsonl"), args.limit,
                             lambda r: not r["reference"]["compliant"])
            summary["compliance"] = score_compliance(rows, container, out)
        if "field_fill" in tasks:
            rows = read_jsonl(DATASETS / "demo_field_fill.jsonl")[: args.limit or None]
            summary["field_fill"] = score_field_fill(rows, container, out)
        if "qa" in tasks:
            summary["qa_demo"] = score_qa(demo_qa_rows(args.limit, rng), container, out, "qa")
        if "mtrag" in tasks:
            ingest_mtrag(container, args.data_dir)
            summary["qa_mtrag"] = score_qa(mtrag_rows(args.mtrag_limit, args.mtrag_answerable, rng), container,
                                           out, "mtrag")
    container.close()
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
