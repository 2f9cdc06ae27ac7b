"""Two runs side by side: per-cell ratios of successful req/s, with Welch's t-test over the
repeats deciding which differences are larger than the noise."""

from __future__ import annotations

from dataclasses import dataclass

from suite import stats
from suite.environment import fingerprint_differences
from suite.results import RunResult

ALPHA = 0.05


@dataclass(frozen=True)
class CellComparison:
    variant: str
    doc: str
    connections: int
    base: list[float]          # ok req/s per repeat
    new: list[float]
    ratio: float | None        # median(new) / median(base)
    p: float | None            # Welch's two-sided p; None with fewer than 2 repeats a side

    t: float | None = None     # Welch's t, positive when new's mean is above base's

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "missing"
        if self.p is None:
            return "untested"
        # The ratio is of medians, the test of means: a difference counts only when both agree.
        agree = self.t is not None and (self.t > 0) == (self.ratio > 1)
        return "different" if self.p < ALPHA and agree else "noise"


@dataclass(frozen=True)
class Comparison:
    base: RunResult
    new: RunResult
    cells: list[CellComparison]
    warnings: list[str]

    def geometric_means(self) -> dict[str, float | None]:
        """Per variant, the geometric mean of its cell ratios (every cell measured in both)."""
        by_variant: dict[str, list[float]] = {}
        for cell in self.cells:
            if cell.ratio is not None:
                by_variant.setdefault(cell.variant, []).append(cell.ratio)
        return {name: stats.geometric_mean(ratios) for name, ratios in by_variant.items()}


def _rps(run: RunResult, variant: str, doc: str, conns: int) -> list[float]:
    record = run.variant(variant)
    cell = record.cell(doc, conns) if record else None
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
    cells = []
    for name in names:
        for doc in docs:
            for conns in levels:
                a, b = _rps(base, name, doc, conns), _rps(new, name, doc, conns)
                if not a and not b:
                    continue
                ma, mb = stats.median(a), stats.median(b)
                ratio = mb / ma if ma and mb is not None else None
                test = stats.welch(a, b)
                cells.append(CellComparison(name, doc, conns, a, b, ratio,
                                            test.p if test else None, test.t if test else None))
    return Comparison(base, new, cells, warnings)


def _cell_text(cell: CellComparison | None) -> str:
    if cell is None or cell.verdict == "missing":
        return "–"
    if cell.verdict == "noise":
        return f"≈ (p={cell.p:.2f})"
    if cell.verdict == "untested":
        return f"{cell.ratio:.2f}× ?"
    return f"**{cell.ratio:.2f}×** (p={cell.p:.3f})"


def render(comparison: Comparison) -> str:
    base, new = comparison.base, comparison.new
    lines = [f"# Comparison: {new.run_id} against {base.run_id}", ""]
    for warning in comparison.warnings:
        lines += [f"> **WARNING**: {warning}", ""]
    lines += [
        "Each cell is new ÷ base of the median successful requests per second. A difference is "
        f"shown only when Welch's t-test over the repeats gives p < {ALPHA}; `≈` means the "
        "difference is within the noise of the repeats, `?` that a side has fewer than two "
        "repeats so nothing can be said about noise.", ""]
    docs = list(dict.fromkeys(c.doc for c in comparison.cells))
    levels = sorted({c.connections for c in comparison.cells})
    variants = list(dict.fromkeys(c.variant for c in comparison.cells))
    index = {(c.variant, c.doc, c.connections): c for c in comparison.cells}
    for doc in docs:
        lines += [f"## /{doc}", "",
                  "| variant | " + " | ".join(f"{c:,} conn." for c in levels) + " |",
                  "|---|" + "---:|" * len(levels)]
        for name in variants:
            lines.append(f"| {name} | " + " | ".join(
                _cell_text(index.get((name, doc, conns))) for conns in levels) + " |")
        lines.append("")
    lines += ["## Geometric mean of the ratios, per variant", "",
              "| variant | new ÷ base |", "|---|---:|"]
    for name, value in comparison.geometric_means().items():
        lines.append(f"| {name} | {'–' if value is None else f'{value:.3f}×'} |")
    lines.append("")
    return "\n".join(lines)
