"""Two runs side by side: per-cell ratios of successful req/s, with Welch's t-test over the
repeats deciding which differences are larger than the noise.

A comparison tests every cell at once (up to 90: 15 variants x 6 cells), and at p < 0.05 a few
of 90 would pass by chance alone; Holm's correction across the cells of one comparison keeps the
chance of any false "different" below 0.05. The adjusted p decides; the raw one is shown too."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from suite.read import fmt, significance
from suite.read.analysis import ranking
from suite.record import stats
from suite.record.results import RunResult
from suite.record.stats import ALPHA


# What must match for two runs' numbers to be comparable at all.
FINGERPRINT_KEYS = ("cpu_model", "cpu_count", "memory_bytes", "kernel", "python", "hostname")


def fingerprint_differences(a: dict, b: dict) -> list[str]:
    """Human-readable differences between two runs' machines (empty when they match)."""
    return [f"{key}: {a.get(key)!r} vs {b.get(key)!r}" for key in FINGERPRINT_KEYS
            if a.get(key) != b.get(key)]


def placement_key(placement: dict[str, Any] | None) -> str:
    """What two runs must share to be compared: "one engine", or each role's machine (engine
    name, CPU model and count) and address (suite.measure.placement)."""
    if not placement:
        return "one engine"
    hosts = placement.get("hosts", {})
    return " ".join(f"{role}={hosts.get(role, {}).get('name')}/"
                    f"{hosts.get(role, {}).get('cpu_model')}x{hosts.get(role, {}).get('cpus')}"
                    f"@{hosts.get(role, {}).get('address')}" for role in ("client", "server", "db"))


@dataclass(frozen=True)
class CellComparison:
    variant: str
    doc: str
    connections: int
    base: list[float]          # ok req/s per repeat
    new: list[float]
    ratio: float | None        # median(new) / median(base)
    p: float | None            # Welch's two-sided p; None when untested (see verdict)

    t: float | None = None     # Welch's t, positive when new's mean is above base's
    p_adjusted: float | None = None   # p after Holm's correction over the comparison's tests
    no_spread: bool = False    # every repeat of each side gave the same value (stats.no_spread)
    db_latency_ms: int = 0     # the database latency the cell was measured with

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "missing"
        if self.no_spread:
            return "insufficient"    # no variance to test against: not enough information
        if self.p is None or self.p_adjusted is None:
            return "untested"
        # The ratio is of medians, the test of means: a difference counts only when both agree.
        agree = self.t is not None and (self.t > 0) == (self.ratio > 1)
        return "different" if self.p_adjusted < ALPHA and agree else "noise"


@dataclass(frozen=True)
class Comparison:
    base: RunResult
    new: RunResult
    cells: list[CellComparison]
    warnings: list[str]

    @property
    def tested(self) -> int:
        """How many cells Holm's correction ran over."""
        return sum(cell.p_adjusted is not None for cell in self.cells)

    def geometric_means(self) -> dict[str, float | None]:
        """Per variant, the geometric mean of its cell ratios (every cell measured in both)."""
        by_variant: dict[str, list[float]] = {}
        for cell in self.cells:
            if cell.ratio is not None:
                by_variant.setdefault(cell.variant, []).append(cell.ratio)
        return {name: stats.geometric_mean(ratios) for name, ratios in by_variant.items()}


def _rps(run: RunResult, variant: str, doc: str, conns: int, ms: int) -> list[float]:
    record = run.variant(variant)
    cell = record.cell(doc, conns, ms) if record else None
    return [s.ok_rps for s in cell.repeats] if cell else []


def compare(base: RunResult, new: RunResult) -> Comparison:
    warnings = []
    machine = fingerprint_differences(base.environment, new.environment)
    if machine:
        warnings.append("the runs come from different machines, so ratios mix hardware with "
                        "software: " + "; ".join(machine))
    for key in ("duration_s", "timeout_s", "warmup_s"):
        a, b = getattr(base.profile, key), getattr(new.profile, key)
        if a != b:
            warnings.append(f"profiles differ: {key} {a} vs {b}")
    if base.runtime != new.runtime:
        warnings.append(f"runtimes differ: {base.runtime} vs {new.runtime}")
    placed = [placement_key(run.runtime_details.placement) for run in (base, new)]
    if placed[0] != placed[1]:
        warnings.append(f"placements differ ({placed[0]} vs {placed[1]}): the ratios mix where "
                        "the roles ran with the servers")
    if base.profile.db_latencies_ms != new.profile.db_latencies_ms:
        warnings.append("database latencies differ: "
                        f"{list(base.profile.db_latencies_ms)} ms vs "
                        f"{list(new.profile.db_latencies_ms)} ms (only cells of both compared)")
    if base.runtime == new.runtime == "docker":
        # Image set, the servers' cpusets and memory limits, and the database's.
        for key, a, b in (("images", base.runtime_details.images, new.runtime_details.images),
                          ("limits", base.runtime_details.limits, new.runtime_details.limits),
                          ("database limits", base.mongo.container, new.mongo.container)):
            if a != b:
                warnings.append(f"container {key} differ: {a} vs {b}")
    names = [v.name for v in base.variants] + [
        v.name for v in new.variants if base.variant(v.name) is None]
    docs = list(dict.fromkeys([*base.profile.docs, *new.profile.docs]))
    levels = sorted({*base.profile.connections, *new.profile.connections})
    latencies = sorted({*base.profile.db_latencies_ms, *new.profile.db_latencies_ms})
    cells = []
    for name in names:
        for ms in latencies:
            for doc in docs:
                for conns in levels:
                    a, b = _rps(base, name, doc, conns, ms), _rps(new, name, doc, conns, ms)
                    if not a and not b:
                        continue
                    # new ahead of base: the ratio new ÷ base, tested (or not) as every lead.
                    lead = significance.lead(b, a) if a and b else None
                    ratio = lead.ratio if lead else None
                    cells.append(CellComparison(
                        name, doc, conns, a, b, ratio, lead.p if lead else None,
                        lead.t if lead else None,
                        no_spread=bool(lead and lead.untested == significance.NO_SPREAD),
                        db_latency_ms=ms))
    # One family: every cell with a ratio and a test (a cell without a ratio is no claim).
    family = [i for i, cell in enumerate(cells) if cell.ratio is not None and cell.p is not None]
    adjusted = stats.holm([cells[i].p for i in family])
    for i, p_adjusted in zip(family, adjusted):
        cells[i] = replace(cells[i], p_adjusted=p_adjusted)
    return Comparison(base, new, cells, warnings)


@dataclass(frozen=True)
class RankAgreement:
    """How far two runs order one cell's rows alike: the rows ranked in both (healthy, and
    not client-bound, in each: suite.read.analysis.ranking), each run's order of them by
    median successful req/s, and Kendall's τ-b between the two."""

    doc: str
    connections: int
    db_latency_ms: int
    base_order: tuple[str, ...]
    new_order: tuple[str, ...]
    left_out: tuple[str, ...]        # rows of both runs ranked in one of them at most
    kendall: stats.Kendall | None    # None below three rows ranked in both

    @property
    def label(self) -> str:
        return fmt.cell_label(self.doc, self.connections, self.db_latency_ms)

    def moved(self, most: int = 3) -> list[tuple[str, int, int]]:
        """The rows whose place changed most: (name, place in base, place in new), 1-based,
        by how far they moved, then by name; rows that kept their place are left out."""
        new_place = {name: i + 1 for i, name in enumerate(self.new_order)}
        shifts = [(name, i + 1, new_place[name]) for i, name in enumerate(self.base_order)
                  if new_place[name] != i + 1]
        return sorted(shifts, key=lambda s: (-abs(s[1] - s[2]), s[0]))[:most]


def _ranked(run: RunResult, doc: str, conns: int, ms: int) -> dict[str, float]:
    """Median successful req/s of the cell's rows that rank as the server's figure."""
    return {name: s.median_rps for name, s in ranking(run, doc, conns, ms) if not s.client_bound}


def _order(names: list[str], rps: dict[str, float]) -> tuple[str, ...]:
    return tuple(sorted(names, key=lambda name: (-rps[name], name)))


def rank_agreement(base: RunResult, new: RunResult) -> list[RankAgreement]:
    """Per closed-loop cell both runs measured, how alike they order the rows of both (the
    rank-stability figure of a change of placement, build or machine)."""
    names = {v.name for v in base.variants} & {v.name for v in new.variants}
    found = []
    for ms in (m for m in base.profile.db_latencies_ms if m in new.profile.db_latencies_ms):
        for doc in (d for d in base.profile.docs if d in new.profile.docs):
            for conns in (c for c in base.profile.connections if c in new.profile.connections):
                a, b = _ranked(base, doc, conns, ms), _ranked(new, doc, conns, ms)
                both = sorted(names & a.keys() & b.keys())
                if not both:
                    continue
                found.append(RankAgreement(
                    doc, conns, ms, _order(both, a), _order(both, b),
                    tuple(sorted(names - set(both))),
                    stats.kendall([a[n] for n in both], [b[n] for n in both])))
    return found


def rank_lines(agreements: list[RankAgreement]) -> list[str]:
    """The rank-stability table: per cell the rows ranked in both, τ-b with its p, each run's
    leader, the rows that moved most and the rows of both runs left out (unhealthy or
    client-bound in one)."""
    lines = ["| cell | rows ranked in both | Kendall τ-b (p) | leader: base → new | moved most "
             "(place in base → in new) | not ranked in one run |", "|---|---:|---:|---|---|---|"]
    for agreement in agreements:
        k = agreement.kendall
        p = "–" if k is None else f"p {k.p:.3f}" if k.p >= 0.001 else "p < 0.001"
        tau = "–" if k is None else f"{k.tau:+.2f} ({p})"
        lead = (agreement.base_order[0] if agreement.base_order[0] == agreement.new_order[0]
                else f"{agreement.base_order[0]} → {agreement.new_order[0]}")
        moved = ", ".join(f"{name} {a} → {b}" for name, a, b in agreement.moved()) or "none"
        lines.append(f"| {agreement.label} | {len(agreement.base_order)} | {tau} | {lead} | "
                     f"{moved} | {', '.join(agreement.left_out) or 'none'} |")
    taus = [a.kendall.tau for a in agreements if a.kendall is not None]
    if taus:
        same = sum(a.base_order[0] == a.new_order[0] for a in agreements)
        lines += ["", f"Median τ-b over {len(taus)} cells: {stats.median(taus):+.2f}; the same "
                  f"leader in {same} of {len(agreements)} cells (among the rows ranked in both)."]
    return lines


def _cell_text(cell: CellComparison | None) -> str:
    if cell is None or cell.verdict == "missing":
        return "–"
    if cell.verdict == "noise":
        return f"≈ (p={cell.p:.2f}, Holm {cell.p_adjusted:.2f})"
    if cell.verdict == "untested":
        return f"{cell.ratio:.2f}× ?"
    if cell.verdict == "insufficient":
        return f"{cell.ratio:.2f}× (not enough information)"
    return f"**{cell.ratio:.2f}×** (p={cell.p:.3f}, Holm {cell.p_adjusted:.3f})"


def _cells(count: int) -> str:
    return f"{count} cell" if count == 1 else f"{count} cells"


RANK_INTRO = (
    "How much the difference between the two runs (their placement, build or machine) decides "
    "the order: per cell, Kendall's τ-b between the two runs' orders of the rows ranked in "
    "both (healthy, and not client-bound, in each), by median successful req/s. +1 is the same "
    "order, 0 no relation, −1 the reverse; p is the chance that unrelated orders agree at "
    "least this much (exact where no two medians tie). It reads the medians, not their noise: "
    "two rows within noise of each other may swap places in any two runs.")


def render(comparison: Comparison) -> str:
    base, new = comparison.base, comparison.new
    lines = [f"# Comparison: {new.run_id} against {base.run_id}", ""]
    for warning in comparison.warnings:
        lines += [f"> **WARNING**: {warning}", ""]
    lines += [
        "Each cell is new ÷ base of the median successful requests per second. Welch's t-test "
        "over the repeats gives each cell a p; Holm's correction across the "
        f"{_cells(comparison.tested)} tested here adjusts it (`Holm`), so that the chance of "
        f"calling any cell different by chance stays below {ALPHA} for the whole comparison, "
        f"not for each cell. **The adjusted p decides**: a ratio is shown in bold when its "
        f"adjusted p is below {ALPHA} (and the means moved the same way as the medians); `≈` "
        "means the difference is within the noise of the repeats, `?` that a side has fewer "
        "than two repeats, and *not enough information* that every repeat on each side gave "
        "the same value, so the repeats say nothing about noise.", ""]
    sections = list(dict.fromkeys((c.db_latency_ms, c.doc) for c in comparison.cells))
    levels = sorted({c.connections for c in comparison.cells})
    variants = list(dict.fromkeys(c.variant for c in comparison.cells))
    index = {(c.variant, c.doc, c.connections, c.db_latency_ms): c for c in comparison.cells}
    for ms, doc in sections:
        lines += [f"## /{doc}" + (f", database +{ms} ms" if ms else ""), "",
                  "| variant | " + " | ".join(f"{c:,} conn." for c in levels) + " |",
                  "|---|" + "---:|" * len(levels)]
        for name in variants:
            lines.append(f"| {name} | " + " | ".join(
                _cell_text(index.get((name, doc, conns, ms))) for conns in levels) + " |")
        lines.append("")
    agreements = rank_agreement(base, new)
    if agreements:
        lines += ["## Rank stability", "", RANK_INTRO, "", *rank_lines(agreements), ""]
    lines += ["## Geometric mean of the ratios, per variant", "",
              "| variant | new ÷ base |", "|---|---:|"]
    for name, value in comparison.geometric_means().items():
        lines.append(f"| {name} | {'–' if value is None else f'{value:.3f}×'} |")
    lines.append("")
    return "\n".join(lines)
