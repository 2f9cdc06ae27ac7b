"""What the numbers themselves warn about: findings, checks, the second generator's view, and
every failure with its reason."""

from __future__ import annotations

from suite.record import stats
from suite.read.analysis import summarize
from suite.read.checks import checks
from suite.read.findings import findings
from suite.read import fmt
from suite.read.report import prose
from suite.read.report.view import View
from suite.record.results import Cell, RunResult

CROSSCHECK_AGREE = 0.05   # two generators within 5% of each other agree


def findings_section(view: View) -> list[str]:
    found = findings(view.run, view.summaries)
    return ["## Findings", "", *found] if found else []


def checks_section(view: View) -> list[str]:
    run = view.run
    found = checks(run, view.summaries)
    if not found:
        stability = ("repeats agree" if run.profile.repeats > 1
                     else "with one repeat per cell nothing can be said about stability")
        sampled = all(s.usage("loadgen") for v in run.variants for c in v.cells
                      for s in c.repeats)
        client = ("the load generator stayed below its CPU limit" if sampled
                  else "the load generator's CPU was not sampled")
        return ["## Checks", "", prose.CHECKS_NONE.format(stability=stability, client=client), ""]
    return ["## Checks", "", *[f"- **{f.kind}**: {f.text}" for f in found], ""]


def crosscheck_pairs(run: RunResult) -> list[tuple]:
    """Each cell with crosschecks, as (variant, cell, the first generator's summary, the
    second's): summarized once for the table and the sentences."""
    return [(v, cell, summarize(cell),
             summarize(Cell(cell.doc, cell.connections, repeats=cell.crosschecks)))
            for v in run.variants for cell in v.cells if cell.repeats and cell.crosschecks]


def crosscheck_rows(run: RunResult, pairs: list[tuple]) -> list[list[str]]:
    """Per cell with crosschecks: both generators' successful req/s, their ratio, p50 and p99,
    failures and connection spreads."""
    tool, second = run.loadgen.get("tool"), (run.crosscheck or {}).get("tool", "?")
    rows = [["variant", "cell", f"{tool} req/s", f"{second} req/s", f"{second} ÷ {tool}",
             "p50 ms (both)", "p99 ms (both)", "failed (both)", "connections per worker (both)"]]
    for v, cell, first, other in pairs:
        ratio = (f"{other.median_rps / first.median_rps:.2f}"
                 if first.median_rps and other.median_rps is not None else "–")
        rows.append([v.name, cell.label, fmt.integer(first.median_rps),
                     fmt.integer(other.median_rps), ratio,
                     f"{fmt.ms(first.latency_ms.get('p50'))} / "
                     f"{fmt.ms(other.latency_ms.get('p50'))}",
                     f"{fmt.ms(first.latency_ms.get('p99'))} / "
                     f"{fmt.ms(other.latency_ms.get('p99'))}",
                     f"{fmt.share(first.error_rate)} / {fmt.share(other.error_rate)}",
                     f"{'; '.join(first.spreads)} / {'; '.join(other.spreads)}"])
    return rows


def crosscheck_lines(run: RunResult) -> list[str]:
    """The crosscheck table as aligned text (`battle crosscheck` prints it)."""
    rows = crosscheck_rows(run, crosscheck_pairs(run))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip()
            for row in rows]


def crosscheck_section(view: View) -> list[str]:
    run = view.run
    pairs = crosscheck_pairs(run)
    rows = crosscheck_rows(run, pairs)
    if len(rows) < 2:
        return []
    second = run.crosscheck or {}
    lines = ["## Cross-check", "",
             prose.CROSSCHECK.format(second=second.get("tool"), version=second.get("version"),
                                     latency=second.get("latency"),
                                     classes=", ".join(second.get("failure_classes", [])),
                                     body=second.get("body_check"), tool=run.loadgen.get("tool"),
                                     agree=f"{CROSSCHECK_AGREE:.0%}"), "",
             "| " + " | ".join(rows[0]) + " |", "|---|---|" + "---:|" * (len(rows[0]) - 2)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return lines + [""] + _crosscheck_sentences(run, pairs) + [""]


def _crosscheck_sentences(run: RunResult, pairs: list[tuple]) -> list[str]:
    """The cells where the generators disagree, each with both spreads; and whether, over the
    cells of several workers, the generators' ratio follows the difference in spread."""
    tool, second = run.loadgen.get("tool"), (run.crosscheck or {}).get("tool")
    apart, points = [], []
    for v, cell, first, other in pairs:
        if first.median_rps and other.median_rps:
            ratio = other.median_rps / first.median_rps
            gaps = [(b.spread.imbalance - a.spread.imbalance)
                    for a, b in zip(cell.repeats, cell.crosschecks)
                    if a.spread and b.spread and a.spread.imbalance is not None
                    and b.spread.imbalance is not None]
            if gaps:
                points.append((stats.median(gaps), ratio))
            if abs(ratio - 1) > CROSSCHECK_AGREE:
                apart.append((v.name, cell.label, ratio, first.spreads, other.spreads))
    lines = [f"- {len(apart)} cell(s) where the generators differ by more than "
             f"{CROSSCHECK_AGREE:.0%}" + (":" if apart else ".")]
    lines += [f"  - {name} {label}: {second} {ratio:.2f}× {tool}; connections per worker, "
              f"{tool}: {', '.join(mine)}; {second}: {', '.join(theirs)}."
              for name, label, ratio, mine, theirs in apart]
    fit = stats.correlation([g for g, _ in points], [r for _, r in points]) \
        if len(points) >= 3 else None
    if fit is not None:
        r, p = fit
        lines.append(f"- Over {len(points)} cells with several workers, {second} ÷ {tool} against "
                     f"how much more uneven {second}'s spread was than {tool}'s: Pearson r = "
                     f"{r:+.2f} (p = {p:.3f}), "
                     + ("beyond noise." if p < stats.ALPHA else "not beyond noise."))
    return lines


def failures_section(view: View) -> list[str]:
    run = view.run
    failed = [v for v in run.variants if v.status in ("failed", "interrupted")]
    broken = [(v, c) for v in run.variants for c in v.all_cells()
              if c.status == "failed" or (c.reason and c.status == "measured")]
    if not failed and not broken:
        return []
    lines = ["## Failures", ""]
    for v in failed:
        lines.append(f"- **{v.name}** {v.status}: {v.reason}")
    for v, c in broken:
        lines.append(f"- {v.name}, {c.label}: {c.reason}")
    return lines + [""]
