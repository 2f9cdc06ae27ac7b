"""What a command may run, and on what: the runtime its options choose (made here, and only
here), the rows this machine and runtime can run, and every refusal of a run made in one line
before anything starts (UsageError). The CLI parses and dispatches; this decides."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from suite.measure import balancer, interpreters, nginx, placement, sweep, toolchains
from suite.measure.runner import RunOptions
from suite.measure.runtime import ROLES, Runtime, default_pinning
from suite.measure.runtime.capabilities import PLACED, Capabilities, Request, refusals
from suite.measure.runtime.docker import DockerRuntime
from suite.measure.runtime.local import LocalRuntime
from suite.measure.runtime.placed import Placement
from suite.measure.scenarios import RunScenarios
from suite.measure.text import to_stderr
from suite.record import results
from suite.record.catalog import load_catalog, row_argument, select
from suite.record.plan import Plan
from suite.record.profiles import PROFILES
from suite.request import RunRequest, RuntimeChoice


class UsageError(Exception):
    pass


def parse_cpu_roles(specs: list[str]) -> dict[str, list[int]]:
    """"loadgen=0 server=1 db=1" (or several such arguments) -> {"loadgen": [0], ...}."""
    roles: dict[str, list[int]] = {}
    available = os.sched_getaffinity(0)
    for token in " ".join(specs).split():
        role, sep, cpus_text = token.partition("=")
        if not sep or role not in ROLES:
            raise UsageError(f"--cpus takes ROLE=CPUS with ROLE one of {', '.join(ROLES)}; "
                             f"got {token!r}")
        cpus: set[int] = set()
        try:
            for part in cpus_text.split(","):
                low, dash, high = part.partition("-")
                cpus.update(range(int(low), int(high if dash else low) + 1))
        except ValueError:
            raise UsageError(f"--cpus {token!r}: CPUs are like 0, 0-1 or 0,2") from None
        if not cpus or not cpus <= available:
            raise UsageError(f"--cpus {token!r}: this process may use CPUs {sorted(available)}")
        roles[role] = sorted(cpus)
    return roles


_SIZE = re.compile(r"^[1-9][0-9]*[kmg]$")


def parse_memory(specs: list[str]) -> dict[str, str]:
    """"server=4g db=2g" -> {"server": "4g", "db": "2g"} (docker memory limits per role)."""
    limits: dict[str, str] = {}
    for token in " ".join(specs).split():
        role, sep, size = token.partition("=")
        if not sep or role not in ("server", "db") or not _SIZE.match(size.lower()):
            raise UsageError(f"--memory takes server=SIZE or db=SIZE (SIZE like 512m or 4g); "
                             f"got {token!r}")
        limits[role] = size.lower()
    return limits


def runtime_capabilities(choice: RuntimeChoice) -> Capabilities:
    """What the runtime the options choose can do, known before it is made."""
    if choice.hosts:
        return PLACED
    return DockerRuntime.capabilities if choice.runtime == "docker" else LocalRuntime.capabilities


def make_runtime(args: RuntimeChoice, cpu_roles: dict[str, list[int]],
                 prior: results.RunResult | None = None) -> Runtime:
    """The runtime the options choose; reaches nothing (every runtime checks it can work in
    its open()). `prior`: the run being resumed, whose placed hosts' CPUs its settings
    were resolved for."""
    if args.hosts:
        try:
            hosts = placement.load_hosts(args.hosts)
        except placement.PlacementError as exc:
            raise UsageError(str(exc)) from None
        recorded_placement = ((prior.runtime_details.placement or {}) if prior is not None
                              else {})
        recorded = {role: host.get("cpus")
                    for role, host in recorded_placement.get("hosts", {}).items()}
        return DockerRuntime(memory=parse_memory(args.memory), images=args.images,
                             catalog_path=args.catalog,
                             placement=Placement(hosts, recorded_cpus=recorded))
    if args.runtime == "local":
        if args.memory or args.images:
            raise UsageError("--memory and --images apply to --runtime docker only")
        return LocalRuntime(cpu_roles=cpu_roles)
    return DockerRuntime(cpu_roles=cpu_roles, memory=parse_memory(args.memory),
                         images=args.images, catalog_path=args.catalog)


def runnable(variants: list, named: bool, capabilities: Capabilities) -> list:
    """The variants this machine and runtime can run. Free-threaded rows (and their GIL twins)
    need the free-threaded interpreter, reference rows their toolchain, both on a runtime that
    runs rows on the host (`host_only_rows`): named, a missing one is a usage error; unnamed
    (every variant), they are left out with one line per reason."""
    reasons: dict[str, list] = {}
    for v in variants:
        why = _unavailable(v, capabilities)
        if why:
            reasons.setdefault(why, []).append(v)
    if not reasons:
        return variants
    for why, cannot in reasons.items():
        names = ", ".join(v.name for v in cannot)
        if named:
            raise UsageError(f"cannot run {names}: {why}")
        to_stderr(f"note: leaving out {names}: {why}")
    left_out = [v for cannot in reasons.values() for v in cannot]
    return [v for v in variants if v not in left_out]


def _unavailable(variant, capabilities: Capabilities) -> str | None:
    """Why `variant` cannot run here and now; None: it can."""
    if not capabilities.host_only_rows and variant.host_only:
        kind = "free-threaded" if variant.free_threaded else variant.interpreter
        return f"{kind} rows run in the local runtime only: {variant.host_only_why}"
    if variant.free_threaded:
        return interpreters.MISSING if interpreters.free_threaded_python() is None else None
    if not variant.python:
        try:
            toolchains.toolchain(variant)
        except toolchains.ToolchainMissing as exc:
            return str(exc)
    return None


def refuse_what_the_runtime_cannot(args: RunRequest, capabilities: Capabilities,
                                   generators: set[str], writes: bool) -> None:
    """What the command asks that its runtime cannot do (its declared capabilities), refused
    in one line before anything starts."""
    if args.hosts and args.runtime == "local" and "--runtime" in args.argv:
        raise UsageError("--hosts does not take --runtime local (a placed run is the docker "
                         "runtime on several engines)")
    refuse(args.runtime_choice, Request(cpus=bool(args.cpus), external_database=bool(args.mongo_url),
                         deployments=bool(args.instances or args.balancer),
                         generators=frozenset(generators), writes=writes), capabilities)


def refuse(choice: RuntimeChoice, request: Request, capabilities: Capabilities) -> None:
    """The first thing of `request` the runtime cannot do, as a usage error."""
    refused = refusals(request, capabilities)
    if refused:
        raise UsageError(f"{choice.flag} does not take {refused[0]}")


def rows_asked(arguments: list[str]) -> list[tuple[str, int | None]]:
    """Each row the VARIANT arguments ask for, once, in order: (catalog row, None) for a name,
    (catalog row, N) for NAME@N, that row as N instances behind the balancer."""
    rows = [row_argument(arg) for arg in arguments]
    for arg, (_, count) in zip(arguments, rows):
        if count is not None and count < 1:
            raise UsageError(f"{arg}: a deployment runs at least 1 instance")
    return list(dict.fromkeys(rows))


def catalog_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def run_options(args: RunRequest, prior: results.RunResult | None = None) -> RunOptions:
    """The run `args` asks for, every refusal made first in one line (UsageError), before
    anything starts: the rows (NAME@N, a sweep's combinations, --instances behind
    --balancer), the profile with the options' overrides, what its scenarios and its runtime
    cannot do, the CPU pinning; then the plan. `prior`: the run a --resume continues."""
    capabilities = runtime_capabilities(args.runtime_choice)
    asked = rows_asked(list(args.variants)) if args.command == "run" else []
    deployed = [(name, n) for name, n in asked if n is not None]
    if deployed and not args.balancer:
        raise UsageError(f"{deployed[0][0]}@{deployed[0][1]} runs instances behind a balancer: "
                         "add --balancer nginx")
    if deployed and args.instances:
        raise UsageError("NAME@N gives that row's instances; --instances gives every row's: "
                         "choose one")
    names = [name for name, _ in asked] if deployed else list(args.variants)
    variants = runnable(select(load_catalog(args.catalog), names), bool(args.variants),
                        capabilities)
    try:
        profile = PROFILES[args.profile].with_overrides(
            docs=args.docs, connections=args.connections, duration_s=args.duration,
            warmup_s=args.warmup, repeats=args.repeats, timeout_s=args.timeout,
            interleave=False if args.sequential else None,
            rates=args.rate, slo=args.slo, rates_for=args.rates_for,
            db_latencies_ms=args.db_latency)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    scenarios = RunScenarios(profile)
    loadgen, crosscheck = args.generators
    generators = {loadgen, *([crosscheck] if crosscheck else []),
                  *([scenarios.open_loop.generator] if scenarios.open_loop else [])}
    refused = scenarios.refusal(generators)
    if refused:
        raise UsageError(refused)
    if args.unpinned and args.cpus:
        raise UsageError("--unpinned and --cpus contradict each other: choose one")
    refuse_what_the_runtime_cannot(args, capabilities, generators, scenarios.writes is not None)
    cpu_roles = parse_cpu_roles(list(args.cpus))
    if args.mongo_url and "db" in cpu_roles:
        raise UsageError("--cpus db=... pins the embedded mongod; it cannot pin --mongo-url")
    if not cpu_roles and not args.unpinned and capabilities.pinning == "cpus":
        cpu_roles = default_pinning(sorted(os.sched_getaffinity(0)),
                                    external_db=bool(args.mongo_url))
        if not cpu_roles:
            to_stderr("note: one CPU only: server, load generator and mongod share it "
                      "(unpinned)")
    runtime = make_runtime(args.runtime_choice, cpu_roles, prior)
    if args.command == "sweep":
        if args.hosts and runtime.placement.hosts["server"].cpus is None:
            raise UsageError("a sweep on --hosts needs the server host's CPUs before any engine "
                             "is reached (its values resolve for them): add cpus = N to the "
                             "hosts file's [server] table")
        try:
            variants = sweep.expand(variants[0], sweep.parse_sets(list(args.set)),
                                    cpus=runtime.server_cpus(),
                                    max_connections=max(profile.connections))
        except sweep.SweepError as exc:
            raise UsageError(str(exc)) from None
    if args.instances and not args.balancer:
        raise UsageError("--instances needs a balancer in front of them: --balancer nginx")
    if args.balancer:
        try:
            strategy = nginx.parse(args.balancer)
        except nginx.BalancerError as exc:
            raise UsageError(str(exc)) from None
        if args.runtime == "local":
            nginx.find_nginx()   # a missing tool: one line, exit 1, nothing started
        if deployed:   # the rows as asked: some single servers, some behind nginx
            by_name = {v.name: v for v in variants}
            variants = [by_name[name] if n is None else balancer.deploy(by_name[name], n, strategy)
                        for name, n in asked if name in by_name]
        else:
            variants = [balancer.deploy(v, n, strategy) for v in variants
                        for n in (args.instances or (1,))]
    plan = Plan.make([v.name for v in variants], profile, crosscheck=bool(crosscheck),
                     catalog_sha256=catalog_hash(args.catalog))
    return RunOptions(variants=variants, plan=plan, runtime=runtime,
                      out_dir=args.out, mongo_url=args.mongo_url, database=args.database,
                      port=args.port, argv=("battle", *args.argv),
                      loadgen=loadgen, crosscheck=crosscheck,
                      scenario_options=dict(args.scenario_options))
