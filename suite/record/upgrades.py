"""The results file's older versions, each read as the next one until it is the current one.

Each `upgrade_vN` reads a version N document as version N + 1 and says, in its docstring,
what version N + 1 added and what an older file's absence of it means. They work on the JSON
dicts alone (suite.record.results turns the last one into its dataclasses), so a file of any
version loads as the current version, one version at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# The latency keys of a version 4 sample (suite.record.results.LATENCY_KEYS when v4 was
# current): upgrade_v3 writes the shape of the version it upgrades to, whatever later versions
# add.
_LATENCY_KEYS_V4 = ("min", "mean", "stdev", "max", "p50", "p75", "p90", "p99", "p99.9")


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """`data` read as the newest version an upgrade reaches (unchanged if it is already that
    one, or of a version none of them reads: the caller checks the version)."""
    for version, step in UPGRADES.items():
        if data.get("version") == version:
            data = step(data)
    return data


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (one warmup per cell, no resources) as version 2, which added warmups per
    cell, primers, resources per sample, cpu_roles and order."""
    variants = []
    for variant in data.get("variants", []):
        cells = []
        for cell in variant.get("cells", []):
            cell = dict(cell)
            warmup = cell.pop("warmup", None)
            cells.append({**cell, "warmups": [warmup] if warmup else []})
        variants.append({**variant, "cells": cells})
    # v1 runs had no primer and ran variants one after the other.
    profile = ({**data["profile"], "primer_s": 0, "interleave": False}
               if isinstance(data.get("profile"), dict) else data.get("profile"))
    return {**data, "version": 2, "variants": variants, "profile": profile,
            "order": "sequential", "cpu_roles": {}}


def upgrade_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 (no runtime details) as version 3, which added runtime_details (docker: the
    compose tool, images, limits) and each variant's image."""
    return {**data, "version": 3, "runtime_details": {"name": data.get("runtime")}}


def upgrade_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 as version 4, which added measured latency (wrk's coordinated-omission
    correction undone; its corrected figures apart), the failure classes late/lost/body, the
    generator, connections and threads of each sample as fields, the wait for an idle server
    and a second generator's crosschecks. Every v3 sample was made by wrk 4.1 with the old
    Lua script.

    What it printed as latency is wrk's histogram after its coordinated-omission correction,
    which changes the histogram only when the slowest response took at least twice the
    correction interval (runtime / (responses / connections)). Below that the figures were
    measured and stay latency; above it they move to latency_corrected_us and the measured
    latency is unknown. wrk's `timeout` counted late responses (also in `requests`); lost
    requests and wrong bodies were not counted (None)."""
    def sample(old: dict[str, Any]) -> dict[str, Any]:
        args = list(old["wrk_args"])
        option = (lambda name, default: args[args.index(name) + 1] if name in args else default)
        connections, threads = int(option("-c", 0)), int(option("-t", 1))
        timeout = option("--timeout", None)
        errors = {**{k: v for k, v in old["errors"].items() if k != "timeout"},
                  "late": old["errors"]["timeout"], "lost": None, "body": None}
        latency = old["latency_us"]
        requests, duration_us = int(old["requests"]), float(old["duration_s"]) * 1e6
        per_connection = requests // connections if connections else 0
        interval = int(duration_us) // per_connection if per_connection else None
        corrected = (interval is not None and latency.get("max") is not None
                     and latency["max"] >= 2 * interval)
        new = {k: v for k, v in old.items() if k not in ("wrk_args", "errors", "latency_us")}
        return {**new, "generator": "wrk", "connections": connections, "threads": threads,
                "timeout_s": float(timeout.rstrip("s")) if timeout else None,
                "errors": errors, "args": args,
                "latency_us": {k: None for k in _LATENCY_KEYS_V4} if corrected else latency,
                "latency_count": None if corrected else requests - int(errors["late"]),
                "latency_corrected_us": latency if corrected else None}

    def cell(old: dict[str, Any]) -> dict[str, Any]:
        return {**old, "warmups": [sample(s) for s in old.get("warmups", [])],
                "repeats": [sample(s) for s in old.get("repeats", [])]}

    variants = [{**v, "primers": [sample(s) for s in v.get("primers", [])],
                 "cells": [cell(c) for c in v.get("cells", [])]} for v in data.get("variants", [])]
    loadgen = {**data.get("loadgen", {}),
               "latency": "as wrk 4.1 reported it: coordinated-omission corrected where its "
                          "correction applied (those figures kept apart, measured ones unknown)",
               # wrk's timeout (now "late") was counted, though not as a failure.
               "failure_classes": ["connect", "read", "write", "status"],
               "body_check": None}
    return {**data, "version": 4, "variants": variants, "loadgen": loadgen}


# How runs before v5 measured, in the words of the code that made them (v1 to v4 differed only
# where their own fields say so: warmups, primers, generator, failure classes).
_METHOD_BEFORE_V5 = {
    "verification": "answer 200 with `Content-Type: application/json`, and each document's body "
                    "is byte-for-byte the stored document without `_id` (compact JSON). A "
                    "variant that fails is reported as failed, never measured.",
    "generator_threads": "load generator threads = min(connections, CPUs of the load "
                         "generator)",
    "idle_wait": "the suite waited for the server to be idle (two fast `/health` answers)",
}


def upgrade_v4(data: dict[str, Any]) -> dict[str, Any]:
    """Version 4 as version 5, which added the database's added latency as a cell dimension
    (db_latency_ms) with its measured checks and the fail point in `mongo`; memory per role as
    PSS for process trees (the measure named per role); the database's limits only in
    `mongo.container`; the git commit without "-dirty", with `git_dirty` and the diff's hash;
    and `method`, how the run measured, as its methodology text is rendered.

    A v4 file had no added database latency anywhere; its memory was RSS summed over a
    process group (or a container's anonymous memory); its database's limits move from
    runtime_details to mongo.container; its commit's "-dirty" becomes git_dirty; its `method`
    is what the v4 code's methodology said."""
    def usage(role: str, old: dict[str, Any]) -> dict[str, Any]:
        if role == "machine":
            return old
        new = {k: v for k, v in old.items() if k not in ("rss_bytes_max", "rss_bytes_mean",
                                                         "source")}
        return {**new, "memory_bytes_max": old.get("rss_bytes_max"),
                "memory_bytes_mean": old.get("rss_bytes_mean"),
                "memory": "cgroup-anon" if old.get("source") == "cgroup" else "rss"}

    def sample(old: dict[str, Any]) -> dict[str, Any]:
        resources = old.get("resources")
        return {**old, "resources": None if resources is None else {
            role: usage(role, values) for role, values in resources.items()}}

    def cell(old: dict[str, Any]) -> dict[str, Any]:
        return {**old, "db_latency_ms": 0, "db_latency_checks": [],
                **{key: [sample(s) for s in old.get(key, [])]
                   for key in ("warmups", "repeats", "crosschecks")}}

    variants = [{**v, "image": v.get("image") or None,
                 "primers": [sample(s) for s in v.get("primers", [])],
                 "cells": [cell(c) for c in v.get("cells", [])],
                 "rate_cells": [cell(c) for c in v.get("rate_cells", [])]}
                for v in data.get("variants", [])]
    details = dict(data.get("runtime_details") or {})
    if "limits" in details:
        details["limits"] = {k: v for k, v in details["limits"].items() if k != "db"}
    environment = dict(data.get("environment") or {})
    commit = environment.get("git_commit")
    if commit is not None:
        environment.update(git_commit=commit.removesuffix("-dirty"),
                           git_dirty=commit.endswith("-dirty"), git_diff_sha256=None)
    docker = data.get("runtime") == "docker"
    method = {**_METHOD_BEFORE_V5,
              "resources": "CPU/memory of the server, mongod and the load generator sampled "
                           "every 0.5 s ("
                           + ("each container's cgroup" if docker else "process groups in /proc")
                           + "; the generator's CPU from its rusage)."}
    profile = {**data["profile"], "db_latencies_ms": [0]}
    return {**data, "version": 5, "variants": variants, "runtime_details": details,
            "environment": environment, "method": method, "profile": profile,
            "mongo": {**(data.get("mongo") or {}), "fail_point": None}}


def upgrade_v5(data: dict[str, Any]) -> dict[str, Any]:
    """Version 5 as version 6, which added the scenarios: cells of the `write` document, with
    each sample's `writes` (the database's count after it) and the lost-write class; a
    variant's `sweep` (battle sweep) and `deployment` (instances behind nginx); the fail
    point's concurrency probe as a burst's wall time. A v5 file is a v6 file without any of
    them: every new field is optional (its absence is what a v5 run did)."""
    return {**data, "version": 6}


def upgrade_v6(data: dict[str, Any]) -> dict[str, Any]:
    """Version 6 as version 7, which added the plan (`plan`) and the sittings that measured it
    (`sittings`, one per `battle run` or `--resume`, each with its environment, wall and
    counted seconds); per sample its start time, MongoDB's own operation counts around it
    (`database`) and the spread of the connections over the server's worker processes
    (`spread`); a variant's `classification` (framework | baseline); the connection attempts
    the kernel dropped at a full listen queue (`listen_drops`); the profile's precision
    settings and the failed share a healthy cell may have.

    A v6 file is one sitting with none of the new records: its wall time is the run's start
    to its end and its counted time its repeats' own; no plan (made inside the run then), no
    database counts or spreads; the bare ASGI app is the baseline, every other variant a
    framework."""
    variants = [{**v, "classification": "baseline" if v.get("app") == "asgi" else "framework"}
                for v in data.get("variants", [])]
    repeats = [s for v in variants for c in [*v.get("cells", []), *v.get("rate_cells", [])]
               for s in c.get("repeats", [])]
    wall = _seconds_between(data.get("started_at"), data.get("finished_at"))
    sitting = {"started_at": data.get("started_at"), "finished_at": data.get("finished_at"),
               "environment": data.get("environment") or {}, "status": data.get("status"),
               "wall_s": wall, "repeats": len(repeats),
               "counted_s": round(sum(float(s["duration_s"]) for s in repeats), 1)}
    return {**data, "version": 7, "variants": variants, "plan": None, "sittings": [sitting]}


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


# Why Motor's rows are kept, as the catalog's rows say it (every v7 file's Motor rows get it).
MOTOR_END_OF_LIFE = ("Motor reached end of life in May 2026 (PyMongo's async API replaces "
                     "it)")


def upgrade_v7(data: dict[str, Any]) -> dict[str, Any]:
    """Version 7 as version 8, which added the interpreter: each variant's build (default |
    free-threaded), the free-threaded row a GIL twin repeats (`twin_of`), what the server
    reported on /health at verification (`interpreter`: version, free-threaded build, whether
    the GIL was on, its JSON library), and `deprecated` (why a row at end of life is kept); the
    free-threaded interpreter in runtime_details.

    A v7 file is a v8 file whose servers ran on the default build and whose GIL state was not
    read (None); Motor's rows are marked deprecated as the catalog marks them since (every v7
    run was made after Motor's end of life)."""
    variants = [{**v, "deprecated": MOTOR_END_OF_LIFE} if v.get("driver") == "motor" else v
                for v in data.get("variants", [])]
    return {**data, "version": 8, "variants": variants}


def upgrade_v8(data: dict[str, Any]) -> dict[str, Any]:
    """Version 8 as version 9, which added placement (runtime_details.placement: each role's
    engine, machine and the links between them). Every run before placement ran its roles on
    one machine."""
    details = {**data.get("runtime_details", {}), "placement": None}
    return {**data, "version": 9, "runtime_details": details}


def upgrade_v9(data: dict[str, Any]) -> dict[str, Any]:
    """Version 9 as version 10, which added measuring the servers, not the box: each
    variant's interpreter build as the server's own interpreter reported it
    (`interpreter_build`: version, PGO, LTO, shared libpython, GIL, path), the code style its
    app is written in (`code`: sync | async); each repeat's round (`round`: the interleaved
    round it belongs to, for ratios within a round); the run's top groups (`top_groups`) and
    why it stopped (`reason`); the runtime's declared capabilities; each counted repeat's CPU
    calibration and stolen time (`calibration_us`, `steal_s`).

    A v9 file is a v10 file with none of them recorded (None / []). Every v9 local run's
    servers ran on the suite's own interpreter, whose path is runtime_details.python."""
    return {**data, "version": 10, "top_groups": [], "reason": None}


# version -> the function that reads it as the next version, applied in order.
UPGRADES = {1: upgrade_v1, 2: upgrade_v2, 3: upgrade_v3, 4: upgrade_v4, 5: upgrade_v5,
            6: upgrade_v6, 7: upgrade_v7, 8: upgrade_v8, 9: upgrade_v9}
