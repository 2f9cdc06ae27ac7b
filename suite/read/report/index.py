"""The list of runs (reports/index.md and index.html), which run is the current answer (the
newest complete run of the whole question; reports/latest.md shows it, or before there is one
the newest complete run of reads, never merely the last run made). The README's answer block is
suite.read.report.readme's."""

from __future__ import annotations

import html as html_escape
from pathlib import Path

from suite.read import answer
from suite.record import results
from suite.read import fmt
from suite.record.results import RunResult

QUESTION_DOCS = {"small", "large"}
QUESTION_LEVELS = {200, 1000, 5000}


def answers_the_question(run: RunResult) -> bool:
    """A complete run of reads of both documents at 200, 1000 and 5000 connections, of every
    variant (none named on its command line; no sweep or deployment rows): the runs whose
    answer is the product's. A run of chosen variants answers a narrower question."""
    p = run.profile
    return (run.status == "complete" and QUESTION_DOCS <= set(p.docs)
            and QUESTION_LEVELS <= set(p.connections) and 0 in p.db_latencies_ms
            and not any(v.sweep or v.deployment for v in run.variants)
            and not named_variants(run))


def named_variants(run: RunResult) -> list[str]:
    """The variants the run's command line named (`battle run A B --docs ...`); empty: every
    variant of its catalog."""
    named = []
    for arg in run.argv[2:]:
        if arg.startswith("-"):
            break
        named.append(arg)
    return named


def current(runs: list[RunResult]) -> RunResult | None:
    """The newest run that answers the question."""
    found = [r for r in runs if answers_the_question(r)]
    return max(found, key=lambda r: r.run_id, default=None)


def latest(runs: list[RunResult]) -> RunResult | None:
    """What reports/latest.md shows: the current answer; before there is one, the newest
    complete run of reads (no sweep or deployment rows), never merely the last run made."""
    now = current(runs)
    if now is not None:
        return now
    reads = [r for r in runs if r.status == "complete" and QUESTION_DOCS & set(r.profile.docs)
             and not any(v.sweep or v.deployment for v in r.variants)]
    return max(reads, key=lambda r: r.run_id, default=None)


def scope(run: RunResult) -> str:
    p = run.profile
    parts = [f"{len(run.variants)} variants", "/".join(p.docs),
             "/".join(f"{c:,}" for c in p.connections)]
    if p.db_latencies_ms != (0,):
        parts.append("db " + "/".join(f"+{ms}" for ms in p.db_latencies_ms) + " ms")
    kinds = [k for k, present in (("sweep", any(v.sweep for v in run.variants)),
                                  ("nginx", any(v.deployment for v in run.variants)),
                                  ("open loop", bool(p.rates)),
                                  ("crosscheck", bool(run.crosscheck))) if present]
    return " · ".join(parts + kinds + [p.name])


def best(run: RunResult) -> str:
    """The run's recommendation, or the best healthy cell of its first cell when it makes none."""
    answers = answer.answers(run)
    made = answer.recommend(answers)
    if made.name:
        return (f"{made.name} (not tested against noise)" if made.confidence == "untested"
                else f"{made.name} ({made.confidence} confidence)")
    first = next((a for a in answers if a.best), None)
    if first is None:
        return "nothing healthy measured"
    return f"{first.label}: {first.best.name} {fmt.integer(first.best.summary.median_rps)} req/s"


def _old(run: RunResult) -> bool:
    """Made before the suite undid wrk's correction and counted lost and wrong bodies."""
    classes = run.loadgen.get("failure_classes", [])
    return not ("lost" in classes and run.loadgen.get("body_check"))


def bests(runs: list[RunResult]) -> dict[str, str]:
    """Each run's best deployable (`best`), computed once for both index pages."""
    return {run.run_id: best(run) for run in runs}


def render_index(runs: list[RunResult], rendered: set[str] | frozenset[str] = frozenset(),
                 best_of: dict[str, str] | None = None) -> str:
    """One compact line per run, newest first; a run links to its report when it exists."""
    now = current(runs)
    best_of = best_of if best_of is not None else bests(runs)
    lines = ["# Runs", "",
             "Newest first. **The current answer** is the newest complete run of the whole "
             "question (both documents at 200, 1000 and 5000 connections)"
             + (f": [{now.run_id}]({now.run_id}.md)." if now else "; there is none yet."),
             "How to read a report: [the guide](../docs/reading-a-report.md).", "",
             "| run | date | machine | scope | best deployable | status |",
             "|---|---|---|---|---|---|"]
    old = False
    for run in sorted(runs, key=lambda r: r.run_id, reverse=True):
        env = run.environment
        name = (f"[{run.run_id}]({run.run_id}.md)" if run.run_id in rendered
                else f"{run.run_id} (no report: `battle report`)")
        mark = "¹" if _old(run) else ""
        old = old or bool(mark)
        current_mark = " **current answer**" if run is now else ""
        lines.append(f"| {name}{mark}{current_mark} | {run.started_at[:10]} | "
                     f"{env.get('cpu_model')} × {env.get('cpu_count')}, {run.runtime} | "
                     f"{scope(run)} | {best_of[run.run_id]} | {run.status} |")
    if old:
        lines += ["", "¹ Made before results schema v4: latency includes wrk's synthetic "
                      "coordinated-omission samples, late responses counted as successes, lost "
                      "requests and wrong bodies not counted. Their reports were left as made."]
    return "\n".join(lines) + "\n"


def render_index_html(runs: list[RunResult], rendered: set[str],
                      best_of: dict[str, str] | None = None) -> str:
    now = current(runs)
    best_of = best_of if best_of is not None else bests(runs)
    rows = []
    for run in sorted(runs, key=lambda r: r.run_id, reverse=True):
        env = run.environment
        link = (f'<a href="{run.run_id}.html">{run.run_id}</a>' if run.run_id in rendered
                else html_escape.escape(run.run_id))
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in (
            link + (" <strong>current answer</strong>" if run is now else ""),
            run.started_at[:10],
            html_escape.escape(f"{env.get('cpu_model')} × {env.get('cpu_count')}"),
            html_escape.escape(scope(run)), html_escape.escape(best_of[run.run_id]), run.status)) + "</tr>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Runs</title>"
            "<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
            "</style></head><body><h1>Runs</h1><table><thead><tr><th>run</th><th>date</th>"
            "<th>machine</th><th>scope</th><th>best deployable</th><th>status</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table></body></html>\n")


def load_runs(results_dir: Path) -> list[RunResult]:
    """Every readable results file of a directory (unreadable ones are skipped)."""
    runs = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            runs.append(results.load(path))
        except results.ResultsError:
            continue
    return runs


def write_index(results_dir: Path, reports_dir: Path) -> Path:
    """reports/index.md and index.html over every readable results file, and latest.md as a
    copy of the current answer's report (when it has been rendered)."""
    runs = load_runs(results_dir)
    index = reports_dir / "index.md"
    best_of = bests(runs)
    rendered = {path.stem for path in reports_dir.glob("*.md")}
    index.write_text(render_index(runs, rendered, best_of))
    pages = {path.stem for path in reports_dir.glob("*.html")}
    (reports_dir / "index.html").write_text(render_index_html(runs, pages, best_of))
    shown = latest(runs)
    if shown is not None and (reports_dir / f"{shown.run_id}.md").exists():
        (reports_dir / "latest.md").write_text((reports_dir / f"{shown.run_id}.md").read_text())
    return index
