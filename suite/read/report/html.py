"""A run's report as one self-contained HTML page (reports/<run-id>.html): the answer first, then
every cell in one table people can sort (click a column header) and filter (document,
connections, database latency), and the charts inline. No script, style or font is fetched from
anywhere: the page works from a file, offline."""

from __future__ import annotations

import html
import re
from pathlib import Path

from suite.read import answer as computed
from suite.read import fmt
from suite.read.report.method import machine_text, repeats_text
from suite.read.report.view import View

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1200px;
padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border-bottom:1px solid #e2e2e2;padding:3px 8px;text-align:left;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f6f6f6}
table.sortable th[data-dir=asc]::after{content:" ▲"}table.sortable th[data-dir=desc]::after{content:" ▼"}
tr.unhealthy td{color:#888}tr.baseline td:first-child::after{content:" (baseline)";color:#888}
.filters label{margin-right:1em}.chart svg{max-width:100%;height:auto}
p.why{background:#f3f7ff;border-left:4px solid #4C72B0;padding:.6em 1em}
"""

SCRIPT = """
function sortBy(table, th){
  const index=[...th.parentNode.children].indexOf(th);
  const dir=th.dataset.dir==='desc'?'asc':'desc';
  table.querySelectorAll('th').forEach(h=>delete h.dataset.dir);
  th.dataset.dir=dir;
  const value=row=>{const cell=row.cells[index];
    if(cell.dataset.v===undefined)return cell.textContent;
    const n=parseFloat(cell.dataset.v);return isNaN(n)?-Infinity:n;};
  const body=table.tBodies[0];
  const rows=[...body.rows].sort((a,b)=>{const x=value(a),y=value(b);
    const order=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));
    return dir==='asc'?order:-order;});
  rows.forEach(row=>body.appendChild(row));
}
function applyFilters(table){
  const chosen={};
  document.querySelectorAll('select[data-filter]').forEach(s=>{chosen[s.dataset.filter]=s.value;});
  [...table.tBodies[0].rows].forEach(row=>{
    const shown=Object.entries(chosen).every(([key,value])=>value===''||row.dataset[key]===value);
    row.hidden=!shown;});
}
document.querySelectorAll('table.sortable').forEach(table=>{
  table.querySelectorAll('th').forEach(th=>th.addEventListener('click',()=>sortBy(table,th)));
  document.querySelectorAll('select[data-filter]').forEach(s=>
    s.addEventListener('change',()=>applyFilters(table)));
});
"""

COLUMNS = (("variant", "variant"), ("model", "worker model"), ("doc", "document"),
           ("conns", "connections"), ("db", "database +ms"), ("rps", "median req/s"),
           ("min", "lowest repeat"), ("max", "highest repeat"), ("cv", "CV %"),
           ("failed", "failed % (median repeat)"), ("p50", "p50 ms"), ("p99", "p99 ms"),
           ("cpu", "server CPU µs/request"), ("finds", "finds / response"))


def _strong(text: str) -> str:
    """The markdown emphasis a computed sentence uses, as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text, quote=False))


def _num(value: float | None, text: str | None = None) -> str:
    shown = text if text is not None else fmt.integer(value)
    data = "" if value is None else f"{value:.6g}"
    return f'<td class="n" data-v="{data}">{html.escape(shown)}</td>'


def _answer(view: View) -> list[str]:
    answers = [a for a in view.answers if a.db_latency_ms == min(view.profile.db_latencies_ms)]
    if not any(a.best for a in answers):
        return ["<p>Nothing healthy was measured, so this run gives no answer.</p>"]
    made = computed.recommend(view.answers)
    parts = [f'<p class="why">{_strong(made.why)}</p>', "<table><thead><tr><th>cell</th>"
             "<th>best deployable</th><th>req/s</th><th>runner-up</th><th>lead</th>"
             "<th>baseline (no framework)</th><th>ceiling (compiled)</th></tr></thead><tbody>"]
    for a in answers:
        best = a.best.name if a.best else "none healthy"
        runner = (f"{a.runner_up.name} {fmt.integer(a.runner_up.summary.median_rps)}"
                  if a.runner_up else "–")
        lead = f"{fmt.ratio(a.lead.ratio)}, {a.lead.text}" if a.lead else "–"
        baseline, ceiling = (f"{e.name} {fmt.integer(e.summary.median_rps)}" if e else "–"
                             for e in (a.baseline, a.ceiling))
        parts.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in (
            a.label, best, fmt.integer(a.best.summary.median_rps if a.best else None), runner,
            lead, baseline, ceiling)) + "</tr>")
    return parts + ["</tbody></table>"]


def _cells(view: View) -> list[str]:
    run = view.run
    rows = []
    for v in run.variants:
        for cell in v.cells:
            if not cell.repeats:
                continue
            s = view.summary(v, cell)
            healthy = view.healthy(s) and cell.status != "failed"
            classes = " ".join(filter(None, ("unhealthy" if not healthy else "",
                                             "baseline" if v.classification == "baseline"
                                             else "")))
            server = s.cpu_us_per_ok.get("server")
            rows.append(
                f'<tr class="{classes}" data-doc="{cell.doc}" data-conns="{cell.connections}" '
                f'data-db="{cell.db_latency_ms}">'
                f"<td>{html.escape(v.name)}</td><td>{html.escape(v.worker_model)}</td>"
                f"<td>{cell.doc}</td>" + _num(cell.connections) + _num(cell.db_latency_ms)
                + _num(s.median_rps) + _num(s.min_rps) + _num(s.max_rps)
                + _num(None if s.cv is None else s.cv * 100,
                       "–" if s.cv is None else f"{s.cv:.1%}")
                + _num(None if s.error_rate is None else s.error_rate * 100,
                       ("✗ " if not healthy else "") + fmt.share(s.error_rate))
                + _num(s.latency_ms.get("p50"), fmt.ms(s.latency_ms.get("p50")))
                + _num(s.latency_ms.get("p99"), fmt.ms(s.latency_ms.get("p99")))
                + _num(server) + _num(s.finds_per_ok_min, "–" if s.finds_per_ok_min is None
                                      else f"{s.finds_per_ok_min:.2f}") + "</tr>")
    p = view.profile
    filters = ['<p class="filters">']
    for key, label, values in (("doc", "document", p.docs), ("conns", "connections",
                                                               p.connections),
                               ("db", "database +ms", p.db_latencies_ms)):
        if len(values) < 2:
            continue
        options = "".join(f'<option value="{value}">{value}</option>' for value in values)
        filters.append(f'<label>{label} <select data-filter="{key}"><option value="">all'
                       f"</option>{options}</select></label>")
    filters.append("</p>")
    head = "".join(f'<th data-key="{key}">{html.escape(title)}</th>' for key, title in COLUMNS)
    return [*filters, f'<table class="sortable" id="cells"><thead><tr>{head}</tr></thead><tbody>',
            *rows, "</tbody></table>",
            f"<p>{fmt.HEALTHY_MARK} unhealthy: more than {fmt.share(view.limit)} of the median "
            "repeat's attempts failed; grey rows are never ranked. Click a column to sort.</p>"]


def _charts(view: View, reports_dir: Path) -> list[str]:
    parts = []
    for key, path in sorted(view.charts.items()):
        file = reports_dir / path
        if not file.exists():
            continue
        svg = file.read_text()
        svg = svg[svg.index("<svg"):]     # the XML declaration and doctype stay out
        parts.append(f'<figure class="chart" id="{html.escape(key)}">{svg}</figure>')
    return parts


def page(view: View, reports_dir: Path) -> str:
    run, p = view.run, view.profile
    title = f"Python server battle: run {run.run_id}"
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p>{html.escape(run.status)} · profile {html.escape(p.name)}: {p.duration_s:g} s "
            f"per repeat, {html.escape(repeats_text(run))} · {html.escape(machine_text(run))}"
            f" · <a href=\"{run.run_id}.md\">the full report</a> · "
            f"<a href=\"index.html\">every run</a></p>",
            "<h2>The answer</h2>", *_answer(view),
            "<h2>Every cell</h2>", *_cells(view),
            "<h2>Charts</h2>", *_charts(view, reports_dir)]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>\n" + "\n".join(body)
            + f"\n<script>{SCRIPT}</script>\n</body></html>\n")
