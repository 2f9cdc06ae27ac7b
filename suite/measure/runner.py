"""A run: MongoDB up and seeded, then the plan's sessions in order, each a variant started,
verified, measured on its cells and stopped; then precision rounds for noisy cells while the
plan's time lasts; then, when the open-loop rates are for the top group only, the capacity
phase: the rate cells of each cell's leader and the stacks tied with it.

Data flows one way: catalog -> runtime starts a variant -> verify -> load generator -> samples
-> results file. The plan (suite.plan) says what to measure; this module only executes it,
into a results file rewritten after every change, so an interrupted run keeps everything it
measured and `--resume` continues it. Formatting belongs to suite.report.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from suite.measure import calibration, environment
from suite.record import documents, results, stats
from suite.measure.balancer import start_deployment
from suite.record.catalog import DEFAULT_MAX_CONNECTIONS, Variant, evaluate
from suite.measure.dblatency import FailPoint
from suite.measure.loadgen import GeneratorDied, LoadGenError
from suite.measure.mongo import (DEFAULT_DATABASE, MongoError, OpCounter, free_port, ping,
                                 port_is_free, redact, seed)
from suite.record.groups import top_groups
from suite.record.plan import (CellKey, Plan, Session, capacity_sessions, closed_keys, duration,
                               looks, precision_round, rate_keys, schedule)
from suite.measure.procs import check_interrupted
from suite.record.profiles import rate_spec
from suite.measure.resources import SAMPLE_INTERVAL_S
from suite.record.results import (Cell, DatabaseOps, DbLatencyCheck, MongoInfo, RunResult, Sitting,
                           Usage, VariantResult, VerificationCheck)
from suite.measure.runtime import MongoEndpoint, Runtime, Server, ServerFailed, Watch, role_cpus
from suite.measure.verify import (QUIET_FAST_S, QUIET_GAP_S, check_interpreter, check_reads,
                                  check_write, verify,
                                  wait_quiet, wait_ready)

Progress = Callable[[str], None]
# mongod's operation counters must stand still this long before a repeat starts: finds of
# requests abandoned by the last repeat (a server still working through its queue) would
# otherwise land in the next repeat's window.
DB_QUIET_S = 0.5


class DependencyDied(Exception):
    """Something the suite itself depends on died mid-run (its mongod, the load generator): the
    run stops at once, the repeat in flight is discarded, no later server is started (its
    verification would fail on a dead database and read as the server's fault)."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def method(runtime: Runtime) -> dict[str, str]:
    """How this code measures, in the words of a report's methodology (recorded per run); what
    the runtime cannot measure says so, with its reason (its capabilities)."""
    memory = ("each container's cgroup (memory: its anonymous memory)" if runtime.name == "docker"
              else "process groups in /proc (memory: PSS summed over each group, so pages "
                   "shared by prefork workers count once)")
    can = runtime.capabilities
    spread = ("half-way through every execution, the established connections to the server's "
              "port counted per worker process from /proc (and those not yet accepted)."
              if can.connection_spread else
              f"not measured: {can.why_not.get('connection_spread', 'this runtime cannot')}.")
    timed = ("right before every counted repeat, with the server idle, the suite times "
             f"{calibration.BLOCKS} blocks of fixed interpreted work on each CPU the roles run "
             "on (the median per CPU is recorded) and reads the time stolen from each CPU while "
             "the repeat runs (/proc/stat): how fast the machine was, apart from the server."
             if can.same_machine else
             f"not timed: {can.why_not.get('same_machine', 'this runtime cannot')}.")
    return {
        "verification": "answer 200 with `Content-Type: application/json`, and each document's "
                        "body is byte-for-byte the stored document without `_id` (compact "
                        "JSON); ten more reads of each document must each make MongoDB run a "
                        "find (its own `top` counters). A variant that fails is reported as "
                        "failed, never measured.",
        "write_verification": "`POST /items` with a JSON object answered exactly 201 "
                              "`{\"id\":\"<24 hex>\"}` and the document read back as posted; "
                              "bodies that are not a JSON object MongoDB can store answered 400, "
                              "nothing inserted.",
        "generator_threads": "load generator threads = min(connections, CPUs of the load "
                             "generator)",
        "idle_wait": f"the suite waited for the server to be idle (two `/health` answers "
                     f"within {QUIET_FAST_S:g} s, {QUIET_GAP_S:g} s apart) and for MongoDB's "
                     f"own operation counters to stand still for {DB_QUIET_S:g} s",
        "dependencies": "after every execution the suite checks its mongod and the load "
                        "generator: when one died, the run stops at once with a line naming "
                        "it, the repeat in flight is discarded and no later server is started "
                        "(`--resume` continues).",
        "resources": f"CPU/memory of the server, mongod and the load generator sampled every "
                     f"{SAMPLE_INTERVAL_S:g} s ({memory}; the generator's CPU from its rusage).",
        "db_latency": "MongoDB's sleepMillisAfterCommandExecutionBegins fail point (failCommand's "
                      "blockConnection where the server lacks it) makes every find wait "
                      "the cell's added latency before it runs; set before the cell, measured "
                      "then by timing finds with and without it, and turned off at the end of "
                      "the run however it ends.",
        "database_ops": "MongoDB's own operation counters (`top`, per collection) read right "
                        "before and after every load-generator execution: finds per successful "
                        f"read below {DatabaseOps.FINDS_PER_READ:g} fail the cell (a server "
                        "that answered without asking the database).",
        "spread": spread,
        "listen_drops": "the kernel's count of connection attempts dropped at a full listen "
                        "queue (TcpExt ListenDrops), read before and after every execution.",
        "calibration": timed,
    }


@dataclass
class RunOptions:
    variants: list[Variant]
    plan: Plan
    runtime: Runtime
    out_dir: Path
    mongo_url: str | None = None
    database: str = DEFAULT_DATABASE
    port: int | None = None
    argv: tuple[str, ...] = ()
    loadgen: str = "wrk"               # the generator of every repeat
    crosscheck: str | None = None      # a second one, run right after each repeat
    write_concern: str = "1"           # of the servers' inserts (cells of the `write` document)

    @property
    def profile(self):
        return self.plan.profile


def start_mongo(stack: ExitStack, runtime: Runtime, mongo_url: str | None, log_path: Path,
                test_commands: bool = False) -> MongoEndpoint:
    """The run's MongoDB: --mongo-url's server as it is, or one the runtime starts and the
    stack stops."""
    if mongo_url:
        return MongoEndpoint(url=mongo_url, embedded=False)
    return stack.enter_context(runtime.mongo(log_path, test_commands=test_commands))


def _model_cost(check: DbLatencyCheck) -> str:
    if check.fail_point_cpu_us is None:
        return "; mongod's CPU not readable (serverStatus has no extra_info times)"
    without, with_ = check.fail_point_cpu_us
    return f"; mongod CPU per find {without:.0f} -> {with_:.0f} us (the fail point's own cost)"


def start_verified(runtime: Runtime, variant: Variant, settings: dict, *, mongo_url: str,
                   database: str, port: int, log_path: Path, ready_timeout_s: float,
                   docs: tuple[str, ...] = documents.DOCUMENT_NAMES, items=None,
                   max_connections: int = DEFAULT_MAX_CONNECTIONS,
                   counter: OpCounter | None = None,
                   ) -> tuple[Server, list[VerificationCheck], dict | None]:
    """Start a variant (or its instances and nginx in front, for a deployment), wait until it
    answers /health, verify it (the documents read, and with `counter`, that every read runs a
    find in MongoDB; with `items`, the write collection, POST /items), through the balancer if
    there is one, and last, the interpreter it runs on (returned as the server reported it);
    the caller stops the server (also when a check failed). Raises ServerFailed when it does
    not start or become ready."""
    if variant.balancer:
        server = start_deployment(runtime, variant, settings, mongo_url=mongo_url,
                                  database=database, port=port, log_dir=log_path.parent,
                                  max_connections=max_connections,
                                  ready_timeout_s=ready_timeout_s)
    else:
        server = runtime.start_server(variant, settings, mongo_url=mongo_url,
                                      database=database, port=port, log_path=log_path)
    try:
        wait_ready(server, ready_timeout_s)
        reads = tuple(d for d in docs if d != documents.WRITE)
        checks = verify(server, reads)
        if counter is not None and reads:
            check = check_reads(server, counter, reads)
            checks += [check] if check is not None else []
        checks += [check_write(server, items)] if items is not None else []
        interpreter_check, interpreter = check_interpreter(server, variant)
        return server, [*checks, interpreter_check], interpreter
    except BaseException:
        server.stop()
        raise


def new_result(options: RunOptions, generators: dict[str, dict | None],
               settings_of: Callable[[Variant], dict], *, run_id: str, started_at: str,
               machine: dict) -> RunResult:
    """The results document of a fresh run: every variant with its cells pending, its settings
    resolved for the CPUs the open runtime gives the server."""
    profile, runtime = options.profile, options.runtime
    result = RunResult(
        run_id=run_id, started_at=started_at, profile=profile, runtime=runtime.name,
        argv=list(options.argv), environment=machine, mongo=MongoInfo(),
        method=method(runtime), loadgen=generators["loadgen"],
        crosscheck=generators.get("crosscheck"), open_loop=generators.get("open_loop"),
        order="interleaved" if profile.interleave else "sequential",
        plan=options.plan.to_dict(),
        cpu_roles={role: list(cpus) for role, cpus in runtime.cpu_roles.items()})
    for variant in options.variants:
        settings = settings_of(variant)
        # A deployment's own log is nginx's; its instances' are beside it (.1.log, .2.log...).
        log_path = Path(run_id) / "logs" / (f"{variant.slug}.nginx.log" if variant.balancer
                                            else f"{variant.slug}.log")
        record = VariantResult(
            name=variant.name, app=variant.app, server=variant.server,
            worker_model=variant.worker_model, driver=variant.driver, why=variant.why,
            settings=settings, command=runtime.command(variant, settings, 0), packages={},
            log=str(log_path), classification=variant.classification,
            build=variant.interpreter, twin_of=variant.twin_of, deprecated=variant.deprecated,
            code=variant.code,
            cells=[Cell(k.doc, k.connections, db_latency_ms=k.db_latency_ms)
                   for k in options.plan.cells() if k.rate is None],
            rate_cells=[Cell(k.doc, k.connections, rate=k.rate, db_latency_ms=k.db_latency_ms)
                        for k in options.plan.cells() if k.rate is not None])
        if variant.overrides:
            names = {"cpus": runtime.server_cpus(), "max_connections": max(profile.connections)}
            record.sweep = results.Sweep(
                of=variant.base, set=dict(variant.overrides),
                catalog={k: evaluate(v, names) for k, v in variant.originals.items()})
        result.variants.append(record)
    return result


class Runner:
    """Executes a plan into a results file: a new one, or, resuming, the file it continues.

    Owns the run's MongoDB, its fail point and operation counter, and the server currently
    measured. Each sitting (this `run()`) is recorded with the machine it ran on, its wall
    time and its counted time.
    """

    def __init__(self, options: RunOptions, progress: Progress = _stderr,
                 resume: RunResult | None = None):
        self.options = options
        self.plan = options.plan
        self.profile = options.plan.profile
        self.runtime = options.runtime
        self.progress = progress
        self.variants = {v.name: v for v in options.variants}

        def generator(name: str):
            return self.runtime.generator(name, timeout_s=self.profile.timeout_s)

        self.loadgen = generator(options.loadgen)
        self.second = generator(options.crosscheck) if options.crosscheck else None
        # Open-loop cells need a generator that sends on a schedule: oha (wrk has no rate).
        self.open_loop = generator("oha") if self.profile.rates else None
        # A fresh run's results are made once the runtime is open (run()): only then does every
        # runtime know the CPUs the settings resolve for (a placed one asks the server host's
        # engine), and nothing before it reaches an engine (--plan starts and reaches nothing).
        self.result: RunResult | None = resume
        self.resumed = resume is not None
        self.run_id = resume.run_id if resume is not None else new_run_id()
        self.path = options.out_dir / f"{self.run_id}.json"
        self.artifacts = options.out_dir / self.run_id
        self.mongo_watch: Watch = None
        self.fail_point: FailPoint | None = None
        self.counter: OpCounter | None = None
        self.items = None    # the write collection (pymongo), when the run has write cells
        self.started = time.monotonic()
        self.sitting = Sitting(started_at=now(), pid=os.getpid(),
                               environment=environment.collect())
        self.done_repeats = sum(len(c.repeats) for v in resume.variants
                                for c in [*v.cells, *v.rate_cells]) if resume else 0
        self.total_repeats = self.done_repeats
        self.prepared: set[str] = set()       # variants _prepare ran for in this sitting
        self.capacity: list[Session] = []     # the capacity phase's sessions, once known
        # The CPUs the roles run on, each timed before every counted repeat.
        self.calibrated_cpus = sorted({cpu for role in ("server", "loadgen", "db")
                                       for cpu in role_cpus(self.runtime.cpu_roles, role)})

    def expected_body(self, doc: str) -> Path:
        """The verified bytes of `doc`, in a file the load generator compares responses with."""
        path = self.artifacts / "expected" / f"{doc}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(documents.expected_bodies()[doc])
        return path

    def save(self) -> None:
        self.sitting.wall_s = round(time.monotonic() - self.started, 1)
        results.save(self.result, self.path)

    def check_catalog(self) -> None:
        """Resolve every variant's settings and command before anything starts, so a bad
        catalog row is a usage error, not a crash half-way through a run."""
        for variant in self.options.variants:
            self.runtime.command(variant, self.settings_of(variant), 0)

    def elapsed_s(self) -> float:
        """Wall seconds the run has taken so far, every sitting included."""
        earlier = sum(s.wall_s or 0.0 for s in self.result.sittings if s is not self.sitting)
        return earlier + time.monotonic() - self.started

    def _tick(self) -> str:
        """"[k/N, elapsed, ~left]" for a progress line, after the k-th counted repeat."""
        self.done_repeats += 1
        self.total_repeats = max(self.total_repeats, self.done_repeats)
        elapsed = time.monotonic() - self.started
        have = self.plan.have(self.result)
        left = self.plan.seconds(self.plan.steps(have))
        if self.capacity:
            left += self.plan.seconds(schedule(self.capacity, have))
        return (f"[{self.done_repeats}/{self.total_repeats}, {duration(elapsed)}, "
                f"~{duration(left)} left]")

    def run(self) -> RunResult:
        self.check_catalog()
        with ExitStack() as stack:
            # Raises RuntimeUnavailable (e.g. no Docker daemon) before any results file exists.
            details = stack.enter_context(
                self.runtime.open(self.artifacts, owns_db=not self.options.mongo_url))
            if not self.resumed:
                self.result = new_result(
                    self.options,
                    {"loadgen": self.loadgen.describe(),
                     "crosscheck": self.second.describe() if self.second else None,
                     "open_loop": self.open_loop.describe() if self.open_loop else None},
                    self.settings_of, run_id=self.run_id, started_at=self.sitting.started_at,
                    machine=self.sitting.environment)
                self.result.runtime_details = details
            self.result.sittings.append(self.sitting)
            self.result.status, self.result.finished_at = "running", None
            steps = self.plan.steps(self.plan.have(self.result))
            self.total_repeats = self.done_repeats + self.plan.counted_repeats(steps)
            verb = "resuming" if self.resumed else "run"
            self.progress(f"{verb} {self.run_id}: profile {self.profile.name}, runtime "
                          f"{self.runtime.name}; results in {self.path}")
            for line in self.plan.describe(steps):
                self.progress(line)
            try:
                self.save()
                needed = {session.variant for session, _ in steps}
                for record in self.result.variants:
                    if record.status != "failed":
                        record.status, record.reason = "pending", None
                        if record.name in needed:
                            self._prepare(self.variants[record.name], record)
                endpoint = self._mongo(stack)
                for session, todo in steps:
                    self._session(session, todo, endpoint)
                self._precision(endpoint)
                self._capacity(endpoint)
                self.result.top_groups = [g.to_dict() for g in top_groups(
                    self.result, looks(self.profile))]
                for record in self.result.variants:
                    if record.status == "pending":
                        if any(c.status == "measured" for c in record.cells):
                            record.status = "measured"
                        else:
                            self._fail(record, "no cell could be measured (see cell reasons)")
                self.result.status = "complete" if self.measured_cells() else "failed"
            except KeyboardInterrupt:
                self.result.status = "interrupted"
                for variant in self.result.variants:
                    if variant.status == "pending":
                        variant.status, variant.reason = "interrupted", "run interrupted"
                raise
            except DependencyDied as exc:
                self.result.status, self.result.reason = "failed", f"run stopped: {exc}"
                for variant in self.result.variants:
                    if variant.status == "pending":
                        variant.status, variant.reason = "interrupted", f"run stopped: {exc}"
                self.progress(f"battle: run stopped: {exc}; what was measured is kept "
                              f"(--resume {self.run_id} continues)")
                raise
            except BaseException:
                self.result.status = "error"  # stopped by an unexpected error; partial results
                raise
            finally:
                self.result.finished_at = self.sitting.finished_at = now()
                self.sitting.status = self.result.status
                self.save()
        return self.result

    def measured_cells(self) -> int:
        if self.result is None:    # the runtime never opened
            return 0
        return sum(c.status == "measured" for v in self.result.variants
                   for c in [*v.cells, *v.rate_cells])

    def _precision(self, endpoint: MongoEndpoint) -> None:
        """Further rounds for cells whose req/s varies more than the profile's target, one
        more repeat each per round, the noisiest variants first, until every cell is within
        the target or at the cap, or the next session would end after the plan's time."""
        p = self.profile
        for round_no in range(p.repeats + 1, p.repeat_cap + 3):
            sessions = precision_round(self.result, self.plan, round_no)
            if not sessions:
                return
            for session, todo in schedule(sessions, self.plan.have(self.result)):
                cost = self.plan.session_seconds(todo)
                if self.elapsed_s() + cost > self.plan.closed_loop_s:
                    left = len({k for s in sessions for k in s.cells})
                    why = ("undecided" if len(self.plan.variants) > 1 and p.repeats >= 2
                           else f"above {p.target_cv:.0%} CV")
                    self.progress(f"precision rounds end: the plan's "
                                  f"{duration(self.plan.closed_loop_s)}"
                                  + (" before the capacity phase" if self.plan.capacity_stacks
                                     else "")
                                  + f" are spent ({left} cell(s) still {why})")
                    return
                self._session(session, todo, endpoint)

    def _capacity(self, endpoint: MongoEndpoint) -> None:
        """The capacity phase (rates for the top group), once the closed-loop rounds are done:
        each cell's top group as they left it picks who gets that cell's open-loop cells, which
        join the chosen variants' results like the rate cells of any run; one server start per
        variant. A resumed run makes up what the phase lacks (the closed-loop cells no longer
        change, so the choice is the same)."""
        if not self.plan.capacity_stacks:
            return
        groups = top_groups(self.result, looks(self.profile))
        self.capacity = capacity_sessions(self.plan, self.result, groups)
        if not self.capacity:
            self.progress("capacity phase: no cell has a top group (no healthy deployable "
                          "stack measured): nothing to measure open loop")
            return
        for session in self.capacity:
            add_rate_cells(self.result.variant(session.variant), session.cells, self.profile)
        self.save()
        steps = schedule(self.capacity, self.plan.have(self.result))
        self.total_repeats = self.done_repeats + self.plan.counted_repeats(steps)
        chosen = ", ".join(f"{s.variant} in {len(s.cells) // len(self.profile.rates)} cell(s)"
                           for s in self.capacity)
        self.progress(f"capacity phase: rates {','.join(self.profile.rates)} for the top group "
                      f"of {len(groups)} cell(s), at most {self.plan.capacity_stacks} stacks "
                      f"each: {chosen}; {self.plan.counted_repeats(steps)} repeat(s) left, "
                      f"about {duration(self.plan.seconds(steps))}")
        for session, todo in steps:
            if session.variant not in self.prepared:
                record = self.result.variant(session.variant)
                if record.status != "failed":
                    self._prepare(self.variants[session.variant], record)
            self._session(session, todo, endpoint)

    def _mongo(self, stack: ExitStack) -> MongoEndpoint:
        slow = any(self.profile.db_latencies_ms)
        if not self.options.mongo_url:
            self.progress("starting mongod")
        endpoint = start_mongo(stack, self.runtime, self.options.mongo_url,
                               self.artifacts / "mongod.log", test_commands=slow)
        self.mongo_watch = endpoint.watch
        info = seed(endpoint.url, self.options.database)
        mongo = MongoInfo(
            url=redact(endpoint.url), embedded=endpoint.embedded, binary=endpoint.binary,
            version=info.version, database=info.database, collection=info.collection,
            bson_bytes=info.bson_sizes,
            json_bytes={k: len(v) for k, v in documents.expected_bodies().items()},
            container=endpoint.container)
        if self.resumed:
            if self.result.mongo.version and mongo.version != self.result.mongo.version:
                raise MongoError(f"cannot resume run {self.run_id}: it was measured on MongoDB "
                                 f"{self.result.mongo.version}, this one is {mongo.version}")
        else:
            self.result.mongo = mongo
        self.counter = OpCounter(endpoint.url, self.options.database)
        stack.callback(self.counter.close)
        if self.counter.read() is None:
            self.progress(f"MongoDB's operation counters cannot be read ({self.counter.refused}):"
                          " finds per response are not recorded")
        if slow:
            self._db_latency(stack, endpoint)
        if documents.WRITE in self.profile.docs:
            client = MongoClient(endpoint.url, serverSelectionTimeoutMS=5000)
            stack.callback(client.close)
            self.items = client[self.options.database][documents.WRITE_COLLECTION]
            self._mongo_call(self.items.drop)
            # Whatever ends the run, the posted documents go (with --mongo-url they would
            # otherwise stay in someone's database); never an error on the way out.
            stack.callback(_quietly, self.items.drop)
        self.save()
        return endpoint

    def _db_latency(self, stack: ExitStack, endpoint: MongoEndpoint) -> None:
        """The fail point that adds database latency: refused or ineffective is one error before
        anything is measured; it is off again however the run ends (ExitStack callback), which
        matters for a --mongo-url server that outlives the run."""
        # Writes wait as long as reads: a distant database delays every query.
        self.fail_point = FailPoint(endpoint.url, self.options.database,
                                    commands=("find", "insert") if documents.WRITE in
                                    self.profile.docs else ("find",))
        stack.callback(self.fail_point.close)
        self.fail_point.set(0)   # refused here when the server has no test commands
        checks = []
        for ms in sorted(ms for ms in self.profile.db_latencies_ms if ms):
            check = self.fail_point.verify(ms)
            checks.append(check)
            self.progress(f"database latency {ms} ms: adds {check.added_ms:.2f} ms to a find "
                          f"({check.without_p50_ms:.2f} -> {check.with_p50_ms:.2f} ms at the "
                          f"median); {check.concurrent} concurrent finds blocked "
                          f"{check.concurrent_block_ms} ms each: {check.concurrent_wall_ms:.0f} "
                          "ms in all" + _model_cost(check))
        self.fail_point.set(0)
        if not self.resumed:
            self.result.mongo.fail_point = {
                **self.fail_point.describe("enabled by the suite (--setParameter "
                                           "enableTestCommands=1)" if endpoint.embedded
                                           else "already enabled on --mongo-url's server"),
                "verified": [dataclasses.asdict(check) for check in checks]}

    def settings_of(self, variant: Variant) -> dict:
        settings = variant.resolve(cpus=self.runtime.server_cpus(),
                                   max_connections=max(self.profile.connections))
        if documents.WRITE in self.profile.docs:
            # A setting like any other: recorded with the variant, passed as
            # BATTLE_WRITE_CONCERN (servers/common.py).
            settings["write_concern"] = self.options.write_concern
        return settings

    def _prepare(self, variant: Variant, record: VariantResult) -> None:
        """Build what the variant needs (the docker runtime's image); a failure fails only it."""
        self.prepared.add(variant.name)
        try:
            record.image = self.runtime.prepare(
                variant, self.artifacts / "logs" / f"{variant.slug}.build.log")
            record.packages = self.runtime.package_versions(variant)
            record.interpreter_build = self.runtime.interpreter_build(variant)
        except ServerFailed as exc:
            self._fail(record, str(exc))
        self.save()

    def _session(self, session: Session, todo: dict[CellKey, int],
                 endpoint: MongoEndpoint) -> None:
        """Start the variant, verify it, prime it, make each cell's repeats, stop it."""
        check_interrupted()
        record = self.result.variant(session.variant)
        if record is None or record.status == "failed":
            return
        self._check_dependencies(endpoint)
        variant = self.variants[session.variant]
        rounds = self.profile.repeats if self.profile.interleave else 1
        phase = session.precision or session.capacity
        label = (f" {session.label}/{rounds}" if not phase and rounds > 1
                 else f" {session.label}" if phase else "")
        name = f"[{variant.name}{label}]"
        port = self.options.port or free_port()
        if self.runtime.capabilities.local_ports and not port_is_free(port):
            self._fail(record, f"port {port} on 127.0.0.1 is already in use")
            return
        settings = record.settings
        record.command = self.runtime.command(variant, settings, port)
        self.progress(f"{name} starting on port {port}")
        server: Server | None = None
        try:
            server, checks, interpreter = start_verified(
                self.runtime, variant, settings, mongo_url=endpoint.url,
                database=self.options.database, port=port,
                log_path=self.artifacts / "logs" / f"{variant.slug}.log",
                ready_timeout_s=self.profile.ready_timeout_s, docs=self.profile.docs,
                items=self.items, max_connections=max(self.profile.connections),
                counter=self.counter)
            if variant.balancer and record.deployment is None:
                record.deployment = results.Deployment(
                    instances=variant.instances, balancer="nginx", strategy=variant.balancer,
                    version=server.version, config=server.config, image=server.image)
            if not record.verification:
                record.verification = checks
            record.interpreter = record.interpreter or interpreter
            failed = [c for c in checks if not c.passed]
            if failed:
                self._fail(record, "verification failed: "
                           + "; ".join(f"{c.name}: {c.detail}" for c in failed))
                return
            self.progress(f"{name} verified: " + ", ".join(c.name for c in checks))
            watch = {**server.watches(), "mongod": self.mongo_watch}
            if self.fail_point is not None:
                # Each server start measures each latency it uses afresh (_set_db_latency).
                self._mongo_call(lambda: self.fail_point.set(0))
            if self.profile.primer_s:
                # Fills connection pools, thread pools and lazy imports before anything is
                # counted (reads; /plain when a run only writes: nothing to clean up after it).
                doc = next((d for d in self.profile.docs if d != documents.WRITE), "plain")
                # At the session's lowest connection level: what the first cell will ask.
                primer = self.loadgen.run(f"http://{server.host}:{server.port}/{doc}",
                                          min(self.profile.connections), self.profile.primer_s,
                                          self._raw(variant.slug,
                                                    f"primer-{len(record.primers) + 1}"),
                                          self.options.out_dir, watch,
                                          self.expected_body(doc) if doc != "plain" else None)
                record.primers.append(primer)
            for key, repeats in todo.items():
                cell = self._cell(record, key)
                if cell is None or cell.status in ("failed", "skipped"):
                    continue
                # A capacity session measures its rate cells in one sitting, not in rounds.
                round_no = (None if session.capacity else session.round
                            if self.profile.interleave or session.precision else None)
                self._measure_cell(name, record, server, cell, repeats, watch, endpoint,
                                   round_no)
                if not server.alive():
                    self._fail(record, f"server died during {cell.label}: "
                               f"{server.exit_detail()}")
                    return
            self.save()
        except ServerFailed as exc:
            self._fail(record, str(exc))
        except LoadGenError as exc:
            self._fail(record, f"primer failed: {exc}")
        except KeyboardInterrupt:
            record.status, record.reason = "interrupted", "run interrupted"
            raise
        finally:
            if server is not None:
                server.stop()

    @staticmethod
    def _cell(record: VariantResult, key: CellKey) -> Cell | None:
        return next((c for c in [*record.cells, *record.rate_cells] if CellKey.of(c) == key),
                    None)

    def _raw(self, variant: str, stem: str) -> Path:
        return self.artifacts / "raw" / variant / f"{stem}.txt"

    def _fail(self, record: VariantResult, reason: str) -> None:
        if any(c.repeats for c in record.cells):
            reason += "; repeats measured before the failure are kept"
        record.status, record.reason = "failed", reason
        for cell in [*record.cells, *record.rate_cells]:
            if cell.status == "pending":
                cell.status, cell.reason = "skipped", "variant failed"
        self.save()
        self.progress(f"[{record.name}] FAILED: {reason}")

    def _target_rate(self, record: VariantResult, cell: Cell) -> float:
        """Requests per second for an open-loop cell: as given, or a share of the median
        successful req/s this run measured closed-loop for the same document and connections."""
        value, share = rate_spec(cell.rate or "")
        if not share:
            return value
        closed = record.cell(cell.doc, cell.connections, cell.db_latency_ms)
        capacity = stats.median([s.ok_rps for s in closed.repeats]) if closed else None
        if not capacity:
            raise LoadGenError(f"rate {cell.rate} of what? {closed.label if closed else cell.doc} "
                               "has no closed-loop measurement in this run")
        return round(value * capacity, 1)

    def _measure_cell(self, name: str, record: VariantResult, server: Server, cell: Cell,
                      repeats: int, watch: dict[str, Watch], endpoint: MongoEndpoint,
                      round_no: int | None) -> None:
        variant = record.name
        url = f"http://{server.host}:{server.port}{documents.path(cell.doc)}"
        stem = (f"{cell.doc}-c{cell.connections}"
                + (f"-db{cell.db_latency_ms}ms" if cell.db_latency_ms else "")
                + (f"-rate{cell.rate}" if cell.rate else ""))
        writes = cell.doc == documents.WRITE
        expect = None if writes else self.expected_body(cell.doc)
        title = f"{name} {cell.label}"
        slug = self.variants[variant].slug

        def measure(generator, duration_s: int, stem_suffix: str, rate: float | None = None,
                    kind: str = "repeat") -> results.Sample:
            """One execution: a warmup, a counted repeat or its crosscheck (the last two
            with MongoDB's counts and the connections' spread)."""
            # Every run starts on a server that has finished with the last one (and, for
            # writes, on an empty collection: the count after it is this run's alone).
            waited = wait_quiet(server, self.profile.ready_timeout_s)
            waited += self._wait_db_quiet()
            raw = self._raw(slug, stem + stem_suffix)
            extra = {"rate": rate} if rate else {}
            if writes:
                # The documents of this execution carry its tag: inserts of an earlier one
                # that a server was still finishing are not counted as this one's.
                extra.update(write_ids=raw.with_suffix(".ids"),
                             write_run=f"{raw.stem}-{secrets.token_hex(4)}")
                self._mongo_call(self.items.drop)
            watched = kind != "warmup"
            if watched and self.runtime.capabilities.connection_spread:
                extra["probe"] = server.connection_spread
            before = self._mongo_call(self.counter.read) if watched and self.counter else None
            drops = server.listen_drops() if watched else None
            # The machine's speed right before a counted repeat, on its idle CPUs.
            timed = kind == "repeat" and self.runtime.capabilities.same_machine
            speed = calibration.calibrate(self.calibrated_cpus) if timed else None
            stolen = calibration.steal_ticks() if timed else None
            started_at = now()
            try:
                sample = generator.run(url, cell.connections, duration_s, raw,
                                       self.options.out_dir, watch, expect, **extra)
            except GeneratorDied as exc:
                check_interrupted()   # killed by our own Ctrl-C: an interrupt, not a death
                raise DependencyDied(f"the load generator died: {exc}") from None
            # The sample is discarded (never recorded) when mongod died during it.
            self._check_dependencies(endpoint)
            after = self._mongo_call(self.counter.read) if before is not None else None
            add_cpu_shares(sample, self.runtime.cpu_roles)
            if kind == "repeat":
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
            if writes:
                self._mongo_call(lambda: count_writes(self.items, sample, extra["write_ids"],
                                                      extra["write_run"]))
            return sample

        try:
            self._set_db_latency(server, cell)
            if cell.rate is not None:
                for _ in range(repeats):
                    check_interrupted()
                    number = len(cell.repeats) + 1
                    target = self._target_rate(record, cell)
                    sample = measure(self.open_loop, self.profile.duration_s, f"-r{number}",
                                     rate=target)
                    self._record_repeat(cell, sample)
                    self.progress(f"{self._tick()} {title} ({target:,.0f}/s) repeat {number}: "
                                  f"{sample.requests / sample.duration_s:,.0f} answered/s, "
                                  f"p99 {_ms(sample.latency_us.get('p99'))}, "
                                  f"{_failures_text(sample)}")
            elif self.profile.warmup_s:
                cell.warmups.append(measure(self.loadgen, self.profile.warmup_s,
                                            f"-warmup{len(cell.warmups) + 1}", kind="warmup"))
                self.save()
            for _ in range(repeats if cell.rate is None else 0):
                check_interrupted()
                number = len(cell.repeats) + 1
                sample = measure(self.loadgen, self.profile.duration_s, f"-r{number}")
                self._record_repeat(cell, sample)
                if self.second is not None and cell.status != "failed":
                    cell.crosschecks.append(measure(self.second, self.profile.duration_s,
                                                    f"-r{number}-crosscheck", kind="crosscheck"))
                    self.save()
                idle = (f" (after {sample.quiet_wait_s:.1f} s waiting for the server to go idle)"
                        if sample.quiet_wait_s > 2 else "")
                finds = (f", {sample.finds_per_ok:.2f} finds per response"
                         if sample.finds_per_ok is not None and not writes else "")
                self.progress(f"{self._tick()} {title} repeat {number}: "
                              f"{sample.ok_rps:,.0f} ok req/s, {_failures_text(sample)}{finds}"
                              + (f", connections {sample.spread.text}" if sample.spread else "")
                              + idle)
                if cell.status == "failed":
                    self.progress(f"{title} FAILED: {cell.reason}")
                    break
        except (LoadGenError, ServerFailed, MongoError) as exc:
            # The database gone is the run's end, not this cell's failure.
            self._check_dependencies(endpoint)
            # A cell with repeats from earlier rounds stays measured; the reason says what broke.
            cell.status = "measured" if cell.repeats else "failed"
            cell.reason = str(exc)
            self.progress(f"{title} FAILED: {exc}")
        self.save()
        time.sleep(self.profile.pause_s)

    def _record_repeat(self, cell: Cell, sample: results.Sample) -> None:
        """A counted repeat joins its cell, which fails if the server did not really read."""
        cell.repeats.append(sample)
        cell.status = "measured"
        self.sitting.counted_s = round(self.sitting.counted_s + sample.duration_s, 1)
        self.sitting.repeats += 1
        unread = unread_reason(cell, sample)
        if unread:
            cell.status, cell.reason = "failed", unread
        self.save()

    def _check_dependencies(self, endpoint: MongoEndpoint) -> None:
        """Raises DependencyDied when the run's MongoDB is gone: its process ended (one the
        runtime started) or it no longer answers a ping."""
        if endpoint.alive is not None and not endpoint.alive():
            detail = endpoint.exit_detail() if endpoint.exit_detail else "it exited"
            raise DependencyDied(f"the suite's mongod died: {detail}")
        if not ping(endpoint.url, timeout_ms=3000):
            raise DependencyDied(f"MongoDB at {redact(endpoint.url)} stopped answering")

    def _wait_db_quiet(self) -> float:
        """Seconds waited until MongoDB's own operation counters stood still for DB_QUIET_S
        (bounded by the profile's ready timeout; nothing to wait for without counters)."""
        if self.counter is None:
            return 0.0
        started = time.monotonic()
        last = self._mongo_call(self.counter.read)
        while last is not None and time.monotonic() - started < self.profile.ready_timeout_s:
            time.sleep(DB_QUIET_S)
            current = self._mongo_call(self.counter.read)
            if current == last:
                break
            last = current
        return max(0.0, round(time.monotonic() - started - DB_QUIET_S, 2)) if last is not None else 0.0

    @staticmethod
    def _mongo_call(call):
        """A call to MongoDB by the suite itself; a failure is one line (MongoError), which
        fails the cell, not the run."""
        try:
            return call()
        except PyMongoError as exc:
            raise MongoError(f"MongoDB: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") \
                from None

    def _set_db_latency(self, server: Server, cell: Cell) -> None:
        """The fail point at the cell's added latency, measured each time it changes, once the
        server is idle (finds timed during the previous cell's drain would measure the drain);
        the check is recorded with the cell, and the report flags one below what was asked."""
        if self.fail_point is None or self.fail_point.current_ms == cell.db_latency_ms:
            return
        wait_quiet(server, self.profile.ready_timeout_s)
        check = self.fail_point.set(cell.db_latency_ms)
        if check is not None:
            cell.db_latency_checks.append(check)


def add_rate_cells(record: VariantResult, keys: tuple[CellKey, ...], profile) -> None:
    """The open-loop cells `keys` of a variant, pending, where it has none yet; its rate cells
    kept in the order of the profile's cells (as a run with rates for every variant has them)."""
    have = {CellKey.of(c) for c in record.rate_cells}
    record.rate_cells += [Cell(k.doc, k.connections, rate=k.rate, db_latency_ms=k.db_latency_ms)
                          for k in keys if k not in have]
    order = rate_keys(profile, closed_keys(profile))
    record.rate_cells.sort(key=lambda c: order.index(CellKey.of(c)) if CellKey.of(c) in order
                           else len(order))


def add_cpu_shares(sample: results.Sample, cpu_roles: dict[str, list[int]]) -> None:
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


def unread_reason(cell: Cell, sample: results.Sample) -> str | None:
    """Why a read repeat shows a server that answered without asking MongoDB (None: it asked,
    or nothing could be counted)."""
    per = sample.finds_per_ok
    if cell.doc == documents.WRITE or per is None or per >= DatabaseOps.FINDS_PER_READ:
        return None
    return (f"not a read of the database: MongoDB counted {sample.database.finds:,} finds for "
            f"{sample.ok_requests:,} successful responses in repeat {len(cell.repeats)} "
            f"({per:.2f} per response; the contract asks one)")


def count_writes(items, sample: results.Sample, ids_path: Path, run_tag: str) -> None:
    """After a write run: every acknowledged id looked up in the collection, and every document
    of this execution counted with its request's key (a key stored twice is a duplicate). The
    ids files go once counted: a repeat's are megabytes, and their count stays in the results."""
    files = sorted(ids_path.parent.glob(f"{ids_path.name}.*"))
    try:
        ids = [ObjectId(line) for path in files for line in path.read_text().split()]
    except (OSError, InvalidId) as exc:
        raise LoadGenError(f"the write run left no readable ids ({ids_path}.*): {exc}") from None
    if not files and sample.requests:
        raise LoadGenError(f"the write run left no ids ({ids_path}.*)")
    found = sum(items.count_documents({"_id": {"$in": ids[i:i + 10_000]}})
                for i in range(0, len(ids), 10_000))
    # One pass, so both numbers describe the same documents (inserts the server was still
    # finishing may land meanwhile: they add to both).
    totals = list(items.aggregate([
        {"$match": {"run": run_tag}},
        {"$group": {"_id": "$key", "n": {"$sum": 1}}},
        {"$group": {"_id": None, "distinct": {"$sum": 1}, "stored": {"$sum": "$n"}}}]))
    stored, distinct = (totals[0]["stored"], totals[0]["distinct"]) if totals else (0, 0)
    sample.writes = results.Writes(acknowledged=len(ids), found=found, stored=stored,
                                   distinct=distinct)
    sample.errors["lost-write"] = sample.writes.lost + sample.writes.duplicated
    for path in files:
        path.unlink(missing_ok=True)


def _quietly(cleanup: Callable[[], object]) -> None:
    try:
        cleanup()
    except PyMongoError:
        pass


def _ms(us: float | None) -> str:
    return "–" if us is None else f"{us / 1000:,.1f} ms"


def _failures_text(sample: results.Sample) -> str:
    failed = {k: v for k, v in sample.errors.items() if v}
    return ", ".join(f"{v:,} {k}" for k, v in failed.items()) if failed else "no failure"
