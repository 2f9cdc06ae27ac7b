"""The blocks of docs/published-runs.md about a run's cells: the answer per cell
(suite.read.answer), the share kept, the checks, the reference rows beside the best Python stack,
chosen rows; each as the run's report states it."""

from __future__ import annotations

import dataclasses

from suite.read import answer, checks, fmt
from suite.read.analysis import summaries
# The report's own table of the share kept and its references table are private helpers of its
# sections (`_kept`, `answer_report._references`): called as they are, so a block says what the
# report says instead of a second computation of the same figure.
from suite.read.findings import _kept
from suite.read.report import answer as answer_report
from suite.read.report.published_sources import PublishedError
from suite.record.results import RunResult


def _comparison(a: answer.CellAnswer, name: str):
    group = a.group
    if group is None:
        return None
    return next((c for c in [*group.members, *group.separated] if c.name == name), None)


def _closest(a: answer.CellAnswer) -> str:
    runner = a.runner_up
    if runner is None:
        return "–"
    c = _comparison(a, runner.name)
    if c is None:
        return (f"{runner.name} "
                f"{fmt.ratio(runner.summary.median_rps / a.best.summary.median_rps)}")
    interval = (f" [{c.low:.2f}–{c.high:.2f}]" if c.low is not None and c.high is not None
                else "")
    verdict = ("behind beyond noise" if c.separated else
               "not tested" if c.p is None else "within noise")
    return f"{runner.name} {c.ratio:.2f}×{interval}, {verdict}"


def _tied(a: answer.CellAnswer) -> str:
    if a.group is None:
        return "–"
    if not a.tied:
        return "none"
    return f"{len(a.tied)}, down to {fmt.ratio(min(t.comparison.ratio for t in a.tied))}"


def _baseline(a: answer.CellAnswer) -> str:
    if a.baseline is None or a.best is None:
        return "–"
    share = a.baseline.summary.median_rps / a.best.summary.median_rps
    text = f"{a.baseline.name} {fmt.ratio(share)}"
    return text if a.baseline.healthy else f"{text}, {fmt.failed(a.baseline.summary.health)}"


def _unhealthy(a: answer.CellAnswer) -> str:
    sick = [e for e in a.entries if not e.healthy and not e.apart]
    return "; ".join(f"{e.name} {fmt.failed(e.summary.health)}" for e in sick) or "none"


def cells(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """Per cell: the leader (healthy, deployable, server-bound) with its req/s and p99, the
    closest stack with its ratio to the leader, how many stacks its top group holds and how
    many are behind beyond noise, the baseline over the leader, and the unhealthy stacks with
    their failed share."""
    found = answer.answers(run)
    lines = ["| cell | leader: req/s, p99 ms | closest: ÷ leader [95% interval] | not "
             "separated from it | behind beyond noise | baseline ÷ leader | unhealthy: failed |",
             "|---|---|---|---|---:|---|---|"]
    for a in found:
        if a.best is None:
            lines.append(f"| {a.label} | {answer.why_none(a)} | – | – | – | – | "
                         f"{_unhealthy(a)} |")
            continue
        s = a.best.summary
        lines.append(f"| {a.label} | {a.best.name} {fmt.integer(s.median_rps)}, "
                     f"{fmt.ms(s.latency_ms.get('p99'))} | {_closest(a)} | {_tied(a)} | "
                     f"{len(a.separated) if a.group else '–'} | {_baseline(a)} | "
                     f"{_unhealthy(a)} |")
    return lines


def kept(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The share of its throughput each variant (or each one named) kept from the lowest to the
    highest connection level and from MongoDB as it is to the furthest database: the report's
    table (suite.read.findings)."""
    names = set(args[0].split(",")) if args else None
    unknown = sorted((names or set()) - {v.name for v in run.variants})
    if unknown:
        raise PublishedError(f"kept: no variant {', '.join(unknown)} in run {run.run_id}")
    chosen = run if names is None else dataclasses.replace(
        run, variants=[v for v in run.variants if v.name in names])
    found = _kept(chosen, summaries(chosen))
    while found and not found[-1]:
        found = found[:-1]
    return found or ["- fewer than two variants to compare"]


def check(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The run's checks of the kinds named (suite.read.checks), as its report prints them."""
    if not args:
        raise PublishedError("check: name the kinds, e.g. `check spread-effect`")
    wanted = set(args)
    found = [f for f in checks.checks(run) if f.kind in wanted]
    return [f"- **{f.kind}**: {f.text}" for f in found] or [
        f"- no check of kind {', '.join(args)} fired for this run"]


def references(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The answer's table of other languages' rows and the compiled ceiling beside the best
    Python stack per cell, as the report prints it (without its introduction)."""
    found = answer.answers(run)
    shown = [a for a in found if a.db_latency_ms == min(run.profile.db_latencies_ms)]
    table = [line for line in answer_report._references(shown) if line.startswith("|")]
    return table or ["- no reference row or ceiling in this run"]


def rows(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """Chosen variants' cells (all variants without an argument): successful req/s over the
    repeats, measured latency, the failures of the median repeat, Little's law."""
    names = args[0].split(",") if args else [v.name for v in run.variants]
    limit = run.profile.max_failed_share
    cells_ = summaries(run)
    lines = ["| variant | cell | req/s (min–max) | p50 / p99 / p99.9 ms | failed | L/N |",
             "|---|---|---|---|---|---:|"]
    for name in names:
        variant = run.variant(name)
        if variant is None:
            raise PublishedError(f"rows: no variant {name} in run {run.run_id}")
        for cell in variant.cells:
            s = cells_.get((name, cell.doc, cell.connections, cell.db_latency_ms))
            if s is None:
                continue
            little = "–" if s.little is None else f"{s.little:.2f}"
            lines.append(f"| {name} | {s.label} | {fmt.rps(s, s.healthy(limit))} | "
                         f"{fmt.latency(s)} | {fmt.failures(s)} | {little} |")
    return lines

