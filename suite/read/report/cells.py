"""A section per document (and database latency): the chart, the ranking of healthy cells with
the unhealthy ones marked after them, successful req/s, failures (one real repeat's), latency."""

from __future__ import annotations

from suite.read import answer as computed
from suite.record import documents
from suite.read import fmt
from suite.read.report.view import View
from suite.record.results import Cell


def chart(view: View, key: str, alt: str) -> list[str]:
    path = view.charts.get(key)
    return [f"![{alt}]({path})", ""] if path else []


def table(view: View, doc: str, latency_ms: int, title: str, value, of_cell: bool = False,
          ) -> list[str]:
    """Variants × connection levels; `value(summary, healthy)` in each measured cell
    (`value(cell)` with `of_cell`). A section of nothing but dashes is not printed."""
    levels = view.profile.connections
    lines = [f"**{title}**", "", "| variant | " + " | ".join(f"{c:,} conn." for c in levels)
             + " |", "|---|" + "---:|" * len(levels)]
    filled = False
    for variant in view.run.variants:
        row = []
        for conns in levels:
            cell = variant.cell(doc, conns, latency_ms)
            empty = _not_measured(cell)
            if empty is None:
                filled = True
                summary = view.summary(variant, cell)
                row.append(value(cell) if of_cell else value(summary, view.healthy(summary)
                                                             and cell.status != "failed"))
            else:
                row.append(empty)
        if set(row) != {"–"}:     # a variant with nothing here (failed before) is under Failures
            lines.append(f"| {variant.name} | " + " | ".join(row) + " |")
    return lines + [""] if filled else []


def _not_measured(cell: Cell | None) -> str | None:
    if cell is None:
        return "–"
    if cell.status == "failed":
        return "failed"       # its reason is under Failures; its numbers are not results
    if not cell.repeats:
        return {"skipped": "–", "pending": "not run"}.get(cell.status, "–")
    return None


def ranking(view: View, doc: str, latency_ms: int) -> list[str]:
    """Per connection level, the healthy cells by successful req/s (× the best), then the
    unhealthy ones, marked and unnumbered, with their failed share."""
    levels = view.profile.connections
    columns = [computed.entries(view.run, doc, conns, latency_ms, view.summaries)
               for conns in levels]
    healthy = [[e for e in column if e.healthy] for column in columns]
    unhealthy = [[e for e in column if not e.healthy] for column in columns]
    depth = max((len(c) for c in healthy), default=0)
    sick = max((len(c) for c in unhealthy), default=0)
    if not depth and not sick:
        return []
    lines = [f"**Ranking by successful requests per second** (healthy cells; × = relative to "
             f"the best; *baseline* = no framework, *reference* = another language, *ceiling* = "
             f"compiled: shown, never recommended; {fmt.HEALTHY_MARK}: more than "
             f"{fmt.share(view.limit)} of attempts failed, not ranked)", "",
             "| # | " + " | ".join(f"{c:,} conn." for c in levels) + " |",
             "|---:|" + "---|" * len(levels)]
    for rank in range(depth):
        row = []
        for column in healthy:
            if rank < len(column):
                e, best = column[rank], column[0].summary.median_rps
                name = f"{e.name} *{e.classification}*" if e.apart else e.name
                row.append(f"{name} {fmt.integer(e.summary.median_rps)} "
                           f"({e.summary.median_rps / best:.2f}×)" if best else name)
            else:
                row.append("")
        lines.append(f"| {rank + 1} | " + " | ".join(row) + " |")
    for rank in range(sick):
        row = []
        for column in unhealthy:
            if rank < len(column):
                e = column[rank]
                row.append(f"{fmt.HEALTHY_MARK} {e.name} {fmt.integer(e.summary.median_rps)}, "
                           f"{fmt.failed(e.summary.health)}")
            else:
                row.append("")
        lines.append(f"| {fmt.HEALTHY_MARK} | " + " | ".join(row) + " |")
    return lines + [""]


def _per_server_cpu(summary, healthy: bool) -> str:
    if summary.rps_per_server_cpu is None:
        return "–"
    text = f"{fmt.integer(summary.rps_per_server_cpu)} on {summary.server_cpus}"
    return text + (" *client-bound*" if summary.client_bound else "")


def _writes(cell: Cell) -> str:
    parts = []
    for sample in cell.repeats:
        w = sample.writes
        if w is None:
            continue
        flaws = ", ".join(f"{n:,} {what}" for n, what in ((w.lost, "lost"),
                                                          (w.duplicated, "duplicated")) if n)
        parts.append(f"{w.acknowledged:,} / {w.found:,} / {w.stored:,}"
                     + (f" (**{flaws}**)" if flaws else ""))
    return "; ".join(parts) or "–"


def section(view: View, doc: str, latency_ms: int) -> list[str]:
    where = fmt.where(latency_ms)
    lines = [fmt.document_heading(view.run, doc, latency_ms), ""]
    lines += chart(view, fmt.chart_key("throughput", doc, latency_ms),
                   f"successful requests per second, {doc}{where}")
    lines += ranking(view, doc, latency_ms)
    spread = " (min–max over repeats; ⚠ = unstable)" if view.profile.repeats > 1 else ""
    lines += table(view, doc, latency_ms, f"Successful requests per second, median{spread}",
                   fmt.rps)
    if any(s.rps_per_server_cpu for s in view.summaries.values()):
        lines += table(view, doc, latency_ms, "Successful requests per second per server CPU "
                       "(the server pinned to CPUs of its own; *client-bound*: the load "
                       "generator and mongod had no headroom, so this is what the client side "
                       "allowed, not the server's figure)", _per_server_cpu)
    lines += chart(view, fmt.chart_key("errors", doc, latency_ms),
                   f"failed share of attempts, {doc}{where}")
    lines += table(view, doc, latency_ms, "Failed share of attempts in the median repeat (by "
                   "failures), with that repeat's classes; the worst repeat where it failed "
                   "materially more", lambda s, healthy: fmt.failures(s))
    if doc == documents.WRITE:
        lines += table(view, doc, latency_ms, "The database after each repeat: acknowledged "
                       "inserts / of them found / documents stored", _writes, of_cell=True)
    lines += chart(view, fmt.chart_key("latency", doc, latency_ms),
                   f"latency percentiles, {doc}{where}")
    lines += table(view, doc, latency_ms, "Latency p50 / p99 / p99.9, ms, measured (responses "
                   "within the timeout)", lambda s, healthy: fmt.latency(s))
    return lines
