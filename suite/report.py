"""Markdown reports, a pure function of a results file: rendering never measures anything."""

from __future__ import annotations

import shlex
from pathlib import Path

from suite import documents, results, stats, study, sweep
from suite.catalog import slug
from suite.analysis import (SHOWN_PERCENTILES, SLO_MAX_FAILURE_RATE, CellSummary, overload,
                            ranking, rate_points, slo_capacity, summarize)
from suite.checks import checks
from suite.documents import doc_title
from suite.findings import findings
from suite.profiles import parse_slo
from suite.results import Cell, DbLatencyCheck, MongoInfo, RunResult, VariantResult


def _int(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def _bytes(count: int | None) -> str:
    if count is None:
        return "?"
    return f"{count:,} B" if count < 1024 else f"{count / 1024:.1f} KiB"


def _not_measured(cell: Cell | None) -> str | None:
    if cell is None:
        return "–"
    if cell.status == "failed":
        return "failed"
    if not cell.repeats:
        return {"skipped": "–", "pending": "not run"}.get(cell.status, "–")
    return None


def _rps_text(s: CellSummary) -> str:
    text = _int(s.median_rps)
    if s.n > 1:
        text += f" ({_int(s.min_rps)}–{_int(s.max_rps)})"
    return text + (" ⚠" if s.unstable else "")


def _errors_text(s: CellSummary) -> str:
    if s.error_total == 0:
        worst = max(s.error_totals, default=0)
        text = f"0 (up to {worst:,} in one repeat)" if worst else "0"
    else:
        parts = ", ".join(f"{cls} {count:,.0f}" for cls, count in s.errors.items() if count)
        text = f"{s.error_total:,.0f} ({parts}; {s.error_rate:.1%})"
    return text + (f" [not counted: {', '.join(s.uncounted)}]" if s.uncounted else "")


def _latency_text(s: CellSummary) -> str:
    if s.latency_ms.get("p50") is None and s.latency_unmeasured:
        return "not measured"
    return " / ".join(_ms(s.latency_ms.get(k)) for k in ("p50", "p99", "p99.9"))


def _table(run: RunResult, doc: str, ms: int, title: str, value, of_cell: bool = False,
           ) -> list[str]:
    """Variants × connection levels; `value(summary)` in each measured cell (`value(cell)`
    with `of_cell`)."""
    levels = run.profile.connections
    lines = [f"**{title}**", "", "| variant | " + " | ".join(f"{c:,} conn." for c in levels) + " |",
             "|---|" + "---:|" * len(levels)]
    for variant in run.variants:
        row = []
        for conns in levels:
            cell = variant.cell(doc, conns, ms)
            row.append(_not_measured(cell) or value(cell if of_cell else summarize(cell)))
        lines.append(f"| {variant.name} | " + " | ".join(row) + " |")
    return lines + [""]


def _chart(charts: dict[str, str], key: str, alt: str) -> list[str]:
    path = charts.get(key)
    return [f"![{alt}]({path})", ""] if path else []


def chart_key(kind: str, doc: str, ms: int = 0) -> str:
    """The chart's name ("throughput-small", "throughput-small-db5ms"), as suite.charts saves it."""
    return f"{kind}-{doc}" + (f"-db{ms}ms" if ms else "")


def section_title(doc: str, ms: int) -> str:
    return doc_title(doc) + (f", database +{ms} ms" if ms else "")


def _ranking_table(run: RunResult, doc: str, ms: int) -> list[str]:
    levels = run.profile.connections
    columns = [ranking(run, doc, conns, ms) for conns in levels]
    depth = max((len(c) for c in columns), default=0)
    if not depth:
        return []
    lines = ["**Ranking by successful requests per second** (× = relative to the best)", "",
             "| # | " + " | ".join(f"{c:,} conn." for c in levels) + " |",
             "|---:|" + "---|" * len(levels)]
    for rank in range(depth):
        row = []
        for ranked in columns:
            if rank < len(ranked):
                name, s = ranked[rank]
                best = ranked[0][1].median_rps
                row.append(f"{name} {_int(s.median_rps)} ({s.median_rps / best:.2f}×)"
                           if best else f"{name} {_int(s.median_rps)}")
            else:
                row.append("")
        lines.append(f"| {rank + 1} | " + " | ".join(row) + " |")
    return lines + [""]


def _document_heading(run: RunResult, doc: str, ms: int) -> str:
    if doc == documents.WRITE:
        concerns = sorted({str(v.settings.get("write_concern")) for v in run.variants})
        return (f"## {section_title(doc, ms)} (`POST {documents.WRITE_PATH}`: a JSON object of "
                f"about {_bytes(len(documents.WRITE_BODY_EXAMPLE))} per request, tagged with its wrk "
                f"execution and a key unique within it; write concern w={'/'.join(concerns)})")
    return (f"## {section_title(doc, ms)} (`/{doc}`: {_bytes(run.mongo.json_bytes.get(doc))} "
            f"JSON, {_bytes(run.mongo.bson_bytes.get(doc))} BSON)")


def _writes_text(cell: Cell) -> str:
    parts = []
    for sample in cell.repeats:
        w = sample.writes
        if w is None:
            continue
        flaws = ", ".join(f"{n:,} {what}" for n, what in ((w.lost, "lost"),
                                                          (w.duplicated, "duplicated")) if n)
        parts.append(f"{w.acknowledged:,} / {w.found:,} / {w.stored:,}"
                     + (f" (**{flaws}**)" if flaws else ""))
    return "; ".join(parts) or "–"


def _document_section(run: RunResult, doc: str, ms: int, charts: dict[str, str]) -> list[str]:
    repeats = run.profile.repeats
    spread = " (min–max over repeats; ⚠ = unstable)" if repeats > 1 else ""
    where = f", +{ms} ms" if ms else ""
    lines = [_document_heading(run, doc, ms), ""]
    lines += _chart(charts, chart_key("throughput", doc, ms),
                    f"successful requests per second, {doc}{where}")
    lines += _ranking_table(run, doc, ms)
    lines += _table(run, doc, ms, f"Successful requests per second, median{spread} (higher is "
                    "better)", _rps_text)
    lines += _chart(charts, chart_key("errors", doc, ms), f"failed requests per repeat, {doc}{where}")
    lines += _table(run, doc, ms, "Failed requests per repeat, by class (connect, read, write, "
                    "status, late, lost, body" + (", lost-write" if doc == documents.WRITE else "")
                    + "; failure rate)", _errors_text)
    if doc == documents.WRITE:
        lines += _table(run, doc, ms, "The database after each repeat: acknowledged inserts / "
                        "of them found in the collection / documents stored (inserts still in "
                        "flight when the load stopped included)", _writes_text, of_cell=True)
    lines += _chart(charts, chart_key("latency", doc, ms), f"latency percentiles, {doc}{where}")
    lines += _table(run, doc, ms, "Latency p50 / p99 / p99.9, ms, measured (responses within the "
                    "timeout; lower is better)", _latency_text)
    return lines


def _db_latency_section(run: RunResult) -> list[str]:
    fail_point = run.mongo.fail_point
    if not fail_point:
        return []
    lines = ["## Database latency", "",
             f"Cells marked *database +N ms* ran against a MongoDB made slow on purpose: "
             f"`{fail_point.get('name')}` (a fail point, test commands "
             f"{fail_point.get('test_commands')}) made every "
             + " and every ".join(fail_point.get("data", {}).get("failCommands", ["find"]))
             + " wait N ms before it ran (the wait itself uses no CPU). "
             f"What it models: {fail_point.get('models')}. "
             f"What it does not: {fail_point.get('not_modelled')}. The suite timed finds itself, alternately "
             "with and without the fail point, before the run and each time it set the fail point "
             "for a cell, and a burst of concurrent finds, which must not queue behind each other "
             "(a database that serves one query at a time is not a distant one). The fail point "
             "is not free: mongod logs every find it blocks and wakes its thread, and the last "
             "column is mongod's CPU per sequential find without and with it, measured before "
             "the run. A distant database spends that on its own machine; here it comes out of "
             "the CPUs the servers share, so part of what a +N ms cell loses is the model's own "
             "cost, not the wait (compare the Cost per request tables).", "",
             "| added latency | before the run: added; concurrent finds | at its cells: "
             "added, median (min–max) | mongod CPU per find, without → with |",
             "|---|---|---|---|"]
    verified = {check["requested_ms"]: check for check in fail_point.get("verified", [])}
    for ms in run.profile.db_latencies_ms:
        if not ms:
            continue
        before = verified.get(ms)
        at_cells = [c.added_ms for v in run.variants for cell in [*v.cells, *v.rate_cells]
                    if cell.db_latency_ms == ms for c in cell.db_latency_checks]
        before_text = "–" if before is None else _probe_text(before)
        cells_text = (f"{stats.median(at_cells):.2f} ms ({min(at_cells):.2f}–"
                      f"{max(at_cells):.2f}), {len(at_cells)} checks" if at_cells else "–")
        lines.append(f"| +{ms} ms | {before_text} | {cells_text} | {_model_cost_text(before)} |")
    return lines + [""]


def _model_cost_text(check: dict | None) -> str:
    """mongod's CPU per find without → with the fail point ("–" for runs before it was read)."""
    cost = DbLatencyCheck.from_dict(check).fail_point_cpu_us if check else None
    if cost is None:
        return "–"
    without, with_ = cost
    return f"{without:.0f} → {with_:.0f} µs (+{with_ - without:.0f})"


def _probe_text(check: dict) -> str:
    if check.get("concurrent_wall_ms") is not None:
        return (f"{check['added_ms']:.2f} ms; {check['concurrent']} at once, each blocked "
                f"{check['concurrent_block_ms']} ms: {check['concurrent_wall_ms']:.0f} ms in all")
    # Runs before the burst's wall time was measured: its finds' median.
    return (f"{check['added_ms']:.2f} ms; {check['concurrent']} at once: "
            f"{check['concurrent_p50_ms']:.1f} ms each at the median")


def _cost_text(s: CellSummary) -> str:
    server, mongod = s.cpu_us_per_ok.get("server"), s.cpu_us_per_ok.get("mongod")
    if server is None and mongod is None:
        return "–"
    return f"{_int(server)} / {_int(mongod)}"


def _cost_section(run: RunResult, charts: dict[str, str]) -> list[str]:
    """CPU per successful request: what a request costs, steadier than req/s on a shared
    machine (it does not move with how much CPU the other roles left over)."""
    measured = [s for v in run.variants for c in v.cells if c.repeats
                for s in c.repeats if s.cpu_us_per_ok("server") is not None]
    if not measured:
        return []
    lines = ["## Cost per request", "",
             "CPU time the server (all its processes, or its container) and mongod spent per "
             "successful request, in µs: CPU cores × seconds ÷ successful requests, the median "
             "over repeats (lower is cheaper). Failed requests cost CPU too and are not "
             "counted as requests, so a cell with many failures looks expensive. Unlike req/s, "
             "this hardly depends on what the load generator and the other roles left of the "
             "shared CPUs, so it is the steadier way to compare servers on this machine, and "
             "it is what a user pays for.", ""]
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            title = section_title(doc, ms)
            lines += _chart(charts, chart_key("cost", doc, ms), f"CPU per request, {title}")
            lines += _table(run, doc, ms, f"{title}: server / mongod CPU µs per successful "
                            "request", _cost_text)
    return lines


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _study_section(run: RunResult) -> list[str]:
    """The 2014 study's figures next to this run's, as ratios to the same reference stack."""
    data = study.load()
    if not study.applies(run, data):
        return []
    source, ref = data.source, data.reference
    lines = ["## Side by side with 2014", "",
             f"The study this suite revisits: *{source['title']}*, {source['where']}. Its setup: "
             f"{source['setup']}; {source['method']}. Its figures count {source['counts']}. The "
             "hardware, the network and every version differ, so only ratios are compared: each "
             f"stack's requests per second ÷ {ref.title}'s in the same cell, then (2014) and now "
             f"(this run's median successful req/s of the variant that runs the stack, ÷ "
             f"`{ref.variant}`'s). The study's MongoDB sat on another machine of its LAN; here it "
             "shares the loopback and the CPUs, so read the rows with a database latency added "
             "next to these.", "",
             "| stack | variant today | as the study ran it |", "|---|---|---|"]
    lines += [f"| {s.title} | `{s.variant}` | `{s.ran}` |" for s in data.stacks]
    lines.append("")
    for ms in run.profile.db_latencies_ms:
        found = study.points(run, data, ms)
        where = f", database +{ms} ms" if ms else ""
        lines += [f"**Requests per second ÷ {ref.title}'s, 2014 → now{where}** "
                  "(– : not measured in this run)", ""]
        lines += _study_table(data, found, lambda p: f"{_ratio(p.then_ratio)} → "
                                                     f"{_ratio(p.now_ratio)}")
        lines += ["", "<details><summary>The requests per second behind the ratios</summary>",
                  ""]
        lines += _study_table(data, found, lambda p: f"{_int(p.then_rps)} → {_int(p.now_rps)}")
        lines += ["", "</details>", ""]
        lines += _study_sentences(study.orderings(found), where)
    return lines


def _study_table(data: study.Study, found: list[study.Point], text) -> list[str]:
    """Stacks × the study's cells, `text(point)` in each (blank where it published none)."""
    cells = list(dict.fromkeys((p.doc, p.connections) for p in found))
    lines = ["| stack | " + " | ".join(f"{d}@{c:,}" for d, c in cells) + " |",
             "|---|" + "---:|" * len(cells)]
    for stack in data.stacks:
        points = {(p.doc, p.connections): p for p in found if p.stack is stack}
        lines.append(f"| {stack.title} | " + " | ".join(
            text(points[cell]) if cell in points else "" for cell in cells) + " |")
    return lines


def _study_sentences(orderings: list, where: str) -> list[str]:
    if not orderings:
        return ["No cell of this run measured two of the study's stacks.", ""]
    held = [o for o in orderings if o.held]
    flipped = [o for o in orderings if not o.held]

    def pair(o) -> str:
        return (f"{o.faster.stack.title} over {o.slower.stack.title} "
                f"({o.faster.doc}@{o.faster.connections:,}: {o.now_ratio:.2f}× now"
                + (f", p = {o.p:.3f}, Holm {o.p_adjusted:.3f}" if o.p is not None
                   else ", not tested") + ")")

    text = (f"- Of the {len(orderings)} orderings the study showed between stacks this run "
            f"measured in the same cell{where}, {len(held)} still hold "
            f"({sum(o.beyond_noise for o in held)} beyond the noise of the repeats: Welch's test, "
            "Holm's correction across these orderings) and "
            f"{len(flipped)} flipped ({sum(o.beyond_noise for o in flipped)} beyond noise).")
    lines = [text]
    if flipped:
        lines.append("- Flipped (the study's faster stack first): "
                     + "; ".join(pair(o) for o in flipped) + ".")
    steady = [o for o in held if o.beyond_noise]
    if steady:
        lines.append("- Held beyond noise: " + "; ".join(pair(o) for o in steady) + ".")
    return lines + [""]


SWEEPS_TEXT = (
    "A sweep runs one catalog variant with other values of its settings, each combination a "
    "row of its own measured in the same interleaved rounds, the catalog's values always among "
    "them: the answer to \"your config was unfair\". Per cell the best combination is compared "
    "with the catalog's (Welch's test over the repeats, Holm's correction across the sweep's "
    "cells). The best is picked after the fact among several, so a lead that only just clears "
    "the noise is weaker than its p says.")

DEPLOYMENTS_TEXT = (
    "Rows named `×N nginx:STRATEGY` ran as N instances of the variant, each on its own port "
    "with the variant's settings, behind nginx on the port the load generator and the "
    "verification used. The suite wrote nginx's configuration from data (folded below): "
    "worker_processes = the server's CPUs, worker_connections = 2 × the largest connection "
    "level + 1024, HTTP/1.1 keep-alive to the instances, no retry of a failed request on "
    "another instance (each request meets its fate), access log off. The server's CPU and "
    "memory are the instances' together; nginx's are the balancer's.")
DEPLOYMENTS_KEEP_TEXT = (
    "No instance leaves the rotation after a failure (max_fails=0: each failed request is that "
    "request's alone), and nginx closes a connection to an instance after 1 s idle, before the "
    "instance would (a request sent on a connection the instance is closing fails with neither "
    "at fault).")
DEPLOYMENTS_EJECT_TEXT = (
    "**In {rows} nginx kept its default passive health check** (max_fails=1, fail_timeout=10s): "
    "one failed request, such as one sent on a connection the instance was closing, took an "
    "instance out of rotation for 10 s, and while every instance was out nginx answered 502 at "
    "once (\"no live upstreams\" in its error log). Those rows' status "
    "failures are partly the balancer's doing; runs since 2026-11-30 set max_fails=0.")


def _sweep_section(run: RunResult, charts: dict[str, str]) -> list[str]:
    return _series_section("Sweeps", SWEEPS_TEXT, sweep.swept(run), charts, "sweep",
                           "combination", lambda group: f"{group.of}: {', '.join(group.settings)}",
                           _sweep_sentences)


def _series_section(title: str, text: str, groups: list[sweep.Swept], charts: dict[str, str],
                    kind: str, what: str, heading, sentences) -> list[str]:
    """A scenario's section (sweeps, deployments), none without rows: a subsection per
    variant with its chart of req/s and p99 per `what`, the table of its rows per cell, then
    its computed sentences."""
    if not groups:
        return []
    lines = [f"## {title}", "", text, ""]
    for group in groups:
        lines += [f"### {heading(group)}", ""]
        lines += _chart(charts, chart_key(kind, slug(group.of)),
                        f"{group.of}: req/s and p99 per {what}")
        lines += _series_table(group, what) + [""]
        said = sentences(group)
        lines += said + [""] if said else []
    return lines


def _series_table(group: sweep.Swept, what: str) -> list[str]:
    cells = list(group.cells)
    lines = [f"**Successful req/s / p99 ms, per {what}**", "",
             f"| {what} | " + " | ".join(cells) + " |", "|---|" + "---:|" * len(cells)]
    for label in group.labels:
        row = []
        for cell in cells:
            found = next((r for r in group.cells[cell] if r.label == label), None)
            row.append("–" if found is None else
                       f"{_int(found.summary.median_rps)} / "
                       f"{_ms(found.summary.latency_ms.get('p99'))}")
        name = f"{label} (catalog)" if label == group.catalog else label
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return lines


def _deployment_section(run: RunResult, charts: dict[str, str]) -> list[str]:
    deployed = [v for v in run.variants if v.deployment is not None]
    ejecting = [v.name for v in deployed if v.deployment.ejects_failed_instances]
    text = DEPLOYMENTS_TEXT + " " + (DEPLOYMENTS_EJECT_TEXT.format(
        rows="every row of this run" if len(ejecting) == len(deployed)
        else "rows " + ", ".join(ejecting)) if ejecting else DEPLOYMENTS_KEEP_TEXT)
    lines = _series_section("Instances behind a balancer", text, sweep.deployed(run),
                            charts, "deployment", "instances", lambda group: group.of,
                            lambda group: [])
    if not lines:
        return []
    lines += ["**Where the CPU went, median over repeats** (balancer µs per successful request; "
              "each instance's share of the instances' CPU: even shares mean the balancer "
              "spread the load)", "",
              "| row | cell | balancer µs/request | instances' CPU shares |", "|---|---|---:|---|"]
    for v in run.variants:
        if v.deployment is None:
            continue
        for cell in v.cells:
            if not cell.repeats:
                continue
            s = summarize(cell)
            shares = [s.cpu_cores.get(f"instance-{n}") for n in
                      range(1, v.deployment.instances + 1)]
            total = sum(x for x in shares if x)
            share_text = " / ".join("–" if x is None or not total else f"{x / total:.0%}"
                                    for x in shares)
            lines.append(f"| {v.name} | {cell.label} | "
                         f"{_int(s.cpu_us_per_ok.get('balancer'))} | {share_text} |")
    shown = next(v for v in reversed(run.variants) if v.deployment is not None)
    lines += ["", f"<details><summary>nginx {shown.deployment.version} configuration, as "
                  f"written for {shown.name}</summary>", "", "```nginx",
              shown.deployment.config.rstrip(), "```", "", "</details>", ""]
    return lines


def _sweep_sentences(group) -> list[str]:
    if not group.leads:
        return []
    kept = [lead for lead in group.leads if lead.best is lead.catalog]
    ahead = [lead for lead in group.leads if lead.best is not lead.catalog]
    text = (f"- **{group.of}**: the catalog's {group.catalog} was the best measured in "
            f"{len(kept)} of {len(group.leads)} cell(s)")
    if ahead:
        far = max(ahead, key=lambda lead: lead.ratio)
        beyond = [lead for lead in ahead if lead.beyond_noise]
        tested = [lead for lead in ahead if lead.p is not None]
        text += (f"; elsewhere the best was up to {far.ratio:.2f}× it ({far.best.label} at "
                 f"{far.cell}), " + (f"beyond noise in {len(beyond)} of {len(tested)} tested"
                                     if tested else "none tested against noise (one repeat)"))
    lines = [text + "."]
    for lead in ahead:
        noise = ("not tested" if lead.p is None else
                 f"Welch p = {lead.p:.3f}, Holm {lead.p_adjusted:.3f}")
        lines.append(f"  - {lead.cell}: {lead.best.label} {_int(lead.best.summary.median_rps)} "
                     f"req/s against {_int(lead.catalog.summary.median_rps)} "
                     f"({lead.ratio:.2f}×, {noise}).")
    return lines


def crosscheck_rows(run: RunResult) -> list[list[str]]:
    """Per cell with crosschecks: both generators' successful req/s, their ratio, p50 and p99."""
    second = (run.crosscheck or {}).get("tool", "?")
    rows = [["variant", "cell", f"{run.loadgen.get('tool')} req/s", f"{second} req/s",
             f"{second} ÷ {run.loadgen.get('tool')}", "p50 ms (both)", "p99 ms (both)",
             "failed (both)", "connections per worker (both)"]]
    for v in run.variants:
        for cell in v.cells:
            if not (cell.repeats and cell.crosschecks):
                continue
            first = summarize(cell)
            other = summarize(Cell(cell.doc, cell.connections, repeats=cell.crosschecks))
            ratio = (f"{other.median_rps / first.median_rps:.2f}"
                     if first.median_rps and other.median_rps is not None else "–")
            rows.append([v.name, cell.label, _int(first.median_rps),
                         _int(other.median_rps), ratio,
                         f"{_ms(first.latency_ms.get('p50'))} / {_ms(other.latency_ms.get('p50'))}",
                         f"{_ms(first.latency_ms.get('p99'))} / {_ms(other.latency_ms.get('p99'))}",
                         f"{first.error_total:,.0f} / {other.error_total:,.0f}",
                         f"{'; '.join(first.spreads)} / {'; '.join(other.spreads)}"])
    return rows


CROSSCHECK_AGREE = 0.05   # two generators within 5% of each other agree


def crosscheck_lines(run: RunResult) -> list[str]:
    rows = crosscheck_rows(run)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip()
            for row in rows]


def _crosscheck_section(run: RunResult) -> list[str]:
    rows = crosscheck_rows(run)
    if len(rows) < 2:
        return []
    tool, second = run.loadgen.get("tool"), (run.crosscheck or {}).get("tool")
    lines = ["## Cross-check", "",
             f"Each repeat was followed, on the same server, by a {second} run of the same cell "
             f"(same connections, duration and timeout); medians over repeats. {second}: "
             f"{(run.crosscheck or {}).get('version')}; latency "
             f"{(run.crosscheck or {}).get('latency')}; failure classes "
             f"{', '.join((run.crosscheck or {}).get('failure_classes', []))}; body check: "
             f"{(run.crosscheck or {}).get('body_check')}. Figures above this section are "
             f"{tool}'s alone. The last column is how each generator's connections sat on the "
             "server's worker processes half-way through each repeat (established connections "
             "per worker, most first; the kernel decides which worker accepts a connection, "
             "so it changes from one execution to the next): where the generators differ by "
             f"more than {CROSSCHECK_AGREE:.0%}, compare the spreads first.", "",
             "| " + " | ".join(rows[0]) + " |", "|---|---|" + "---:|" * (len(rows[0]) - 2)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return lines + [""] + _crosscheck_sentences(run) + [""]


def _crosscheck_sentences(run: RunResult) -> list[str]:
    """The cells where the generators disagree, each with both spreads; and whether, over the
    cells of several workers, the generators' ratio follows the difference in spread."""
    tool, second = run.loadgen.get("tool"), (run.crosscheck or {}).get("tool")
    apart, pairs = [], []
    for v in run.variants:
        for cell in v.cells:
            if not (cell.repeats and cell.crosschecks):
                continue
            first = summarize(cell)
            other = summarize(Cell(cell.doc, cell.connections, repeats=cell.crosschecks))
            if not (first.median_rps and other.median_rps):
                continue
            ratio = other.median_rps / first.median_rps
            gaps = [(b.spread.imbalance - a.spread.imbalance)
                    for a, b in zip(cell.repeats, cell.crosschecks)
                    if a.spread and b.spread and a.spread.imbalance is not None
                    and b.spread.imbalance is not None]
            if gaps:
                pairs.append((stats.median(gaps), ratio))
            if abs(ratio - 1) > CROSSCHECK_AGREE:
                apart.append(f"{v.name} {cell.label}: {second} {ratio:.2f}× {tool}; "
                             f"connections per worker {tool} {', '.join(first.spreads)}, "
                             f"{second} {', '.join(other.spreads)}")
    lines = [f"- {len(apart)} cell(s) where the generators differ by more than "
             f"{CROSSCHECK_AGREE:.0%}" + (": " + "; ".join(apart) + "." if apart else ".")]
    fit = stats.correlation([g for g, _ in pairs], [r for _, r in pairs]) \
        if len(pairs) >= 3 else None
    if fit is not None:
        r, p = fit
        lines.append(f"- Over {len(pairs)} cells with several workers, {second} ÷ {tool} against "
                     f"how much more uneven {second}'s spread was than {tool}'s: Pearson r = "
                     f"{r:+.2f} (p = {p:.3f}), "
                     + ("beyond noise." if p < stats.ALPHA else "not beyond noise."))
    return lines


def _open_loop_section(run: RunResult, charts: dict[str, str]) -> list[str]:
    points = rate_points(run)
    if not points:
        return []
    key, limit_ms = parse_slo(run.profile.slo)
    tool = (run.open_loop or {}).get("tool", "oha")
    lines = ["## Open loop: latency against request rate", "",
             f"After its closed-loop cells, each variant got requests at fixed rates from {tool} "
             "(`-q RATE --latency-correction`): requests are due on a schedule whatever the "
             "answers, and each latency runs from when its request was due, so waiting for a "
             "free connection counts. A rate given as a share is of the median successful "
             "req/s the same cell measured closed-loop in this run; the connections bound the "
             "requests in flight. Requests due but never sent before the run ended are "
             "*unsent*; those due more than the timeout before the end are counted lost. "
             f"SLO: {key} ≤ {limit_ms:g} ms with at most {SLO_MAX_FAILURE_RATE:.0%} failed "
             f"(`--slo`).", ""]
    groups = dict.fromkeys((p.doc, p.connections, p.db_latency_ms) for p in points)
    for doc, conns, ms in groups:
        group = [p for p in points
                 if (p.doc, p.connections, p.db_latency_ms) == (doc, conns, ms)]
        order = list(dict.fromkeys(p.variant for p in group))
        group.sort(key=lambda p: (order.index(p.variant), p.target_rps or 0))
        lines += [f"### {section_title(doc, ms)}, up to {conns:,} connections", ""]
        lines += _chart(charts, chart_key("rate", f"{doc}-c{conns}", ms),
                        f"latency against request rate, {doc}, {conns} connections")
        lines += ["| variant | rate | due req/s | answered req/s | successful req/s | "
                  "p50 / p99 ms | unsent | failed |", "|---|---|---:|---:|---:|---|---:|---|"]
        for p in group:
            unsent = stats.median([s.unsent for s in _rate_cell(run, p).repeats
                                   if s.unsent is not None])
            lines.append(f"| {p.variant} | {p.rate} | {_int(p.target_rps)} | "
                         f"{_int(p.answered_rps)} | {_int(p.summary.median_rps)} | "
                         f"{_ms(p.summary.latency_ms.get('p50'))} / "
                         f"{_ms(p.summary.latency_ms.get('p99'))} | {_int(unsent)} | "
                         f"{_errors_text(p.summary)} |")
        lines += [""] + _open_loop_findings(run, group, key, limit_ms) + [""]
    return lines


def _rate_cell(run: RunResult, point) -> Cell:
    variant = run.variant(point.variant)
    return next(c for c in variant.rate_cells if c.doc == point.doc
                and c.connections == point.connections and c.rate == point.rate
                and c.db_latency_ms == point.db_latency_ms)


def _open_loop_findings(run: RunResult, group: list, key: str, limit_ms: float) -> list[str]:
    found = []
    for name in dict.fromkeys(p.variant for p in group):
        mine = [p for p in group if p.variant == name]
        best = slo_capacity(mine, key, limit_ms)
        capacity = (f"{_int(best.summary.median_rps)} successful req/s (rate {best.rate})"
                    if best else "none of the measured rates")
        closed = run.variant(name).cell(mine[0].doc, mine[0].connections, mine[0].db_latency_ms)
        closed_rps = summarize(closed).median_rps if closed and closed.repeats else None
        over = [p for p in mine if closed_rps and p.target_rps and p.target_rps > closed_rps]
        text = f"- **{name}**: capacity under the SLO {capacity}"
        if closed_rps:
            text += f", against {_int(closed_rps)} closed-loop"
        if over:
            top = max(over, key=lambda p: p.target_rps)
            text += f". Above its closed-loop capacity (rate {top.rate}) it {overload(top)}"
        found.append(text + ".")
    return found


def _cores(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _mib(value: int | None) -> str:
    return "–" if value is None else f"{value / 2**20:,.0f}"


def _details_section(run: RunResult) -> list[str]:
    lines = ["## Every cell", "",
             "<details><summary>n repeats, spread, confidence interval, latency, resources, "
             "Little's law</summary>", "",
             "| variant | cell | n | median req/s | 95% CI | CV | p50 / p90 / p99 / p99.9 ms "
             "| responses / latency samples | failed | server CPU | mongod CPU | wrk CPU "
             "| server memory MiB | L/N | finds / response | connections per worker "
             "| wrk-corrected p50 / p99 ms |",
             "|---|---|---:|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for v in run.variants:
        for cell in v.cells:
            if not cell.repeats:
                continue
            s = summarize(cell)
            ci = f"{_int(s.ci95[0])}–{_int(s.ci95[1])}" if s.ci95 else "–"
            cv = "–" if s.cv is None else f"{s.cv:.1%}" + (" ⚠" if s.unstable else "")
            latency = " / ".join(_ms(s.latency_ms.get(k)) for k in SHOWN_PERCENTILES)
            flags = " (client-bound)" if s.client_bound else ""
            little = "–" if s.little is None else f"{s.little:.2f}"
            lines.append(
                f"| {v.name} | {cell.label} | {s.n} | {_int(s.median_rps)} "
                f"| {ci} | {cv} | {latency} | {_counts_text(cell)} | {_errors_text(s)} "
                f"| {_cores(s.cpu_cores.get('server'))} "
                f"| {_cores(s.cpu_cores.get('mongod'))} | {_cores(s.cpu_cores.get('loadgen'))}{flags} "
                f"| {_mib(s.memory_max_bytes.get('server'))}{_measure(s)} | {little} "
                f"| {_finds_text(s)} | {'; '.join(s.spreads)} | {_corrected_text(cell)} |")
    lines += ["", "Responses / latency samples: every response received, and the number of "
              "measured latencies, per repeat (they differ by the late responses, which have "
              "none; ≠ marks any other difference). CPU in cores (1.00 = one CPU busy for the "
              "whole repeat), medians over repeats; memory is the largest the server's whole "
              "process tree (or container) occupied, as marked: PSS (proportional set size: "
              "pages shared between prefork workers counted once), RSS (resident pages summed "
              "per process: shared ones counted in every worker), or the container's anonymous "
              "memory. L/N is Little's law: throughput × measured mean "
              "latency ÷ connections, about 1 when every connection always waits on a response. "
              "Finds / response: MongoDB's own count of finds (or inserts, for writes) per "
              "successful response, the lowest repeat (a read must cost one find). Connections "
              "per worker: established connections to the server's port per worker process "
              "half-way through each repeat, most first (+ those not accepted yet). "
              "The last column is wrk's own figure after its coordinated-omission correction "
              "(synthetic samples added for responses slower than the mean interval), shown "
              "apart and never used above; – where the correction changed nothing.",
              "", "</details>", ""]
    return lines


def _finds_text(s: CellSummary) -> str:
    return "–" if s.finds_per_ok_min is None else f"{s.finds_per_ok_min:.2f}"


def _measure(s: CellSummary) -> str:
    measure = s.memory_measure.get("server")
    return {"pss": " PSS", "pss+rss": " PSS/RSS", "rss": " RSS",
            "cgroup-anon": " anon"}.get(measure or "", "")


def _counts_text(cell: Cell) -> str:
    parts = []
    for sample in cell.repeats:
        count = "?" if sample.latency_count is None else f"{sample.latency_count:,}"
        mark = " ≠" if sample.latency_count_matches is False else ""
        parts.append(f"{sample.requests:,} / {count}{mark}")
    return "; ".join(parts)


def _corrected_text(cell: Cell) -> str:
    corrected = [s.latency_corrected_us for s in cell.repeats if s.latency_corrected_us]
    if not corrected:
        return "–"
    return "; ".join(" / ".join(_ms(None if c.get(k) is None else c[k] / 1000)
                                for k in ("p50", "p99")) for c in corrected)


def _checks_section(run: RunResult) -> list[str]:
    found = checks(run)
    if not found:
        stability = ("repeats agree" if run.profile.repeats > 1
                     else "with one repeat per cell nothing can be said about stability")
        sampled = all(s.usage("loadgen") for v in run.variants for c in v.cells
                      for s in c.repeats)
        client = ("the load generator stayed below its CPU limit" if sampled
                  else "the load generator's CPU was not sampled")
        return ["## Checks", "", f"No warnings: {stability}, {client}, and no cell looks "
                "bottlenecked elsewhere.", ""]
    return ["## Checks", "", *[f"- **{f.kind}**: {f.text}" for f in found], ""]


def _settings_text(variant: VariantResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in variant.settings.items())


def _variants_section(run: RunResult) -> list[str]:
    lines = ["## Variants and settings", "",
             "| variant | server | worker model | driver | settings | status |",
             "|---|---|---|---|---|---|"]
    for v in run.variants:
        lines.append(f"| {v.name} | {v.server} | {v.worker_model} | {v.driver} | "
                     f"{_settings_text(v)} | {v.status} |")
    where = " (inside each variant's container)" if run.runtime == "docker" else ""
    lines += ["", f"Commands, as run{where}:", ""]
    for v in run.variants:
        lines.append(f"- `{v.name}`: `{' '.join(v.command)}`")
    built = [v for v in run.variants if v.image]
    if built:
        lines += ["", "Images:", ""]
        lines += [f"- `{v.name}`: `{v.image.name}` "
                  f"({v.image.id.removeprefix('sha256:')[:12]}), "
                  f"Python {v.image.python}, on `{v.image.base}`, "
                  f"open files {(v.image.nofile or ['?'])[0]}"
                  f"{', packages from the local wheelhouse only' if v.image.offline else ''}"
                  for v in built]
    versions: dict[str, set[str]] = {}
    for v in run.variants:
        for package, version in v.packages.items():
            versions.setdefault(package, set()).add(str(version))
    if versions:
        lines += ["", "Package versions: " + ", ".join(
            f"{p} {'/'.join(sorted(vs))}" for p, vs in sorted(versions.items())) + "."]
    return lines + [""]


def _failures_section(run: RunResult) -> list[str]:
    failed = [v for v in run.variants if v.status in ("failed", "interrupted")]
    broken_cells = [(v, c) for v in run.variants for c in v.cells
                    if c.status == "failed" or (c.reason and c.status == "measured")]
    if not failed and not broken_cells:
        return []
    lines = ["## Failures", ""]
    for v in failed:
        lines.append(f"- **{v.name}** {v.status}: {v.reason}")
    for v, c in broken_cells:
        lines.append(f"- {v.name}, {c.label}: {c.reason}")
    return lines + [""]


def _mongo_text(mongo: MongoInfo) -> str:
    container = mongo.container
    if container:
        return (f"container `{container.image}`, cpuset {container.cpuset}, "
                f"memory {container.memory}")
    return "embedded mongod" if mongo.embedded else f"existing server {mongo.url}"


def _runtime_text(run: RunResult) -> str:
    details = run.runtime_details
    if run.runtime != "docker" or details.engine is None:
        return run.runtime
    compose = details.compose or {}
    limits = dict(details.limits)
    if run.mongo.container:
        limits["db"] = {"cpuset": run.mongo.container.cpuset,
                        "memory": run.mongo.container.memory}
    return (f"docker (engine {details.engine}, compose {compose.get('version')} via "
            f"`{' '.join(compose.get('command', []))}`), {details.images} images "
            f"(chosen by {details.images_source}), {details.network} network; "
            + "; ".join(f"{role}: cpuset {lim.get('cpuset')}, memory {lim.get('memory')}"
                        for role, lim in limits.items()))


def _environment_section(run: RunResult) -> list[str]:
    env, mongo, wrk = run.environment, run.mongo, run.loadgen
    memory = env.get("memory_bytes")
    rows = [
        ("CPU", f"{env.get('cpu_model')} × {env.get('cpu_count')} "
                f"(affinity {env.get('cpu_affinity')})"),
        ("Memory", f"{memory / 2**30:.1f} GiB" if memory else "?"),
        ("OS / kernel", f"{env.get('os')} / {env.get('kernel')}"),
        ("Python", env.get("python")),
        ("Open files (soft/hard)", f"{env.get('nofile_soft')}/{env.get('nofile_hard')}"),
        ("somaxconn / tcp_max_syn_backlog",
         f"{env.get('somaxconn')} / {env.get('tcp_max_syn_backlog')}"),
        ("MongoDB", f"{mongo.version} ({_mongo_text(mongo)})"),
        ("Load generator", f"{wrk.get('version')}, up to {wrk.get('threads')} threads, "
                           f"--timeout {wrk.get('timeout_s')} s"),
        ("Suite", f"{env.get('suite_version')} at commit {_commit_text(env)}"),
        ("Runtime", _runtime_text(run)),
    ]
    lines = ["## Machine and versions", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return lines + [""]


def _commit_text(env: dict) -> str:
    commit = env.get("git_commit")
    if env.get("git_dirty"):
        digest = env.get("git_diff_sha256")
        return (f"{commit} **with uncommitted changes**"
                + (f" (diff sha256 {digest[:12]})" if digest else ""))
    return str(commit)


def _loadgen_cpu_text(run: RunResult) -> str:
    per_response = [s.usage("loadgen").cpu_cores * s.duration_s / s.requests * 1e6
                    for v in run.variants for c in v.cells for s in c.repeats
                    if s.requests and s.usage("loadgen") and s.usage("loadgen").cpu_cores
                    is not None]
    if not per_response:
        return ""
    return (f" {run.loadgen.get('tool', 'wrk')}'s CPU per response received, median over the "
            f"repeats: "
            f"{stats.median(per_response):.1f} µs (from {min(per_response):.1f} to "
            f"{max(per_response):.1f}), body check included.")


def _wait_text(run: RunResult) -> str:
    waits = [s.quiet_wait_s for v in run.variants for c in v.cells for s in c.repeats
             if s.quiet_wait_s is not None]
    if not waits:
        return ""
    return (f" Before every warmup and counted run {run.method.get('idle_wait')}: "
            f"{stats.median(waits):.1f} s at the median, {max(waits):.1f} s at most.")


def _order_text(run: RunResult) -> str:
    if run.order == "interleaved" and run.profile.repeats > 1:
        return "interleaved (repeat r of every variant, each freshly started, before repeat r+1)"
    return "one after the other"


def _roles_text(run: RunResult) -> str:
    if not run.cpu_roles:
        return ", no CPU pinning"
    return ", CPUs pinned: " + ", ".join(f"{role} {cpus}" for role, cpus in run.cpu_roles.items())


def _findings_section(run: RunResult) -> list[str]:
    found = findings(run)
    return ["## Findings", "", *[f"- {sentence}" for sentence in found], ""] if found else []


def _methodology_section(run: RunResult) -> list[str]:
    p, env, method = run.profile, run.environment, run.method
    variants = run.variants
    cells = len(p.docs) * len(p.connections) * len(p.db_latencies_ms)
    latencies = (f" × {len(p.db_latencies_ms)} database latencies "
                 f"({', '.join(f'+{ms} ms' for ms in p.db_latencies_ms)})"
                 if p.db_latencies_ms != (0,) else "")
    command = shlex.join(run.argv) if run.argv else "battle run"
    if command.startswith("battle "):
        command = ".venv/bin/" + command
    lines = [
        "## Methodology", "",
        f"- **What ran**: {len(variants)} variant(s) × {len(p.docs)} document(s) × "
        f"{len(p.connections)} connection level(s){latencies} = {len(variants) * cells} cells; "
        f"the `{run.runtime}` runtime on one machine ({env.get('cpu_model')} × "
        f"{env.get('cpu_count')}) with MongoDB {run.mongo.version} ({_mongo_text(run.mongo)}) "
        f"and {run.loadgen.get('tool', 'wrk')}.",
        f"- **How long**: each counted repeat {p.duration_s:g} s after a {p.warmup_s:g} s "
        f"uncounted warmup at the same concurrency; {p.repeats} repeat(s) per cell, "
        f"{_order_text(run)}; a {p.primer_s:g} s low-concurrency primer after each server start. "
        f"Timeout {p.timeout_s:g} s (slower: late; unanswered: lost), "
        f"{method.get('generator_threads')}. Run from {run.started_at} to "
        f"{run.finished_at or '–'}." + _sittings_text(run) + _precision_text(run),
        "- **What was verified** before any measurement, at every server start: "
        + ", ".join(f"`/{doc}`" for doc in p.docs if doc != documents.WRITE)
        + f" and `/plain` {method.get('verification')}"
        + (f" {method.get('write_verification')}" if documents.WRITE in p.docs else ""),
        f"- **What was measured**: {run.loadgen.get('tool', 'wrk')} "
        f"({run.loadgen.get('version')})"
        + (f" with `{run.loadgen['script']}`, whose `done()` prints one JSON line"
           if run.loadgen.get("script") else "")
        + " (the raw output of every run is kept beside the results). "
        f"Latency: {run.loadgen.get('latency')}. Failure classes counted: "
        f"{', '.join(run.loadgen.get('failure_classes', []))}. Body check: "
        f"{run.loadgen.get('body_check') or 'none'}.{_loadgen_cpu_text(run)} "
        f"{method.get('resources')}" + _wait_text(run),
        *_db_latency_method(run),
        _reproduce_text(run, command),
        "",
    ]
    return lines


def _sittings_text(run: RunResult) -> str:
    """How many sittings measured the run, its wall time against the plan's, and the share of
    it that was counted load."""
    sittings = run.sittings
    wall = sum(s.wall_s or 0 for s in sittings)
    counted = sum(s.counted_s for s in sittings)
    if not wall:
        return ""
    text = (f" Measured in {len(sittings)} sitting(s)"
            + (" (" + "; ".join(f"{s.started_at} to {s.finished_at or '–'}, {s.status}"
                                for s in sittings) + ")" if len(sittings) > 1 else "")
            + f": {_hm(wall)} of wall time, {_hm(counted)} of it counted load (counted ÷ wall "
              f"{counted / wall:.2f})")
    expected = (run.plan or {}).get("expected_s")
    if expected:
        text += f"; the plan expected {_hm(expected)} ({wall / expected:.2f}× that)"
    return text + "."


def _precision_text(run: RunResult) -> str:
    p = run.profile
    if p.repeat_cap <= p.repeats:
        return ""
    extra = [c for v in run.variants for c in v.cells if len(c.repeats) > p.repeats]
    return (f" Precision-driven repeats: every cell at least {p.repeats}, one more per round "
            f"while a cell's successful req/s varied more than {p.target_cv:.0%} (CV), up to "
            f"{p.repeat_cap}, within the plan's time; {len(extra)} cell(s) got more.")


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _db_latency_method(run: RunResult) -> list[str]:
    if not run.mongo.fail_point:
        return []
    return [f"- **Database latency**: {run.method.get('db_latency')} See *Database latency* "
            "above for what it models and what it does not, and the latency it measured."]


def _reproduce_text(run: RunResult, command: str) -> str:
    env = run.environment
    regenerate = (f"Regenerate this report (charts included) from the results file alone with "
                  f"`battle report results/{run.run_id}.json`.")
    if env.get("git_dirty"):
        digest = env.get("git_diff_sha256")
        return ("- **Reproduce**: not exactly: this run was made from commit "
                f"{env.get('git_commit')} **with uncommitted changes** (diff sha256 "
                f"{digest or 'unknown'}), which the repository does not hold. The command was "
                f"`{command}`. {regenerate}")
    return ("- **Reproduce**: on a machine like this one (see below), "
            f"`git checkout {env.get('git_commit') or '<commit>'}`, `make setup`, then "
            f"`{command}`. {regenerate}")


def render(run: RunResult, charts: dict[str, str] | None = None) -> str:
    """The report's markdown. `charts` maps "kind-doc" to the relative path of each chart."""
    charts = charts or {}
    p = run.profile
    status = {"complete": "", "interrupted": " — **interrupted: partial results**",
              "running": " — **still running: partial results**",
              "failed": " — **failed: nothing measured**",
              "error": " — **stopped by an error: partial results**"}.get(run.status,
                                                                           f" — {run.status}")
    lines = [
        f"# Python server battle: run {run.run_id}{status}", "",
        f"Each server fetches one document from MongoDB per request. Profile **{p.name}**: "
        f"{p.duration_s:g} s per repeat, {p.repeats} repeat(s) per cell, each after a "
        f"{p.warmup_s:g} s uncounted warmup; variants {_order_text(run)}; load generator "
        f"{run.loadgen.get('tool', 'wrk')}, timeout {p.timeout_s:g} s. "
        f"Runtime `{run.runtime}`{_roles_text(run)}. "
        f"Started {run.started_at}, finished {run.finished_at or '–'}.", "",
        "How to read it: *successful requests per second* counts only responses with HTTP status "
        "below 400, within the timeout and with the verified bytes, per second; the median over repeats, with the lowest and highest repeat in "
        "brackets and ⚠ where repeats differ by more than 10% (coefficient of variation). "
        "*Failed requests* are counted per repeat (median) by class — connect, read and write "
        "are socket errors; status: an HTTP 4xx/5xx answer; late: a response slower than the "
        "timeout; lost: a request still unanswered, for longer than the timeout, when the repeat "
        "ended; body: a response whose bytes differ from the verified document — with the share "
        "of attempts that failed; successful requests exclude every class. *Latency* p50 / p99 / "
        "p99.9 are measured response times: half, 99% and 99.9% of the responses that arrived "
        "within the timeout took at most that long; late and lost requests are not in them, so "
        "read latency next to the failures. *Checks* lists what the numbers themselves warn "
        "about. Server, MongoDB and load generator share one machine: compare rows within this "
        "run, as ratios.",
        "",
    ]
    lines += _findings_section(run)
    lines += _db_latency_section(run)
    for ms in p.db_latencies_ms:
        for doc in p.docs:
            lines += _document_section(run, doc, ms, charts)
    lines += _cost_section(run, charts)
    lines += _study_section(run)
    lines += _sweep_section(run, charts)
    lines += _deployment_section(run, charts)
    lines += _open_loop_section(run, charts)
    lines += _checks_section(run)
    lines += _crosscheck_section(run)
    lines += _failures_section(run)
    lines += _methodology_section(run)
    lines += _details_section(run)
    lines += _variants_section(run)
    lines += _environment_section(run)
    lines += [f"Regenerate this report with `battle report results/{run.run_id}.json`.", ""]
    return "\n".join(lines)


def write(run: RunResult, reports_dir: Path, latest: bool = True,
          results_dir: Path | None = None) -> Path:
    """reports/<run-id>.md with its charts in reports/<run-id>/, latest.md, and index.md."""
    from suite import charts as chart_module  # matplotlib is loaded only to draw

    reports_dir.mkdir(parents=True, exist_ok=True)
    drawn = chart_module.render_all(run, reports_dir / run.run_id)
    charts = {path.stem: f"{run.run_id}/{path.name}" for paths in drawn.values() for path in paths}
    text = render(run, charts)
    path = reports_dir / f"{run.run_id}.md"
    path.write_text(text)
    if latest:
        (reports_dir / "latest.md").write_text(text)
    if results_dir is not None:
        write_index(results_dir, reports_dir)
    return path


def write_from_file(results_path: Path, reports_dir: Path, latest: bool = True) -> Path:
    return write(results.load(results_path), reports_dir, latest, results_path.parent)


def _headline(run: RunResult) -> str:
    doc, conns = run.profile.docs[0], min(run.profile.connections)
    ranked = ranking(run, doc, conns, run.profile.db_latencies_ms[0])
    if not ranked:
        return "nothing measured"
    name, s = ranked[0]
    return f"{doc}@{conns:,}: {name} {_int(s.median_rps)} req/s"


def render_index(runs: list[RunResult], rendered: set[str] | frozenset[str] = frozenset()) -> str:
    """The list of runs; a run links to its report when that report exists (`rendered`)."""
    lines = ["# Runs", "", "Every results file in `results/`, newest first. Generated by "
             "`battle report`; each link is that run's report. *Counted* says how a run "
             "measured: runs made before the suite undid wrk's coordinated-omission correction "
             "(results schema before v4) have latency figures that include wrk's synthetic "
             "samples wherever the correction applied, count late responses as successes, and "
             "counted neither lost requests nor wrong bodies; their reports were left as they "
             "were made.", "",
             "| run | date | profile | variants | machine | headline (best) | counted | status |",
             "|---|---|---|---:|---|---|---|---|"]
    for run in sorted(runs, key=lambda r: r.run_id, reverse=True):
        env = run.environment
        name = (f"[{run.run_id}]({run.run_id}.md)" if run.run_id in rendered
                else f"{run.run_id} (no report yet: `battle report`)")
        lines.append(f"| {name} | {run.started_at[:10]} | "
                     f"{run.profile.name} | {len(run.variants)} | {env.get('cpu_model')} × "
                     f"{env.get('cpu_count')}, {run.runtime} | {_headline(run)} | "
                     f"{_counted_text(run)} | {run.status} |")
    return "\n".join(lines) + "\n"


def _counted_text(run: RunResult) -> str:
    classes = run.loadgen.get("failure_classes", [])
    if "lost" in classes and run.loadgen.get("body_check"):
        return f"measured latency; failures: {', '.join(classes)}"
    return "**before the fix**: wrk-corrected latency, late as success, no lost/body"


def write_index(results_dir: Path, reports_dir: Path) -> Path:
    """reports/index.md over every readable results file (unreadable ones are skipped)."""
    runs = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            runs.append(results.load(path))
        except results.ResultsError:
            continue
    index = reports_dir / "index.md"
    rendered = {path.stem for path in reports_dir.glob("*.md")}
    index.write_text(render_index(runs, rendered))
    return index
