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
# Older versions are upgraded on load.
VERSION = 3
LATENCY_KEYS = ("min", "mean", "stdev", "max", "p50", "p75", "p90", "p99", "p99.9")
ERROR_KEYS = ("connect", "read", "write", "status", "timeout")


class ResultsError(Exception):
    """A results file that cannot be read as this schema."""


@dataclass
class Sample:
    """One wrk execution: what its Lua done() reported, plus how it was invoked."""

    requests: int
    bytes: int
    duration_s: float
    errors: dict[str, int]             # ERROR_KEYS; "status" = HTTP status >= 400
    latency_us: dict[str, float | None]  # LATENCY_KEYS; None when nothing completed
    wrk_args: list[str]
    raw_output: str                    # path of wrk's own output, relative to the results file
    # CPU (cores) and memory per role during the run: server, mongod, loadgen, machine.
    resources: dict[str, dict[str, float]] | None = None

    @property
    def ok_requests(self) -> int:
        # wrk counts every completed response in `requests`, including 4xx/5xx ones.
        return max(0, self.requests - self.errors["status"])

    @property
    def ok_rps(self) -> float:
        return self.ok_requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def attempts(self) -> int:
        # Completed responses plus requests that died on the socket; timeouts are not added:
        # wrk may count a late response both as a request and as a timeout.
        return self.requests + self.errors["connect"] + self.errors["read"] + self.errors["write"]

    @property
    def failed_attempts(self) -> int:
        """Attempts that got no good response: socket errors and HTTP >= 400. Timeouts are not
        in it: wrk counts every stuck connection again at each 2 s check, so a timeout count
        is not a number of requests."""
        return (self.errors["connect"] + self.errors["read"] + self.errors["write"]
                + self.errors["status"])

    @property
    def error_rate(self) -> float:
        """Failed attempts per attempt, between 0 and 1 (0.0 when nothing was attempted)."""
        return self.failed_attempts / self.attempts if self.attempts else 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sample":
        errors = {key: int(data["errors"][key]) for key in ERROR_KEYS}
        latency = {key: _opt_float(data["latency_us"].get(key)) for key in LATENCY_KEYS}
        return cls(requests=int(data["requests"]), bytes=int(data["bytes"]),
                   duration_s=float(data["duration_s"]), errors=errors, latency_us=latency,
                   wrk_args=list(data["wrk_args"]), raw_output=str(data["raw_output"]),
                   resources=data.get("resources"))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class Cell:
    """variant x document x connections: N counted repeats, each after an uncounted warmup."""

    doc: str
    connections: int
    status: str = "pending"            # pending | measured (>= 1 repeat) | failed | skipped
    reason: str | None = None
    warmups: list[Sample] = field(default_factory=list)
    repeats: list[Sample] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        return cls(doc=data["doc"], connections=int(data["connections"]), status=data["status"],
                   reason=data.get("reason"),
                   warmups=[Sample.from_dict(s) for s in data.get("warmups", [])],
                   repeats=[Sample.from_dict(s) for s in data.get("repeats", [])])


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

    def cell(self, doc: str, connections: int) -> Cell | None:
        return next((c for c in self.cells if c.doc == doc and c.connections == connections), None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VariantResult":
        return cls(**{**data,
                      "verification": [Check(**c) for c in data.get("verification", [])],
                      "primers": [Sample.from_dict(s) for s in data.get("primers", [])],
                      "cells": [Cell.from_dict(c) for c in data.get("cells", [])]})


@dataclass
class RunResult:
    run_id: str
    started_at: str
    profile: Profile
    runtime: str
    argv: list[str]
    environment: dict[str, Any]        # machine, versions, limits: see suite/environment.py
    mongo: dict[str, Any]
    loadgen: dict[str, Any]
    variants: list[VariantResult] = field(default_factory=list)
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
        if data.get("version") == 1:
            data = upgrade_v1(data)
        if data.get("version") == 2:
            data = {**data, "version": 3, "runtime_details": {"name": data.get("runtime")}}
        if data.get("version") != VERSION:
            raise ResultsError(f"results version {data.get('version')!r} is not supported "
                               f"(this suite reads version {VERSION})")
        fields = {k: v for k, v in data.items() if k not in ("profile", "variants")}
        return cls(**fields, profile=Profile.from_dict(data["profile"]),
                   variants=[VariantResult.from_dict(v) for v in data.get("variants", [])])


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 (one warmup per cell, no resources) read as version 2."""
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
