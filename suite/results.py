"""The results document: one JSON file per run, versioned, numbers typed, rewritten atomically.

Everything a report shows comes from here; nothing here is formatted for display.
Times are ISO 8601 UTC strings, durations seconds, latencies microseconds, sizes bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from suite.profiles import Profile

SCHEMA = "battle.results"
# v2: warmups per cell, primers, resources per sample, cpu_roles, order.
# v3: runtime_details (docker: compose tool, images, limits) and each variant's image.
# v4: measured latency (wrk's coordinated-omission correction undone; its corrected figures
#     apart), failure classes late/lost/body, the generator, connections and threads of each
#     sample as fields, the wait for an idle server, a second generator's crosschecks. Older versions are upgraded on load, one version at a time.
VERSION = 4
LATENCY_KEYS = ("min", "mean", "stdev", "max", "p50", "p75", "p90", "p99", "p99.9")
# Why a request did not count as a success. connect/read/write: socket errors; status: HTTP
# >= 400; late: a response slower than the timeout; lost: a request still unanswered after the
# timeout when the repeat ended; body: a response whose bytes differ from the verified ones.
ERROR_KEYS = ("connect", "read", "write", "status", "late", "lost", "body")


class ResultsError(Exception):
    """A results file that cannot be read as this schema."""


@dataclass
class Sample:
    """One load-generator execution: what it counted, and how it was invoked."""

    generator: str                     # "wrk" or "oha" (suite.loadgen.GENERATORS)
    connections: int
    threads: int                       # generator threads (wrk -t)
    timeout_s: float | None            # a response slower than this is late
    requests: int                      # responses received, any status, early or late
    bytes: int
    duration_s: float
    # Per class of ERROR_KEYS; None: not counted (an older results version, or a generator
    # that cannot tell that class apart).
    errors: dict[str, int | None]
    # Measured response times (µs) of the responses that arrived within the timeout, any
    # status; None when there was none. latency_count: how many there were (None: unknown).
    latency_us: dict[str, float | None]
    latency_count: int | None
    args: list[str]                    # the generator's command line, after its binary
    raw_output: str                    # path of its own output, relative to the results file
    # wrk's coordinated-omission corrected figures, when its correction changed anything.
    # Never mixed with latency_us; None when absent.
    latency_corrected_us: dict[str, float | None] | None = None
    body_checked: int | None = None    # responses compared with the verified bytes
    sockets: dict[str, int] | None = None  # wrk: its sockets when the repeat ended
    rate: float | None = None          # open loop: the intended request rate; None: closed loop
    # Open loop: requests the schedule called for that were never sent (every connection busy
    # until the run ended). Those due more than the timeout before the end are also counted
    # as lost; None for a closed loop.
    unsent: int | None = None
    # Seconds the suite waited, before this run, for the server to finish the previous load
    # (suite.verify.wait_quiet); None: not waited (older versions, primers).
    quiet_wait_s: float | None = None
    # CPU (cores) and memory per role during the run: server, mongod, loadgen, machine.
    resources: dict[str, dict[str, float]] | None = None

    def failed(self, key: str) -> int:
        return self.errors.get(key) or 0

    @property
    def ok_requests(self) -> int:
        # Every response counts in `requests`: errors by status, late or wrong bytes are not
        # successes. A late response with an error status is subtracted twice (conservative).
        return max(0, self.requests - self.failed("status") - self.failed("late")
                   - self.failed("body"))

    @property
    def ok_rps(self) -> float:
        return self.ok_requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(v for v in self.errors.values() if v)

    @property
    def attempts(self) -> int:
        """Responses, requests that died on the socket, and requests never answered."""
        return (self.requests + self.failed("connect") + self.failed("read")
                + self.failed("write") + self.failed("lost"))

    @property
    def failed_attempts(self) -> int:
        return min(self.error_count, self.attempts)

    @property
    def error_rate(self) -> float:
        """Failed attempts per attempt, between 0 and 1 (0.0 when nothing was attempted)."""
        return self.failed_attempts / self.attempts if self.attempts else 0.0

    @property
    def latency_count_matches(self) -> bool | None:
        """Whether every response within the timeout has exactly one latency sample
        (None: not known for this sample)."""
        if self.latency_count is None:
            return None
        return self.latency_count == self.requests - self.failed("late")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sample":
        def latency(values: dict | None) -> dict[str, float | None] | None:
            return None if values is None else {
                key: _opt_float(values.get(key)) for key in LATENCY_KEYS}

        return cls(generator=data["generator"], connections=int(data["connections"]),
                   threads=int(data["threads"]), timeout_s=_opt_float(data["timeout_s"]),
                   requests=int(data["requests"]), bytes=int(data["bytes"]),
                   duration_s=float(data["duration_s"]),
                   errors={key: _opt_int(data["errors"].get(key)) for key in ERROR_KEYS},
                   latency_us=latency(data["latency_us"]),
                   latency_count=_opt_int(data.get("latency_count")),
                   args=list(data["args"]), raw_output=str(data["raw_output"]),
                   latency_corrected_us=latency(data.get("latency_corrected_us")),
                   body_checked=_opt_int(data.get("body_checked")),
                   sockets=data.get("sockets"), rate=_opt_float(data.get("rate")),
                   quiet_wait_s=_opt_float(data.get("quiet_wait_s")),
                   unsent=_opt_int(data.get("unsent")),
                   resources=data.get("resources"))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass
class Cell:
    """variant x document x connections: N counted repeats, each after an uncounted warmup."""

    doc: str
    connections: int
    status: str = "pending"            # pending | measured (>= 1 repeat) | failed | skipped
    # Open loop: the request rate asked for, as given ("800" req/s, or "50%" of the closed-loop
    # capacity this run measured for the same document and connections); None: closed loop.
    rate: str | None = None
    reason: str | None = None
    warmups: list[Sample] = field(default_factory=list)
    repeats: list[Sample] = field(default_factory=list)
    # Runs of the run's second load generator (`--crosscheck`), each right after the repeat
    # of the same number; never part of the cell's figures.
    crosschecks: list[Sample] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        return cls(doc=data["doc"], connections=int(data["connections"]), status=data["status"],
                   rate=data.get("rate"), reason=data.get("reason"),
                   warmups=[Sample.from_dict(s) for s in data.get("warmups", [])],
                   repeats=[Sample.from_dict(s) for s in data.get("repeats", [])],
                   crosschecks=[Sample.from_dict(s) for s in data.get("crosschecks", [])])


@dataclass
class Check:
    """One verification check, with the reason when it failed."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class VariantResult:
    name: str
    app: str
    server: str
    worker_model: str
    driver: str
    why: str
    settings: dict[str, Any]
    command: list[str]
    packages: dict[str, str]
    status: str = "pending"            # pending | measured | failed | interrupted
    reason: str | None = None
    log: str | None = None             # server log, relative to the results file
    image: dict[str, Any] = field(default_factory=dict)  # docker: name, id, bases; {} locally
    verification: list[Check] = field(default_factory=list)
    primers: list[Sample] = field(default_factory=list)  # one per server start, not counted
    cells: list[Cell] = field(default_factory=list)
    rate_cells: list[Cell] = field(default_factory=list)   # open loop, after the closed-loop ones

    def cell(self, doc: str, connections: int) -> Cell | None:
        return next((c for c in self.cells if c.doc == doc and c.connections == connections), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VariantResult":
        return cls(**{**data,
                      "verification": [Check(**c) for c in data.get("verification", [])],
                      "primers": [Sample.from_dict(s) for s in data.get("primers", [])],
                      "cells": [Cell.from_dict(c) for c in data.get("cells", [])],
                      "rate_cells": [Cell.from_dict(c) for c in data.get("rate_cells", [])]})


@dataclass
class RunResult:
    run_id: str
    started_at: str
    profile: Profile
    runtime: str
    argv: list[str]
    environment: dict[str, Any]        # machine, versions, limits: see suite/environment.py
    mongo: dict[str, Any]
    loadgen: dict[str, Any]            # the generator of every repeat, and how it measured
    variants: list[VariantResult] = field(default_factory=list)
    crosscheck: dict[str, Any] | None = None  # the second generator, when one ran
    open_loop: dict[str, Any] | None = None   # the generator of the open-loop cells
    cpu_roles: dict[str, list[int]] = field(default_factory=dict)  # role -> CPUs it was pinned to
    order: str = "interleaved"         # interleaved: round r runs every variant once
    runtime_details: dict[str, Any] = field(default_factory=dict)  # what the runtime recorded
    status: str = "running"            # running | complete | interrupted | failed
    finished_at: str | None = None
    schema: str = SCHEMA
    version: int = VERSION

    def variant(self, name: str) -> VariantResult | None:
        return next((v for v in self.variants if v.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["profile"] = self.profile.to_dict()
        # Schema identity first, so `head` on a results file says what it is.
        return {"schema": self.schema, "version": self.version,
                **{k: v for k, v in data.items() if k not in ("schema", "version")}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunResult":
        if data.get("schema") != SCHEMA:
            raise ResultsError(f"not a {SCHEMA} document (schema={data.get('schema')!r})")
        for version, upgrade in UPGRADES.items():
            if data.get("version") == version:
                data = upgrade(data)
        if data.get("version") != VERSION:
            raise ResultsError(f"results version {data.get('version')!r} is not supported "
                               f"(this suite reads version {VERSION})")
        fields = {k: v for k, v in data.items() if k not in ("profile", "variants")}
        return cls(**fields, profile=Profile.from_dict(data["profile"]),
                   variants=[VariantResult.from_dict(v) for v in data.get("variants", [])])


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (one warmup per cell, no resources) as version 2."""
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
    """Version 2 (no runtime details) as version 3."""
    return {**data, "version": 3, "runtime_details": {"name": data.get("runtime")}}


def upgrade_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 as version 4: every sample was made by wrk 4.1 with the old Lua script.

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
                "latency_us": {k: None for k in LATENCY_KEYS} if corrected else latency,
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


# version -> the function that reads it as the next version, applied in order.
UPGRADES = {1: upgrade_v1, 2: upgrade_v2, 3: upgrade_v3}


def save(run: RunResult, path: Path) -> None:
    """Write atomically: a reader (or a crash) never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(run.to_dict(), handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> RunResult:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ResultsError(f"cannot read results {path}: {exc}") from None
    try:
        return RunResult.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"{path} does not match results schema v{VERSION}: {exc!r}") from None
