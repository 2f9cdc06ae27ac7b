"""The blocks of docs/published-runs.md about two runs: `battle compare`'s verdicts and its rank
stability (suite.read.compare)."""

from __future__ import annotations

from suite.read import compare, fmt
from suite.record.results import RunResult


def _verdict(cell: compare.CellComparison) -> str:
    if cell.ratio is None:
        return "–"
    text = f"{cell.ratio:.2f}×"
    if cell.verdict == "different":
        return f"**{text}** (Holm {cell.p_adjusted:.3f})"
    if cell.verdict == "noise":
        return f"{text} ≈ (p {cell.p:.3f}, Holm {cell.p_adjusted:.3f})"
    return f"{text} ({cell.verdict})"


def comparison(base: RunResult, new: RunResult) -> list[str]:
    """New ÷ base per variant and cell, bold where beyond noise after Holm over every tested
    cell (suite.read.compare)."""
    found = compare.compare(base, new)
    labels = list(dict.fromkeys(fmt.cell_label(c.doc, c.connections, c.db_latency_ms)
                                for c in found.cells))
    index = {(c.variant, fmt.cell_label(c.doc, c.connections, c.db_latency_ms)): c
             for c in found.cells}
    lines = [f"{new.run_id} ÷ {base.run_id}, median successful req/s; **bold**: beyond noise, "
             f"≈: within it (Welch's test, Holm over {found.tested} cells).", "",
             "| variant | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for name in dict.fromkeys(c.variant for c in found.cells):
        lines.append(f"| {name} | " + " | ".join(
            _verdict(index[(name, label)]) if (name, label) in index else "–"
            for label in labels) + " |")
    if found.warnings:   # what differs, in a word each (the two runs' records say how)
        lines += ["", "- `battle compare` warns: " + "; ".join(
            w.split(":")[0].split(" (")[0] for w in found.warnings) + "."]
    return lines


def ranks(base: RunResult, new: RunResult) -> list[str]:
    """How alike the two runs order each cell's rows: Kendall's τ-b per cell, the leaders and
    the rows that moved (suite.read.compare.rank_agreement, as `battle compare` shows it)."""
    return [f"{base.run_id} → {new.run_id}: {compare.RANK_INTRO}", "",
            *compare.rank_lines(compare.rank_agreement(base, new))]

