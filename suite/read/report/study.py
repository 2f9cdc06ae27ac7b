"""The 2014 study's figures next to this run's, as ratios to the same reference stack, and which
of its orderings still hold. Only for runs that read both documents' cells it published."""

from __future__ import annotations

from suite.read import study
from suite.read import fmt
from suite.read.report import prose
from suite.read.report.view import View


def section(view: View) -> list[str]:
    run = view.run
    data = study.load()
    if not study.applies(run, data):
        return []
    by_latency = {ms: study.points(run, data, ms) for ms in run.profile.db_latencies_ms}
    by_latency = {ms: found for ms, found in by_latency.items()
                  if any(p.now_ratio is not None or p.unhealthy for p in found)}
    if not by_latency:      # e.g. a write run: none of the study's cells was measured
        return []
    source, ref = data.source, data.reference
    lines = ["## Side by side with 2014", "",
             prose.STUDY.format(title=source["title"], where=source["where"],
                                setup=source["setup"], method=source["method"],
                                counts=source["counts"], reference=ref.title,
                                variant=ref.variant), "",
             "| stack | variant today | as the study ran it |", "|---|---|---|"]
    lines += [f"| {s.title} | `{s.variant}` | `{s.ran}` |" for s in data.stacks]
    lines.append("")
    for ms, found in by_latency.items():
        where = fmt.where(ms)
        lines += [f"**Requests per second ÷ {ref.title}'s, 2014 → now{where}** "
                  f"(– : not measured in this run; {fmt.HEALTHY_MARK}: no ratio, a side was "
                  "unhealthy)", ""]
        lines += _table(data, found, lambda p: f"{fmt.ratio(p.then_ratio)} → "
                                               + (fmt.HEALTHY_MARK if p.unhealthy
                                                  else fmt.ratio(p.now_ratio)))
        notes = dict.fromkeys(f"{part} at {p.doc}@{p.connections:,}" for p in found
                              if p.unhealthy for part in p.unhealthy.split("; "))
        if notes:
            lines += ["", f"{fmt.HEALTHY_MARK} unhealthy today, so neither a ratio nor an "
                      "ordering: " + "; ".join(notes) + "."]
        lines += ["", "<details><summary>The requests per second behind the ratios</summary>",
                  ""]
        lines += _table(data, found, lambda p: f"{fmt.integer(p.then_rps)} → "
                                               f"{fmt.integer(p.now_rps)}")
        lines += ["", "</details>", ""]
        lines += _sentences(study.orderings(found), where)
        lines += _beyond(study.beyond_python(found), where)
    return lines


def _beyond(rows: list[study.Beyond], where: str) -> list[str]:
    """What changed between Python and the study's other languages: each one's req/s over the
    best of the study's Python rows in the same cell, 2014 and now."""
    rows = [r for r in rows if r.now_ratio is not None]
    if not rows:
        return []
    lines = [prose.STUDY_BEYOND.format(where=where), "",
             "| stack | cell | 2014: ÷ best Python row | now: ÷ best Python row |",
             "|---|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.stack.title} (`{r.stack.variant}`) | {r.doc}@{r.connections:,} | "
                     f"{fmt.ratio(r.then_ratio)} ({r.then_python}) | "
                     f"{fmt.ratio(r.now_ratio)} ({r.now_python}) |")
    return lines + [""]


def _table(data: study.Study, found: list[study.Point], text) -> list[str]:
    """Stacks × the study's cells, `text(point)` in each (blank where it published none)."""
    cells = list(dict.fromkeys((p.doc, p.connections) for p in found))
    lines = ["| stack | " + " | ".join(f"{d}@{c:,}" for d, c in cells) + " |",
             "|---|" + "---:|" * len(cells)]
    for stack in data.stacks:
        points = {(p.doc, p.connections): p for p in found if p.stack is stack}
        lines.append(f"| {stack.title} | " + " | ".join(
            text(points[cell]) if cell in points else "" for cell in cells) + " |")
    return lines


def _sentences(orderings: list, where: str) -> list[str]:
    if not orderings:
        return ["No cell of this run measured two of the study's stacks.", ""]
    held = [o for o in orderings if o.held]
    flipped = [o for o in orderings if not o.held]
    lines = [f"- Of the {len(orderings)} orderings the study showed between stacks this run "
             f"measured in the same cell{where}, {len(held)} still hold "
             f"({sum(o.beyond_noise for o in held)} beyond noise) and {len(flipped)} flipped "
             f"({sum(o.beyond_noise for o in flipped)} beyond noise); Welch's test, Holm's "
             "correction across these orderings.", ""]
    if orderings:
        lines += ["| the study's order | cell | now | test |", "|---|---|---:|---|"]
        for o in sorted(orderings, key=lambda o: (o.held, o.faster.doc, o.faster.connections)):
            verdict = "held" if o.held else "**flipped**"
            lines.append(f"| {o.faster.stack.title} over {o.slower.stack.title} | "
                         f"{o.faster.doc}@{o.faster.connections:,} | {o.now_ratio:.2f}× "
                         f"({verdict}) | {o.test.text} |")
    return lines + [""]
