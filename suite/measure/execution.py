"""One execution of a load generator against a started server (a warmup, a counted repeat or
its crosscheck) with everything measured around it, and a counted repeat's record in its cell.

Around every execution: the server and MongoDB idle first; for the counted ones, MongoDB's
own operation counts, the kernel's listen drops, the connections' spread half-way through and
the scenario's own counts after it; right before a counted repeat, the machine's speed on the
roles' CPUs and, while it runs, the time stolen from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from suite.measure import calibration
from suite.measure.database import DependencyDied, RunDatabase
from suite.measure.loadgen import GeneratorDied
from suite.measure.procs import check_interrupted
from suite.measure.runtime import Runtime, Server, Watch, role_cpus
from suite.measure.scenarios import Scenario
from suite.measure.verify import wait_quiet
from suite.record import documents
from suite.record.results import Cell, DatabaseOps, Sample, Sitting, Usage

# What an execution is for: its purpose decides what is measured around it.
WARMUP, REPEAT, CROSSCHECK = "warmup", "repeat", "crosscheck"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Target:
    """A started server as the executions of one session load it."""
    server: Server
    slug: str                   # the variant's, for the raw output's folder
    watch: dict[str, Watch]     # role -> what the resource sampler reads

    def url(self, doc: str) -> str:
        return f"http://{self.server.host}:{self.server.port}{documents.path(doc)}"


class Executor:
    """Makes executions for one run: where their raw output goes, the bytes responses are
    compared with, the database watched around them and the CPUs timed before them."""

    def __init__(self, runtime: Runtime, db: RunDatabase, *, artifacts: Path, out_dir: Path,
                 ready_timeout_s: float):
        self.runtime, self.db = runtime, db
        self.artifacts, self.out_dir = artifacts, out_dir
        self.ready_timeout_s = ready_timeout_s
        # The CPUs the roles run on, each timed before every counted repeat.
        self.calibrated_cpus = sorted({cpu for role in ("server", "loadgen", "db")
                                       for cpu in role_cpus(runtime.cpu_roles, role)})

    def expected_body(self, doc: str) -> Path:
        """The verified bytes of `doc`, in a file the load generator compares responses with."""
        path = self.artifacts / "expected" / f"{doc}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(documents.expected_bodies()[doc])
        return path

    def raw_path(self, slug: str, name: str) -> Path:
        return self.artifacts / "raw" / slug / f"{name}.txt"

    def execute(self, generator, scenario: Scenario, target: Target, cell: Cell,
                duration_s: int, name: str, *, purpose: str = REPEAT,
                rate: float | None = None, round_no: int | None = None) -> Sample:
        """One execution of `generator` on `cell`, its raw output in `name` (a file stem)."""
        server = target.server
        # Every execution starts on a server that has finished with the last one.
        waited = wait_quiet(server, self.ready_timeout_s)
        waited += self.db.wait_quiet(self.ready_timeout_s)
        raw = self.raw_path(target.slug, name)
        load = {"rate": rate} if rate else {}
        load.update(scenario.load(raw))
        counted = purpose != WARMUP
        if counted and self.runtime.capabilities.connection_spread:
            load["read_spread"] = server.connection_spread
        before = self.db.counts() if counted else None
        drops = server.listen_drops() if counted else None
        # The machine's speed right before a counted repeat, on its idle CPUs.
        timed = purpose == REPEAT and self.runtime.capabilities.same_machine
        speed = calibration.calibrate(self.calibrated_cpus) if timed else None
        stolen = calibration.steal_ticks() if timed else None
        started_at = now()
        expect = self.expected_body(cell.doc) if scenario.expects_body else None
        try:
            sample = generator.run(target.url(cell.doc), cell.connections, duration_s, raw,
                                   self.out_dir, target.watch, expect, **load)
        except GeneratorDied as exc:
            check_interrupted()   # killed by our own Ctrl-C: an interrupt, not a death
            raise DependencyDied(f"the load generator died: {exc}") from None
        # The sample is discarded (never recorded) when mongod died during it.
        self.db.check_alive()
        after = self.db.counts() if before is not None else None
        add_cpu_shares(sample, self.runtime.cpu_roles)
        if purpose == REPEAT:
            sample.round = round_no
        if timed:
            sample.calibration_us = speed
            sample.steal_s = calibration.stolen_s(stolen, calibration.steal_ticks())
        dropped = server.listen_drops() if drops is not None else None
        sample.started_at, sample.quiet_wait_s = started_at, waited
        if dropped is not None:
            sample.listen_drops = dropped - drops
        if before is not None and after is not None:
            sample.database = DatabaseOps(finds=after[0] - before[0],
                                          inserts=after[1] - before[1])
        scenario.count(sample, load)
        return sample


def record_repeat(scenario: Scenario, cell: Cell, sample: Sample, sitting: Sitting) -> None:
    """A counted repeat joins its cell and the sitting's count; the cell fails when the
    scenario says the repeat does not stand (a server that did not really read)."""
    cell.repeats.append(sample)
    cell.status = "measured"
    sitting.counted_s = round(sitting.counted_s + sample.duration_s, 1)
    sitting.repeats += 1
    unread = scenario.unread(cell, sample)
    if unread:
        cell.status, cell.reason = "failed", unread


def add_cpu_shares(sample: Sample, cpu_roles: dict[str, list[int]]) -> None:
    """With the roles pinned, each repeat's CPU use against the CPUs each side had: the server
    ("server", its CPU count set) and the client side ("client": the load generator and mongod
    on the CPUs they share), so a repeat whose client side had no headroom is known as
    client-bound (suite.read.analysis), not taken for the server's figure."""
    if not cpu_roles or not sample.resources:
        return
    server = sample.resources.get("server")
    if server is not None and cpu_roles.get("server"):
        server.cpus = len(cpu_roles["server"])
    client_cpus = set(cpu_roles.get("loadgen", ())) | set(cpu_roles.get("db", ()))
    parts = [sample.resources[r].cpu_cores for r in ("loadgen", "mongod")
             if r in sample.resources and sample.resources[r].cpu_cores is not None]
    if client_cpus and parts:
        sample.resources["client"] = Usage(cpu_cores=round(sum(parts), 3),
                                           cpus=len(client_cpus))
