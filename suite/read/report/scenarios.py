"""The scenarios beyond the reads: sweeps of a setting, instances behind nginx, open loop."""

from __future__ import annotations

from suite.read import series
from suite.record import stats
from suite.read.analysis import (SLO_MAX_FAILURE_RATE, overload, rate_points, slo_capacity,
                                 summarize)
from suite.record.catalog import slug
from suite.record.profiles import parse_slo
from suite.read import fmt
from suite.read.report import prose
from suite.read.report.cells import chart
from suite.read.report.view import View
from suite.record.results import Cell


def sweep_section(view: View) -> list[str]:
    return _series(view, "Sweeps", prose.SWEEPS, series.swept(view.run), "sweep", "combination",
                   lambda group: f"{group.of}: {', '.join(group.settings)}", _sweep_sentences)


def _series(view: View, title: str, text: str, groups: list[series.Swept], kind: str, what: str,
            heading, sentences) -> list[str]:
    """A scenario's section (sweeps, deployments), none without rows: a subsection per
    variant with its chart, the table of its rows per cell, then its computed sentences."""
    if not groups:
        return []
    lines = [f"## {title}", "", text, ""]
    for group in groups:
        lines += [f"### {heading(group)}", ""]
        lines += chart(view, fmt.chart_key(kind, slug(group.of)),
                       f"{group.of}: req/s and p99 per {what}")
        lines += _series_table(group, what) + [""]
        said = sentences(group)
        lines += said + [""] if said else []
    return lines


def _series_table(group: series.Swept, what: str) -> list[str]:
    cells = list(group.cells)
    lines = [f"**Successful req/s / p99 ms, per {what}** ({fmt.HEALTHY_MARK}: failed too often "
             "to win)", "", f"| {what} | " + " | ".join(cells) + " |",
             "|---|" + "---:|" * len(cells)]
    for label in group.labels:
        row = []
        for cell in cells:
            found = next((r for r in group.cells[cell] if r.label == label), None)
            if found is None:
                row.append("–")
                continue
            text = (f"{fmt.integer(found.summary.median_rps)} / "
                    f"{fmt.ms(found.summary.latency_ms.get('p99'))}")
            row.append(text if found.healthy else
                       f"{fmt.HEALTHY_MARK} {text}, {fmt.failed(found.summary.health)}")
        name = f"{label} (catalog)" if label == group.catalog else label
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return lines


def _sweep_sentences(group: series.Swept) -> list[str]:
    if not group.leads:
        return []
    kept = [lead for lead in group.leads if lead.best is lead.catalog]
    ahead = [lead for lead in group.leads if lead.best is not lead.catalog]
    text = (f"- **{group.of}**: the catalog's {group.catalog} was the best healthy combination "
            f"in {len(kept)} of {len(group.leads)} cell(s)")
    if ahead:
        far = max(ahead, key=lambda lead: lead.ratio)
        beyond = [lead for lead in ahead if lead.beyond_noise]
        tested = [lead for lead in ahead if lead.p is not None]
        text += (f"; elsewhere the best was up to {far.ratio:.2f}× it ({far.best.label} at "
                 f"{far.cell}), " + (f"beyond noise in {len(beyond)} of {len(tested)} tested"
                                     if tested else "none tested against noise (one repeat)"))
    lines = [text + "."]
    for lead in ahead:
        noise = lead.test.text if lead.test else "not tested"
        lines.append(f"  - {lead.cell}: {lead.best.label} "
                     f"{fmt.integer(lead.best.summary.median_rps)} req/s against "
                     f"{fmt.integer(lead.catalog.summary.median_rps)} ({lead.ratio:.2f}×, "
                     f"{noise}).")
    return lines


def deployment_section(view: View) -> list[str]:
    run = view.run
    deployed = [v for v in run.variants if v.deployment is not None]
    ejecting = [v.name for v in deployed if v.deployment.ejects_failed_instances]
    text = prose.DEPLOYMENTS + " " + (prose.DEPLOYMENTS_EJECT.format(
        rows="every row of this run" if len(ejecting) == len(deployed)
        else "rows " + ", ".join(ejecting)) if ejecting else prose.DEPLOYMENTS_KEEP)
    lines = _series(view, "Instances behind a balancer", text, series.deployed(run),
                    "deployment", "instances", lambda group: group.of, lambda group: [])
    if not lines:
        return []
    lines += [prose.DEPLOYMENT_CPU, "",
              "| row | cell | balancer µs/request | instances' CPU shares |", "|---|---|---:|---|"]
    for v in deployed:
        for cell in v.cells:
            if not cell.repeats:
                continue
            s = view.summary(v, cell)
            shares = [s.cpu_cores.get(f"instance-{n}") for n in
                      range(1, v.deployment.instances + 1)]
            total = sum(x for x in shares if x)
            share_text = " / ".join("–" if x is None or not total else f"{x / total:.0%}"
                                    for x in shares)
            lines.append(f"| {v.name} | {cell.label} | "
                         f"{fmt.integer(s.cpu_us_per_ok.get('balancer'))} | {share_text} |")
    shown = deployed[-1]
    lines += ["", f"<details><summary>nginx {shown.deployment.version} configuration, as "
                  f"written for {shown.name}</summary>", "", "```nginx",
              shown.deployment.config.rstrip(), "```", "", "</details>", ""]
    return lines


def open_loop_section(view: View) -> list[str]:
    run = view.run
    points = rate_points(run)
    if not points:
        return []
    key, limit_ms = parse_slo(run.profile.slo)
    tool = (run.open_loop or {}).get("tool", "oha")
    lines = ["## Open loop: latency against request rate", "",
             prose.OPEN_LOOP.format(who=prose.OPEN_LOOP_TOP if run.profile.rates_for == "top"
                                    else prose.OPEN_LOOP_EVERY,
                                    tool=tool, key=key, limit=limit_ms,
                                    failures=f"{SLO_MAX_FAILURE_RATE:.0%}"), ""]
    for doc, conns, ms in dict.fromkeys((p.doc, p.connections, p.db_latency_ms) for p in points):
        group = [p for p in points if (p.doc, p.connections, p.db_latency_ms) == (doc, conns, ms)]
        order = list(dict.fromkeys(p.variant for p in group))
        group.sort(key=lambda p: (order.index(p.variant), p.target_rps or 0))
        lines += [f"### {fmt.section_title(doc, ms)}, up to {conns:,} connections", ""]
        lines += chart(view, fmt.chart_key("rate", f"{doc}-c{conns}", ms),
                       f"latency against request rate, {doc}, {conns} connections")
        lines += ["| variant | rate | due req/s | answered req/s | successful req/s | "
                  "p50 / p99 ms | unsent | failed |", "|---|---|---:|---:|---:|---|---:|---|"]
        for p in group:
            unsent = stats.median([s.unsent for s in _rate_cell(run, p).repeats
                                   if s.unsent is not None])
            lines.append(f"| {p.variant} | {p.rate} | {fmt.integer(p.target_rps)} | "
                         f"{fmt.integer(p.answered_rps)} | {fmt.integer(p.summary.median_rps)} | "
                         f"{fmt.ms(p.summary.latency_ms.get('p50'))} / "
                         f"{fmt.ms(p.summary.latency_ms.get('p99'))} | {fmt.integer(unsent)} | "
                         f"{fmt.failures(p.summary)} |")
        lines += [""] + _open_loop_sentences(view, group, key, limit_ms) + [""]
    return lines


def _rate_cell(run, point) -> Cell:
    variant = run.variant(point.variant)
    return next(c for c in variant.rate_cells if c.doc == point.doc
                and c.connections == point.connections and c.rate == point.rate
                and c.db_latency_ms == point.db_latency_ms)


def _open_loop_sentences(view: View, group: list, key: str, limit_ms: float) -> list[str]:
    found = []
    for name in dict.fromkeys(p.variant for p in group):
        mine = [p for p in group if p.variant == name]
        best = slo_capacity(mine, key, limit_ms)
        capacity = (f"{fmt.integer(best.summary.median_rps)} successful req/s (rate {best.rate})"
                    if best else "none of the measured rates")
        closed = view.run.variant(name).cell(mine[0].doc, mine[0].connections,
                                             mine[0].db_latency_ms)
        closed_rps = summarize(closed).median_rps if closed and closed.repeats else None
        over = [p for p in mine if closed_rps and p.target_rps and p.target_rps > closed_rps]
        text = f"- **{name}**: capacity under the SLO {capacity}"
        if closed_rps:
            text += f", against {fmt.integer(closed_rps)} closed-loop"
        if over:
            top = max(over, key=lambda p: p.target_rps)
            text += f". Above its closed-loop capacity (rate {top.rate}) it {overload(top)}"
        found.append(text + ".")
    return found
