"""The first screen of a report: the recommendation with its confidence; per cell the leader
and its top group with ratios, intervals and p99; the best stack for sync code and for async
code; the baseline, the reference rows of other languages and the compiled ceiling; the top
group's capacity under the SLO where the run measured open loop; the best of each worker model;
and how the leaders change with the database's latency. The README's answer block renders the
same tables with the same functions (suite.read.report.readme)."""

from __future__ import annotations

from suite.read import answer as computed
from suite.record.groups import PROCEDURE, Comparison
from suite.record.stats import ALPHA
from suite.record.profiles import parse_slo
from suite.read import fmt
from suite.read.report import prose
from suite.read.report.view import View


def section(view: View) -> list[str]:
    answers = view.answers
    lines = ["## The answer", ""]
    if not any(a.best for a in answers):
        return lines + [prose.ANSWER_NOTHING, ""] + [
            f"- {a.label}: {computed.why_none(a)}." for a in answers] + [""]
    recommendation = computed.recommend(answers)
    lines += [recommendation.why, ""]
    group = next((a.group for a in answers if a.group), None)
    lines += [prose.ANSWER_INTRO.format(
        procedure=PROCEDURE, alpha=ALPHA,
        looks=f", {group.looks} looks of racing included" if group and group.looks > 1 else "",
        limit=fmt.share(view.limit), mark=fmt.HEALTHY_MARK), ""]
    shown = [a for a in answers if a.db_latency_ms == min(view.profile.db_latencies_ms)]
    lines += groups_table(shown, baseline=True) + [""]
    lines += _references(shown)
    lines += code_table(shown)
    lines += capacity_table(view.run, shown)
    lines += _models(view, answers)
    lines += _latency_order(view, answers)
    return lines


def with_p99(entry: computed.Entry, rps: bool = True) -> str:
    """"starlette-uvicorn 2,138, p99 293 ms"."""
    text = entry.name + (f" {fmt.integer(entry.summary.median_rps)}" if rps else "")
    return text + f", p99 {fmt.ms(entry.p99_ms)} ms"


def _interval(c: Comparison) -> str:
    if c.low is None or c.high is None:
        return f"{c.ratio:.2f}× (no interval)"
    return f"{c.ratio:.2f}× [{c.low:.2f}–{c.high:.2f}]"


def verdict(a: computed.CellAnswer) -> str:
    """Whether the cell has a leader beyond noise, in words."""
    if a.best is None:
        return "–"
    others = len(a.tied) + len(a.separated)
    if not others:
        return "alone: no other stack competed"
    if a.decided:
        return f"yes: ahead of all {others} others beyond noise"
    untested = sum(t.comparison.p is None for t in a.tied)
    if untested == len(a.tied):
        return f"not tested: {len(a.tied)} not separated (single repeats)"
    return (f"**no leader beyond noise**: {len(a.tied)} tied"
            + (f", {len(a.separated)} behind" if a.separated else ""))


def groups_table(answers: list[computed.CellAnswer], baseline: bool = False) -> list[str]:
    """The answer per cell: the leader with its p99, the stacks tied with it (ratio, interval,
    p99), whether there is a leader beyond noise; a cell without one says why in words."""
    lines = ["| cell | leader: req/s, p99 | not separated from it: ratio [95% interval], p99 "
             "| leader beyond noise? |" + (" baseline (no framework) |" if baseline else ""),
             "|---|---|---|---|" + ("---|" if baseline else "")]
    for a in answers:
        if a.best is None:
            lead, tied = computed.why_none(a), "–"
        else:
            lead = with_p99(a.best)
            tied = "; ".join(f"{t.entry.name} {_interval(t.comparison)}, p99 "
                             f"{fmt.ms(t.entry.p99_ms)} ms" for t in a.tied) or "none"
            if a.faster_unhealthy:
                lead += "; faster but unhealthy: " + ", ".join(
                    f"{fmt.HEALTHY_MARK} {e.name}, {fmt.failed(e.summary.health)}"
                    for e in a.faster_unhealthy)
        lines.append(f"| {a.label} | {lead} | {tied} | {verdict(a)} |"
                     + (f" {_apart(a.baseline, a.best)} |" if baseline else ""))
    return lines


def switch_text(c: Comparison | None) -> str:
    if c is None:
        return "–"
    if c.p is None:
        return f"{_interval(c)}, not tested"
    return f"{_interval(c)}, " + ("beyond noise" if c.separated else "within noise")


def code_table(answers: list[computed.CellAnswer]) -> list[str]:
    """The best stack for sync code and for async code per cell, and the switch's worth."""
    if not any(a.best_sync or a.best_async for a in answers):
        return []
    lines = [prose.ANSWER_CODE, "",
             "| cell | sync code (`def` views) | async code (`async def`) | async ÷ sync |",
             "|---|---|---|---|"]
    for a in answers:
        lines.append(f"| {a.label} | {with_p99(a.best_sync) if a.best_sync else '–'} | "
                     f"{with_p99(a.best_async) if a.best_async else '–'} | "
                     f"{switch_text(a.switch)} |")
    return lines + [""]


def capacity_cell(a: computed.CellAnswer, found: dict) -> str:
    """The top group's capacities under the SLO in one cell, as text."""
    parts = []
    for e in a.top:
        key = (e.name, a.doc, a.connections, a.db_latency_ms)
        if key not in found:
            parts.append(f"{e.name} *not measured*")
        else:
            cap = found[key]
            parts.append(f"{e.name} {fmt.integer(cap.summary.median_rps) if cap else '–'}")
    return "; ".join(parts) or "–"


def capacity_table(run, answers: list[computed.CellAnswer]) -> list[str]:
    """Open loop, where the run measured it: the capacity under the SLO of each cell's top
    group (and the best capacity of any row, which need not be in the top group)."""
    found = computed.capacities(run)
    if not found:
        return []
    key, limit_ms = parse_slo(run.profile.slo)
    lines = [prose.ANSWER_CAPACITY.format(key=key, limit=limit_ms), "",
             "| cell | the top group's capacity, req/s | highest of any row |", "|---|---|---|"]
    for a in answers:
        mine = [(name, cap) for (name, doc, conns, ms), cap in found.items()
                if (doc, conns, ms) == (a.doc, a.connections, a.db_latency_ms) and cap]
        top = max(mine, key=lambda item: item[1].summary.median_rps, default=None)
        lines.append(f"| {a.label} | {capacity_cell(a, found)} | "
                     + (f"{top[0]} {fmt.integer(top[1].summary.median_rps)}" if top else "–")
                     + " |")
    return lines + [""]


def _entry(entry: computed.Entry | None) -> str:
    return "–" if entry is None else f"{entry.name} {fmt.integer(entry.summary.median_rps)}"


def _apart(entry: computed.Entry | None, best: computed.Entry | None) -> str:
    """A row shown apart (baseline, reference, ceiling): its req/s, and the best deployable
    Python stack's share of it; unhealthy, marked with its failed share instead."""
    if entry is None:
        return "–"
    text = _entry(entry) + (" *client-bound*" if entry.client_bound else "")
    if not entry.healthy:
        return f"{fmt.HEALTHY_MARK} {text}, {fmt.failed(entry.summary.health)}"
    if best:
        text += f" (best at {best.summary.median_rps / entry.summary.median_rps:.0%} of it)"
    return text


def _share(share: float | None, ceiling: computed.Entry | None) -> str:
    if share is None:
        return "–"
    # A client-bound ceiling measured the database and the load generator, not a server.
    return f"{share:.0%}" + (" of what the client side allowed" if ceiling.client_bound else "")


def _references(answers: list[computed.CellAnswer]) -> list[str]:
    """Other languages' rows and the compiled ceiling, per cell, beside the best Python stack:
    how far Python is from what this machine serves for the endpoint."""
    names = list(dict.fromkeys(e.name for a in answers for e in a.references))
    if not names and not any(a.ceiling for a in answers):
        return []
    lines = [prose.REFERENCES, "",
             "| cell | best Python, req/s | " + "".join(f"{n} | " for n in names)
             + "ceiling (compiled) | best Python's share of the ceiling |",
             "|---|---|" + "---|" * len(names) + "---|---|"]
    for a in answers:
        mine = {e.name: e for e in a.references}
        share = computed.ceiling_share(a)
        lines.append(f"| {a.label} | {_entry(a.best)} | "
                     + "".join(f"{_apart(mine.get(n), a.best)} | " for n in names)
                     + f"{_apart(a.ceiling, None)} | "
                     + _share(share, a.ceiling) + " |")
    return lines + [""]


def _models(view: View, answers: list[computed.CellAnswer]) -> list[str]:
    shown = [a for a in answers if a.db_latency_ms == min(view.profile.db_latencies_ms)]
    models = [m for m in computed.MODELS if any(m in a.by_model for a in shown)]
    if len(models) < 2:
        return []
    lines = [prose.MODELS_INTRO, "", "| cell | " + " | ".join(models) + " |",
             "|---|" + "---|" * len(models)]
    for a in shown:
        lines.append(f"| {a.label} | " + " | ".join(_entry(a.by_model.get(m)) for m in models)
                     + " |")
    return lines + [""]


def _latency_order(view: View, answers: list[computed.CellAnswer]) -> list[str]:
    """Where the run measured a database further away: the best per cell at each latency,
    side by side, so a change of leader is visible."""
    latencies = view.profile.db_latencies_ms
    if len(latencies) < 2:
        return []
    by_cell = {}
    for a in answers:
        by_cell.setdefault((a.doc, a.connections), {})[a.db_latency_ms] = a
    lines = [prose.LATENCY_ORDER, "",
             "| cell | " + " | ".join(f"+{ms} ms" for ms in latencies) + " | leader changes |",
             "|---|" + "---|" * len(latencies) + "---|"]
    for (doc, conns), at in by_cell.items():
        leaders = [at[ms].best.name if ms in at and at[ms].best else None for ms in latencies]
        changed = len({x for x in leaders if x}) > 1
        lines.append(f"| {doc}@{conns:,} | " + " | ".join(
            _led(at[ms]) if ms in at else "–" for ms in latencies)
            + f" | {'yes' if changed else 'no'} |")
    return lines + [""]


def _led(a: computed.CellAnswer) -> str:
    """A cell's leader and how many stacks are tied with it."""
    if a.best is None:
        return "none healthy"
    return _entry(a.best) + (f" ({len(a.tied)} tied)" if a.tied else "")
