"""A run's report as one self-contained HTML page (reports/<run-id>.html), made from the very
markdown lines of reports/<run-id>.md (suite.read.report.markup converts them), so the page
carries every section of the report with the same text. On top of the markdown it has one
table of every cell that people can sort (click a column header) and filter (document,
connections, database latency), placed after the answer, and its charts inline. No script,
style or font is fetched from anywhere: the page works from a file, offline."""

from __future__ import annotations

import html
from pathlib import Path

from suite.read import fmt
from suite.read.report import markup
from suite.read.report.view import View

# The page's one section the markdown report does not have.
SORTABLE_TITLE = "Every cell, sortable and filterable"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1200px;
padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px;display:block;overflow-x:auto;
max-width:100%}
th,td{border-bottom:1px solid #e2e2e2;padding:3px 8px;text-align:left;vertical-align:top}
table.sortable{display:table;overflow:visible}table.sortable td{white-space:nowrap}
div.scroll{max-height:75vh;overflow:auto;margin:.5em 0 1em}
td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;background:#f6f6f6;position:sticky;top:0}
table.sortable th[data-dir=asc]::after{content:" ▲"}table.sortable th[data-dir=desc]::after{content:" ▼"}
tr.unhealthy td{color:#888}tr.baseline td:first-child::after{content:" (baseline)";color:#888}
h3{font-size:1.05em;margin-top:1.5em}
td.c{text-align:center}
.filters label{margin-right:1em}.chart{margin:1em 0}.chart svg{max-width:100%;height:auto}
nav{color:#555}code{font-size:.92em;background:#f4f4f4;padding:0 .2em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto}pre code{background:none;padding:0}
blockquote{border-left:4px solid #ddd;margin-left:0;padding-left:1em;color:#444}
details{margin:.5em 0}summary{cursor:pointer}
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
           ("failed", "failed % (repeats pooled)"), ("p50", "p50 ms"), ("p99", "p99 ms"),
           ("cpu", "server CPU µs/request"), ("finds", "finds / response"))


def _num(value: float | None, text: str | None = None) -> str:
    shown = text if text is not None else fmt.integer(value)
    data = "" if value is None else f"{value:.6g}"
    return f'<td class="n" data-v="{data}">{html.escape(shown)}</td>'


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
                f'<tr class="{classes}" data-doc="{html.escape(cell.doc)}" '
                f'data-conns="{cell.connections}" data-db="{cell.db_latency_ms}">'
                f"<td>{html.escape(v.name)}</td><td>{html.escape(v.worker_model)}</td>"
                f"<td>{html.escape(cell.doc)}</td>"
                + _num(cell.connections) + _num(cell.db_latency_ms)
                + _num(s.median_rps) + _num(s.min_rps) + _num(s.max_rps)
                + _num(None if s.cv is None else s.cv * 100,
                       "–" if s.cv is None else f"{s.cv:.1%}")
                + _num(None if s.failed_pooled is None else s.failed_pooled * 100,
                       f"{fmt.HEALTHY_MARK} {fmt.failed(s.health)}" if not healthy
                       else fmt.share(s.failed_pooled))
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
    return [*filters, '<div class="scroll">',
            f'<table class="sortable" id="cells"><thead><tr>{head}</tr></thead><tbody>',
            *rows, "</tbody></table></div>",
            f"<p>{fmt.HEALTHY_MARK} unhealthy: more than {fmt.share(view.limit)} of the attempts "
            "failed, over all its repeats pooled or in one repeat; grey rows are never ranked. "
            "Click a column to sort.</p>"]


def _chart(reports_dir: Path):
    """The image hook: a chart (an .svg beside the report) inlined, so the page needs no file
    but itself; any other image stays an <img>."""
    def inline_svg(alt: str, src: str) -> str | None:
        file = reports_dir / src
        if "://" in src or file.suffix != ".svg" or not file.is_file():
            return None
        svg = file.read_text()
        svg = svg[svg.index("<svg"):]     # the XML declaration and doctype stay out
        return (f'<figure class="chart" id="chart-{html.escape(file.stem)}" role="img" '
                f'aria-label="{html.escape(alt)}">{svg}</figure>')
    return inline_svg


def sections_html(lines: list[str], reports_dir: Path,
                  taken: set[str] | None = None) -> list[str]:
    """Markdown lines as HTML, each heading and what follows it up to the next heading in a
    <section> of its own; charts are read from `reports_dir`, the report's folder. `taken`:
    the ids the page already has (added to)."""
    taken = set() if taken is None else taken
    out = []
    for section in markup.sections(lines):
        body = markup.blocks(section.lines, _chart(reports_dir))
        if not section.level:
            out += body
            continue
        name = markup.slug(section.title, taken)
        out += [f'<section id="{name}"><h{section.level}>{markup.inline(section.title)}'
                f"</h{section.level}>", *body, "</section>"]
    return out


def page(view: View, reports_dir: Path, parts: list[tuple[str, list[str]]]) -> str:
    """The page of the report whose markdown is `parts` (suite.read.report.parts), its
    sortable table of every cell after the answer."""
    run = view.run
    lines = [line for _, part in parts for line in part]
    heading = next((s for s in markup.sections(lines) if s.level == 1), None)
    title = markup.plain(heading.title) if heading else f"Python server battle: run {run.run_id}"
    taken: set[str] = set()
    before = [line for name, part in parts if name in ("header", "answer") for line in part]
    after = [line for name, part in parts if name not in ("header", "answer") for line in part]
    body = [f'<nav><a href="{html.escape(run.run_id)}.md">this report in markdown</a> · '
            '<a href="index.html">every run</a></nav>',
            *sections_html(before, reports_dir, taken),
            f'<section id="{markup.slug(SORTABLE_TITLE, taken)}"><h2>{SORTABLE_TITLE}</h2>',
            *_cells(view), "</section>",
            *sections_html(after, reports_dir, taken)]
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>\n" + "\n".join(body)
            + f"\n<script>{SCRIPT}</script>\n</body></html>\n")
