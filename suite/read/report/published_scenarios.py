"""The blocks of docs/published-runs.md about a run's scenarios: a second generator, threads
without the GIL, the 2014 study, a database far away, costs, sweeps, instances behind nginx,
writes, open loop; each from the functions the run's report uses."""

from __future__ import annotations

from suite.read import fmt, series, study
from suite.read.analysis import SLO_MAX_FAILURE_RATE, rate_points, summaries
# Some of the report's sentences and tables are private helpers of its sections
# (`gil._twin_sentences`, `scenarios._sweep_sentences`, ...): called as they are, so a block says
# what the report says instead of a second computation of the same figure.
from suite.read.report import gil, quality, scenarios
from suite.read.report import study as study_report
from suite.read.report.view import View
from suite.record import stats
from suite.record.documents import WRITE
from suite.record.profiles import parse_slo
from suite.record.results import RunResult


def crosscheck(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The second generator against the first (suite.read.report.quality): per cell for a few
    cells, the ratios' median and range for many; then the report's sentences."""
    pairs = quality.crosscheck_pairs(run)
    if not pairs:
        return ["- no cross-check in this run"]
    tool, second = run.loadgen.get("tool"), (run.crosscheck or {}).get("tool")
    ratios = [(other.median_rps / first.median_rps, v.name, cell.label)
              for v, cell, first, other in pairs if first.median_rps and other.median_rps]
    lines = []
    if len(pairs) <= 4:
        lines += [f"| variant | cell | {tool} req/s | {second} req/s | {second} ÷ {tool} | "
                  f"per repeat | p50 ms (both) | server CPU µs/request (both) |",
                  "|---|---|---:|---:|---:|---|---|---|"]
        for v, cell, first, other in pairs:
            each = ", ".join(f"{b.ok_rps / a.ok_rps:.2f}" for a, b
                             in zip(cell.repeats, cell.crosschecks) if a.ok_rps)
            lines.append(
                f"| {v.name} | {cell.label} | {fmt.integer(first.median_rps)} | "
                f"{fmt.integer(other.median_rps)} | "
                + (f"{other.median_rps / first.median_rps:.2f}" if first.median_rps else "–")
                + f" | {each} | {fmt.ms(first.latency_ms.get('p50'))} / "
                f"{fmt.ms(other.latency_ms.get('p50'))} | "
                f"{fmt.integer(first.cpu_us_per_ok.get('server'))} / "
                f"{fmt.integer(other.cpu_us_per_ok.get('server'))} |")
        lines.append("")
    elif ratios:
        low, high = min(ratios), max(ratios)
        lines.append(f"- {second} ÷ {tool}, median successful req/s, over {len(ratios)} cells: "
                     f"median {stats.median([r for r, *_ in ratios]):.2f}, from {low[0]:.2f} "
                     f"({low[1]}) to {high[0]:.2f} ({high[1]}).")
    apart = [(r, name, label) for r, name, label in ratios
             if abs(r - 1) > quality.CROSSCHECK_AGREE]
    lines.append(f"- Cells where the two differ by more than {quality.CROSSCHECK_AGREE:.0%}: "
                 f"{len(apart)} of {len(ratios)}"
                 + (": " + ", ".join(f"{name} {r:.2f}" for r, name, _ in apart) if apart
                    else "") + ".")
    # The report's sentence on the connections' spread (several-worker cells only).
    return lines + [line for line in quality._crosscheck_sentences(run, pairs)
                    if line.startswith("- Over ")]


def gil_(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """Threads without the GIL as the report's section computes them (suite.read.report.gil):
    per free-threaded row against its GIL twin, and the best free-threaded row against the best
    process-based and event-loop rows."""
    view = View.of(run)
    found = gil.pairs(view)
    if not found:
        return ["- no free-threaded row in this run"]
    lines = [f"- **Interpreter**: {run.runtime_details.free_threaded_version or 'not recorded'}."]
    for row in dict.fromkeys(p.row for p in found):
        mine = [p for p in found if p.row == row]
        twinned = [p for p in mine if p.twin is not None and p.twin.median_rps
                   and p.free.median_rps is not None]
        healthy = [p for p in mine if p.lead is not None]
        beyond = [p for p in healthy if p.lead.beyond_noise]
        ratios = [p.free.median_rps / p.twin.median_rps for p in twinned]
        if not any(p.twin is not None for p in mine):
            lines.append(f"- `{row}`: no GIL twin in this run ({len(mine)} cells).")
            continue
        text = f"- `{row}` against its GIL twin in {len(mine)} cells"
        if ratios:
            text += f": free ÷ twin from {fmt.ratio(min(ratios))} to {fmt.ratio(max(ratios))}"
        text += (f"; healthy pairs {len(healthy)}, "
                 + (", ".join(f"{p.doc}@{p.connections}" + fmt.where(p.db_latency_ms)
                              + f" {fmt.ratio(p.lead.ratio)}" for p in beyond)
                    + " beyond noise" if beyond else "none beyond noise"))
        sick = sum(1 for p in mine if p.twin is not None and not view.healthy(p.twin))
        if sick:
            text += f"; the twin unhealthy in {sick}"
        lines.append(text + ".")
    twin_text = gil._twin_sentences(found, {v.name: v.settings.get("workers")
                                            for v in run.variants})
    if twin_text:
        lines.append(f"- {twin_text[0]}")
    best = gil.bests(view)
    shares = [free[1].median_rps / other[1].median_rps
              for kinds in best.values() if "free-threaded" in kinds
              for free in [kinds["free-threaded"]]
              for other in [kinds.get("processes"), kinds.get("events")] if other]
    if shares:
        lines.append(f"- The best free-threaded row ÷ the best process-based or event-loop row "
                     f"of its cell: from {fmt.ratio(min(shares))} to {fmt.ratio(max(shares))} "
                     f"over {len(shares)} comparisons.")
    lines += [f"- {line}" for line in gil._against(view)
              if line.startswith("The best free-threaded row was")]
    return lines


def study_(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The 2014 study side by side (suite.read.study): per database latency, the ratios to its
    reference stack then and now, and how many of its orderings held or flipped."""
    data = study.load()
    if not study.applies(run, data):
        return ["- the run measured too few of the 2014 study's stacks to compare"]
    lines = []
    for ms in run.profile.db_latencies_ms:
        found = study.points(run, data, ms)
        if not any(p.now_ratio is not None for p in found):
            continue
        lines += [f"**÷ {data.reference.title}, the 2014 study → this run{fmt.where(ms)}**", ""]
        lines += study_report._table(data, found, lambda p: f"{fmt.ratio(p.then_ratio)} → "
                                                           f"{fmt.ratio(p.now_ratio)}")
        order = study.orderings(found)
        held = [o for o in order if o.held]
        flipped = [o for o in order if not o.held]
        lines += ["", f"- Of {len(order)} orderings of the study{fmt.where(ms)}: {len(held)} "
                  f"held ({sum(o.beyond_noise for o in held)} beyond noise), {len(flipped)} "
                  f"flipped ({sum(o.beyond_noise for o in flipped)} beyond noise); Holm over "
                  f"{len(order)}."]
        lines += [f"  - {o.faster.stack.title} over {o.slower.stack.title} at "
                  f"{o.faster.doc}@{o.faster.connections}: now {o.now_ratio:.2f}× "
                  f"({'held' if o.held else 'flipped'}), {o.test.text}."
                  for o in order if o.beyond_noise]
        lines.append("")
    return lines[:-1] if lines and lines[-1] == "" else lines


def dblatency(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """What the fail point added, as the suite measured it at the cells, and how long a find
    took with it (suite.read.report.costs shows the same checks)."""
    lines = []
    for ms in run.profile.db_latencies_ms:
        if not ms:
            continue
        checks_ = [c for v in run.variants for cell in v.all_cells()
                   if cell.db_latency_ms == ms for c in cell.db_latency_checks]
        if not checks_:
            lines.append(f"- +{ms} ms: not measured at the cells.")
            continue
        added = [c.added_ms for c in checks_]
        lines.append(f"- +{ms} ms asked: {stats.median(added):.2f} ms added at the median of "
                     f"{len(added)} checks ({min(added):.2f}–{max(added):.2f}); a find took "
                     f"{stats.median([c.with_p50_ms for c in checks_]):.2f} ms with it, "
                     f"{stats.median([c.without_p50_ms for c in checks_]):.2f} ms without "
                     "(medians).")
    return lines or ["- no added database latency in this run"]


def costs(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """CPU per successful request, per cell over its healthy cells: the cheapest and the
    dearest server, and mongod's range (medians over each cell's repeats)."""
    limit = run.profile.max_failed_share
    by_cell: dict[str, list] = {}
    for (name, *_), s in summaries(run).items():
        if s.healthy(limit) and s.cpu_us_per_ok.get("server") is not None:
            by_cell.setdefault(s.label, []).append((s.cpu_us_per_ok["server"], name, s))
    if not by_cell:
        return ["- CPU per request was not sampled"]
    lines = ["| cell | cheapest server, µs/request | dearest | mongod µs/request |",
             "|---|---|---|---|"]
    for label, found in by_cell.items():
        low, high = min(found), max(found)
        mongod = [s.cpu_us_per_ok.get("mongod") for *_, s in found
                  if s.cpu_us_per_ok.get("mongod") is not None]
        spread = ("–" if not mongod else fmt.integer(mongod[0]) if len(mongod) == 1
                  else f"{fmt.integer(min(mongod))}–{fmt.integer(max(mongod))}")
        dearest = f"{high[1]} {fmt.integer(high[0])}" if len(found) > 1 else "–"
        lines.append(f"| {label} | {low[1]} {fmt.integer(low[0])} | {dearest} | {spread} |")
    return lines


def sweep(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """Each sweep's rows against the catalog's combination, per cell (suite.read.series), and
    the report's sentences about it."""
    groups = series.swept(run)
    if not groups:
        return ["- no sweep in this run"]
    lines = []
    for group in groups:
        labels = list(group.cells)
        lines += [f"**{group.of}**: successful req/s (÷ the catalog's {group.catalog}), p99 ms",
                  "", f"| {', '.join(group.settings)} | " + " | ".join(labels) + " |",
                  "|---|" + "---:|" * len(labels)]
        for label in group.labels:
            row = []
            for cell in labels:
                mine = next((r for r in group.cells[cell] if r.label == label), None)
                base = next((r for r in group.cells[cell] if r.is_catalog), None)
                if mine is None:
                    row.append("–")
                    continue
                s = mine.summary
                share = (f" ({fmt.ratio(s.median_rps / base.summary.median_rps)})"
                         if base is not None and base is not mine and base.summary.median_rps
                         and s.median_rps is not None else "")
                text = f"{fmt.integer(s.median_rps)}{share}, {fmt.ms(s.latency_ms.get('p99'))}"
                row.append(text if mine.healthy else f"{fmt.HEALTHY_MARK} {text}, "
                           f"{fmt.failed(s.health)}")
            lines.append(f"| {label}" + (" (catalog)" if label == group.catalog else "")
                         + " | " + " | ".join(row) + " |")
        lines += [""] + scenarios._sweep_sentences(group) + [""]
    return lines[:-1]


def instances(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """Instances behind nginx (suite.read.series): in how many (variant, cell) pairs each
    instance count served the most among its healthy rows; the status failures of the run and
    where most of them were; whether nginx took failed instances out of rotation."""
    groups = series.deployed(run)
    if not groups:
        return ["- no deployment behind a balancer in this run"]
    tally: dict[str, int] = {}
    for group in groups:
        for rows_ in group.cells.values():
            healthy = [r for r in rows_ if r.healthy and r.summary.median_rps is not None]
            if healthy:
                best = max(healthy, key=lambda r: r.summary.median_rps)
                tally[best.label] = tally.get(best.label, 0) + 1
    pairs = sum(tally.values())
    lines = [f"- The instance count that served the most, over {pairs} (variant, cell) pairs "
             "with a healthy row: " + ", ".join(f"{label} in {count}" for label, count
                                                 in sorted(tally.items())) + "."]
    status = [(sum(s.failed("status") for s in c.repeats), v.name, c.label)
              for v in run.variants for c in v.cells if c.repeats]
    top = sorted((x for x in status if x[0]), reverse=True)[:3]
    lines.append(f"- Status failures (HTTP ≥ 400, nginx's 502s among them): "
                 f"{fmt.integer(sum(x[0] for x in status))} in all"
                 + ("; most in " + ", ".join(f"{name} {label} ({fmt.integer(n)})"
                                            for n, name, label in top) if top else "") + ".")
    deployed = [v for v in run.variants if v.deployment]
    ejecting = sum(v.deployment.ejects_failed_instances for v in deployed)
    lines.append(f"- nginx took an instance out of rotation after a failed request (its "
                 f"default `max_fails`) in {ejecting} of {len(deployed)} rows.")
    return lines


def writes(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """What the database held after the write repeats, against what the servers acknowledged;
    the variants without any failure in any write cell."""
    samples = [(v.name, s) for v in run.variants for c in v.cells if c.doc == WRITE
               for s in c.repeats]
    recorded = [s.writes for _, s in samples if s.writes is not None]
    if not recorded:
        return ["- no write counted in this run"]
    acknowledged = sum(w.acknowledged for w in recorded)
    lost = sum(w.lost for w in recorded)
    duplicated = sum(w.duplicated for w in recorded)
    clean = [v.name for v in run.variants
             if any(c.doc == WRITE and c.repeats for c in v.cells)
             and not any(s.error_count for c in v.cells if c.doc == WRITE for s in c.repeats)]
    return [f"- {fmt.integer(acknowledged)} acknowledged inserts over {len(recorded)} repeats; "
            f"{fmt.integer(lost)} of them missing from the database afterwards, "
            f"{fmt.integer(duplicated)} stored twice.",
            "- Without a failure of any class in any write cell: "
            + (", ".join(clean) if clean else "none") + "."]


def open_loop(run: RunResult, args: tuple[str, ...]) -> list[str]:
    """The open-loop cells (suite.read.report.scenarios): each variant's capacity under the
    SLO against its closed-loop figure, and how it met the highest rate."""
    points = rate_points(run)
    if not points:
        return ["- no open-loop cell in this run"]
    view = View.of(run)
    key, limit_ms = parse_slo(run.profile.slo)
    lines = [f"- SLO: {run.profile.slo}, at most {SLO_MAX_FAILURE_RATE:.0%} failed."]
    for doc, conns, ms in dict.fromkeys((p.doc, p.connections, p.db_latency_ms) for p in points):
        group = [p for p in points if (p.doc, p.connections, p.db_latency_ms) == (doc, conns, ms)]
        for name in dict.fromkeys(p.variant for p in group):
            mine = [p for p in group if p.variant == name]
            lines += scenarios._open_loop_sentences(view, mine, key, limit_ms)
            top = max(mine, key=lambda p: p.target_rps or 0)
            unsent = stats.median([s.unsent for s in scenarios._rate_cell(run, top).repeats
                                   if s.unsent is not None])
            lines.append(f"  - at rate {top.rate} ({fmt.cell_label(doc, conns, ms)}): "
                         f"{fmt.integer(top.target_rps)} req/s due, "
                         f"{fmt.integer(top.answered_rps)} answered, p99 "
                         f"{fmt.ms(top.summary.latency_ms.get('p99'))} ms, "
                         f"{fmt.integer(unsent)} requests due but never sent.")
    return lines

