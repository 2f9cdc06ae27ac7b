"""The rows of a sweep (one variant over values of its settings) and of a deployment (a variant
as 1, 2, 4 instances behind nginx), by cell; and, per cell, how far the best healthy row is from
the catalog's own, beyond noise or not. Pure functions of a results file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from suite.read import significance
from suite.read.analysis import CellSummary, summarize
from suite.record.catalog import setting_order
from suite.record.results import RunResult, VariantResult


@dataclass(frozen=True)
class Row:
    """One combination of a sweep in one cell."""

    label: str                         # "workers=8"
    is_catalog: bool
    summary: CellSummary
    healthy: bool = True               # failed at most the run's threshold of its attempts


@dataclass(frozen=True)
class Lead:
    """In one cell of a sweep: the best combination measured against the catalog's."""

    cell: str                          # "small@200"
    best: Row
    catalog: Row
    ratio: float                       # best ÷ catalog, median successful req/s
    test: significance.Lead | None     # the best over the catalog's (None: the same row)

    @property
    def p(self) -> float | None:
        return self.test.p if self.test else None

    @property
    def p_adjusted(self) -> float | None:
        return self.test.p_adjusted if self.test else None

    @property
    def beyond_noise(self) -> bool:
        return bool(self.test and self.test.beyond_noise)


@dataclass(frozen=True)
class Swept:
    """Every row of one variant's sweep, by cell, and what the catalog's choice is worth."""

    of: str
    settings: tuple[str, ...]
    labels: tuple[str, ...]            # the combinations, in the order they were swept
    catalog: str                       # the label of the catalog's own combination
    cells: dict[str, list[Row]]        # "small@200" -> its rows, in `labels` order
    leads: list[Lead]


def swept(run: RunResult) -> list[Swept]:
    """Each swept variant's rows (one group per instance count behind a balancer)."""
    groups: dict[str, list[VariantResult]] = {}
    for variant in run.variants:
        if variant.sweep is not None:
            # A sweep run behind the balancer is a sweep per instance count.
            deployed_as = (f" ×{variant.deployment.instances} nginx:{variant.deployment.strategy}"
                           if variant.deployment else "")
            groups.setdefault(variant.sweep.of + deployed_as, []).append(variant)
    found = []
    for of, variants in groups.items():
        variants.sort(key=lambda v: tuple(setting_order(x) for x in v.sweep.set.values()))
        found.append(_series(run, of, tuple(variants[0].sweep.set), variants,
                             label=lambda v: v.sweep.label,
                             is_catalog=lambda v: v.sweep.is_catalog))
    return found


def deployed(run: RunResult) -> list[Swept]:
    """Each variant run behind the balancer, by strategy: its rows by instance count."""
    groups: dict[str, list[VariantResult]] = {}
    for variant in run.variants:
        if variant.deployment is not None:
            base = variant.name.rsplit(" ×", 1)[0]
            groups.setdefault(f"{base} nginx:{variant.deployment.strategy}", []).append(variant)
    found = []
    for of, variants in groups.items():
        variants.sort(key=lambda v: v.deployment.instances)
        found.append(_series(run, of, ("instances",), variants,
                             label=lambda v: f"×{v.deployment.instances}",
                             is_catalog=lambda v: False))
    return found


def _series(run: RunResult, of: str, settings: tuple[str, ...], variants: list[VariantResult],
            label, is_catalog) -> Swept:
    cells: dict[str, list[Row]] = {}
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            for conns in run.profile.connections:
                rows = [Row(label(v), is_catalog(v), summary,
                            summary.healthy(run.profile.max_failed_share))
                        for v in variants
                        if (cell := v.cell(doc, conns, ms)) is not None and cell.repeats
                        and (summary := summarize(cell))]
                if rows:
                    cells[rows[0].summary.label] = rows
    catalog = next((label(v) for v in variants if is_catalog(v)), "")
    return Swept(of, settings, tuple(label(v) for v in variants), catalog, cells, _leads(cells))


def _leads(cells: dict[str, list[Row]]) -> list[Lead]:
    leads = []
    for label, rows in cells.items():
        catalog = next((r for r in rows if r.is_catalog), None)
        # The winner is the best healthy combination: one that failed too often is not one.
        ranked = [r for r in rows if r.summary.median_rps is not None and r.healthy]
        if catalog is None or catalog.summary.median_rps is None or not ranked:
            continue
        best = max(ranked, key=lambda r: r.summary.median_rps)
        test = None if best is catalog else significance.lead(best.summary.ok_rps,
                                                             catalog.summary.ok_rps)
        ratio = best.summary.median_rps / catalog.summary.median_rps \
            if catalog.summary.median_rps else float("inf")
        leads.append(Lead(label, best, catalog, ratio, test))
    # One family: the cells of this sweep.
    tests = significance.family([lead.test for lead in leads if lead.test])
    found = iter(tests)
    return [dataclasses.replace(lead, test=next(found)) if lead.test else lead
            for lead in leads]
