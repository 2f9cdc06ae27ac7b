"""The profile study's tables (docs/profile-study.md) from the results files of
scripts/profile-study: `python scripts/profile_study.py results/<id>.json ...` prints markdown.

For each run (one repeat length, with or without a warmup): per variant and cell, the median
successful req/s and the coefficient of variation (stdev / mean) over the repeats, each repeat
from a freshly started server; then the CVs side by side per repeat length, and what a run cost
in wall time per counted repeat.
"""

from __future__ import annotations

import statistics
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite.record import results, stats  # noqa: E402


def label(run: results.RunResult) -> str:
    p = run.profile
    return f"{p.duration_s} s" + ("" if p.warmup_s else ", no warmup")


def wall_s(run: results.RunResult) -> float:
    start = datetime.fromisoformat(run.started_at)
    return (datetime.fromisoformat(run.finished_at) - start).total_seconds()


def main(paths: list[str]) -> None:
    runs = sorted((results.load(Path(p)) for p in paths),
                  key=lambda r: (r.profile.warmup_s == 0, r.profile.duration_s))
    cells = [(v.name, c.label) for v in runs[0].variants for c in v.cells]
    cv: dict[tuple[str, str, str], float | None] = {}
    median: dict[tuple[str, str, str], float | None] = {}
    for run in runs:
        for v in run.variants:
            for c in v.cells:
                rps = [s.ok_rps for s in c.repeats]
                cv[(label(run), v.name, c.label)] = stats.cv(rps)
                median[(label(run), v.name, c.label)] = stats.median(rps)
    labels = [label(r) for r in runs]

    print("**CV of successful req/s over the repeats** (each from a fresh server start)\n")
    print("| variant | cell | " + " | ".join(labels) + " |")
    print("|---|---|" + "---:|" * len(labels))
    for name, cell in cells:
        print(f"| {name} | {cell} | " + " | ".join(
            _pct(cv.get((lab, name, cell))) for lab in labels) + " |")
    print("| **median of the cells** | | " + " | ".join(
        _pct(statistics.median([x for (lab2, _, _), x in cv.items() if lab2 == lab
                                and x is not None])) for lab in labels) + " |")
    print()
    print("**Median successful req/s**\n")
    print("| variant | cell | " + " | ".join(labels) + " |")
    print("|---|---|" + "---:|" * len(labels))
    for name, cell in cells:
        print(f"| {name} | {cell} | " + " | ".join(
            _int(median.get((lab, name, cell))) for lab in labels) + " |")
    print()
    print("**What each run cost**\n")
    print("| run | repeat | warmup | counted repeats | wall | wall per counted repeat "
          "| counted ÷ wall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        repeats = sum(len(c.repeats) for v in run.variants for c in v.cells)
        counted = sum(s.duration_s for v in run.variants for c in v.cells for s in c.repeats)
        wall = wall_s(run)
        print(f"| {run.run_id} | {run.profile.duration_s} s | {run.profile.warmup_s} s "
              f"| {repeats} | {wall / 60:.1f} min | {wall / repeats:.1f} s "
              f"| {counted / wall:.2f} |")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _int(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


if __name__ == "__main__":
    main(sys.argv[1:])
