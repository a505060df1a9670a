"""The self-contained HTML report: inline CSS and SVG, no script, nothing fetched.

Sections: run header, gate, per-action metric tables with a distribution plot per metric,
and a drill-down per case (question, answer, reference, citations, retrieved chunks with
the relevant units they cover, review flags, scores, raw output)."""

from __future__ import annotations

import json
from html import escape

from eval.report_md import fmt, header_lines, primary_metric
from eval.results import CaseResult, RunResults
from eval.svg import distribution_svg

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1180px;
color:#1d2430;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d7dce3;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d7dce3;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f2f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#11723a;font-weight:600}.fail{color:#b42318;font-weight:600}.nm{color:#7a5b00}
.plots{display:flex;flex-wrap:wrap;gap:10px}.plots svg{border:1px solid #e4e7ec;border-radius:4px;background:#fff}
svg .bar{fill:#5b8def}svg .axis,svg .whisker{stroke:#667085;stroke-width:1}svg .box{fill:#d6e4ff;stroke:#3563c9}
svg .median{stroke:#b42318;stroke-width:2}svg .t{font-size:11px;font-weight:600;fill:#1d2430}
svg .l{font-size:9px;fill:#475467}
details{border:1px solid #e4e7ec;border-radius:4px;margin:4px 0;padding:4px 8px}details[open]{background:#fafbfc}
summary{cursor:pointer}pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;border-radius:4px;max-height:320px;
overflow:auto}.k{color:#475467;font-size:12px}.tag{background:#eef2f6;border-radius:3px;padding:0 4px;
font-size:12px;margin-right:3px}.rel{background:#dcfae6}
"""


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str) -> str:
    css = {"pass": "pass", "ok": "pass", "fail": "fail", "error": "fail"}.get(status, "nm")
    return f'<span class="{css}">{escape(status)}</span>'


def _gate(r: RunResults) -> str:
    if not r.gate:
        return ""
    verdict = _status("pass" if r.gate["passed"] else "fail")
    rows = [[escape(c["metric"]), escape(c["rule"]), fmt(c["value"]), _status(c["status"])] for c in r.gate["checks"]]
    return (f"<h2>Gate <code>{escape(r.gate['profile'])}</code>: {verdict}</h2>"
            + _table(["metric", "rule", "value", "status"], rows, {2}))


def _action_section(r: RunResults, action: str) -> str:
    table = r.metrics.get(action, {})
    rows = [[escape(name), fmt(st.micro if st.micro is not None else st.mean) + (" µ" if st.micro is not None else ""),
             fmt(st.p50), fmt(st.p95), fmt(st.min), fmt(st.max), str(st.n)] for name, st in table.items()]
    cases = [c for c in r.cases if c.action == action and c.status == "ok"]
    plots = []
    for name in table:
        values = [v for c in cases if (v := c.metrics.get(name)) is not None]
        plots.append(distribution_svg(name, values))
    return (f"<h2>{escape(action)}</h2>"
            + _table(["metric", "value (µ = micro-average)", "p50", "p95", "min", "max", "n"], rows, {1, 2, 3, 4, 5, 6})
            + f'<div class="plots">{"".join(plots)}</div>')


def _case(c: CaseResult, primary: str | None) -> str:
    score = f" · {escape(primary)} {fmt(c.metrics.get(primary))}" if primary and primary in c.metrics else ""
    tags = "".join(f'<span class="tag">{escape(t)}</span>' for t in c.tags if t)
    parts = [f"<details><summary><code>{escape(c.id)}</code> {escape(c.action)} {_status(c.status)}{score} "
             f"{tags} <span class='k'>{escape(c.question[:110])}</span></summary>"]
    if c.message:
        parts.append(f"<p><b>Message:</b> {escape(c.message)}</p>")
    parts.append(f"<p><b>Question / task:</b> {escape(c.question)}</p>")
    if c.answer:
        parts.append(f"<p><b>Answer:</b></p><pre>{escape(c.answer)}</pre>")
    if c.reference:
        parts.append(f"<p><b>Reference:</b></p><pre>{escape(c.reference)}</pre>")
    if c.citations:
        rows = [[escape(x.get("document_id", "")), escape(x.get("snippet", "")[:240])] for x in c.citations]
        parts.append("<p><b>Citations</b></p>" + _table(["document", "snippet"], rows))
    if c.retrieved:
        rows = []
        for i, h in enumerate(c.retrieved, start=1):
            covers = ", ".join(h.covers)
            mark = f'<span class="rel">{escape(covers)}</span>' if covers else ""
            rows.append([str(i), escape(h.document_id), mark, f"{h.score:.4f}", escape(h.snippet[:200])])
        parts.append(f"<p><b>Retrieved</b> (relevant units: {escape(', '.join(c.relevant)) or '—'})</p>"
                     + _table(["#", "document", "covers", "score", "snippet"], rows, {0, 3}))
    if c.review_flags:
        parts.append(f"<p><b>Review flags:</b> {escape(', '.join(c.review_flags))}</p>")
    if c.metrics:
        rows = [[escape(k), fmt(v)] for k, v in sorted(c.metrics.items())]
        parts.append(_table(["metric", "value"], rows, {1}))
    if c.metric_errors:
        parts.append("<p><b>Metric errors:</b></p><pre>" + escape(json.dumps(c.metric_errors, indent=1)) + "</pre>")
    if c.output is not None:
        parts.append("<p><b>Output</b></p><pre>" + escape(json.dumps(c.output, indent=1, ensure_ascii=False))
                     + "</pre>")
    parts.append("</details>")
    return "".join(parts)


def render_html(r: RunResults) -> str:
    header = "".join(f"<li>{escape(line[2:]).replace('**', '')}</li>" for line in header_lines(r))
    actions = sorted({c.action for c in r.cases})
    overview = []
    for action in actions:
        group = [c for c in r.cases if c.action == action]
        ran = [c for c in group if c.status != "skipped"]
        errors = sum(c.status == "error" for c in ran)
        overview.append([escape(action), str(len(ran)), str(errors), str(len(group) - len(ran))])
    body = [f"<h1>Eval run {escape(r.run_id)}</h1><ul>{header}</ul>", _gate(r), "<h2>Overview</h2>",
            _table(["action", "cases run", "errors", "skipped"], overview, {1, 2, 3})]
    body += [_action_section(r, a) for a in actions if a in r.metrics]
    body.append("<h2>Cases</h2>")
    for action in actions:
        cases = [c for c in r.cases if c.action == action]
        primary = primary_metric(action, [c for c in cases if c.status == "ok"])
        body.append(f"<h3>{escape(action)} ({len(cases)})</h3>")
        body += [_case(c, primary) for c in cases]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width,initial-scale=1'><title>Eval run {escape(r.run_id)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
