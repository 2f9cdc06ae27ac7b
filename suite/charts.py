"""Charts for a report, rendered from a results file with matplotlib, as deterministic SVG.

The same results file and the same matplotlib version give the same bytes: no timestamps in the
SVG metadata, a fixed hash salt for element ids, and the bundled DejaVu font.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402

from suite import stats, sweep  # noqa: E402
from suite.catalog import slug  # noqa: E402
from suite.analysis import rate_points, summarize  # noqa: E402
from suite.profiles import parse_slo  # noqa: E402
from suite.report import chart_key, section_title  # noqa: E402
from suite.results import RunResult  # noqa: E402

COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")  # one per connection level
PERCENTILE_COLORS = {"p50": "#55A868", "p99": "#DD8452", "p99.9": "#C44E52"}


def _style() -> None:
    plt.rcParams.update({"svg.hashsalt": "battle", "svg.fonttype": "path",
                         "font.family": "DejaVu Sans", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})


def _measured(run: RunResult, doc: str, ms: int) -> list:
    return [v for v in run.variants
            if any(c.repeats for c in v.cells if c.doc == doc and c.db_latency_ms == ms)]


def _title(doc: str, ms: int) -> str:
    text = section_title(doc, ms)
    return text[0].lower() + text[1:]


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    return path


def _grouped_bars(run: RunResult, doc: str, ms: int, value, title: str, xlabel: str, path: Path,
                  error_bars: bool, stacked=None) -> Path | None:
    """Horizontal bars per variant, one per connection level; `value(summary)` gives (mid, low,
    high); `stacked(summary)`, when given, a second quantity drawn on top of mid, lighter."""
    variants = _measured(run, doc, ms)
    if not variants:
        return None
    levels = run.profile.connections
    height = 0.8 / len(levels)
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.45 * len(variants) * max(1, len(levels) / 3)))
    for i, conns in enumerate(levels):
        ys, widths, lows, highs, tops = [], [], [], [], []
        for row, variant in enumerate(variants):
            cell = variant.cell(doc, conns, ms)
            summary = summarize(cell) if cell else None
            mid, low, high = value(summary) if summary and summary.n else (None, None, None)
            if mid is None:
                continue
            ys.append(row + (i - (len(levels) - 1) / 2) * height)
            widths.append(mid)
            lows.append(mid - low)
            highs.append(high - mid)
            tops.append((stacked(summary) or 0) if stacked else 0)
        xerr = [lows, highs] if error_bars and any(lows + highs) else None
        ax.barh(ys, widths, height=height * 0.95, color=COLORS[i % len(COLORS)],
                label=f"{conns:,} connections", xerr=xerr,
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "#333333"})
        if stacked and any(tops):
            ax.barh(ys, tops, left=widths, height=height * 0.95, color=COLORS[i % len(COLORS)],
                    alpha=0.35)
    ax.set_yticks(range(len(variants)), [v.name for v in variants])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", pad=22)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=len(levels), frameon=False)
    return _save(fig, path)


def throughput_chart(run: RunResult, doc: str, ms: int, path: Path) -> Path | None:
    return _grouped_bars(
        run, doc, ms, lambda s: (s.median_rps, s.min_rps, s.max_rps),
        f"Successful requests per second, {_title(doc, ms)} (median; bars: min–max)",
        "successful requests / s (higher is better)", path, error_bars=True)


def errors_chart(run: RunResult, doc: str, ms: int, path: Path) -> Path | None:
    def value(s):
        return stats.median(s.error_totals), min(s.error_totals), max(s.error_totals)
    return _grouped_bars(
        run, doc, ms, value,
        f"Failed requests per repeat, {_title(doc, ms)} (median, every error class; "
        "bars: min–max)", "errors per repeat (lower is better)", path, error_bars=True)


def cost_chart(run: RunResult, doc: str, ms: int, path: Path) -> Path | None:
    def value(s):
        server = s.cpu_us_per_ok.get("server")
        return (server, server, server) if server is not None else (None, None, None)
    if not any(summarize(c).cpu_us_per_ok.get("server") is not None
               for v in run.variants for c in v.cells
               if c.repeats and c.doc == doc and c.db_latency_ms == ms):
        return None
    return _grouped_bars(
        run, doc, ms, value,
        f"CPU per successful request, {_title(doc, ms)} (median; dark: server, light: mongod "
        "on top)", "CPU µs per successful request (lower is cheaper)", path, error_bars=False,
        stacked=lambda s: s.cpu_us_per_ok.get("mongod"))


def latency_chart(run: RunResult, doc: str, ms: int, path: Path) -> Path | None:
    variants = _measured(run, doc, ms)
    if not variants:
        return None
    levels = run.profile.connections
    fig, axes = plt.subplots(1, len(levels), sharey=True,
                             figsize=(3.2 * len(levels), 0.9 + 0.32 * len(variants)),
                             squeeze=False)
    for ax, conns in zip(axes[0], levels):
        for row, variant in enumerate(variants):
            cell = variant.cell(doc, conns, ms)
            summary = summarize(cell) if cell else None
            if not summary or not summary.n:
                continue
            points = [(k, summary.latency_ms.get(k)) for k in PERCENTILE_COLORS]
            points = [(k, v) for k, v in points if v]
            if points:
                ax.plot([v for _, v in points], [row] * len(points), color="#999999",
                        linewidth=0.8, zorder=1)
            for key, value in points:
                ax.scatter([value], [row], s=14, color=PERCENTILE_COLORS[key], zorder=2,
                           label=key if row == 0 else None)
        ax.set_xscale("log")
        ax.set_title(f"{conns:,} connections", fontsize=9)
        ax.set_xlabel("ms (log scale)")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6, which="both")
        ax.set_axisbelow(True)
    axes[0][0].set_yticks(range(len(variants)), [v.name for v in variants])
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", ncol=3, frameon=False)
    fig.suptitle(f"Latency p50 / p99 / p99.9, {_title(doc, ms)} "
                 "(measured, median over repeats; late responses excluded)", x=0.01, ha="left", fontsize=10)
    return _save(fig, path)


VARIANT_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860",
                  "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")


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
        color = VARIANT_COLORS[index % len(VARIANT_COLORS)]
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
    ax.set_xlabel("requests answered per second")
    ax.set_ylabel("latency from when each request was due, ms")
    ax.grid(axis="y", linewidth=0.3)
    ax.legend(frameon=False, fontsize=7, ncol=2)
    fig.suptitle(f"Open loop, {_title(doc, ms)}, up to {connections:,} connections: "
                 "latency against rate (measured; late responses excluded)", x=0.01, ha="left",
                 fontsize=10)
    return _save(fig, path)


def sweep_chart(group: "sweep.Swept", path: Path) -> Path | None:
    """A sweep: successful req/s and p99 against the combinations, one line per cell, the
    catalog's combination marked."""
    if not group.cells:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    ticks = [f"{label}\n(catalog)" if label == group.catalog else label
             for label in group.labels]
    for index, (cell, rows) in enumerate(group.cells.items()):
        color = VARIANT_COLORS[index % len(VARIANT_COLORS)]
        for ax, value in ((left, lambda s: s.median_rps),
                          (right, lambda s: s.latency_ms.get("p99"))):
            xy = [(group.labels.index(r.label), value(r.summary)) for r in rows]
            xy = [(x, y) for x, y in xy if y is not None]
            if xy:
                ax.plot([x for x, _ in xy], [y for _, y in xy], marker="o", markersize=3,
                        color=color, label=cell)
    for ax, title in ((left, "successful requests / s (higher is better)"),
                      (right, "p99 latency, ms, log scale (lower is better)")):
        ax.set_xticks(range(len(ticks)), ticks, fontsize=7)
        if group.catalog in group.labels:
            ax.axvline(group.labels.index(group.catalog), color="#999999", linewidth=0.8,
                       linestyle=":")
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", linewidth=0.3)
    right.set_yscale("log")
    left.legend(frameon=False, fontsize=7)
    marked = "; dotted: the catalog's values" if group.catalog else ""
    fig.suptitle(f"{group.of} against {', '.join(group.settings)} (medians over repeats"
                 f"{marked})", x=0.01, ha="left", fontsize=10)
    return _save(fig, path)


def render_all(run: RunResult, directory: Path) -> dict[str, list[Path]]:
    """Every chart of a run into `directory`, by kind, one per document."""
    _style()
    charts: dict[str, list[Path]] = {"throughput": [], "errors": [], "latency": [], "cost": [],
                                     "rate": [], "sweep": []}
    for kind, groups in (("sweep", sweep.swept(run)), ("deployment", sweep.deployed(run))):
        for group in groups:
            path = sweep_chart(group, directory / f"{chart_key(kind, slug(group.of))}.svg")
            if path is not None:
                charts["sweep"].append(path)
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            for kind, draw in (("throughput", throughput_chart), ("errors", errors_chart),
                               ("latency", latency_chart), ("cost", cost_chart)):
                path = draw(run, doc, ms, directory / f"{chart_key(kind, doc, ms)}.svg")
                if path is not None:
                    charts[kind].append(path)
            for connections in run.profile.connections:
                name = chart_key("rate", f"{doc}-c{connections}", ms)
                path = rate_chart(run, doc, connections, ms, directory / f"{name}.svg")
                if path is not None:
                    charts["rate"].append(path)
    return charts
