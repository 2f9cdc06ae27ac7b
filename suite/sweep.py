"""Sweeps: one catalog variant run with other values of its settings, every combination a row
of its own ("flask-gunicorn-sync workers=8"), measured in the same interleaved rounds as the
others, so "your config was unfair" is answered with data: how far the catalog's own choice is
from the best value measured. Always includes the catalog's value, so that comparison is made.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

from suite import significance
from suite.analysis import CellSummary, summarize
from suite.catalog import Setting, Variant, evaluate
from suite.results import RunResult, VariantResult


class SweepError(ValueError):
    """A sweep that cannot run: a setting the variant does not have, or no value."""


def parse_sets(specs: list[str]) -> dict[str, list[Setting]]:
    """["workers=1,2,4", "threads=8,32"] -> {"workers": [1, 2, 4], "threads": [8, 32]}."""
    found: dict[str, list[Setting]] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name.strip() or not parts:
            raise SweepError(f"--set takes NAME=VALUE[,VALUE...], e.g. workers=1,2,4; got {spec!r}")
        found.setdefault(name.strip(), [])
        for part in parts:
            value = _value(part)
            found[name.strip()] = _distinct([*found[name.strip()], value])
    return found


def _distinct(values: list[Setting]) -> list[Setting]:
    """Each value once, in order; True and 1 are different settings (though equal in Python)."""
    kept: list[Setting] = []
    for value in values:
        if not any(v == value and type(v) is type(value) for v in kept):
            kept.append(value)
    return kept


def _value(text: str) -> Setting:
    """A setting as the catalog would hold it: "4" -> 4, "0.5" -> 0.5, "true" -> True."""
    if text.lstrip("-").isdigit():
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def expand(variant: Variant, sets: dict[str, list[Setting]], *, cpus: int,
           max_connections: int) -> list[Variant]:
    """Every combination of the values as a variant of its own, in the values' order (numbers
    ascending), the catalog's own values added where the sweep left them out."""
    unknown = [name for name in sets if name not in variant.settings]
    if unknown:
        raise SweepError(f"variant {variant.name!r} has no setting {', '.join(map(repr, unknown))} "
                         f"(its settings: {', '.join(variant.settings) or 'none'})")
    names = {"cpus": cpus, "max_connections": max_connections}
    defaults = {name: evaluate(variant.settings[name], names) for name in sets}
    axes = [sorted(_distinct([*values, defaults[name]]), key=_order)
            for name, values in sets.items()]
    combinations = [dict(zip(sets, values)) for values in itertools.product(*axes)]
    return [derive(variant, overrides) for overrides in combinations]


def _order(value: Setting) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def derive(variant: Variant, overrides: dict[str, Setting]) -> Variant:
    label = " ".join(f"{name}={value}" for name, value in overrides.items())
    return dataclasses.replace(variant, name=f"{variant.name} {label}", base=variant.name,
                               overrides=dict(overrides),
                               originals={k: variant.settings[k] for k in overrides},
                               settings={**variant.settings, **overrides})


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
        variants.sort(key=lambda v: tuple(_order(x) for x in v.sweep.set.values()))
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
