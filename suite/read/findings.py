"""Findings a reader can check against the tables: how each variant kept its throughput as
connections (or the database's distance) grew, what the large document cost, and who failed
requests, how and how often. Each is computed from the results; none is written when the
numbers cannot support it. Lists long enough to need one become tables, so no line runs on."""

from __future__ import annotations

from suite.record import stats
from suite.read import fmt
from suite.read.analysis import CellKey, CellSummary
from suite.record.results import RunResult


def _where(ms: int) -> str:
    return f", database +{ms} ms" if ms else ""


def findings(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[str]:
    """Markdown lines: sentences ("- ...") and tables."""
    lines: list[str] = []
    lines += _large_document(run, cells)
    lines += _kept(run, cells)
    lines += _failures(run, cells)
    return lines


def _large_document(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[str]:
    if not {"small", "large"} <= set(run.profile.docs):
        return []
    low, ms = min(run.profile.connections), run.profile.db_latencies_ms[0]
    changes = []
    for variant in run.variants:
        a = cells.get((variant.name, "small", low, ms))
        b = cells.get((variant.name, "large", low, ms))
        limit = run.profile.max_failed_share
        if a and b and a.median_rps and a.healthy(limit) and b.healthy(limit):
            changes.append(b.median_rps / a.median_rps - 1)
    if not changes:
        return []
    json_bytes = run.mongo.json_bytes
    return [f"- At {low:,} connections{_where(ms)} the large document ({json_bytes.get('large', '?')}"
            f" B of JSON against {json_bytes.get('small', '?')} B) changed throughput by a "
            f"median of {stats.median(changes):+.0%} across {len(changes)} variants healthy in both "
            f"(from "
            f"{min(changes):+.0%} to {max(changes):+.0%}).", ""]


def _kept(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[str]:
    """The share of its throughput each variant kept from the lowest to the highest connection
    level, and from MongoDB as it is to the furthest database, per document: one table."""
    p = run.profile
    limit = p.max_failed_share
    columns = []   # (title, key_low, key_high)
    ms0 = p.db_latencies_ms[0]
    if len(p.connections) > 1:
        low, high = min(p.connections), max(p.connections)
        columns += [(f"{doc} {low:,}→{high:,} conn.", (doc, low, ms0), (doc, high, ms0))
                    for doc in p.docs]
    if len(p.db_latencies_ms) > 1:
        low_ms, high_ms, conns = min(p.db_latencies_ms), max(p.db_latencies_ms), p.connections[0]
        columns += [(f"{doc}@{conns:,} +{low_ms}→+{high_ms} ms", (doc, conns, low_ms),
                     (doc, conns, high_ms)) for doc in p.docs]
    rows = []
    for variant in run.variants:
        shares = []
        for _, a_key, b_key in columns:
            a, b = cells.get((variant.name, *a_key)), cells.get((variant.name, *b_key))
            if not (a and b and a.median_rps and b.median_rps is not None):
                shares.append(None)
            elif not (a.healthy(limit) and b.healthy(limit)):
                shares.append(fmt.HEALTHY_MARK)   # a ratio of an unhealthy cell: not given
            else:
                shares.append(b.median_rps / a.median_rps)
        if any(x is not None for x in shares):
            rows.append((variant.name, shares))
    if len(rows) < 2:
        return []
    lines = ["**The share of its throughput each variant kept** (median successful req/s at the "
             f"harder end ÷ at the easier one; {fmt.HEALTHY_MARK}: one end unhealthy, no ratio)",
             "",
             "| variant | " + " | ".join(title for title, *_ in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for name, shares in rows:
        lines.append(f"| {name} | " + " | ".join("–" if x is None else x if isinstance(x, str)
                                                 else f"{x:.0%}" for x in shares)
                     + " |")
    return lines + [""]


def _failures(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[str]:
    """Who failed requests, how, and how often; "without a failure" only where every class was
    counted and none occurred."""
    limit = run.profile.max_failed_share
    erring: dict[str, list[CellSummary]] = {}
    for (name, *_), s in cells.items():
        if any(s.error_totals):
            erring.setdefault(name, []).append(s)
    measured = {name for (name, *_) in cells}
    uncounted = sorted({k for s in cells.values() for k in s.uncounted})
    lines = []
    if erring:
        lines += [f"**Failed requests** (unhealthy: the attempts of all repeats pooled, or one "
                  f"repeat, failed more than {limit:.0%})", "",
                  "| variant | unhealthy cells | other cells with a failure | classes | worst "
                  "repeat |", "|---|---|---|---|---:|"]
        for name, mine in erring.items():
            classes = sorted({k for s in mine for k, v in s.error_classes_seen.items() if v})
            worst = max(s.error_rate_max for s in mine if s.error_rate_max is not None)
            sick = [s.label for s in mine if not s.healthy(limit)]
            other = [s.label for s in mine if s.healthy(limit)]
            lines.append(f"| {name} | {', '.join(sick) or '–'} | {', '.join(other) or '–'} | "
                         f"{', '.join(classes)} | {fmt.share(worst)} |")
        lines.append("")
    clean = sorted(measured - set(erring))
    if clean:
        who = ("Every measured variant" if not erring
               else f"The other {len(clean)} measured variant(s)")
        if uncounted:
            lines.append(f"- {who} had no failure of the classes this run counted; "
                         f"{', '.join(uncounted)} were not counted, so nothing is claimed "
                         "about them.")
        else:
            lines.append(f"- {who} answered every request within the timeout, with the "
                         "verified bytes and no error.")
    failed = [v for v in run.variants if v.status == "failed"]
    if failed:
        lines.append(f"- {len(failed)} variant(s) failed (see Failures): " + ", ".join(
            v.name for v in failed[:8]) + (f" and {len(failed) - 8} more" if len(failed) > 8
                                           else "") + ".")
    return lines + ([""] if lines and lines[-1] else [])
