"""Whether an interrupted run can be continued here: the same machine, code and catalog, and the
same plan. A resumed run's numbers sit in one results file with the earlier sittings', so they
must have been measured under the same conditions; what differs is said in one line
(ResumeRefused). And the options a resumed run takes: the ones it recorded."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

from suite.measure import environment
from suite.measure.scenarios import OPTIONS
from suite.record.results import ResultsError, RunResult, load


class ResumeRefused(Exception):
    """A --resume this run cannot take, in one line (a usage error)."""

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
    for variant in run.variants:
        now = current.get(variant.name)
        if now is None:
            found.append(f"{variant.name} is no longer in the catalog")
            continue
        settings = {k: (v, now["settings"].get(k)) for k, v in variant.settings.items()
                    if now["settings"].get(k) != v}
        settings.update({k: (None, v) for k, v in now["settings"].items()
                         if k not in variant.settings})
        if settings:
            found.append(f"{variant.name} settings " + ", ".join(
                f"{k} {old!r} -> {new!r}" for k, (old, new) in settings.items()))
        packages = {k: (v, now["packages"].get(k)) for k, v in variant.packages.items()
                    if now["packages"] and now["packages"].get(k) != v}
        if packages:
            found.append(f"{variant.name} packages " + ", ".join(
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


# The options that shape a run's plan: a resumed run takes them from its results file, and
# refuses others (dest -> what the message calls it).
PLANNED = {"variants": "variants", "profile": "profile", "docs": "documents",
           "connections": "connection levels", "db_latency": "database latencies",
           "duration": "duration", "warmup": "warmup", "repeats": "repeats", "timeout": "timeout",
           "rate": "rates", "slo": "SLO", "rates_for": "rates for",
           "instances": "instances", "balancer": "balancer",
           "sequential": "order", "loadgen": "load generator", "crosscheck": "crosscheck",
           "runtime": "runtime", "cpus": "CPU pinning", "unpinned": "CPU pinning",
           "mongo_url": "MongoDB",
           "database": "database", "catalog": "catalog",
           **{option.dest: option.what for option in OPTIONS}}


def resumed_args(args: argparse.Namespace, parser: argparse.ArgumentParser
                 ) -> tuple[argparse.Namespace, RunResult]:
    """The options of the run `--resume` names, as it recorded them (parsed by the command's
    `parser`), and the run itself; options given now must agree with them (a resume finishes
    the plan, it makes no other). Refused in one line: ResumeRefused."""
    path = args.out / f"{args.resume}.json"
    if not path.exists():
        raise ResumeRefused(f"--resume {args.resume}: no such run in {args.out} (no {path})")
    try:
        prior = load(path)
    except ResultsError as exc:
        raise ResumeRefused(f"--resume {args.resume}: {exc}") from None
    if prior.status == "complete":
        raise ResumeRefused(f"run {prior.run_id} is complete: nothing to resume")
    running = [s.pid for s in prior.sittings if s.status == "running" and s.pid
               and s.environment.get("hostname") == socket.gethostname()
               and _is_battle(s.pid)]
    if running:
        raise ResumeRefused(f"run {prior.run_id} is still running (process {running[0]}): stop it "
                         "first (Ctrl-C keeps what it measured)")
    recorded = prior.argv[1:]
    if not recorded:
        raise ResumeRefused(f"run {prior.run_id} recorded no command line to resume it with")
    try:
        planned = parser.parse_args(recorded)
    except SystemExit:
        raise ResumeRefused(f"run {prior.run_id} recorded a command line this suite no longer "
                         f"accepts: {' '.join(recorded)}") from None
    defaults = parser.parse_args([args.command])
    asked, default, recorded_options = vars(args), vars(defaults), vars(planned)
    for dest, what in PLANNED.items():
        given = asked.get(dest)
        if given not in (None, [], False, default.get(dest)) \
                and given != recorded_options.get(dest):
            raise ResumeRefused(f"--resume continues run {prior.run_id} as planned, with {what} "
                                f"{_shown(recorded_options.get(dest))}, not {_shown(given)}")
    planned.out, planned.reports, planned.plan = args.out, args.reports, args.plan
    planned.argv, planned.resume = prior.argv[1:], prior.run_id
    # Runs made before pinning became the default recorded no pinning and resume without it.
    if not prior.cpu_roles and not planned.cpus:
        planned.unpinned = True
    return planned, prior


def _is_battle(pid: int) -> bool:
    """Whether process `pid` is a `battle` (python -m suite) still running here."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(part.endswith(b"battle") or part == b"suite" for part in command)


def _shown(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def check_resumable(prior: RunResult, runner) -> None:
    """Refuse, in one line, a resume whose machine, code, catalog or plan differ from the
    run's first sitting."""
    first = prior.sittings[0].environment if prior.sittings else prior.environment
    current = {v.name: {"settings": runner.settings_of(v),
                        "packages": runner.runtime.package_versions(v)
                        if runner.runtime.name == "local" else {}}
               for v in runner.options.variants}
    differences = [*environment_differences(first, environment.collect()),
                   *plan_differences(prior.plan, runner.plan.to_dict()),
                   *variant_differences(prior, current)]
    if differences:
        raise ResumeRefused(f"cannot resume run {prior.run_id} here: " + "; ".join(differences))
