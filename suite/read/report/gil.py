"""Threads without the GIL: each free-threaded row against its GIL twin (the same build with the
lock forced on), and the best free-threaded row against the best process-based and the best
event-loop row of the same run, at every cell; with the noise test every section uses. Only
for runs that measured a free-threaded row."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from suite.read import fmt, significance
from suite.read.analysis import CellSummary, model_family
from suite.read.report import prose
from suite.read.report.view import View
from suite.record.results import VariantResult


@dataclass(frozen=True)
class Pair:
    """One free-threaded row and its twin at one cell."""

    row: str
    doc: str
    connections: int
    db_latency_ms: int
    free: CellSummary
    twin: CellSummary | None
    lead: significance.Lead | None = None


def _summaries(view: View, name: str) -> dict[tuple[str, int, int], CellSummary]:
    return {(doc, c, ms): s for (v, doc, c, ms), s in view.summaries.items() if v == name}


def pairs(view: View) -> list[Pair]:
    """Every measured cell of every free-threaded row, with its twin's where it ran, the lead
    of the two tested as one family."""
    twins = {v.twin_of: v.name for v in view.run.variants if v.twin_of}
    found = []
    for row in view.run.variants:
        if row.build != "free-threaded" or row.twin_of:
            continue
        twin = _summaries(view, twins[row.name]) if row.name in twins else {}
        for (doc, c, ms), s in sorted(_summaries(view, row.name).items(),
                                      key=lambda item: _order(view, item[0])):
            other = twin.get((doc, c, ms))
            healthy = other is not None and view.healthy(s) and view.healthy(other)
            lead = (significance.lead(s.ok_rps, other.ok_rps)
                    if healthy and s.ok_rps and other.ok_rps else None)
            found.append(Pair(row.name, doc, c, ms, s, other, lead))
    adjusted = iter(significance.family([p.lead for p in found if p.lead is not None]))
    return [dataclasses.replace(p, lead=next(adjusted)) if p.lead is not None else p
            for p in found]


def _order(view: View, key: tuple[str, int, int]) -> tuple:
    """Cells in the report's order: database latency, then document as the profile lists
    them, then connections."""
    doc, connections, ms = key
    docs = list(view.profile.docs)
    return ms, docs.index(doc) if doc in docs else len(docs), doc, connections


def _kind(row: VariantResult) -> str | None:
    """free-threaded | processes | events, for the rows this section compares; None: others
    (the baseline, GIL twins, sweeps and deployments)."""
    if row.classification != "framework" or row.twin_of or row.sweep or row.deployment:
        return None
    if row.build == "free-threaded":
        return "free-threaded"
    # On the default build threads are held to one CPU per process by the GIL: their parallel
    # work comes from processes. gevent's greenlets are an event loop like asyncio's.
    return ("events" if model_family(row.worker_model) in ("asyncio", "greenlets")
            else "processes")


def bests(view: View) -> dict[tuple[str, int, int], dict[str, tuple[str, CellSummary]]]:
    """Per cell, the best healthy row of each kind (free-threaded, processes, events)."""
    found: dict = {}
    for row in view.run.variants:
        kind = _kind(row)
        if kind is None:
            continue
        for key, s in _summaries(view, row.name).items():
            if s.median_rps is None or not view.healthy(s):
                continue
            best = found.setdefault(key, {}).get(kind)
            if best is None or s.median_rps > best[1].median_rps:
                found[key][kind] = (row.name, s)
    return found


def _cpu(s: CellSummary | None) -> str:
    if s is None:
        return "–"
    return (f"{fmt.cores(s.cpu_cores.get('server'))} CPU, "
            f"{fmt.integer(s.cpu_us_per_ok.get('server'))} µs")


def _share_of(view: View, free: CellSummary, other: tuple[str, CellSummary] | None) -> str:
    """A healthy free-threaded cell's median over the best healthy one of another kind."""
    if other is None or not view.healthy(free) or not free.median_rps:
        return "–"
    return fmt.ratio(free.median_rps / other[1].median_rps)


def _unhealthy(p: Pair) -> str:
    """The ratio of a pair with an unhealthy side: shown, never tested."""
    if p.twin is None or not p.twin.median_rps or p.free.median_rps is None:
        return "–"
    return f"{fmt.ratio(p.free.median_rps / p.twin.median_rps)} (unhealthy)"


def _verdict(lead: significance.Lead | None) -> str:
    if lead is None or lead.ratio is None:
        return "–"
    if not lead.tested:
        return f"{fmt.ratio(lead.ratio)} (untested)"
    return f"{fmt.ratio(lead.ratio)}{' ✓' if lead.beyond_noise else ' ~'}"


def section(view: View) -> list[str]:
    found = pairs(view)
    if not found:
        return []
    run = view.run
    reported = [v.interpreter for v in run.variants
                if v.build == "free-threaded" and v.interpreter]
    version = reported[0].get("python") if reported else "?"
    lines = ["## Threads without the GIL", "",
             prose.GIL.format(version=version,
                              build=run.runtime_details.free_threaded_version or "–"), "",
             "| stack | cell | free-threaded req/s | GIL twin req/s | free ÷ twin | "
             "÷ best process-based | ÷ best event loop | server CPU, µs/request: free | twin |",
             "|---|---|---:|---:|---:|---:|---:|---|---|"]
    best = bests(view)
    for p in found:
        others = best.get((p.doc, p.connections, p.db_latency_ms), {})
        lines.append(f"| `{p.row}` | {fmt.cell_label(p.doc, p.connections, p.db_latency_ms)} | "
                     f"{fmt.rps(p.free, view.healthy(p.free))} | "
                     f"{fmt.rps(p.twin, view.healthy(p.twin)) if p.twin else '–'} | "
                     f"{_verdict(p.lead) if p.lead else _unhealthy(p)} | "
                     f"{_share_of(view, p.free, others.get('processes'))} | "
                     f"{_share_of(view, p.free, others.get('events'))} | {_cpu(p.free)} | "
                     f"{_cpu(p.twin)} |")
    twinned = {v.twin_of for v in run.variants if v.twin_of}
    alone = [row.name for row in run.variants if row.build == "free-threaded"
             and not row.twin_of and row.name not in twinned]
    lines += ["", prose.GIL_LEGEND + (prose.GIL_NO_TWIN.format(rows=", ".join(
        f"`{name}`" for name in alone)) if alone else ""), ""]
    lines += _twin_sentences(found, {v.name: v.settings.get("workers") for v in run.variants})
    lines += _against(view)
    return lines


def _twin_sentences(found: list[Pair], workers: dict[str, object]) -> list[str]:
    """How often the lock mattered, and how much CPU one process used with and without it
    (`workers`: each row's setting; a row of several processes uses several CPUs either way)."""
    tested = [p for p in found if p.lead is not None and p.lead.tested]
    ahead = [p for p in tested if p.lead.beyond_noise and p.lead.ratio > 1]
    behind = [p for p in tested if p.lead.beyond_noise and p.lead.ratio < 1]
    lines = []
    if tested:
        lines.append(f"Without the lock, a row served more than its GIL twin beyond noise in "
                     f"{len(ahead)} of {len(tested)} tested cells, less in {len(behind)}, and "
                     f"within noise in {len(tested) - len(ahead) - len(behind)} (Holm over "
                     f"{len(tested)}).")
    for row in dict.fromkeys(p.row for p in found):
        mine = [p for p in found if p.row == row and p.twin is not None]
        cores = [(p.free.cpu_cores.get("server"), p.twin.cpu_cores.get("server")) for p in mine]
        cores = [(a, b) for a, b in cores if a is not None and b is not None]
        processes = workers.get(row)
        if cores and processes == 1:
            free_max, twin_max = max(a for a, _ in cores), max(b for _, b in cores)
            lines.append(f"`{row}`, one process, used up to {free_max:.2f} CPU without the GIL "
                         f"and {twin_max:.2f} with it.")
    return [" ".join(lines), ""] if lines else []


def _against(view: View) -> list[str]:
    """The best free-threaded row against the best of the other two models, per cell."""
    cells = [(key, kinds) for key, kinds in sorted(bests(view).items(),
                                                   key=lambda item: _order(view, item[0]))
             if "free-threaded" in kinds and ({"processes", "events"} & set(kinds))]
    if not cells:
        return []
    leads = []
    for _, kinds in cells:
        free = kinds["free-threaded"][1]
        for kind in ("processes", "events"):
            if kind in kinds:
                leads.append(significance.lead(free.ok_rps, kinds[kind][1].ok_rps))
    adjusted = iter(significance.family(leads))
    lines = ["**The best free-threaded row against the best of the others** (healthy cells; "
             "successful req/s; ratio free-threaded ÷ other, ✓ beyond noise, ~ within):", "",
             "| cell | free-threaded | best process-based | ratio | best event loop | ratio |",
             "|---|---|---|---:|---|---:|"]
    tally = {"processes": [0, 0, 0], "events": [0, 0, 0]}   # ahead, behind, within/untested
    for (doc, c, ms), kinds in cells:
        name, free = kinds["free-threaded"]
        row = [fmt.cell_label(doc, c, ms), f"`{name}` {fmt.integer(free.median_rps)}"]
        for kind in ("processes", "events"):
            if kind not in kinds:
                row += ["–", "–"]
                continue
            lead = next(adjusted)
            other_name, other = kinds[kind]
            row += [f"`{other_name}` {fmt.integer(other.median_rps)}", _verdict(lead)]
            slot = (0 if lead.beyond_noise and lead.ratio > 1
                    else 1 if lead.beyond_noise else 2)
            tally[kind][slot] += 1
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    words = {"processes": "process-based", "events": "event-loop"}
    said = [f"ahead of the best {words[k]} row beyond noise in {a} of {a + b + w} cells, "
            f"behind it in {b}, within noise or untested in {w}"
            for k, (a, b, w) in tally.items() if a + b + w]
    ahead, behind, _ = tally["events"]
    verdict = (prose.GIL_UNTESTED if not ahead + behind and not any(lead.tested for lead in leads)
               else prose.GIL_CHANGES if ahead > behind else prose.GIL_KEEPS)
    lines += [f"The best free-threaded row was {'; '.join(said)}. {verdict}", ""]
    return lines
