"""A run: MongoDB up and seeded, then the plan's sessions in order, each a variant started,
verified, measured on its cells and stopped; then precision rounds for noisy cells while the
plan's time lasts; then, when the open-loop rates are for the top group only, the capacity
phase: the rate cells of each cell's leader and the stacks tied with it.

Data flows one way: catalog -> runtime starts a variant -> verify -> load generator -> samples
-> results file. The plan (suite.record.plan) says what to measure; this module only executes
it, into a results file rewritten after every change, so an interrupted run keeps everything it
measured and `--resume` continues it. What it orchestrates lives beside it: the bring-up
(suite.measure.bringup), the run's database (suite.measure.database), the scenarios' hooks
(suite.measure.scenarios), one execution and its record (suite.measure.execution), the progress
lines (suite.measure.progress); the method's words are the report's (suite.read.report.method).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from suite import LOOPBACK
from suite.measure import calibration, environment
from suite.measure.bringup import start_verified
from suite.measure.database import DB_QUIET_S, DependencyDied, RunDatabase
from suite.measure.execution import (CROSSCHECK, WARMUP, Executor, Target, now,
                                     record_repeat)
from suite.measure.loadgen import LoadGenError
from suite.measure.mongo import DEFAULT_DATABASE, MongoError, free_port, port_is_free
from suite.measure.procs import check_interrupted
from suite.measure.progress import Counter, Progress, latency_line
from suite.measure.resources import SAMPLE_INTERVAL_S
from suite.measure.runtime import Runtime, ServerFailed
from suite.measure.scenarios import RunScenarios
from suite.measure.text import to_stderr
from suite.measure.verify import QUIET_FAST_S, QUIET_GAP_S
from suite.read.report.method import method_record
from suite.record import results
from suite.record.catalog import Variant, evaluate
from suite.record.groups import top_groups
from suite.record.plan import (CellKey, Plan, Session, capacity_sessions, closed_keys, duration,
                               looks, precision_round, rate_keys, schedule)
from suite.record.results import Cell, MongoInfo, RunResult, Sitting, VariantResult


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def run_method(runtime: Runtime) -> dict[str, str]:
    """How this code measures, as the run records it (the report's words, this code's
    constants)."""
    return method_record(runtime.name, runtime.capabilities, quiet_fast_s=QUIET_FAST_S,
                         quiet_gap_s=QUIET_GAP_S, db_quiet_s=DB_QUIET_S,
                         sample_interval_s=SAMPLE_INTERVAL_S,
                         calibration_blocks=calibration.BLOCKS)


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
    # The scenarios' own options (scenarios.OPTIONS: dest -> value), e.g. the writes' concern.
    scenario_options: dict[str, str] = field(default_factory=dict)

    @property
    def profile(self):
        return self.plan.profile


def new_result(options: RunOptions, generators: dict[str, dict | None],
               settings_of: Callable[[Variant], dict], *, run_id: str, started_at: str,
               machine: dict) -> RunResult:
    """The results document of a fresh run: every variant with its cells pending, its settings
    resolved for the CPUs the open runtime gives the server."""
    profile, runtime = options.profile, options.runtime
    result = RunResult(
        run_id=run_id, started_at=started_at, profile=profile, runtime=runtime.name,
        argv=list(options.argv), environment=machine, mongo=MongoInfo(),
        method=run_method(runtime), loadgen=generators["loadgen"],
        crosscheck=generators.get("crosscheck"), open_loop=generators.get("open_loop"),
        order="interleaved" if profile.interleave else "sequential",
        plan=options.plan.to_dict(),
        cpu_roles={role: list(cpus) for role, cpus in runtime.cpu_roles.items()})
    for variant in options.variants:
        settings = settings_of(variant)
        # A deployment's own log is nginx's; its instances' are beside it (.1.log, .2.log...).
        log_path = Path(run_id) / "logs" / (f"{variant.slug}.nginx.log" if variant.balancer
                                            else f"{variant.slug}.log")
        variant_result = VariantResult(
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
            variant_result.sweep = results.Sweep(
                of=variant.base, set=dict(variant.overrides),
                catalog={k: evaluate(v, names) for k, v in variant.originals.items()})
        result.variants.append(variant_result)
    return result


class Runner:
    """Executes a plan into a results file: a new one, or, resuming, the file it continues.

    Owns the run's database (RunDatabase) and the server currently measured. Each sitting
    (this `run()`) is recorded with the machine it ran on, its wall time and its counted time.
    """

    def __init__(self, options: RunOptions, progress: Progress = to_stderr,
                 resume: RunResult | None = None):
        self.options = options
        self.plan = options.plan
        self.profile = options.plan.profile
        self.runtime = options.runtime
        self.progress = progress
        self.variants = {v.name: v for v in options.variants}
        self.scenarios = RunScenarios(self.profile)

        def generator(name: str):
            return self.runtime.generator(name, timeout_s=self.profile.timeout_s)

        self.loadgen = generator(options.loadgen)
        self.crosscheck = generator(options.crosscheck) if options.crosscheck else None
        # Open-loop cells need a generator that sends on a schedule.
        open_loop = self.scenarios.open_loop
        self.open_loop = generator(open_loop.generator) if open_loop else None
        # A fresh run's results are made once the runtime is open (run()): only then does every
        # runtime know the CPUs the settings resolve for (a placed one asks the server host's
        # engine), and nothing before it reaches an engine (--plan starts and reaches nothing).
        self.result: RunResult | None = resume
        self.resumed = resume is not None
        self.run_id = resume.run_id if resume is not None else new_run_id()
        self.path = options.out_dir / f"{self.run_id}.json"
        self.artifacts = options.out_dir / self.run_id
        self.db: RunDatabase | None = None
        self.executor: Executor | None = None
        self.started = time.monotonic()
        self.sitting = Sitting(started_at=now(), pid=os.getpid(),
                               environment=environment.collect())
        self.counter = Counter(self.plan, sum(len(c.repeats) for v in resume.variants
                                              for c in v.all_cells()) if resume else 0)
        self.prepared: set[str] = set()       # variants _prepare ran for in this sitting
        self.capacity: list[Session] = []     # the capacity phase's sessions, once known

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

    def _position(self) -> str:
        """"[k/N, elapsed, ~left]" after the k-th counted repeat (progress.Counter)."""
        return self.counter.tick(self.result, self.capacity, time.monotonic() - self.started)

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
                     "crosscheck": self.crosscheck.describe() if self.crosscheck else None,
                     "open_loop": self.open_loop.describe() if self.open_loop else None},
                    self.settings_of, run_id=self.run_id, started_at=self.sitting.started_at,
                    machine=self.sitting.environment)
                self.result.runtime_details = details
            self.result.sittings.append(self.sitting)
            self.result.status, self.result.finished_at = "running", None
            steps = self.plan.steps(self.plan.repeat_counts(self.result))
            self.counter.plan_more(self.plan.counted_repeats(steps))
            verb = "resuming" if self.resumed else "run"
            self.progress(f"{verb} {self.run_id}: profile {self.profile.name}, runtime "
                          f"{self.runtime.name}; results in {self.path}")
            for line in self.plan.describe(steps):
                self.progress(line)
            try:
                self.save()
                needed = {session.variant for session, _ in steps}
                for variant_result in self.result.variants:
                    if variant_result.status != "failed":
                        variant_result.status, variant_result.reason = "pending", None
                        if variant_result.name in needed:
                            self._prepare(self.variants[variant_result.name], variant_result)
                self._database(stack)
                for session, repeats_left in steps:
                    self._session(session, repeats_left)
                self._precision()
                self._capacity()
                self.result.top_groups = [g.to_dict() for g in top_groups(
                    self.result, looks(self.profile))]
                for variant_result in self.result.variants:
                    if variant_result.status == "pending":
                        if any(c.status == "measured" for c in variant_result.cells):
                            variant_result.status = "measured"
                        else:
                            self._fail(variant_result,
                                       "no cell could be measured (see cell reasons)")
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
        return sum(c.status == "measured" for v in self.result.variants for c in v.all_cells())

    def _precision(self) -> None:
        """Further rounds for cells whose req/s varies more than the profile's target, one
        more repeat each per round, the noisiest variants first, until every cell is within
        the target or at the cap, or the next session would end after the plan's time."""
        p = self.profile
        for round_no in range(p.repeats + 1, p.repeat_cap + 3):
            sessions = precision_round(self.result, self.plan, round_no)
            if not sessions:
                return
            for session, repeats_left in schedule(sessions, self.plan.repeat_counts(self.result)):
                cost = self.plan.session_seconds(repeats_left)
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
                self._session(session, repeats_left)

    def _capacity(self) -> None:
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
        steps = schedule(self.capacity, self.plan.repeat_counts(self.result))
        self.counter.plan_more(self.plan.counted_repeats(steps))
        chosen = ", ".join(f"{s.variant} in {len(s.cells) // len(self.profile.rates)} cell(s)"
                           for s in self.capacity)
        self.progress(f"capacity phase: rates {','.join(self.profile.rates)} for the top group "
                      f"of {len(groups)} cell(s), at most {self.plan.capacity_stacks} stacks "
                      f"each: {chosen}; {self.plan.counted_repeats(steps)} repeat(s) left, "
                      f"about {duration(self.plan.seconds(steps))}")
        for session, repeats_left in steps:
            if session.variant not in self.prepared:
                variant_result = self.result.variant(session.variant)
                if variant_result.status != "failed":
                    self._prepare(self.variants[session.variant], variant_result)
            self._session(session, repeats_left)

    def _database(self, stack: ExitStack) -> None:
        """The run's database set up: up and seeded, its counters, the latency it adds and
        each scenario's own set-up; recorded in the results (a resume checks it is the same
        MongoDB version)."""
        latencies = self.profile.db_latencies_ms
        if not self.options.mongo_url:
            self.progress("starting mongod")
        self.db = db = RunDatabase.set_up(
            stack, self.runtime, mongo_url=self.options.mongo_url, name=self.options.database,
            log_path=self.artifacts / "mongod.log", test_commands=any(latencies))
        if self.resumed:
            if self.result.mongo.version and db.info.version != self.result.mongo.version:
                raise MongoError(f"cannot resume run {self.run_id}: it was measured on MongoDB "
                                 f"{self.result.mongo.version}, this one is {db.info.version}")
        else:
            self.result.mongo = db.info
        if db.counter.read() is None:
            self.progress(f"MongoDB's operation counters cannot be read ({db.counter.refused}):"
                          " finds per response are not recorded")
        if any(latencies):
            checks = db.add_latency(stack, latencies, self.scenarios.fail_point_commands)
            for check in checks:
                self.progress(latency_line(check))
            if not self.resumed:
                self.result.mongo.fail_point = db.describe_fail_point(checks)
        self.scenarios.set_up(db, stack)
        self.executor = Executor(self.runtime, db, artifacts=self.artifacts,
                                 out_dir=self.options.out_dir,
                                 ready_timeout_s=self.profile.ready_timeout_s)
        self.save()

    def settings_of(self, variant: Variant) -> dict:
        settings = variant.resolve(cpus=self.runtime.server_cpus(),
                                   max_connections=max(self.profile.connections))
        return self.scenarios.settings(settings, self.options.scenario_options)

    def _prepare(self, variant: Variant, variant_result: VariantResult) -> None:
        """Build what the variant needs (the docker runtime's image); a failure fails only it."""
        self.prepared.add(variant.name)
        try:
            variant_result.image = self.runtime.prepare(
                variant, self.artifacts / "logs" / f"{variant.slug}.build.log")
            variant_result.packages = self.runtime.package_versions(variant)
            variant_result.interpreter_build = self.runtime.interpreter_build(variant)
        except ServerFailed as exc:
            self._fail(variant_result, str(exc))
        self.save()

    def _session(self, session: Session, repeats_left: dict[CellKey, int]) -> None:
        """Start the variant, verify it, prime it, make each cell's repeats, stop it."""
        check_interrupted()
        variant_result = self.result.variant(session.variant)
        if variant_result is None or variant_result.status == "failed":
            return
        self.db.check_alive()
        variant = self.variants[session.variant]
        rounds = self.profile.repeats if self.profile.interleave else 1
        phase = session.precision or session.capacity
        label = (f" {session.label}/{rounds}" if not phase and rounds > 1
                 else f" {session.label}" if phase else "")
        name = f"[{variant.name}{label}]"
        port = self.options.port or free_port()
        if self.runtime.capabilities.local_ports and not port_is_free(port):
            self._fail(variant_result, f"port {port} on {LOOPBACK} is already in use")
            return
        settings = variant_result.settings
        variant_result.command = self.runtime.command(variant, settings, port)
        self.progress(f"{name} starting on port {port}")
        server = None
        try:
            server, checks, interpreter = start_verified(
                self.runtime, variant, settings, mongo_url=self.db.url,
                database=self.options.database, port=port,
                log_path=self.artifacts / "logs" / f"{variant.slug}.log",
                ready_timeout_s=self.profile.ready_timeout_s, reads=self.scenarios.read_docs,
                checks=self.scenarios.checks(), max_connections=max(self.profile.connections),
                counter=self.db.counter)
            if variant.balancer and variant_result.deployment is None:
                variant_result.deployment = results.Deployment(
                    instances=variant.instances, balancer="nginx", strategy=variant.balancer,
                    version=server.version, config=server.config, image=server.image)
            if not variant_result.verification:
                variant_result.verification = checks
            variant_result.interpreter = variant_result.interpreter or interpreter
            failed = [c for c in checks if not c.passed]
            if failed:
                self._fail(variant_result, "verification failed: "
                           + "; ".join(f"{c.name}: {c.detail}" for c in failed))
                return
            self.progress(f"{name} verified: " + ", ".join(c.name for c in checks))
            target = Target(server, variant.slug, {**server.watches(),
                                                   "mongod": self.db.endpoint.watch})
            self.db.latency_off()   # each server start measures each latency it uses afresh
            if self.profile.primer_s:
                self._prime(variant_result, target)
            for key, repeats in repeats_left.items():
                cell = _cell(variant_result, key)
                if cell is None or cell.status in ("failed", "skipped"):
                    continue
                # A capacity session measures its rate cells in one sitting, not in rounds.
                round_no = (None if session.capacity else session.round
                            if self.profile.interleave or session.precision else None)
                self._measure_cell(name, variant_result, target, cell, repeats, round_no)
                if not server.alive():
                    self._fail(variant_result, f"server died during {cell.label}: "
                               f"{server.exit_detail()}")
                    return
            self.save()
        except ServerFailed as exc:
            self._fail(variant_result, str(exc))
        except LoadGenError as exc:
            self._fail(variant_result, f"primer failed: {exc}")
        except KeyboardInterrupt:
            variant_result.status, variant_result.reason = "interrupted", "run interrupted"
            raise
        finally:
            if server is not None:
                server.stop()

    def _prime(self, variant_result: VariantResult, target: Target) -> None:
        """Fills connection pools, thread pools and lazy imports before anything is counted, at
        the session's lowest connection level (what the first cell will ask)."""
        doc = self.scenarios.primer_doc
        executor = self.executor
        primer = self.loadgen.run(
            target.url(doc), min(self.profile.connections),
            self.profile.primer_s,
            executor.raw_path(target.slug, f"primer-{len(variant_result.primers) + 1}"),
            self.options.out_dir, target.watch,
            executor.expected_body(doc) if doc != "plain" else None)
        variant_result.primers.append(primer)

    def _fail(self, variant_result: VariantResult, reason: str) -> None:
        if any(c.repeats for c in variant_result.cells):
            reason += "; repeats measured before the failure are kept"
        variant_result.status, variant_result.reason = "failed", reason
        for cell in variant_result.all_cells():
            if cell.status == "pending":
                cell.status, cell.reason = "skipped", "variant failed"
        self.save()
        self.progress(f"[{variant_result.name}] FAILED: {reason}")

    def _measure_cell(self, name: str, variant_result: VariantResult, target: Target,
                      cell: Cell, repeats: int, round_no: int | None) -> None:
        """`repeats` counted repeats of `cell` (closed loop: after a warmup, each followed by
        its crosscheck), as its scenario measures them; a failure fails the cell, not the run."""
        scenario = self.scenarios.of(cell)
        title = f"{name} {cell.label}"
        cell_name = (f"{cell.doc}-c{cell.connections}"
                     + (f"-db{cell.db_latency_ms}ms" if cell.db_latency_ms else "")
                     + (f"-rate{cell.rate}" if cell.rate else ""))
        execute, duration_s = self.executor.execute, self.profile.duration_s
        try:
            check = self.db.set_latency(target.server, cell.db_latency_ms,
                                        self.profile.ready_timeout_s)
            if check is not None:
                cell.db_latency_checks.append(check)
            if scenario.closed_loop and self.profile.warmup_s:
                cell.warmups.append(execute(
                    self.loadgen, scenario, target, cell, self.profile.warmup_s,
                    f"{cell_name}-warmup{len(cell.warmups) + 1}", purpose=WARMUP))
                self.save()
            generator = self.open_loop if scenario.rate_driven else self.loadgen
            for _ in range(repeats):
                check_interrupted()
                number = len(cell.repeats) + 1
                rate = scenario.rate(variant_result, cell)
                sample = execute(generator, scenario, target, cell, duration_s,
                                 f"{cell_name}-r{number}", rate=rate, round_no=round_no)
                self._record(scenario, cell, sample)
                if scenario.closed_loop and self.crosscheck is not None \
                        and cell.status != "failed":
                    cell.crosschecks.append(execute(
                        self.crosscheck, scenario, target, cell, duration_s,
                        f"{cell_name}-r{number}-crosscheck", purpose=CROSSCHECK))
                    self.save()
                self.progress(scenario.repeat_line(self._position(), title, number, sample,
                                                   rate))
                if scenario.closed_loop and cell.status == "failed":
                    self.progress(f"{title} FAILED: {cell.reason}")
                    break
        except (LoadGenError, ServerFailed, MongoError) as exc:
            # The database gone is the run's end, not this cell's failure.
            self.db.check_alive()
            # A cell with repeats from earlier rounds stays measured; the reason says what broke.
            cell.status = "measured" if cell.repeats else "failed"
            cell.reason = str(exc)
            self.progress(f"{title} FAILED: {exc}")
        self.save()
        time.sleep(self.profile.pause_s)

    def _record(self, scenario, cell: Cell, sample: results.Sample) -> None:
        record_repeat(scenario, cell, sample, self.sitting)
        self.save()


def _cell(variant_result: VariantResult, key: CellKey) -> Cell | None:
    return next((c for c in variant_result.all_cells() if CellKey.of(c) == key), None)


def add_rate_cells(record: VariantResult, keys: tuple[CellKey, ...], profile) -> None:
    """The open-loop cells `keys` of a variant, pending, where it has none yet; its rate cells
    kept in the order of the profile's cells (as a run with rates for every variant has them)."""
    measured = {CellKey.of(c) for c in record.rate_cells}
    record.rate_cells += [Cell(k.doc, k.connections, rate=k.rate, db_latency_ms=k.db_latency_ms)
                          for k in keys if k not in measured]
    order = rate_keys(profile, closed_keys(profile))
    record.rate_cells.sort(key=lambda c: order.index(CellKey.of(c)) if CellKey.of(c) in order
                           else len(order))


