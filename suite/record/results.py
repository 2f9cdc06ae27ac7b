"""The results document: one JSON file per run, versioned, numbers typed, rewritten atomically.

Everything a report shows comes from here; nothing here is formatted for display.
Times are ISO 8601 UTC strings, durations seconds, latencies microseconds (the added database
latency of a cell: milliseconds, as it is asked for), sizes bytes. Every record that crosses a
module boundary is a dataclass below; `to_dict`/`from_dict` are the only places that know JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from suite.record import upgrades
from suite.record.profiles import Profile

SCHEMA = "battle.results"
# Older versions are upgraded on load, one version at a time (suite.record.upgrades: each
# upgrade says what its version added).
VERSION = 10
LATENCY_KEYS = ("min", "mean", "stdev", "max", "p50", "p75", "p90", "p99", "p99.9")
# Why a request did not count as a success. connect/read/write: socket errors; status: HTTP
# >= 400; late: a response slower than the timeout; lost: a request still unanswered after the
# timeout when the repeat ended; body: a response whose bytes differ from the verified ones
# (for a write: not 201 with an id).
REQUEST_ERROR_KEYS = ("connect", "read", "write", "status", "late", "lost", "body")
# Writes only (cells of the `write` document): an acknowledged insert missing from the
# database, or a document stored twice (counted after each repeat: Writes).
ERROR_KEYS = (*REQUEST_ERROR_KEYS, "lost-write")
# The client side used at least this share of its CPUs in a repeat (pinned: the load generator
# and mongod on the CPUs they share; unpinned: wrk alone on its threads' CPUs): the client or
# the database, not the server, set that repeat's figure.
CLIENT_BOUND = 0.90

CellStatus = Literal["pending", "measured", "failed", "skipped"]
VariantStatus = Literal["pending", "measured", "failed", "interrupted"]
# "error": stopped by an unexpected exception (a bug or an unhandled failure), partial results.
RunStatus = Literal["running", "complete", "interrupted", "failed", "error"]


class ResultsError(Exception):
    """A results file that cannot be read as this schema."""


def _known(cls, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of `data` that are fields of dataclass `cls` (newer optional keys ignored)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in data.items() if key in names}


def _optional(cls, data: dict[str, Any] | None):
    """A record of dataclass `cls` from its JSON object; None for null (or {} before v5)."""
    return cls(**_known(cls, data)) if data else None


@dataclass
class Usage:
    """CPU and memory of one role (server, mongod, loadgen) during one load-generator run, or
    of the whole machine (role "machine": cpu_cores and cpus only)."""

    cpu_cores: float | None            # mean over the run; 1.0 = one CPU busy throughout
    memory_bytes_max: int | None = None
    memory_bytes_mean: int | None = None
    processes_max: int | None = None
    # What memory_bytes measure: "pss" (proportional set size summed over a process group:
    # shared pages split between the processes sharing them), "pss+rss" (the same, with RSS for
    # a process whose PSS could not be read, e.g. one exiting), "rss" (resident pages summed,
    # shared ones counted once per process: schema v4 and older), "cgroup-anon" (a container's
    # anonymous memory, page cache left out).
    memory: str | None = None
    # The CPUs cpu_cores is out of: the machine's; with pinned roles also the server's and the
    # client side's ("client": load generator + mongod on the CPUs they share).
    cpus: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Usage":
        return cls(**_known(cls, data))


@dataclass
class Writes:
    """What the database held after a write repeat, against what the server acknowledged."""

    acknowledged: int                  # 201 responses whose id the load generator recorded
    found: int                         # of those ids, how many the collection holds
    stored: int                        # documents in the collection (in-flight ones included)
    distinct: int                      # distinct request keys among them

    @property
    def lost(self) -> int:
        """Acknowledged inserts the database does not hold."""
        return self.acknowledged - self.found

    @property
    def duplicated(self) -> int:
        """Documents stored more than once for one request."""
        return self.stored - self.distinct


@dataclass
class DatabaseOps:
    """MongoDB's own count of the operations on the suite's collections while one load
    generator ran (its `top` command, read right before and right after): what the server
    really asked of the database, whatever it answered."""

    finds: int                         # queries on the documents collection
    inserts: int                       # inserts into the write collection
    source: str = "top"                # the command the counts come from

    # A read answered without a find is not a read of the database: below this many finds
    # per successful response the cell fails. The contract asks one per document; the 1%
    # margin is for nothing in particular (every honest server measured here was at 1.00 or
    # above, since a find is counted before its answer leaves mongod) and fails any server
    # that skips the database for more than one read in a hundred.
    FINDS_PER_READ: ClassVar[float] = 0.99

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DatabaseOps":
        return cls(**_known(cls, data))


@dataclass
class Spread:
    """How a repeat's connections sat on the server's worker processes, read once from /proc
    half-way through it: established connections to the server's port owned by each worker
    (most first), and those no process had accepted yet (in the listen queue)."""

    workers: list[int]
    queued: int
    at_s: float                        # seconds into the execution when it was read
    # Accepted, but held by no worker by the time their descriptors were read (a connection
    # opened and closed within the read: servers without keep-alive).
    passing: int = 0

    @property
    def total(self) -> int:
        return sum(self.workers) + self.queued + self.passing

    @property
    def busiest_share(self) -> float | None:
        """The busiest worker's share of the accepted connections (None: none accepted)."""
        accepted = sum(self.workers)
        return self.workers[0] / accepted if accepted and self.workers else None

    @property
    def imbalance(self) -> float | None:
        """The busiest worker's connections over an even share (1.0: even; None: one worker
        or none accepted)."""
        share = self.busiest_share
        return None if share is None or len(self.workers) < 2 else share * len(self.workers)

    @property
    def text(self) -> str:
        extra = [f"+{n} {what}" for n, what in ((self.queued, "queued"),
                                                 (self.passing, "in passing")) if n]
        return "/".join(str(n) for n in self.workers) + (f" ({', '.join(extra)})"
                                                           if extra else "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Spread":
        return cls(workers=[int(n) for n in data["workers"]], queued=int(data["queued"]),
                   at_s=float(data["at_s"]), passing=int(data.get("passing", 0)))


@dataclass
class DbLatencyCheck:
    """The database's added latency as the suite measured it, right after setting the fail
    point: sequential finds alternately with and without it, and a burst of concurrent ones."""

    requested_ms: int
    added_ms: float                    # median over pairs of (with - without) find time
    without_p50_ms: float
    with_p50_ms: float
    finds: int                         # pairs measured
    # Before the run only: finds sent at once, each on its own connection, with the fail
    # point blocking concurrent_block_ms (at least 10); their median time, and the burst's
    # wall time (about one block when nothing queues, concurrent x block when all do).
    concurrent: int | None = None
    concurrent_block_ms: int | None = None
    concurrent_p50_ms: float | None = None
    concurrent_wall_ms: float | None = None
    # Before the run only: mongod's CPU per sequential find without and with the fail point, in
    # us (serverStatus): what the model itself costs the shared CPUs (it logs every blocked find).
    mongod_cpu_us_per_find_without: float | None = None
    mongod_cpu_us_per_find_with: float | None = None

    # Below this share of the latency asked for, the fail point is not doing its job.
    ENOUGH: ClassVar[float] = 0.9

    @property
    def fail_point_cpu_us(self) -> tuple[float, float] | None:
        """mongod's CPU per find (without, with) the fail point; None when it was not read."""
        without, with_ = self.mongod_cpu_us_per_find_without, self.mongod_cpu_us_per_find_with
        return None if without is None or with_ is None else (without, with_)

    @property
    def short(self) -> bool:
        """Added less than the latency asked for (a nearer database than the cell's label)."""
        return self.added_ms < self.ENOUGH * self.requested_ms

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DbLatencyCheck":
        return cls(**_known(cls, data))


@dataclass
class Sample:
    """One load-generator execution: what it counted, and how it was invoked."""

    generator: str                     # "wrk" or "oha" (suite.measure.loadgen.GENERATORS)
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
    # (suite.measure.verify.wait_quiet); None: not waited (older versions, primers).
    quiet_wait_s: float | None = None
    # CPU and memory per role during the run: server, mongod, loadgen, and the machine.
    resources: dict[str, Usage] | None = None
    writes: Writes | None = None       # write cells: the database's count after the repeat
    started_at: str | None = None      # when the execution started (ISO 8601 UTC)
    database: DatabaseOps | None = None   # MongoDB's own counts during the execution
    spread: Spread | None = None       # the connections over the server's workers
    # Connection attempts the kernel dropped while it ran because a listen queue was full
    # (TcpExt ListenDrops of the server's network namespace): retried by the clients after 1,
    # 3, 7 s, they are latency tails that grow with a repeat's length.
    listen_drops: int | None = None
    # The interleaved round this counted repeat belongs to (1: the first base round; precision
    # rounds continue the count): every variant measured in a round ran under the same machine
    # conditions, so a ratio within a round cancels what the machine did to the whole round.
    # None: not recorded (before v10), warmups, primers and crosschecks.
    round: int | None = None
    # How fast the machine's CPUs were as the repeat started (suite.measure.calibration): per
    # CPU, the median µs of a fixed block of interpreted work run on it right before; and the
    # seconds the hypervisor stole from each CPU while it ran. None: not recorded (runs before
    # them, warmups, crosschecks, engines on other machines).
    calibration_us: dict[str, float] | None = None
    steal_s: dict[str, float] | None = None

    @property
    def finds_per_ok(self) -> float | None:
        """MongoDB finds per successful response (None: not counted, or no success)."""
        if self.database is None or not self.ok_requests:
            return None
        return self.database.finds / self.ok_requests

    @property
    def inserts_per_ok(self) -> float | None:
        """MongoDB inserts per successful (acknowledged and found) write."""
        if self.database is None or not self.ok_requests:
            return None
        return self.database.inserts / self.ok_requests

    def failed(self, key: str) -> int:
        return self.errors.get(key) or 0

    @property
    def ok_requests(self) -> int:
        # Every response counts in `requests`: errors by status, late or wrong bytes are not
        # successes, nor an acknowledged write the database lost or stored twice. A late
        # response with an error status is subtracted twice (conservative).
        return max(0, self.requests - self.failed("status") - self.failed("late")
                   - self.failed("body") - self.failed("lost-write"))

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

    def usage(self, role: str) -> Usage | None:
        return (self.resources or {}).get(role)

    @property
    def client_bound(self) -> bool:
        """The client side had no headroom: pinned, the load generator and mongod used at
        least CLIENT_BOUND of the CPUs they shared ("client", recorded by the runner);
        unpinned (no such record), the load generator at least CLIENT_BOUND of its threads'
        CPUs."""
        client = self.usage("client")
        if client is not None and client.cpu_cores is not None and client.cpus:
            return client.cpu_cores >= CLIENT_BOUND * client.cpus
        loadgen = self.usage("loadgen")
        return (loadgen.cpu_cores or 0) >= CLIENT_BOUND * self.threads if loadgen else False

    def cpu_us_per_ok(self, role: str) -> float | None:
        """CPU time the role spent per successful request, µs (None: not sampled, or no
        success)."""
        usage = self.usage(role)
        if usage is None or usage.cpu_cores is None or not self.ok_requests:
            return None
        return usage.cpu_cores * self.duration_s / self.ok_requests * 1e6

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sample":
        def latency(values: dict | None) -> dict[str, float | None] | None:
            return None if values is None else {
                key: _opt_float(values.get(key)) for key in LATENCY_KEYS}

        resources = data.get("resources")
        return cls(generator=data["generator"], connections=int(data["connections"]),
                   threads=int(data["threads"]), timeout_s=_opt_float(data["timeout_s"]),
                   requests=int(data["requests"]), bytes=int(data["bytes"]),
                   duration_s=float(data["duration_s"]),
                   # lost-write exists for write samples only; every other class always.
                   errors={key: _opt_int(data["errors"].get(key)) for key in ERROR_KEYS
                           if key in REQUEST_ERROR_KEYS or key in data["errors"]},
                   latency_us=latency(data["latency_us"]),
                   latency_count=_opt_int(data.get("latency_count")),
                   args=list(data["args"]), raw_output=str(data["raw_output"]),
                   latency_corrected_us=latency(data.get("latency_corrected_us")),
                   body_checked=_opt_int(data.get("body_checked")),
                   sockets=data.get("sockets"), rate=_opt_float(data.get("rate")),
                   quiet_wait_s=_opt_float(data.get("quiet_wait_s")),
                   unsent=_opt_int(data.get("unsent")),
                   resources=None if resources is None else {
                       role: Usage.from_dict(usage) for role, usage in resources.items()},
                   writes=_optional(Writes, data.get("writes")),
                   started_at=data.get("started_at"),
                   database=_optional(DatabaseOps, data.get("database")),
                   spread=None if data.get("spread") is None else Spread.from_dict(data["spread"]),
                   listen_drops=_opt_int(data.get("listen_drops")),
                   round=_opt_int(data.get("round")),
                   calibration_us=_opt_floats(data.get("calibration_us")),
                   steal_s=_opt_floats(data.get("steal_s")))


def _opt_floats(values: dict | None) -> dict[str, float] | None:
    return None if values is None else {str(key): float(v) for key, v in values.items()}


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass
class Cell:
    """variant × document × connections × the database's added latency: N counted repeats,
    each after an uncounted warmup."""

    doc: str
    connections: int
    status: CellStatus = "pending"     # measured: at least one repeat
    # Open loop: the request rate asked for, as given ("800" req/s, or "50%" of the closed-loop
    # capacity this run measured for the same document and connections); None: closed loop.
    rate: str | None = None
    reason: str | None = None
    # Milliseconds every find waited inside MongoDB (a fail point) while this
    # cell was measured, as asked for; 0: MongoDB as it is. The measured value, each time the
    # fail point was set for this cell, is in db_latency_checks.
    db_latency_ms: int = 0
    db_latency_checks: list[DbLatencyCheck] = field(default_factory=list)
    warmups: list[Sample] = field(default_factory=list)
    repeats: list[Sample] = field(default_factory=list)
    # Runs of the run's second load generator (`--crosscheck`), each right after the repeat
    # of the same number; never part of the cell's figures.
    crosschecks: list[Sample] = field(default_factory=list)

    @property
    def failed_share(self) -> float:
        """Failed attempts over attempts, pooled over every counted repeat (0.0: none)."""
        attempts = sum(s.attempts for s in self.repeats)
        return sum(s.failed_attempts for s in self.repeats) / attempts if attempts else 0.0

    @property
    def label(self) -> str:
        """"small@200", "small@200+5ms" (database latency), "small@200 rate 50%"."""
        text = f"{self.doc}@{self.connections}"
        if self.db_latency_ms:
            text += f"+{self.db_latency_ms}ms"
        return text + (f" rate {self.rate}" if self.rate else "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Cell":
        return cls(doc=data["doc"], connections=int(data["connections"]), status=data["status"],
                   rate=data.get("rate"), reason=data.get("reason"),
                   db_latency_ms=int(data.get("db_latency_ms", 0)),
                   db_latency_checks=[DbLatencyCheck.from_dict(c)
                                      for c in data.get("db_latency_checks", [])],
                   warmups=[Sample.from_dict(s) for s in data.get("warmups", [])],
                   repeats=[Sample.from_dict(s) for s in data.get("repeats", [])],
                   crosschecks=[Sample.from_dict(s) for s in data.get("crosschecks", [])])


@dataclass
class VerificationCheck:
    """One verification check, with the reason when it failed."""

    name: str
    passed: bool
    detail: str = ""


@dataclass
class Image:
    """The docker runtime's image of a variant, as built for the run."""

    name: str
    id: str
    base: str | None = None
    base_id: str | None = None
    build_base: str | None = None
    offline: bool = False              # packages from the local wheelhouse only
    python: str | None = None
    nofile: list[int] | None = None    # open-files limit (soft, hard) a server gets in it
    build_s: float | None = None


@dataclass
class Sweep:
    """A row of a sweep: the catalog variant it comes from, the settings it set, and the
    catalog's own values of those (resolved for the run)."""

    of: str
    set: dict[str, Any]
    catalog: dict[str, Any]

    @property
    def is_catalog(self) -> bool:
        return self.set == self.catalog

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.set.items())


@dataclass
class Deployment:
    """A row that ran as N instances of its variant behind a balancer."""

    instances: int
    balancer: str                      # "nginx"
    strategy: str                      # round_robin | least_conn | random
    version: str
    config: str                        # the balancer's configuration, as the suite wrote it
    image: str | None = None           # docker: the balancer's image and its ID

    @property
    def ejects_failed_instances(self) -> bool:
        """Whether nginx took an instance out of rotation after a failed request (its default
        passive health check, max_fails=1 for 10 s), as the suite's first configurations let it;
        later ones say max_fails=0 on every instance."""
        return "max_fails=0" not in self.config


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
    status: VariantStatus = "pending"
    reason: str | None = None
    log: str | None = None             # server log, relative to the results file
    image: Image | None = None         # docker only
    verification: list[VerificationCheck] = field(default_factory=list)
    primers: list[Sample] = field(default_factory=list)  # one per server start, not counted
    cells: list[Cell] = field(default_factory=list)
    rate_cells: list[Cell] = field(default_factory=list)   # open loop, after the closed-loop ones
    sweep: Sweep | None = None         # a row of `battle sweep`
    deployment: Deployment | None = None   # instances behind a balancer (--balancer)
    # "framework": a stack one deploys; the others are shown apart and never recommended
    # (TechEmpower's full/micro/platform): "baseline" (the bare ASGI callable), "reference"
    # (another language's stack: Node.js, the JVM), "ceiling" (the compiled server).
    classification: str = "framework"
    # The interpreter the catalog asked for ("default" | "free-threaded", or a reference row's
    # toolchain: "node" | "jvm" | "native"; its /health keys are then
    # suite.measure.verify.TOOLCHAIN_KEYS, and interpreter_build its toolchain's), the free-threaded
    # row this one repeats with the GIL forced on (a GIL twin), and the interpreter as the
    # server reported it at verification (suite.measure.verify.INTERPRETER_KEYS: implementation,
    # python, free_threaded, gil, json); None: not read (before v8).
    build: str = "default"
    twin_of: str | None = None
    interpreter: dict[str, Any] | None = None
    # Why a row at end of life (its driver or server) is kept; None: alive.
    deprecated: str | None = None
    # The interpreter the server ran on, as that interpreter describes its own build
    # (suite.measure.interpreters.build_of: path, version, pgo, lto, shared_libpython,
    # gil_disabled, config_args, production); None: not recorded (before v10, or not Python).
    interpreter_build: dict[str, Any] | None = None
    # How the app's handlers are written: "sync" (plain `def` views: WSGI, gevent-patched or a
    # thread pool) or "async" (`async def`); None: not recorded (before v10).
    code: str | None = None

    @property
    def gil_expected(self) -> bool:
        return self.build != "free-threaded" or self.twin_of is not None

    def cell(self, doc: str, connections: int, db_latency_ms: int = 0) -> Cell | None:
        return next((c for c in self.cells if c.doc == doc and c.connections == connections
                     and c.db_latency_ms == db_latency_ms), None)

    def all_cells(self) -> list[Cell]:
        """The closed-loop cells, then the open-loop (rate) cells."""
        return [*self.cells, *self.rate_cells]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VariantResult":
        return cls(**{**data,
                      "image": _optional(Image, data.get("image")),
                      "sweep": _optional(Sweep, data.get("sweep")),
                      "deployment": _optional(Deployment, data.get("deployment")),
                      "verification": [VerificationCheck(**c) for c in data.get("verification", [])],
                      "primers": [Sample.from_dict(s) for s in data.get("primers", [])],
                      "cells": [Cell.from_dict(c) for c in data.get("cells", [])],
                      "rate_cells": [Cell.from_dict(c) for c in data.get("rate_cells", [])]})


@dataclass
class DbContainer:
    """The docker runtime's MongoDB container, and its limits (the database's only record
    of them)."""

    image: str
    image_id: str | None = None
    cpuset: str | None = None
    memory: str | None = None


@dataclass
class MongoInfo:
    """The MongoDB a run read from, and how the suite prepared it."""

    url: str = ""                      # password redacted
    embedded: bool = False             # started by the suite's runtime (not --mongo-url)
    binary: str | None = None          # the mongod binary, or its image
    version: str | None = None
    database: str | None = None
    collection: str | None = None
    bson_bytes: dict[str, int] = field(default_factory=dict)
    json_bytes: dict[str, int] = field(default_factory=dict)
    container: DbContainer | None = None
    # The fail point that adds latency to every find, as configured (mode aside); None: the
    # run asked for no added latency.
    fail_point: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MongoInfo":
        return cls(**{**_known(cls, data),
                      "container": _optional(DbContainer, data.get("container"))})


@dataclass
class RuntimeDetails:
    """What the runtime recorded about itself: the local interpreter, or docker's engine,
    Compose, image set and the servers' limits."""

    name: str = "local"
    python: str | None = None          # local: the interpreter servers run with
    engine: str | None = None          # docker from here on
    compose: dict[str, Any] | None = None   # command, version, file, project
    images: str | None = None          # image set: registry | offline
    images_source: str | None = None
    bases: dict[str, str] = field(default_factory=dict)
    limits: dict[str, dict[str, str]] = field(default_factory=dict)  # "server": cpuset, memory
    network: str | None = None
    orphans_removed: list[str] = field(default_factory=list)
    # local, when free-threaded rows ran: that interpreter and its own `-VV` line.
    free_threaded_python: str | None = None
    free_threaded_version: str | None = None
    # A placed run (--hosts, suite.measure.placement): each role's engine, address and machine,
    # the links between them as measured, and the image IDs each engine ran. None: one engine.
    placement: dict[str, Any] | None = None
    # What the runtime can do (pinning, an external database, deployments, generators, writes,
    # free-threaded rows, the connections' spread, local ports), as it declared it; None:
    # not recorded (before v10).
    capabilities: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RuntimeDetails":
        return cls(**_known(cls, data))


@dataclass
class Sitting:
    """One `battle run` (or `--resume`) that measured part of a run: where and how long."""

    started_at: str
    environment: dict[str, Any]        # the machine as this sitting found it
    finished_at: str | None = None
    status: str = "running"            # how the sitting ended: RunStatus
    wall_s: float | None = None        # from the first server start to the end
    counted_s: float = 0.0             # counted repeats' own seconds (crosschecks apart)
    repeats: int = 0                   # counted repeats made in this sitting
    pid: int | None = None             # the process that ran it (a resume refuses a live one)

    @property
    def counted_share(self) -> float | None:
        """Counted seconds over wall seconds: what share of the sitting measured."""
        return self.counted_s / self.wall_s if self.wall_s else None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Sitting":
        return cls(**_known(cls, data))


@dataclass
class RunResult:
    run_id: str
    started_at: str
    profile: Profile
    runtime: str
    argv: list[str]
    environment: dict[str, Any]        # machine, versions, limits: see suite/measure/environment.py
    mongo: MongoInfo
    loadgen: dict[str, Any]            # the generator of every repeat, and how it measured
    variants: list[VariantResult] = field(default_factory=list)
    crosscheck: dict[str, Any] | None = None  # the second generator, when one ran
    open_loop: dict[str, Any] | None = None   # the generator of the open-loop cells
    cpu_roles: dict[str, list[int]] = field(default_factory=dict)  # role -> CPUs it was pinned to
    order: str = "interleaved"         # interleaved: round r runs every variant once
    runtime_details: RuntimeDetails = field(default_factory=RuntimeDetails)
    # How this run measured, in the words its report's methodology uses, as the run wrote them:
    # recorded, so a report regenerated later describes the run, not today's code.
    method: dict[str, str] = field(default_factory=dict)
    status: RunStatus = "running"
    finished_at: str | None = None
    # The plan the run follows (suite.record.plan.Plan.to_dict), and each sitting that
    # measured it.
    plan: dict[str, Any] | None = None
    sittings: list[Sitting] = field(default_factory=list)
    # Per cell of the answer: the leader and every stack not separated from it beyond noise,
    # each with its ratio to the leader and a 95% interval (suite.record.groups); [] when not
    # computed (before v10, or no cell with two measured stacks).
    top_groups: list[dict[str, Any]] = field(default_factory=list)
    # Why the run stopped before its plan's end (a dependency of the suite died: mongod, the
    # load generator); None: it did not, or interrupted (status says so).
    reason: str | None = None
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
        data = upgrades.upgrade(data)
        if data.get("version") != VERSION:
            raise ResultsError(f"results version {data.get('version')!r} is not supported "
                               f"(this suite reads version {VERSION})")
        fields = {k: v for k, v in data.items()
                  if k not in ("profile", "variants", "mongo", "runtime_details", "sittings")}
        return cls(**fields, profile=Profile.from_dict(data["profile"]),
                   sittings=[Sitting.from_dict(s) for s in data.get("sittings", [])],
                   mongo=MongoInfo.from_dict(data.get("mongo") or {}),
                   runtime_details=RuntimeDetails.from_dict(data.get("runtime_details") or {}),
                   variants=[VariantResult.from_dict(v) for v in data.get("variants", [])])


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
        os.chmod(tmp, 0o644)   # mkstemp's 0600 would keep a published file from its readers
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
