"""The spread study's tables (docs/profile-study.md, "The spread between fresh starts"), from
the results files of interleaved runs: `python scripts/spread_study.py results/<id>.json ...`
prints markdown (tests/test_spread_study.py checks the page holds what it prints).

Residuals are those of the fit the top groups use (suite.record.groups.cell_fit: per cell, the
log of each competitor's successful req/s less its effect and its round's). Per run: how much
the cells one start measured move together (the correlation, over every (variant, round)
start, of the residuals of two of its cells), and whether that is the start's own luck or the
minutes it ran in (the correlation of one start's mean residual with that of the start `lag`
places later, in the order the starts ran).
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite.record import groups, results, stats  # noqa: E402


def _p(value: float) -> str:
    return f"{value:.3f}" if value >= 0.001 else "< 0.001"


def residuals(run: results.RunResult) -> dict[tuple[str, str, int], float]:
    """(cell label, variant, round) -> the residual of its log req/s in its cell's fit."""
    found = {}
    for doc in run.profile.docs:
        for conns in run.profile.connections:
            competing, _ = groups.competitors(run, doc, conns, 0)
            full = [(n, c) for n, c in competing
                    if all(s.round is not None for s in c.repeats)]
            fit = groups.cell_fit(full)
            if fit is None:
                continue
            rounds: dict[int, list[tuple[str, float]]] = {}
            for name, cell in full:
                for s in cell.repeats:
                    if s.ok_rps > 0:
                        rounds.setdefault(s.round, []).append((name, math.log(s.ok_rps)))
            effects = dict(zip(fit.names, fit.effects))
            for number, members in rounds.items():
                shift = stats.mean([y - effects[n] for n, y in members])
                for name, y in members:
                    found[(f"{doc}@{conns}", name, number)] = y - effects[name] - shift
    return found


def starts_table(run: results.RunResult) -> list[str]:
    found = residuals(run)
    cells = list(dict.fromkeys(label for label, _, _ in found))
    lines = [f"Run {run.run_id}: correlation of two cells' residuals over the (variant, round) "
             "starts that measured both", "",
             "| cells | starts | r | p |", "|---|---:|---:|---:|"]
    for a, b in itertools.combinations(cells, 2):
        pairs = [(v, found[(b, n, r)]) for (label, n, r), v in found.items()
                 if label == a and (b, n, r) in found]
        r = stats.correlation([x for x, _ in pairs], [y for _, y in pairs])
        if r:
            lines.append(f"| {a} and {b} | {len(pairs)} | {r[0]:+.2f} | "
                         + f"{_p(r[1])} |")
    return lines


def neighbours_table(run: results.RunResult) -> list[str]:
    """Whether a start's luck is its own or its minutes': each (variant, round) start's mean
    residual over its cells, in the order the starts ran, against the start `lag` places later
    (a different variant, usually of the same round). Independent starts give r near 0 at every
    lag; a machine whose speed drifts over minutes gives r > 0 at short lags, fading."""
    per: dict[tuple[str, int], list[float]] = {}
    for (_, name, number), value in residuals(run).items():
        per.setdefault((name, number), []).append(value)
    began: dict[tuple[str, int], str] = {}
    for v in run.variants:
        for cell in v.cells:
            for s in cell.repeats:
                if s.round is not None and s.started_at:
                    key = (v.name, s.round)
                    began[key] = min(began.get(key, s.started_at), s.started_at)
    order = [stats.mean(per[k]) for k in sorted((k for k in per if k in began), key=began.get)]
    lines = [f"Run {run.run_id}: a start's mean residual against the start `lag` places later "
             f"({len(order)} starts in the order they ran)", "",
             "| lag | pairs | r | p |", "|---:|---:|---:|---:|"]
    for lag in (1, 2, 3, 5, 10):
        r = stats.correlation(order[:-lag], order[lag:]) if len(order) > lag + 2 else None
        if r:
            lines.append(f"| {lag} | {len(order) - lag} | {r[0]:+.2f} | "
                         + f"{_p(r[1])} |")
    return lines


def calibration_table(run: results.RunResult) -> list[str]:
    """Whether the machine's speed, timed right before each counted repeat on each CPU
    (suite.measure.calibration), follows the repeats' residuals. If the drift is the CPUs'
    speed, the fixed work's time spreads as the residuals do, drifts between consecutive
    repeats, and a slow calibration goes with a low residual (r < 0); the residual's spread
    left after a straight-line fit on it is what the calibration cannot explain."""
    timed = [(v.name, f"{cell.doc}@{cell.connections}", s) for v in run.variants
             for cell in v.cells for s in cell.repeats
             if s.calibration_us and s.round is not None and s.started_at]
    if not timed:
        return []
    timed.sort(key=lambda item: item[2].started_at)
    roles: dict[str, list[str]] = {}
    for role, pinned in sorted(run.cpu_roles.items()):
        for cpu in pinned:
            roles.setdefault(str(cpu), []).append(role)
    cpus = sorted({cpu for _, _, s in timed for cpu in s.calibration_us}, key=int)
    lines = [f"Run {run.run_id}: the fixed work's time per CPU before each of its "
             f"{len(timed)} counted repeats, in the order they ran", "",
             "| CPU | pinned to it | median µs | CV | consecutive repeats' r | stolen s |",
             "|---:|---|---:|---:|---:|---:|"]
    for cpu in cpus:
        series = [s.calibration_us[cpu] for _, _, s in timed if cpu in s.calibration_us]
        lag = stats.correlation(series[:-1], series[1:])
        stolen = sum((s.steal_s or {}).get(cpu, 0.0) for _, _, s in timed)
        lines.append(f"| {cpu} | {' and '.join(roles.get(cpu, ['every role']))} | "
                     f"{stats.median(series):,.0f} | {stats.cv(series) * 100:.1f}% | "
                     + (f"{lag[0]:+.2f}" if lag else "–") + f" | {stolen:.2f} |")
    server = str(run.cpu_roles.get("server", [int(cpus[-1])])[0])
    found = residuals(run)
    lines += ["", f"Run {run.run_id}: each counted repeat's residual against the log of the "
              f"fixed work's time on the server's CPU ({server}) right before it, and against "
              "the seconds stolen from that CPU while it ran", "",
              "| cells | repeats | residual sd | r, calibration | p | r, stolen | p "
              "| sd left after a fit on the stolen time |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    labels = list(dict.fromkeys(label for label, _, _ in found))
    for label in [*labels, "all"]:
        rows = [(found[(cell, name, s.round)],
                 math.log(s.calibration_us[server]), (s.steal_s or {}).get(server, 0.0))
                for name, cell, s in timed if server in s.calibration_us
                and (cell, name, s.round) in found and label in ("all", cell)]
        residual = [y for y, _, _ in rows]
        by_work = stats.correlation(residual, [x for _, x, _ in rows])
        by_steal = stats.correlation(residual, [x for _, _, x in rows])
        if not by_work or not by_steal:
            continue
        sd = stats.stdev(residual)
        lines.append(f"| {label} | {len(rows)} | {sd * 100:.1f}% | {by_work[0]:+.2f} | "
                     f"{_p(by_work[1])} | {by_steal[0]:+.2f} | {_p(by_steal[1])} | "
                     f"{sd * math.sqrt(1 - by_steal[0] ** 2) * 100:.1f}% |")
    return lines


def _placement(run: results.RunResult) -> str:
    if not run.cpu_roles:
        return "unpinned"
    return ", ".join(f"{role} on {'+'.join(map(str, cpus))}"
                     for role, cpus in sorted(run.cpu_roles.items()))


def conditions_table(runs: list[results.RunResult]) -> list[str]:
    """Runs of one design side by side, in the order they ran (alternating conditions, so the
    machine's drift over the sitting falls on each alike): per run, where the roles ran, the
    median CV of its cells' repeats, the residual sd the cell fit leaves (the error the top
    groups test against), and the seconds stolen from each CPU per counted repeat."""
    lines = ["Runs side by side, in the order they ran", "",
             "| run | placement | cells | repeats | median CV | residual sd | stolen s per "
             "repeat, per CPU |", "|---|---|---:|---:|---:|---:|---|"]
    for run in sorted(runs, key=lambda r: r.started_at):
        cells = [c for v in run.variants for c in v.cells
                 if len(c.repeats) > 1 and all(s.ok_rps > 0 for s in c.repeats)]
        spreads = [stats.cv([s.ok_rps for s in c.repeats]) for c in cells]
        residual = list(residuals(run).values())
        samples = [s for v in run.variants for c in v.cells for s in c.repeats if s.steal_s]
        cpus = sorted({cpu for s in samples for cpu in s.steal_s}, key=int)
        stolen = ", ".join(f"{cpu}: {stats.mean([s.steal_s.get(cpu, 0.0) for s in samples]):.3f}"
                           for cpu in cpus) or "–"
        lines.append(f"| {run.run_id} | {_placement(run)} | {len(cells)} | "
                     f"{sum(len(c.repeats) for c in cells)} | "
                     f"{stats.median(spreads) * 100:.1f}% | "
                     f"{stats.stdev(residual) * 100:.1f}% | {stolen} |")
    return lines


def tables(paths: list[str]) -> list[str]:
    """Each run's own tables, one run after another (the runs side by side are
    conditions_table's, `--side-by-side`)."""
    lines = []
    for path in paths:
        run = results.load(Path(path))
        lines += starts_table(run) + [""] + neighbours_table(run) + [""]
        calibrated = calibration_table(run)
        lines += calibrated + [""] if calibrated else []
    return lines


def main(argv: list[str]) -> None:
    """`spread_study.py RUN.json ...`: each run's tables; `spread_study.py --side-by-side
    RUN.json ...`: the runs of one alternating design side by side."""
    if argv[:1] == ["--side-by-side"]:
        print("\n".join(conditions_table([results.load(Path(p)) for p in argv[1:]])))
    else:
        print("\n".join(tables(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
