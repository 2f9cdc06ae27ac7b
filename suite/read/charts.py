"""Charts for a report, drawn from a results file with matplotlib as deterministic SVG with real
text (selectable, searchable): the same results and matplotlib give the same bytes (no dates in
the metadata, a fixed hash salt for element ids, the bundled DejaVu font).

Each chart is small multiples, one panel per connection level, bars sorted best first: healthy
cells coloured by worker model, the rows shown apart (baseline, reference, ceiling) hatched, unhealthy cells grey and marked with their
failed share. At most TOP rows per panel; the rest are in the report's tables.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from suite.read import answer, series  # noqa: E402
from suite.read.analysis import rate_points  # noqa: E402
from suite.read.analysis import summaries as summaries_of  # noqa: E402
from suite.read.fmt import chart_key, section_title, share  # noqa: E402
from suite.record.catalog import slug  # noqa: E402
from suite.record.profiles import parse_slo  # noqa: E402
from suite.record.results import RunResult  # noqa: E402

TOP = 20                  # rows per panel at most
MODEL_COLORS = {"processes": "#8172B3", "threads": "#DD8452", "greenlets": "#55A868",
                "asyncio": "#4C72B0"}
UNHEALTHY = "#BBBBBB"
FAILURE_COLORS = {"late": "#DD8452", "lost": "#C44E52", "other": "#8C8C8C"}
PERCENTILE_COLORS = {"p50": "#55A868", "p99": "#DD8452", "p99.9": "#C44E52"}
LINE_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860",
               "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")


def _style() -> None:
    plt.rcParams.update({"svg.hashsalt": "battle", "svg.fonttype": "none",
                         "font.family": "DejaVu Sans", "font.size": 8,
                         "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": 9, "axes.titlelocation": "left"})


def _plain(value: float, _position=None) -> str:
    """Tick labels as people write numbers: 4,000, 0.5, 10 (never 4×10³)."""
    if value == 0:
        return "0"
    if abs(value) >= 1:
        return f"{value:,.0f}"
    return f"{value:g}"


def _percent(value: float, _position=None) -> str:
    return f"{value:g}%"


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def _title(doc: str, ms: int) -> str:
    text = section_title(doc, ms)
    return text[0].lower() + text[1:]


def _panels(levels, rows: int, height_per_row: float = 0.22):
    width = min(4.2 * len(levels), 13)
    fig, axes = plt.subplots(1, len(levels), squeeze=False,
                             figsize=(width, 1.3 + height_per_row * max(rows, 3)))
    return fig, axes[0]


def _legend(fig, handles: list, title: str) -> None:
    """The title on its own line at the top, the legend under it: nothing overprints."""
    fig.suptitle(title, x=0.01, y=1.0, ha="left", va="bottom", fontsize=10)
    # The legend hangs from the figure's top edge, under the title; the panels start a fixed
    # 0.45 in lower whatever the figure's height, so a short chart does not squeeze them together.
    height = fig.get_figheight()
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.01, 1.0),
                   ncol=len(handles), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))


def _entries(run: RunResult, doc: str, conns: int, ms: int, key, summaries: dict | None,
             healthy_first: bool = False) -> list[answer.Entry]:
    """A panel's rows: every measured cell sorted by `key`, largest first (healthy cells before
    the unhealthy ones with `healthy_first`, as rankings are). `summaries`: the run's cells,
    summarized once for every chart (suite.read.analysis.summaries)."""
    found = [e for e in answer.entries(run, doc, conns, ms, summaries) if key(e) is not None]
    found.sort(key=lambda e: (healthy_first and not e.healthy, -key(e), e.name))
    return found


def _name(entry: answer.Entry) -> str:
    """A row's label: an unhealthy cell marked, so no chart shows it as if healthy."""
    return entry.name if entry.healthy else f"✗ {entry.name}"


def _stacked_cost(entry: answer.Entry) -> float:
    """What the cost chart draws per row: the server's and mongod's CPU per request, stacked."""
    cost = entry.summary.cpu_us_per_ok
    return (cost.get("server") or 0.0) + (cost.get("mongod") or 0.0)


def _bar_color(entry: answer.Entry) -> str:
    return MODEL_COLORS.get(entry.model, "#4C72B0") if entry.healthy else UNHEALTHY


def _model_handles(run: RunResult, doc: str, ms: int, summaries: dict | None) -> list:
    from matplotlib.patches import Patch

    seen = {e.model for conns in run.profile.connections
            for e in answer.entries(run, doc, conns, ms, summaries)}
    handles = [Patch(color=MODEL_COLORS[m], label=m) for m in answer.MODELS if m in seen]
    handles.append(Patch(facecolor="white", edgecolor="#333333", hatch="//",
                         label="apart, never recommended: baseline, other languages, ceiling"))
    handles.append(Patch(color=UNHEALTHY, label="unhealthy (✗: failed share)"))
    return handles


def throughput_chart(run: RunResult, doc: str, ms: int, path: Path,
                     summaries: dict | None = None) -> Path | None:
    levels = run.profile.connections
    panels = [_entries(run, doc, c, ms, lambda e: e.summary.median_rps, summaries,
                       healthy_first=True) for c in levels]
    if not any(panels):
        return None
    fig, axes = _panels(levels, min(TOP, max(len(p) for p in panels)))
    for ax, conns, entries in zip(axes, levels, panels):
        shown = entries[:TOP]
        ys = range(len(shown))
        values = [e.summary.median_rps for e in shown]
        ax.barh(ys, values, color=[_bar_color(e) for e in shown],
                hatch=None, edgecolor=["#333333" if e.apart else "none" for e in shown],
                linewidth=0.6)
        for y, e in zip(ys, shown):
            if e.apart:
                ax.barh([y], [e.summary.median_rps], color="none", hatch="//",
                        edgecolor="#333333", linewidth=0)
            s = e.summary
            if s.n > 1 and s.min_rps is not None:
                ax.plot([s.min_rps, s.max_rps], [y, y], color="#333333", linewidth=0.8)
            if not e.healthy:
                ax.text(max(s.median_rps, s.max_rps or 0), y, f" ✗ {share(s.failed_pooled)}",
                        va="center", fontsize=7,
                        color="#C44E52")
        ax.set_yticks(list(ys), [e.name for e in shown], fontsize=7)
        ax.invert_yaxis()
        more = len(entries) - len(shown)
        ax.set_title(f"{conns:,} connections" + (f" (top {TOP}; {more} more in the tables)"
                                                  if more > 0 else ""))
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))
        ax.set_xlabel("successful req/s")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    whiskers = "; lines: lowest to highest repeat" if any(
        e.summary.n > 1 for p in panels for e in p) else ""
    _legend(fig, _model_handles(run, doc, ms, summaries),
            f"Successful requests per second, {_title(doc, ms)} (median, best first{whiskers})")
    return _save(fig, path)


def _failure_parts(entry: answer.Entry) -> tuple[float, float, float]:
    """The median repeat's failed share, as late, lost and every other class, in percent."""
    s = entry.summary
    attempts_share = (s.error_rate or 0) * 100
    counts = {k: v or 0 for k, v in s.errors.items()}
    total = sum(counts.values())
    if not total:
        return 0.0, 0.0, 0.0
    late, lost = counts.get("late", 0), counts.get("lost", 0)
    return (attempts_share * late / total, attempts_share * lost / total,
            attempts_share * (total - late - lost) / total)


def errors_chart(run: RunResult, doc: str, ms: int, path: Path,
                 summaries: dict | None = None) -> Path | None:
    levels = run.profile.connections
    panels = [_entries(run, doc, c, ms, lambda e: e.summary.error_rate, summaries)
              for c in levels]
    if not any(e.summary.error_rate for p in panels for e in p):
        return None
    panels = [[e for e in p if e.summary.error_rate] for p in panels]
    fig, axes = _panels(levels, min(TOP, max(len(p) for p in panels)))
    limit = run.profile.max_failed_share * 100
    for ax, conns, entries in zip(axes, levels, panels):
        shown = entries[:TOP]
        ys = list(range(len(shown)))
        left = [0.0] * len(shown)
        for index, kind in enumerate(("late", "lost", "other")):
            widths = [_failure_parts(e)[index] for e in shown]
            ax.barh(ys, widths, left=left, color=FAILURE_COLORS[kind])
            left = [a + b for a, b in zip(left, widths)]
        for y, e in zip(ys, shown):
            ax.text(left[y], y, f" {share(e.summary.error_rate)}", va="center", fontsize=7)
        ax.axvline(limit, color="#333333", linewidth=0.8, linestyle="--")
        ax.set_yticks(ys, [e.name for e in shown], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, max([100 * (e.summary.error_rate or 0) for e in shown] + [limit]) * 1.25
                    or 1)
        ax.xaxis.set_major_formatter(FuncFormatter(_percent))
        ax.set_title(f"{conns:,} connections" if shown else f"{conns:,} connections: none failed")
        ax.set_xlabel("failed share of attempts")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Patch(color=FAILURE_COLORS["late"], label="late"),
               Patch(color=FAILURE_COLORS["lost"], label="lost"),
               Patch(color=FAILURE_COLORS["other"], label="socket, status or body"),
               Line2D([], [], color="#333333", linestyle="--",
                      label=f"healthy limit ({run.profile.max_failed_share:.0%})")]
    _legend(fig, handles, f"Failed share of attempts, {_title(doc, ms)} (the median repeat by "
                          "failures; cells without failures left out)")
    return _save(fig, path)


def latency_chart(run: RunResult, doc: str, ms: int, path: Path,
                  summaries: dict | None = None) -> Path | None:
    levels = run.profile.connections
    panels = [_entries(run, doc, c, ms, lambda e: -e.summary.latency_ms["p99"]
                       if e.summary.latency_ms.get("p99") is not None else None, summaries,
                       healthy_first=True)
              for c in levels]
    if not any(panels):
        return None
    timeout_ms = run.profile.timeout_s * 1000
    fig, axes = _panels(levels, min(TOP, max(len(p) for p in panels)))
    for ax, conns, entries in zip(axes, levels, panels):
        shown = entries[:TOP]
        for row, e in enumerate(shown):
            points = [(k, e.summary.latency_ms.get(k)) for k in PERCENTILE_COLORS]
            points = [(k, v) for k, v in points if v]
            if points:
                ax.plot([v for _, v in points], [row] * len(points), color="#999999",
                        linewidth=0.8, zorder=1)
            for key, value in points:
                ax.scatter([value], [row], s=12, color=PERCENTILE_COLORS[key], zorder=2)
        ax.axvline(timeout_ms, color="#C44E52", linewidth=0.8, linestyle="--")
        ax.text(timeout_ms, -0.8, f"timeout {run.profile.timeout_s:g} s", color="#C44E52",
                fontsize=7, ha="right", va="bottom")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(range(len(shown)), [_name(e) for e in shown], fontsize=7)
        ax.set_ylim(len(shown) - 0.5, -1.2)
        ax.set_title(f"{conns:,} connections")
        ax.set_xlabel("ms (log scale)")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6, which="major")
        ax.set_axisbelow(True)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=k)
               for k, c in PERCENTILE_COLORS.items()]
    _legend(fig, handles, f"Latency p50 / p99 / p99.9, {_title(doc, ms)} (measured, median over "
                          "repeats; healthy cells first, lowest p99 first; ✗ unhealthy, after "
                          "them; late responses are past the timeout)")
    return _save(fig, path)


def cost_chart(run: RunResult, doc: str, ms: int, path: Path,
               summaries: dict | None = None) -> Path | None:
    levels = run.profile.connections
    panels = [_entries(run, doc, c, ms, lambda e: -_stacked_cost(e)
                       if e.summary.cpu_us_per_ok.get("server") is not None else None, summaries,
                       healthy_first=True)
              for c in levels]
    if not any(panels):
        return None
    fig, axes = _panels(levels, min(TOP, max(len(p) for p in panels)))
    for ax, conns, entries in zip(axes, levels, panels):
        shown = entries[:TOP]
        ys = list(range(len(shown)))
        server = [e.summary.cpu_us_per_ok["server"] for e in shown]
        mongod = [e.summary.cpu_us_per_ok.get("mongod") or 0 for e in shown]
        ax.barh(ys, server, color=[_bar_color(e) for e in shown])
        ax.barh(ys, mongod, left=server, color=[_bar_color(e) for e in shown], alpha=0.35)
        ax.set_yticks(ys, [_name(e) for e in shown], fontsize=7)
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(FuncFormatter(_plain))
        ax.set_title(f"{conns:,} connections")
        ax.set_xlabel("CPU µs per successful request")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    _legend(fig, _model_handles(run, doc, ms, summaries)[:-2],
            f"CPU per successful request, {_title(doc, ms)} (median; dark: server, light: mongod "
            "on top; healthy cells first, cheapest server + mongod first; ✗ unhealthy)")
    return _save(fig, path)


def rate_chart(run: RunResult, doc: str, connections: int, ms: int, path: Path) -> Path | None:
    """Open loop: p50 and p99 against the rate answered, one line pair per variant."""
    points = [p for p in rate_points(run)
              if (p.doc, p.connections, p.db_latency_ms) == (doc, connections, ms)]
    if not points:
        return None
    key, limit_ms = parse_slo(run.profile.slo)
    fig, ax = plt.subplots(figsize=(8, 4))
    for index, name in enumerate(dict.fromkeys(p.variant for p in points)):
        mine = sorted((p for p in points if p.variant == name and p.answered_rps),
                      key=lambda p: p.target_rps or 0)
        color = LINE_COLORS[index % len(LINE_COLORS)]
        for percentile, style in (("p50", "--"), ("p99", "-")):
            xy = [(p.answered_rps, p.summary.latency_ms.get(percentile)) for p in mine]
            xy = [(x, y) for x, y in xy if y is not None]
            if xy:
                ax.plot([x for x, _ in xy], [y for _, y in xy], style, marker="o",
                        markersize=3, color=color, label=f"{name} {percentile}")
    ax.axhline(limit_ms, color="#999999", linewidth=0.8, linestyle=":")
    ax.text(ax.get_xlim()[0], limit_ms, f" SLO {key} ≤ {limit_ms:g} ms", fontsize=8,
            va="bottom", color="#666666")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_formatter(FuncFormatter(_plain))
    ax.set_xlabel("requests answered per second")
    ax.set_ylabel("latency from when each request was due, ms")
    ax.grid(axis="y", linewidth=0.3)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    fig.suptitle(f"Open loop, {_title(doc, ms)}, up to {connections:,} connections: latency "
                 "against rate", x=0.01, ha="left", fontsize=10)
    return _save(fig, path)


def series_chart(group: series.Swept, path: Path) -> Path | None:
    """A sweep or a deployment: successful req/s and p99 against the combinations, one line per
    cell, the catalog's combination marked; unhealthy points hollow."""
    if not group.cells:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    ticks = [f"{label}\n(catalog)" if label == group.catalog else label
             for label in group.labels]
    for index, (cell, rows) in enumerate(group.cells.items()):
        color = LINE_COLORS[index % len(LINE_COLORS)]
        for ax, value in ((left, lambda s: s.median_rps),
                          (right, lambda s: s.latency_ms.get("p99"))):
            xy = [(group.labels.index(r.label), value(r.summary), r.healthy) for r in rows]
            xy = [(x, y, h) for x, y, h in xy if y is not None]
            if xy:
                ax.plot([x for x, _, _ in xy], [y for _, y, _ in xy], color=color, label=cell,
                        linewidth=1)
                ax.scatter([x for x, _, h in xy if h], [y for _, y, h in xy if h], s=12,
                           color=color)
                ax.scatter([x for x, _, h in xy if not h], [y for _, y, h in xy if not h],
                           s=16, facecolors="white", edgecolors=color)
    for ax, title in ((left, "successful requests / s"), (right, "p99 latency, ms (log scale)")):
        ax.set_xticks(range(len(ticks)), ticks, fontsize=7)
        if group.catalog in group.labels:
            ax.axvline(group.labels.index(group.catalog), color="#999999", linewidth=0.8,
                       linestyle=":")
        ax.set_title(title)
        ax.grid(axis="y", linewidth=0.3)
        ax.yaxis.set_major_formatter(FuncFormatter(_plain))
    right.set_yscale("log")
    right.yaxis.set_major_formatter(FuncFormatter(_plain))
    right.yaxis.set_minor_formatter(NullFormatter())
    left.legend(frameon=False, fontsize=7)
    marked = "; dotted: the catalog's values" if group.catalog else ""
    fig.suptitle(f"{group.of} against {', '.join(group.settings)} (medians over repeats; "
                 f"hollow: unhealthy{marked})", x=0.01, ha="left", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def render_all(run: RunResult, directory: Path,
               summaries: dict | None = None) -> dict[str, list[Path]]:
    """Every chart of a run into `directory`, by kind, one per document (`summaries`: the run's
    cells summarized already, suite.read.analysis.summaries)."""
    _style()
    summaries = summaries if summaries is not None else summaries_of(run)
    charts: dict[str, list[Path]] = {"throughput": [], "errors": [], "latency": [], "cost": [],
                                     "rate": [], "sweep": []}
    for kind, groups in (("sweep", series.swept(run)), ("deployment", series.deployed(run))):
        for group in groups:
            path = series_chart(group, directory / f"{chart_key(kind, slug(group.of))}.svg")
            if path is not None:
                charts["sweep"].append(path)
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            for kind, draw in (("throughput", throughput_chart), ("errors", errors_chart),
                               ("latency", latency_chart), ("cost", cost_chart)):
                path = draw(run, doc, ms, directory / f"{chart_key(kind, doc, ms)}.svg",
                            summaries)
                if path is not None:
                    charts[kind].append(path)
            for connections in run.profile.connections:
                name = chart_key("rate", f"{doc}-c{connections}", ms)
                path = rate_chart(run, doc, connections, ms, directory / f"{name}.svg")
                if path is not None:
                    charts["rate"].append(path)
    return charts
