"""Sentences a reader can check against the tables: best per cell, scaling with connections,
the large document's cost, worker models, errors. Each is computed from the results; none is
written when the numbers cannot support it (e.g. no significance claim from single repeats)."""

from __future__ import annotations

from suite import stats
from suite.analysis import CellSummary, summarize
from suite.results import RunResult

DOC_NAMES = {"small": "small document", "large": "large document"}


def model_family(worker_model: str) -> str:
    model = worker_model.lower()
    if "gevent" in model:
        return "gevent"
    if "asyncio" in model:
        return "asyncio"
    return "threads/processes"


def _summaries(run: RunResult) -> dict[tuple[str, str, int], CellSummary]:
    return {(v.name, c.doc, c.connections): summarize(c)
            for v in run.variants for c in v.cells if c.repeats}


def ranking(run: RunResult, doc: str, connections: int) -> list[tuple[str, CellSummary]]:
    """Measured variants of one cell, best median successful req/s first (ties by name)."""
    cells = [(name, s) for (name, d, c), s in _summaries(run).items()
             if d == doc and c == connections and s.median_rps is not None]
    return sorted(cells, key=lambda item: (-item[1].median_rps, item[0]))


def _lead(best: CellSummary, second: CellSummary) -> str:
    test = stats.welch(second.ok_rps, best.ok_rps)
    if test is None:
        return "single repeat, so not tested against noise"
    # Ranked by median, tested on means: only a lead both agree on is called real.
    if test.p < 0.05 and test.t > 0:
        return f"a difference beyond noise (Welch p = {test.p:.3f})"
    return f"but within the noise of the repeats (Welch p = {test.p:.2f})"


def _rps(value: float) -> str:
    return f"{value:,.0f} req/s"


def findings(run: RunResult) -> list[str]:
    found: list[str] = []
    summaries = _summaries(run)
    levels = run.profile.connections
    for doc in run.profile.docs:
        for conns in levels:
            ranked = ranking(run, doc, conns)
            if len(ranked) >= 2:
                (best, b), (second, s2) = ranked[0], ranked[1]
                ratio = b.median_rps / s2.median_rps if s2.median_rps else float("inf")
                found.append(f"{DOC_NAMES.get(doc, doc).capitalize()}, {conns:,} connections: "
                             f"**{best}** served the most successful requests "
                             f"({_rps(b.median_rps)}), {ratio:.2f}× the runner-up {second} "
                             f"({_rps(s2.median_rps)}), {_lead(b, s2)}.")
    if len(levels) >= 2:
        low, high = min(levels), max(levels)
        for doc in run.profile.docs:
            kept = []
            for variant in run.variants:
                a = summaries.get((variant.name, doc, low))
                b = summaries.get((variant.name, doc, high))
                if a and b and a.median_rps:
                    kept.append((b.median_rps / a.median_rps, variant.name))
            if len(kept) >= 2:
                kept.sort(key=lambda item: (-item[0], item[1]))
                found.append(f"From {low:,} to {high:,} connections ({DOC_NAMES.get(doc, doc)}), "
                             "the share of throughput each variant kept: "
                             + ", ".join(f"{name} {share:.0%}" for share, name in kept) + ".")
    if {"small", "large"} <= set(run.profile.docs):
        low = min(levels)
        changes = []
        for variant in run.variants:
            a = summaries.get((variant.name, "small", low))
            b = summaries.get((variant.name, "large", low))
            if a and b and a.median_rps:
                changes.append(b.median_rps / a.median_rps - 1)
        if changes:
            json_bytes = run.mongo.get("json_bytes", {})
            found.append(f"At {low:,} connections the large document "
                         f"({json_bytes.get('large', '?')} B of JSON against "
                         f"{json_bytes.get('small', '?')} B) changed throughput by a median of "
                         f"{stats.median(changes):+.0%} across {len(changes)} variants (from "
                         f"{min(changes):+.0%} to {max(changes):+.0%}).")
    for doc in run.profile.docs[:1]:
        for conns in (min(levels), max(levels)) if len(levels) > 1 else levels:
            best: dict[str, tuple[str, float]] = {}
            for name, s in ranking(run, doc, conns):
                family = model_family(run.variant(name).worker_model)
                best.setdefault(family, (name, s.median_rps))
            if len(best) >= 2:
                found.append(f"Best of each worker model, {DOC_NAMES.get(doc, doc)} at "
                             f"{conns:,} connections: " + "; ".join(
                                 f"{family} {name} {_rps(rps)}"
                                 for family, (name, rps) in best.items()) + ".")
    found += _failure_findings(summaries)
    failed = [v for v in run.variants if v.status == "failed"]
    if failed:
        found.append(f"{len(failed)} variant(s) failed: " + ", ".join(
            v.name + (" (earlier repeats kept)" if any(c.repeats for c in v.cells) else "")
            for v in failed) + " (see Failures).")
    return found


def _failure_findings(summaries: dict[tuple[str, str, int], CellSummary]) -> list[str]:
    """Who failed requests, how, and how often; "without a failure" only where every class was
    counted and none occurred."""
    erring: dict[str, list[CellSummary]] = {}
    for (name, _, _), s in summaries.items():
        if any(s.error_totals):
            erring.setdefault(name, []).append(s)
    measured = {name for (name, _, _) in summaries}
    uncounted = sorted({k for s in summaries.values() for k in s.uncounted})
    found = []
    if erring:
        parts = []
        for name, cells in erring.items():
            classes = sorted({k for s in cells for k, v in s.error_classes_seen.items() if v})
            rates = [s.error_rate_max for s in cells if s.error_rate_max is not None]
            where = ", ".join(f"{s.doc}@{s.connections:,}" for s in cells)
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
