"""Sentences a reader can check against the tables: best per cell, scaling with connections,
the large document's cost, worker models, errors. Each is computed from the results; none is
written when the numbers cannot support it (e.g. no significance claim from single repeats)."""

from __future__ import annotations

from suite import significance, stats
from suite.analysis import CellKey, CellSummary, model_family, ranking, summaries
from suite.documents import doc_title
from suite.results import RunResult


def _leads(pairs: list[tuple[CellSummary, CellSummary]]) -> list[str]:
    """Whether each cell's best variant leads its runner-up beyond the noise of the repeats,
    the cells of the run one family (suite.significance)."""
    leads = significance.family([significance.lead(best.ok_rps, second.ok_rps)
                                 for best, second in pairs])
    return [lead.text for lead in leads]


def _rps(value: float) -> str:
    return f"{value:,.0f} req/s"


def _where(ms: int) -> str:
    return f", database +{ms} ms" if ms else ""


def findings(run: RunResult) -> list[str]:
    found: list[str] = []
    cells = summaries(run)
    levels = run.profile.connections
    latencies = run.profile.db_latencies_ms
    leaders = [(doc, conns, ms, ranked[:2]) for ms in latencies for doc in run.profile.docs
               for conns in levels if len(ranked := ranking(run, doc, conns, ms)) >= 2]
    leads = _leads([(b, s2) for *_, ((_, b), (_, s2)) in leaders])
    for (doc, conns, ms, ((best, b), (second, s2))), lead in zip(leaders, leads):
        ratio = b.median_rps / s2.median_rps if s2.median_rps else float("inf")
        found.append(f"{doc_title(doc)}, {conns:,} connections{_where(ms)}: "
                     f"**{best}** served the most successful requests "
                     f"({_rps(b.median_rps)}), {ratio:.2f}× the runner-up {second} "
                     f"({_rps(s2.median_rps)}), {lead}.")
    found += _kept(run, cells, "connections")
    found += _kept(run, cells, "database latency")
    if {"small", "large"} <= set(run.profile.docs):
        low = min(levels)
        changes = []
        for variant in run.variants:
            a = cells.get((variant.name, "small", low, latencies[0]))
            b = cells.get((variant.name, "large", low, latencies[0]))
            if a and b and a.median_rps:
                changes.append(b.median_rps / a.median_rps - 1)
        if changes:
            json_bytes = run.mongo.json_bytes
            found.append(f"At {low:,} connections{_where(latencies[0])} the large document "
                         f"({json_bytes.get('large', '?')} B of JSON against "
                         f"{json_bytes.get('small', '?')} B) changed throughput by a median of "
                         f"{stats.median(changes):+.0%} across {len(changes)} variants (from "
                         f"{min(changes):+.0%} to {max(changes):+.0%}).")
    for ms in latencies:
        for doc in run.profile.docs[:1]:
            for conns in (min(levels), max(levels)) if len(levels) > 1 else levels:
                best: dict[str, tuple[str, float]] = {}
                for name, s in ranking(run, doc, conns, ms):
                    family = model_family(run.variant(name).worker_model)
                    best.setdefault(family, (name, s.median_rps))
                if len(best) >= 2:
                    found.append(f"Best of each worker model, {doc_title(doc, lower=True)} at "
                                 f"{conns:,} connections{_where(ms)}: " + "; ".join(
                                     f"{family} {name} {_rps(rps)}"
                                     for family, (name, rps) in best.items()) + ".")
    found += _failure_findings(cells)
    failed = [v for v in run.variants if v.status == "failed"]
    if failed:
        found.append(f"{len(failed)} variant(s) failed: " + ", ".join(
            v.name + (" (earlier repeats kept)" if any(c.repeats for c in v.cells) else "")
            for v in failed) + " (see Failures).")
    return found


def _kept(run: RunResult, cells: dict[CellKey, CellSummary], dimension: str) -> list[str]:
    """From the lowest to the highest connection level (or database latency), the share of
    its throughput each variant kept, per document (at the first level of the other one)."""
    p = run.profile
    found = []
    for doc in p.docs:
        if dimension == "connections":
            if len(p.connections) < 2:
                return []
            ms = p.db_latencies_ms[0]
            low, high = min(p.connections), max(p.connections)
            keys = ((doc, low, ms), (doc, high, ms))
            what = f"From {low:,} to {high:,} connections ({doc_title(doc, lower=True)}{_where(ms)})"
        else:
            if len(p.db_latencies_ms) < 2:
                return []
            conns = p.connections[0]
            low, high = min(p.db_latencies_ms), max(p.db_latencies_ms)
            keys = ((doc, conns, low), (doc, conns, high))
            what = (f"From a database {low} ms to {high} ms away ({doc_title(doc, lower=True)}, "
                    f"{conns:,} connections)")
        kept = []
        for variant in run.variants:
            a, b = (cells.get((variant.name, *key)) for key in keys)
            if a and b and a.median_rps:
                kept.append((b.median_rps / a.median_rps, variant.name))
        if len(kept) >= 2:
            kept.sort(key=lambda item: (-item[0], item[1]))
            found.append(f"{what}, the share of throughput each variant kept: "
                         + ", ".join(f"{name} {share:.0%}" for share, name in kept) + ".")
    return found


def _failure_findings(cells: dict[CellKey, CellSummary]) -> list[str]:
    """Who failed requests, how, and how often; "without a failure" only where every class was
    counted and none occurred."""
    erring: dict[str, list[CellSummary]] = {}
    for (name, *_), s in cells.items():
        if any(s.error_totals):
            erring.setdefault(name, []).append(s)
    measured = {name for (name, *_) in cells}
    uncounted = sorted({k for s in cells.values() for k in s.uncounted})
    found = []
    if erring:
        parts = []
        for name, cells in erring.items():
            classes = sorted({k for s in cells for k, v in s.error_classes_seen.items() if v})
            rates = [s.error_rate_max for s in cells if s.error_rate_max is not None]
            where = ", ".join(f"{s.doc}@{s.connections:,}"
                              + (f"+{s.db_latency_ms}ms" if s.db_latency_ms else "")
                              for s in cells)
            parts.append(f"{name} ({', '.join(classes)}; up to {max(rates):.1%} of a repeat's "
                         f"attempts; {where})")
        found.append("Failed requests: " + "; ".join(parts) + ".")
    clean = sorted(measured - set(erring))
    if clean:
        who = ("Every measured variant" if not erring
               else f"The other {len(clean)} measured variant(s)")
        if uncounted:
            found.append(f"{who} had no failure of the classes this run counted; "
                         f"{', '.join(uncounted)} were not counted, so nothing is claimed "
                         "about them.")
        else:
            found.append(f"{who} answered every request within the timeout, with the "
                         "verified bytes and no error.")
    return found
