"""What a request costs in CPU, and the database made slow on purpose (how much it added, and
what the fail point itself cost)."""

from __future__ import annotations

from suite.record import stats
from suite.read import fmt
from suite.read.report import prose
from suite.read.report.cells import chart, table
from suite.read.report.view import View
from suite.record.results import DbLatencyCheck


def _cost(s, healthy: bool) -> str:
    server, mongod = s.cpu_us_per_ok.get("server"), s.cpu_us_per_ok.get("mongod")
    if server is None and mongod is None:
        return "–"
    return f"{fmt.integer(server)} / {fmt.integer(mongod)}"


def cost_section(view: View) -> list[str]:
    run = view.run
    if not any(s.cpu_us_per_ok.get("server") is not None for s in view.summaries.values()):
        return []
    lines = ["## Cost per request", "", prose.COST, ""]
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            title = fmt.section_title(doc, ms)
            lines += chart(view, fmt.chart_key("cost", doc, ms), f"CPU per request, {title}")
            lines += table(view, doc, ms, f"{title}: server / mongod CPU µs per successful "
                           "request", _cost)
    return lines


def db_latency_section(view: View) -> list[str]:
    run = view.run
    fail_point = run.mongo.fail_point
    if not fail_point:
        return []
    # The commands it delays: recorded since the silent fail point; before, in failCommand's data.
    commands = " and every ".join(fail_point.get("commands")
                                  or fail_point.get("data", {}).get("failCommands", ["find"]))
    lines = ["## Database latency", "",
             prose.DB_LATENCY.format(name=fail_point.get("name"),
                                     test_commands=fail_point.get("test_commands"),
                                     commands=commands, models=fail_point.get("models"),
                                     not_modelled=fail_point.get("not_modelled")), "",
             "| added latency | before the run: added; concurrent finds | at its cells: "
             "added, median (min–max) | mongod CPU per find, without → with |",
             "|---|---|---|---|"]
    verified = {check["requested_ms"]: check for check in fail_point.get("verified", [])}
    for ms in run.profile.db_latencies_ms:
        if not ms:
            continue
        before = verified.get(ms)
        at_cells = [c.added_ms for v in run.variants for cell in v.all_cells()
                    if cell.db_latency_ms == ms for c in cell.db_latency_checks]
        before_text = "–" if before is None else _probe(before)
        cells_text = (f"{stats.median(at_cells):.2f} ms ({min(at_cells):.2f}–"
                      f"{max(at_cells):.2f}), {len(at_cells)} checks" if at_cells else "–")
        lines.append(f"| +{ms} ms | {before_text} | {cells_text} | {_model_cost(before)} |")
    return lines + [""]


def _model_cost(check: dict | None) -> str:
    """mongod's CPU per find without → with the fail point ("–" for runs before it was read)."""
    cost = DbLatencyCheck.from_dict(check).fail_point_cpu_us if check else None
    if cost is None:
        return "–"
    without, with_ = cost
    return f"{without:.0f} → {with_:.0f} µs (+{with_ - without:.0f})"


def _probe(check: dict) -> str:
    if check.get("concurrent_wall_ms") is not None:
        return (f"{check['added_ms']:.2f} ms; {check['concurrent']} at once, each blocked "
                f"{check['concurrent_block_ms']} ms: {check['concurrent_wall_ms']:.0f} ms in all")
    # Runs before the burst's wall time was measured: its finds' median.
    return (f"{check['added_ms']:.2f} ms; {check['concurrent']} at once: "
            f"{check['concurrent_p50_ms']:.1f} ms each at the median")
