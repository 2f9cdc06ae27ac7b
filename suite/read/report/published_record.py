"""The `facts` block of docs/published-runs.md: a run's record (where, how, how long, how
much), computed from its results file as the run's report computes it."""

from __future__ import annotations

import math

from suite.read import fmt
from suite.read.analysis import summaries
from suite.read.report import method
from suite.read.report.published_sources import REPORTS
from suite.record import groups, stats
from suite.record.documents import WRITE
from suite.record.results import RunResult


def _commit(run: RunResult) -> str:
    env = run.environment
    commit = (env.get("git_commit") or "unknown")[:7]
    return f"commit `{commit}`" + (" with uncommitted changes" if env.get("git_dirty") else "")


def _placement(run: RunResult) -> str:
    """One machine for every role, or the three engines and the links measured between them."""
    placement = run.runtime_details.placement
    if not placement:
        return "every role on one machine (one engine)"
    hosts = placement.get("hosts", {})
    links = "; ".join(
        f"{link.get('source')} → {link.get('target')} "
        + ("?" if link.get("rtt_ms") is None else f"{link['rtt_ms']:.3f}") + " ms round trip, "
        + ("?" if link.get("gbit_s") is None else f"{link['gbit_s']:.1f}") + " Gbit/s"
        for link in placement.get("links", []))
    reuse = sorted({str((h.get("tcp") or {}).get("tcp_tw_reuse")) for h in hosts.values()
                    if (h.get("tcp") or {}).get("tcp_tw_reuse") is not None})
    same = len({(h.get("name"), h.get("cpu_model")) for h in hosts.values()}) == 1
    return ("client, server and database each on an engine of its own"
            + (" (the same machine's CPUs: a lab on one box)" if same else "")
            + (f"; links idle: {links}" if links else "")
            + (f"; `tcp_tw_reuse={'/'.join(reuse)}` on the hosts" if reuse else ""))


def _profile(run: RunResult) -> str:
    p = run.profile
    repeats = (f"{p.repeats} per cell, up to {p.repeat_cap} for the stacks not yet separated "
               "from their cell's leader (racing)" if method.raced(run)
               else f"{p.repeats} per cell, up to {p.repeat_cap} while a cell's CV exceeded "
               f"{p.target_cv:.0%}" if p.repeat_cap > p.repeats
               else f"{p.repeats} per cell" if p.repeats > 1 else "one per cell")
    order = ("interleaved" if run.order == "interleaved" and p.repeat_cap > 1
             else "one cell after the other")
    warmup = f"a {p.warmup_s:g} s warmup per cell" if p.warmup_s else "no warmup"
    return (f"`{p.name}`: counted repeats of {p.duration_s:g} s, timeout {p.timeout_s:g} s, "
            f"{warmup}, {repeats}, {order}")


def _cells_line(run: RunResult) -> str:
    p = run.profile
    cells = [c for v in run.variants for c in v.cells]
    measured = [c for c in cells if c.repeats]
    rows_ = "rows" if any(v.sweep or v.deployment for v in run.variants) else "variants"
    grid = [f"{len(run.variants)} {rows_}", ", ".join(p.docs),
            ", ".join(str(c) for c in p.connections) + " connections"]
    if p.db_latencies_ms != (0,):
        grid.append("database " + ", ".join(f"+{ms}" for ms in p.db_latencies_ms) + " ms")
    text = f"{len(measured)} of {len(cells)} measured ({' × '.join(grid)})"
    rates = [c for v in run.variants for c in v.rate_cells]
    if rates:
        text += (f"; and {sum(1 for c in rates if c.repeats)} open-loop cells at rates "
                 + ", ".join(p.rates))
    if run.crosscheck:
        text += f"; each repeat cross-checked by {run.crosscheck.get('tool')}"
    return text


def _repeats_line(run: RunResult, cells: dict) -> str:
    counts = [len(c.repeats) for v in run.variants for c in v.all_cells()
              if c.repeats]
    if not counts:
        return "none"
    low, high = min(counts), max(counts)
    text = f"{sum(counts)}, " + (f"{low} per cell" if low == high else
                                 f"from {low} to {high} per cell")
    if high < 2:
        return text + " (nothing can be tested against noise)"
    target = run.profile.target_cv
    above = sum(1 for s in cells.values() if s.cv is not None and s.cv > target)
    ended = "ended with" if run.profile.repeat_cap > run.profile.repeats else "had"
    return text + f"; {above} of {len(cells)} cells {ended} a CV above {target:.0%}"


def _spread_line(run: RunResult, cells: dict) -> str | None:
    """The median CV of each connection level's closed-loop cells (the method's target: 5% at
    every level)."""
    levels = []
    for conns in run.profile.connections:
        cvs = [s.cv for (_, _, c, _), s in cells.items() if c == conns and s.cv is not None]
        if cvs:
            levels.append(f"{stats.median(cvs):.1%} at {conns:,} connections ({len(cvs)} cells)")
    return "; ".join(levels) or None


def _pooled_line(run: RunResult) -> str | None:
    """The top groups' pooled error: one start's spread with its round removed (the fit's
    residual SD on the logs, as a share), median per connection level, and whether the stacks
    spread alike (Bartlett, Holm over the cells)."""
    levels = []
    for conns in run.profile.connections:
        sigmas = []
        for ms in run.profile.db_latencies_ms:
            for doc in run.profile.docs:
                competing, _ = groups.competitors(run, doc, conns, ms)
                fit = groups.cell_fit(competing) if doc != "write" else None
                if fit is not None and fit.sigma is not None:
                    sigmas.append(math.expm1(fit.sigma))
        if sigmas:
            levels.append(f"{stats.median(sigmas):.1%} at {conns:,} connections")
    if not levels:
        return None
    tests = groups.spread_tests(run)
    unequal = [t.label for t in tests if t.p_adjusted < stats.ALPHA]
    return ("; ".join(levels) + (f"; the stacks spread alike in {len(tests) - len(unequal)} of "
                                 f"{len(tests)} cells (Bartlett, Holm)" if tests else "")
            + (f", not in {', '.join(unequal)}" if unequal else ""))


def _time_line(run: RunResult) -> str | None:
    wall = sum(s.wall_s or 0 for s in run.sittings)
    if not wall:
        return None
    counted = sum(s.counted_s for s in run.sittings)
    expected = (run.plan or {}).get("expected_s")
    text = (f"{fmt.minutes(wall)} of wall time"
            + (f" against a plan of {fmt.minutes(expected)}" if expected else "")
            + (f", in {len(run.sittings)} sittings" if len(run.sittings) > 1 else "")
            + f"; counted ÷ wall {counted / wall:.2f}")
    return text


def _finds_line(run: RunResult) -> str | None:
    """MongoDB's own finds per successful response (Sample.finds_per_ok, the figure of the
    report's "finds / response" column), lowest and highest over the read repeats."""
    per = [s.finds_per_ok for v in run.variants for c in v.cells if c.doc != WRITE
           for s in c.repeats if s.finds_per_ok is not None]
    if not per:
        return None
    return (f"from {min(per):.2f} to {max(per):.2f} over {len(per)} repeats (the median "
            f"{stats.median(per):.2f})")


def _little_line(cells: dict) -> str | None:
    values = [(s.little, s.label, name) for (name, *_), s in cells.items() if s.little is not None]
    if not values:
        return None
    low, high = min(values), max(values)
    return (f"from {low[0]:.2f} ({low[2]} {low[1]}) to {high[0]:.2f} ({high[2]} {high[1]}) "
            f"over {len(values)} cells with measured latency")


def _pythons(run: RunResult) -> str | None:
    """The interpreters the servers ran on, as the run recorded them (its own description of
    the build from v10 on; before that what /health reported, the image's Python, or for the
    local runtime the suite's own interpreter), with how many rows ran on each."""
    found: dict[str, int] = {}
    for v in run.variants:
        if v.interpreter_build:
            text = fmt.interpreter_build(v.interpreter_build)
        elif v.interpreter and v.interpreter.get("python"):
            text = v.interpreter["python"] + (" free-threaded"
                                              if v.interpreter.get("free_threaded") else "")
        elif v.image and v.image.python:
            text = f"{v.image.python} (the image's)"
        elif run.runtime == "local" and run.environment.get("python"):
            text = f"{run.environment['python']} (the suite's own)"
        else:
            continue
        found[text] = found.get(text, 0) + 1
    if not found:
        return None
    if len(found) == 1:
        return next(iter(found))
    return "; ".join(f"{text}: {count} rows" for text, count in found.items())


def facts(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The run's record: commit, machine, runtime, placement, profile as used, cells, counted
    repeats, the median CV per level, wall time against the plan, finds per response and
    Little's law."""
    env = run.environment
    cells = summaries(run)
    lines = [f"- **Run**: [report]({REPORTS}/{run.run_id}.md), {run.started_at[:10]}, "
             f"{_commit(run)}, {env.get('cpu_model')} × {env.get('cpu_count')}, "
             f"{run.runtime} runtime, {_placement(run)}; {run.status}.",
             f"- **Profile**: {_profile(run)}.",
             f"- **Cells**: {_cells_line(run)}.",
             f"- **Counted repeats**: {_repeats_line(run, cells)}."]
    for title, text in (("Median CV between repeats", _spread_line(run, cells)),
                        ("The top groups' pooled error: one start's spread, rounds removed where recorded (median)", _pooled_line(run)),
                        ("Servers' Python", _pythons(run)), ("Time", _time_line(run)),
                        ("MongoDB's finds per successful read", _finds_line(run)),
                        ("Little's law, L/N", _little_line(cells))):
        if text:
            lines.append(f"- **{title}**: {text}.")
    return lines

