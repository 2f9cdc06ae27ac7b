"""Whether an interrupted run can be continued here: the same machine, code and catalog, and the
same plan. A resumed run's numbers sit in one results file with the earlier sittings', so they
must have been measured under the same conditions; what differs is said in one line."""

from __future__ import annotations

from typing import Any

from suite.record.results import RunResult

# What must not change between two sittings of one run: the machine (the numbers compare only
# on one), the interpreter, and the code that measures (a commit, and a changed tree's diff).
MACHINE_KEYS = ("cpu_model", "cpu_count", "memory_bytes", "kernel", "python")
CODE_KEYS = ("git_commit", "git_dirty", "git_diff_sha256")


def environment_differences(recorded: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Each difference as "key: recorded -> now" (empty when the sittings may be one run)."""
    return [f"{key} {recorded.get(key)!r} -> {now.get(key)!r}"
            for key in (*MACHINE_KEYS, *CODE_KEYS) if recorded.get(key) != now.get(key)]


def variant_differences(run: RunResult, current: dict[str, dict[str, Any]]) -> list[str]:
    """What differs between each variant as the run recorded it and as the catalog and this
    machine resolve it now: `current` maps a name to its "settings" and "packages" (versions;
    empty where the runtime reads them only once it has built an image)."""
    found = []
    for record in run.variants:
        now = current.get(record.name)
        if now is None:
            found.append(f"{record.name} is no longer in the catalog")
            continue
        settings = {k: (v, now["settings"].get(k)) for k, v in record.settings.items()
                    if now["settings"].get(k) != v}
        settings.update({k: (None, v) for k, v in now["settings"].items()
                         if k not in record.settings})
        if settings:
            found.append(f"{record.name} settings " + ", ".join(
                f"{k} {old!r} -> {new!r}" for k, (old, new) in settings.items()))
        packages = {k: (v, now["packages"].get(k)) for k, v in record.packages.items()
                    if now["packages"] and now["packages"].get(k) != v}
        if packages:
            found.append(f"{record.name} packages " + ", ".join(
                f"{k} {old} -> {new}" for k, (old, new) in packages.items()))
    return found


# What a plan recorded before it had the key means the same as this value: open-loop cells
# for every variant, no capacity phase.
PLAN_DEFAULTS = {"rates_for": "every", "capacity_stacks": 0}


def plan_differences(recorded: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
    """The plan rebuilt from the run's own options against the one it recorded (who gets the
    open-loop cells, and how many stacks per cell the capacity phase measures, included: a
    resume in that phase must choose as the first sitting would have)."""
    if recorded is None:
        return ["the run recorded no plan (made by an older suite)"]
    keys = ("variants", "cells", "rounds", "counted_repeats", "crosscheck", "catalog_sha256",
            "rates_for", "capacity_stacks")
    then = {key: recorded.get(key, PLAN_DEFAULTS.get(key)) for key in keys}
    later = {key: now.get(key, PLAN_DEFAULTS.get(key)) for key in keys}
    return [f"{key} {then[key]!r} -> {later[key]!r}" for key in keys
            if then[key] != later[key]]
