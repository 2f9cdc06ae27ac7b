"""The first screen of a report: the recommendation with its confidence, the best deployable
stack per cell among healthy cells, the best of each worker model, the baseline, the reference
rows of other languages and the compiled ceiling, and how the
order changes with the database's latency and under an SLO where the run measured them."""

from __future__ import annotations

from suite.read import answer as computed
from suite.read.analysis import slo_capacity, rate_points
from suite.record.groups import Comparison, TopGroup
from suite.record.profiles import parse_slo
from suite.read import fmt
from suite.read.report import prose
from suite.read.report.view import View


def section(view: View) -> list[str]:
    answers = view.answers
    lines = ["## The answer", ""]
    if not any(a.best for a in answers):
        return lines + [prose.ANSWER_NOTHING, ""]
    recommendation = computed.recommend(answers)
    lines += [recommendation.why, ""]
    lines += [prose.ANSWER_INTRO.format(limit=fmt.share(view.limit), mark=fmt.HEALTHY_MARK), ""]
    lines += _table([a for a in answers if a.db_latency_ms == min(view.profile.db_latencies_ms)])
    lines += _top_groups(view)
    lines += _models(view, answers)
    lines += _latency_order(view, answers)
    lines += _capacity(view)
    return lines


def _interval(c: Comparison) -> str:
    if c.low is None or c.high is None:
        return f"{c.ratio:.2f}× (no interval)"
    return f"{c.ratio:.2f}× [{c.low:.2f}–{c.high:.2f}]"


def _top_groups(view: View) -> list[str]:
    """The run's top groups as its results file holds them (suite.record.groups): per cell the
    leader, every stack not separated from it with its ratio and 95% interval within rounds,
    and how many are behind it beyond noise."""
    groups = [TopGroup.from_dict(g) for g in view.run.top_groups]
    if not groups:
        return []
    lines = [prose.TOP_GROUPS.format(alpha=groups[0].alpha, looks=groups[0].looks), "",
             "| cell | leader, req/s | not separated from it: ratio [95% interval] | "
             "behind beyond noise | did not compete |", "|---|---|---|---|---|"]
    for g in groups:
        tied = ", ".join(f"{m.name} {_interval(m)}" for m in g.members) or \
            "none: the leader is separated from every other stack"
        lines.append(f"| {g.label} | {g.leader} {fmt.integer(g.leader_rps)} | {tied} | "
                     f"{len(g.separated)} | {len(g.left_out)} |")
    return lines + [""]


def _entry(entry: computed.Entry | None) -> str:
    return "–" if entry is None else f"{entry.name} {fmt.integer(entry.summary.median_rps)}"


def _table(answers: list[computed.CellAnswer]) -> list[str]:
    lines = ["| cell | best deployable, req/s | runner-up | lead | baseline (no framework) |",
             "|---|---|---|---|---|"]
    for a in answers:
        lead = "–"
        if a.best and a.runner_up and a.lead:
            lead = f"{fmt.ratio(a.lead.ratio)}, {a.lead.text}"
        baseline = _apart(a.baseline, a.best)
        best = _entry(a.best)
        if a.best is None:
            least = min(a.entries, key=lambda e: e.summary.error_rate or 0.0)
            best = (f"none healthy (least failed: {least.name}, "
                    f"{fmt.share(least.summary.error_rate)})")
        if a.faster_unhealthy:
            best += "; faster but unhealthy: " + ", ".join(
                f"{fmt.HEALTHY_MARK} {e.name} ({fmt.share(e.summary.error_rate)} failed)"
                for e in a.faster_unhealthy)
        lines.append(f"| {a.label} | {best} | {_entry(a.runner_up)} | {lead} | {baseline} |")
    return lines + [""] + _references(answers)


def _apart(entry: computed.Entry | None, best: computed.Entry | None) -> str:
    """A row shown apart (baseline, reference, ceiling): its req/s, and the best deployable
    Python stack's share of it; unhealthy, marked with its failed share instead."""
    if entry is None:
        return "–"
    text = _entry(entry) + (" *client-bound*" if entry.client_bound else "")
    if not entry.healthy:
        return f"{fmt.HEALTHY_MARK} {text}, {fmt.share(entry.summary.error_rate)} failed"
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
            _entry(at[ms].best) if ms in at else "–" for ms in latencies)
            + f" | {'yes' if changed else 'no'} |")
    return lines + [""]


def _capacity(view: View) -> list[str]:
    """Open loop: the highest successful req/s each variant kept within the SLO, best first."""
    points = rate_points(view.run)
    if not points:
        return []
    key, limit_ms = parse_slo(view.profile.slo)
    lines = [f"**Capacity under the SLO** ({key} ≤ {limit_ms:g} ms, open loop; successful "
             "req/s at the highest rate that kept it):", "",
             "| cell | best | second | third |", "|---|---|---|---|"]
    for doc, conns, ms in dict.fromkeys((p.doc, p.connections, p.db_latency_ms) for p in points):
        mine: dict[str, list] = {}
        for p in points:
            if (p.doc, p.connections, p.db_latency_ms) == (doc, conns, ms):
                mine.setdefault(p.variant, []).append(p)
        held = [(name, cap) for name, group in mine.items()
                if (cap := slo_capacity(group, key, limit_ms)) is not None]
        held.sort(key=lambda item: -item[1].summary.median_rps)
        top = [f"{name} {fmt.integer(cap.summary.median_rps)}" for name, cap in held[:3]]
        top += ["–"] * (3 - len(top))
        lines.append(f"| {fmt.cell_label(doc, conns, ms)} | " + " | ".join(top) + " |")
    return lines + [""]
