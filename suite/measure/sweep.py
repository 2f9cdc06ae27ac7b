"""Sweeps: one catalog variant run with other values of its settings, every combination a row
of its own ("flask-gunicorn-sync workers=8"), measured in the same interleaved rounds as the
others, so "your config was unfair" is answered with data. Always includes the catalog's value,
so that comparison is made. This module makes the rows; suite.read.series reads them back.
"""

from __future__ import annotations

import dataclasses
import itertools

from suite.record.catalog import Setting, Variant, evaluate, setting_order


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
    axes = [sorted(_distinct([*values, defaults[name]]), key=setting_order)
            for name, values in sets.items()]
    combinations = [dict(zip(sets, values)) for values in itertools.product(*axes)]
    return [derive(variant, overrides) for overrides in combinations]


def derive(variant: Variant, overrides: dict[str, Setting]) -> Variant:
    label = " ".join(f"{name}={value}" for name, value in overrides.items())
    return dataclasses.replace(variant, name=f"{variant.name} {label}", base=variant.name,
                               overrides=dict(overrides),
                               originals={k: variant.settings[k] for k in overrides},
                               settings={**variant.settings, **overrides})
