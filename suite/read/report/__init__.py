"""Reports, a pure function of a results file: markdown with charts, and a self-contained HTML
page. Rendering never measures anything.

One module per part of the page: the answer first (answer), a section per document (cells),
costs and the database's latency (costs), the 2014 study (study), the scenarios (scenarios),
what the numbers warn about (quality), how it was measured (method); the index of runs and the
README's answer (index), the HTML page (html, made from the report's own markdown lines by
markup). Their prose is in prose; numbers read as suite.read.fmt says (the charts share it).
Each cell is summarized once per report (view.View).
"""

from __future__ import annotations

from pathlib import Path

from suite.read.report import (answer, cells, costs, gil, index, method, prose, quality,
                               scenarios, study)
from suite.read.report.quality import crosscheck_lines
from suite.read.report.view import View
from suite.record import results
from suite.record.results import RunResult

__all__ = ["render", "write", "write_from_file", "crosscheck_lines"]

STATUS = {"complete": "", "interrupted": " — **interrupted: partial results**",
          "running": " — **still running: partial results**",
          "failed": " — **failed: nothing measured**",
          "error": " — **stopped by an error: partial results**"}


def header(view: View) -> list[str]:
    run, p = view.run, view.profile
    status = STATUS.get(run.status, f" — {run.status}")
    if run.reason:   # stopped because a dependency died: what it measured is still results
        status = " — **stopped early: partial results**"
    return [f"# Python server battle: run {run.run_id}{status}", "",
            prose.HEADER.format(profile=p.name, duration=f"{p.duration_s:g}",
                                repeats=method.repeats_text(run),
                                tool=run.loadgen.get("tool", "wrk"),
                                timeout=f"{p.timeout_s:g}", runtime=run.runtime,
                                roles=method.roles_text(run), machine=method.machine_text(run),
                                guide=view.guide)
            + f" Started {run.started_at}, finished {run.finished_at or '–'}."
            + (f" **{run.reason}**." if run.reason else ""), "",
            *method.placement_lines(run), *method.interpreter_lines(run)]


def render(run: RunResult, charts: dict[str, str] | None = None,
           guide: str = "../docs/reading-a-report.md") -> str:
    """The report's markdown. `charts` maps a chart key to its path relative to the report."""
    return render_view(View.of(run, charts, guide))


def render_view(view: View) -> str:
    return "\n".join(line for _, lines in parts(view) for line in lines)


def parts(view: View) -> list[tuple[str, list[str]]]:
    """The report's markdown lines in order, in named parts: "header", "answer", "cells" and
    "rest". The HTML page is made of these same lines and puts its sortable table of every
    cell between the answer and the cells."""
    run = view.run
    head, answered = header(view), answer.section(view)
    per_cell: list[str] = []
    for ms in view.profile.db_latencies_ms:
        for doc in view.profile.docs:
            per_cell += cells.section(view, doc, ms)
    lines: list[str] = []
    lines += quality.findings_section(view)
    lines += costs.cost_section(view)
    lines += costs.db_latency_section(view)
    lines += study.section(view)
    lines += gil.section(view)
    lines += scenarios.sweep_section(view)
    lines += scenarios.deployment_section(view)
    lines += scenarios.open_loop_section(view)
    lines += quality.checks_section(view)
    lines += quality.crosscheck_section(view)
    lines += quality.failures_section(view)
    lines += method.methodology_section(view)
    lines += method.details_section(view)
    lines += method.variants_section(view)
    lines += method.machine_section(view)
    lines += [prose.REGENERATE.format(run_id=run.run_id), ""]
    return [("header", head), ("answer", answered), ("cells", per_cell), ("rest", lines)]


def write(run: RunResult, reports_dir: Path, latest: bool = True,
          results_dir: Path | None = None) -> Path:
    """reports/<run-id>.md with its charts in reports/<run-id>/, reports/<run-id>.html, and,
    given the results directory, index.md, index.html and latest.md (the newest run that
    answers the question, whichever ran last)."""
    from suite.read import charts as chart_module   # matplotlib is loaded only to draw
    from suite.read.report import html

    reports_dir.mkdir(parents=True, exist_ok=True)
    view = View.of(run)
    drawn = chart_module.render_all(run, reports_dir / run.run_id, view.summaries)
    view.charts = {path.stem: f"{run.run_id}/{path.name}"
                   for paths in drawn.values() for path in paths}
    made = parts(view)
    text = "\n".join(line for _, lines in made for line in lines)
    path = reports_dir / f"{run.run_id}.md"
    path.write_text(text)
    (reports_dir / f"{run.run_id}.html").write_text(html.page(view, reports_dir, made))
    if results_dir is not None:
        index.write_index(results_dir, reports_dir)
    elif latest:
        (reports_dir / "latest.md").write_text(text)
    return path


def write_from_file(results_path: Path, reports_dir: Path, latest: bool = True) -> Path:
    return write(results.load(results_path), reports_dir, latest, results_path.parent)
