"""The spread study's tables (docs/profile-study.md, "The spread between fresh starts"), from
results files: `python scripts/spread_study.py results/<id>.json ...` prints markdown.

Two kinds of files. The study's own runs (scripts/spread-study: one cell, several variants, one
condition each) give, per condition, each variant's CV over its repeats and the error pooled
over the variants: the log req/s's residual standard deviation of the same fit the top groups
use (suite.record.groups.cell_fit: rounds removed where every repeat is a fresh start in its
own round; one block for a sequential run, whose repeats share one start), with an F-test of
its variance against the interleaved run's with a random layout. A run of several cells
(a published matrix) gives how much the cells measured by one start move together: the
correlation, over every (variant, round), of the residuals of two cells of that start.
"""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from suite.record import groups, results, stats  # noqa: E402


def condition(run: results.RunResult) -> str:
    found = run.environment.get("randomization") or {}
    seed = found.get("python_hash_seed", "random")
    layout = "no ASLR" if found.get("addr_no_randomize") else "ASLR"
    starts = "one start" if run.order == "sequential" else "a start per repeat"
    return f"{starts}; {layout}; hash seed {seed}"


def measured(run: results.RunResult, doc: str, conns: int) -> list[tuple[str, results.Cell]]:
    return [(v.name, v.cell(doc, conns, 0)) for v in run.variants
            if v.cell(doc, conns, 0) is not None and v.cell(doc, conns, 0).repeats]


def f_two_sided(ratio: float, df1: int, df2: int) -> float:
    below = stats.betainc(df1 / 2, df2 / 2, df1 * ratio / (df1 * ratio + df2))
    return min(1.0, 2 * min(below, 1 - below))


def conditions_table(runs: list[results.RunResult]) -> list[str]:
    names = list(dict.fromkeys(n for run in runs for n, _ in measured(run, "small", 200)))
    lines = ["| run | condition | " + " | ".join(f"{n} CV" for n in names)
             + " | pooled error (df) | variance ÷ reference, p |",
             "|---|---|" + "---:|" * len(names) + "---:|---|"]
    fits = []
    for run in runs:
        competing = measured(run, "small", 200)
        fits.append((run, competing, groups.cell_fit(competing)))
    reference = next((fit for run, _, fit in fits if fit and run.order != "sequential"
                      and not (run.environment.get("randomization") or {}).get(
                          "addr_no_randomize")
                      and (run.environment.get("randomization") or {}).get(
                          "python_hash_seed", "random") == "random"), None)
    for run, competing, fit in fits:
        cvs = dict((n, stats.cv([s.ok_rps for s in c.repeats])) for n, c in competing)
        cells = [f"{cvs[n]:.1%}" if cvs.get(n) is not None else "–" for n in names]
        error = f"{math.expm1(fit.sigma):.1%} ({fit.df})" if fit and fit.sigma else "–"
        versus = "reference"
        if fit is not reference and fit and fit.sigma and reference and reference.sigma:
            ratio = fit.sigma ** 2 / reference.sigma ** 2
            versus = f"{ratio:.2f}, p {f_two_sided(ratio, fit.df, reference.df):.3f}"
        lines.append(f"| {run.run_id} | {condition(run)} | " + " | ".join(cells)
                     + f" | {error} | {versus} |")
    return lines


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
                         + (f"{r[1]:.3f}" if r[1] >= 0.001 else "< 0.001") + " |")
    return lines


def main(paths: list[str]) -> None:
    runs = [results.load(Path(p)) for p in paths]
    study = [r for r in runs if len(r.profile.docs) == 1 and r.profile.connections == (200,)]
    if study:
        print("\n".join(conditions_table(study)) + "\n")
    for run in runs:
        if run not in study:
            print("\n".join(starts_table(run)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
