"""How the run was measured, every cell in detail, the variants as they ran, the machine."""

from __future__ import annotations

import shlex

from suite.record import documents, stats
from suite.read.analysis import SHOWN_PERCENTILES, CellSummary
from suite.read import fmt
from suite.read.answer import earlier_procedure, top_groups
from suite.record.groups import undecided
from suite.record.plan import races
from suite.read.report import prose
from suite.read.report.view import View
from suite.record.results import Cell, DatabaseOps, MongoInfo, RunResult, VariantResult


def order_text(run: RunResult) -> str:
    if run.order == "interleaved" and run.profile.repeats > 1:
        shuffled = (run.plan or {}).get("round_order") == "shuffled"
        return ("interleaved (repeat r of every variant, each freshly started, before repeat r+1"
                + ("; every base round starts the variants in an order drawn for it" if shuffled
                   else "; every round in the same order") + ")")
    return "one after the other"


def roles_text(run: RunResult) -> str:
    if not run.cpu_roles:
        return ", no CPU pinning"
    return ", CPUs pinned: " + ", ".join(f"{role} {cpus}" for role, cpus in run.cpu_roles.items())


def interpreter_lines(run: RunResult) -> list[str]:
    """The interpreters the servers ran on, as each described its own build, and a warning on
    the first screen when any server ran on one without PGO and LTO (not what a deployment
    runs: distributions and the official images ship both)."""
    builds: dict[str, list[str]] = {}
    unoptimized = []
    for v in run.variants:
        if v.interpreter_build is None:
            continue
        text = fmt.interpreter_build(v.interpreter_build)
        if not v.interpreter_build.get("toolchain"):   # a toolchain's description has its path
            text += f" (`{v.interpreter_build.get('path')}`)"
        builds.setdefault(text, []).append(v.name)
        if not v.interpreter_build.get("production"):
            unoptimized.append(v.name)
    if not builds:
        if run.runtime == "local" and run.runtime_details.python:
            return [f"**Interpreters:** builds not recorded; the servers ran on "
                    f"`{run.runtime_details.python}`.", ""]
        return []
    lines = ["**Interpreters:** " + "; ".join(
        f"{text}: {len(names)} variant(s)" if len(builds) > 1 else text
        for text, names in builds.items()) + "."]
    if unoptimized:
        lines.append(f"**Warning: {len(unoptimized)} variant(s) ran on an interpreter built "
                     "without PGO and LTO** (not what distributions and the official images "
                     "ship): their figures understate a deployment, Python-heavy stacks most: "
                     + ", ".join(unoptimized) + ".")
    return lines + [""]


def raced(run: RunResult) -> bool:
    """Whether the run's precision rounds raced (suite.record.plan.precision_round: the leader of
    each undecided cell and the stacks tied with it got the repeats) rather than going to the
    cells whose CV exceeded the target. A racing run records its top groups; runs made before
    racing record none."""
    return races(run.profile, len(run.variants)) and bool(run.top_groups)


def repeats_text(run: RunResult) -> str:
    p = run.profile
    text = f"{p.repeats} repeat(s) per cell"
    if raced(run):
        text = (f"{p.repeats} to {p.repeat_cap} repeats per cell (more for the stacks not yet "
                "separated from their cell's leader)")
    elif p.repeat_cap > p.repeats:
        text = f"{p.repeats} to {p.repeat_cap} repeats per cell (more where CV > {p.target_cv:.0%})"
    return text + (f" after a {p.warmup_s:g} s warmup each" if p.warmup_s else ", no warmup")


def machine_text(run: RunResult) -> str:
    env = run.environment
    return f"{env.get('cpu_model')} × {env.get('cpu_count')}"


def placement_words(run: RunResult) -> str:
    """Where the roles ran, in the few words the placement line opens with and the runs' index
    shows: "one machine" (one engine, the roles sharing its CPUs), or a placed run's engines
    ("three engines", one per role; "three engines, one box" when they all report the same
    machine: a lab on one box)."""
    placement = run.runtime_details.placement
    if not placement:
        return "one machine"
    hosts = placement.get("hosts", {})
    return _engines(hosts) + (", one box" if _one_box(hosts) else "")


_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four"}


def _engines(hosts: dict) -> str:
    """"three engines": how many distinct engines a placed run's roles ran on."""
    count = len({h.get("engine") for h in hosts.values()}) or len(hosts)
    return f"{_NUMBERS.get(count, str(count))} engines"


def _one_box(hosts: dict) -> bool:
    """Whether every engine of a placed run reports the same machine (name and CPU model)."""
    return len({(h.get("name"), h.get("cpu_model")) for h in hosts.values()}) == 1


def placement_lines(run: RunResult) -> list[str]:
    """Where the roles ran: one engine (one machine, roles sharing its CPUs), or a placed
    run's three engines with their machines and the links measured between them. Runs compare
    only within one placement (suite.read.compare warns when two runs' placements differ)."""
    placement = run.runtime_details.placement
    if not placement:
        return [f"**Placement: {placement_words(run)}.** Load generator, server and database "
                f"shared {machine_text(run)} ({run.runtime} runtime); compare this run only "
                "with runs placed the same way.", ""]
    hosts = placement.get("hosts", {})

    def host(role: str) -> str:
        h = hosts.get(role, {})
        label = f"{h.get('machine')}, " if h.get("machine") else ""
        tcp = h.get("tcp") or {}
        return (f"{role} at {h.get('address')} ({label}{h.get('cpu_model') or '?'} × "
                f"{h.get('cpus')}, {(h.get('memory_bytes') or 0) / 2**30:.0f} GiB, "
                f"engine {h.get('engine_version')} `{h.get('engine')}`"
                + (f", tcp_tw_reuse {tcp['tcp_tw_reuse']}, ports {tcp['ip_local_port_range']}"
                   if "tcp_tw_reuse" in tcp and "ip_local_port_range" in tcp else "") + ")")

    def link(entry: dict) -> str:
        rtt = entry.get("rtt_ms")
        gbit = entry.get("gbit_s")
        return (f"{entry.get('source')} → {entry.get('target')}: round trip "
                f"{'?' if rtt is None else f'{rtt:.3f}'} ms idle (TCP connect, median), "
                f"{'?' if gbit is None else f'{gbit:.1f}'} Gbit/s (iperf3, one stream)")

    shared = _one_box(hosts)
    return [f"**Placement: {_engines(hosts)}.** " + "; ".join(host(r) for r in ("client", "server",
                                                                          "db"))
            + ". Links: " + "; ".join(link(e) for e in placement.get("links", [])) + "."
            + (" The three engines report the same machine: a lab on one box (separate "
               "addresses, network stacks and engines, shared CPUs)." if shared else "")
            + " Compare this run only with runs placed the same way." + _placed_with(run)
            + _not_measured(run), ""]


def _placed_with(run: RunResult) -> str:
    """" Placed with the roles: ..." : where the run's scenarios ran beyond the three roles
    (nginx, the writes' counting, oha); "" when it had none of them or recorded no
    capabilities (runs before they were recorded)."""
    if not run.runtime_details.capabilities:
        return ""
    found = []
    if any(v.deployment is not None for v in run.variants):
        found.append("nginx and its instances on the server engine (nginx listening at, and "
                     "reaching its instances at, the server host's address)")
    if documents.WRITE in run.profile.docs:
        found.append("the writes' acknowledged ids copied out of the client container and "
                     "counted in mongod on the db host")
    oha = [what for what, generator in (("cross-checks", run.crosscheck),
                                        ("open-loop cells", run.open_loop))
           if generator and generator.get("tool") == "oha"]
    if oha:
        found.append(f"oha ({' and '.join(oha)}) in the client container")
    return f" Placed with the roles: {'; '.join(found)}." if found else ""


# What a runtime may lack that every execution otherwise records (its declared capabilities,
# suite.measure.runtime.capabilities), in a report's words.
NOT_MEASURED = {"connection_spread": "the connections per worker process",
                "same_machine": "the machine's speed before each repeat (calibration)"}


def _not_measured(run: RunResult) -> str:
    """" Not measured in this run: ... (why); ..." from the capabilities the runtime recorded
    ("" when it recorded none, or lacked nothing of these)."""
    capabilities = run.runtime_details.capabilities or {}
    why = capabilities.get("why_not") or {}
    lacking = [f"{words} ({why[name]})" if name in why else words
               for name, words in NOT_MEASURED.items() if capabilities.get(name) is False]
    return f" Not measured in this run: {'; '.join(lacking)}." if lacking else ""


def mongo_text(mongo: MongoInfo) -> str:
    container = mongo.container
    if container:
        return (f"container `{container.image}`, cpuset {container.cpuset}, "
                f"memory {container.memory}")
    return "embedded mongod" if mongo.embedded else f"existing server {mongo.url}"


def sittings_text(run: RunResult) -> str:
    """How many sittings measured the run, its wall time against the plan's, and the share of
    it that was counted load."""
    sittings = run.sittings
    wall = sum(s.wall_s or 0 for s in sittings)
    counted = sum(s.counted_s for s in sittings)
    if not wall:
        return ""
    text = (f" Measured in {len(sittings)} sitting(s)"
            + (" (" + "; ".join(f"{s.started_at} to {s.finished_at or '–'}, {s.status}"
                                for s in sittings) + ")" if len(sittings) > 1 else "")
            + f": {fmt.minutes(wall)} of wall time, {fmt.minutes(counted)} of it counted load "
              f"(counted ÷ wall {counted / wall:.2f})")
    expected = (run.plan or {}).get("expected_s")
    if expected:
        text += f"; the plan expected {fmt.minutes(expected)} ({wall / expected:.2f}× that)"
    return text + "."


def _precision_text(run: RunResult) -> str:
    p = run.profile
    if p.repeat_cap <= p.repeats:
        return ""
    extra = [c for v in run.variants for c in v.cells if len(c.repeats) > p.repeats]
    if raced(run):
        groups = list(top_groups(run).values())
        left = len(undecided(groups))
        return (f" Racing precision rounds: every cell at least {p.repeats} repeats; after the "
                "base rounds and after each precision round, every cell whose leader was not "
                "yet separated from every other stack measured its leader and the stacks tied "
                f"with it once more, in one round, up to {p.repeat_cap} repeats, within the "
                f"plan's precision budget; {len(extra)} cell(s) got more. When the rounds "
                f"ended, {left} of {len(groups)} cells still had no leader beyond noise"
                + (" (the budget or the repeat cap ended them)." if left else ".")
                + (f" The run raced by an earlier procedure ({earlier}), whose groups its "
                   "results file keeps; the groups this report shows are today's procedure's, "
                   "on the same repeats." if (earlier := earlier_procedure(run)) else ""))
    return (f" Precision-driven repeats: every cell at least {p.repeats}, one more per round "
            f"while a cell's successful req/s varied more than {p.target_cv:.0%} (CV), up to "
            f"{p.repeat_cap}, within the plan's time; {len(extra)} cell(s) got more.")


def _loadgen_cpu(run: RunResult) -> str:
    per_response = [s.usage("loadgen").cpu_cores * s.duration_s / s.requests * 1e6
                    for v in run.variants for c in v.cells for s in c.repeats
                    if s.requests and s.usage("loadgen") and s.usage("loadgen").cpu_cores
                    is not None]
    if not per_response:
        return ""
    return (f" {run.loadgen.get('tool', 'wrk')}'s CPU per response received, median over the "
            f"repeats: {stats.median(per_response):.1f} µs (from {min(per_response):.1f} to "
            f"{max(per_response):.1f}), body check included.")


def _waits(run: RunResult) -> str:
    waits = [s.quiet_wait_s for v in run.variants for c in v.cells for s in c.repeats
             if s.quiet_wait_s is not None]
    if not waits:
        return ""
    return (f" Before every warmup and counted run {run.method.get('idle_wait')}: "
            f"{stats.median(waits):.1f} s at the median, {max(waits):.1f} s at most.")


def _reads(run: RunResult) -> str:
    """What MongoDB's own counters said about the reads, when the run counted them."""
    per = [s.finds_per_ok for v in run.variants for c in v.cells if c.doc != documents.WRITE
           for s in c.repeats if s.finds_per_ok is not None]
    if not per:
        return ""
    return (f" MongoDB counted a find per successful read in every repeat counted (the lowest "
            f"repeat {min(per):.2f} finds per response)." if min(per) >= 1 else
            f" The lowest repeat had {min(per):.2f} finds per successful read (see Failures).")


def methodology_section(view: View) -> list[str]:
    run = view.run
    p, method = run.profile, run.method
    cells = len(p.docs) * len(p.connections) * len(p.db_latencies_ms)
    latencies = (f" × {len(p.db_latencies_ms)} database latencies "
                 f"({', '.join(f'+{ms} ms' for ms in p.db_latencies_ms)})"
                 if p.db_latencies_ms != (0,) else "")
    command = shlex.join(run.argv) if run.argv else "battle run"
    if command.startswith("battle "):
        command = ".venv/bin/" + command
    lines = [
        "## Methodology", "",
        f"- **What ran**: {len(run.variants)} variant(s) × {len(p.docs)} document(s) × "
        f"{len(p.connections)} connection level(s){latencies} = {len(run.variants) * cells} "
        f"cells; the `{run.runtime}` runtime on one machine ({machine_text(run)}) with MongoDB "
        f"{run.mongo.version} ({mongo_text(run.mongo)}) and {run.loadgen.get('tool', 'wrk')}.",
        f"- **How long**: each counted repeat {p.duration_s:g} s, {repeats_text(run)}, "
        f"{order_text(run)}; a {p.primer_s:g} s low-concurrency primer after each server start. "
        f"Timeout {p.timeout_s:g} s (slower: late; unanswered: lost), "
        f"{method.get('generator_threads')}. Run from {run.started_at} to "
        f"{run.finished_at or '–'}." + sittings_text(run) + _precision_text(run),
        f"- **Healthy**: a cell whose attempts, pooled over all its repeats, failed at most "
        f"{fmt.share(p.max_failed_share)}, and no repeat more (suite.record.health); only "
        "healthy cells are ranked, and the others are marked with their share.",
        "- **What was verified** before any measurement, at every server start: "
        + ", ".join(f"`/{doc}`" for doc in p.docs if doc != documents.WRITE)
        + f" and `/plain` {method.get('verification')}"
        + (f" {method.get('write_verification')}" if documents.WRITE in p.docs else ""),
        # The script, the latency and the method's texts as the run recorded them: an older run
        # names the files of its day's layout, printed as recorded (history, not this code's).
        f"- **What was measured**: {run.loadgen.get('tool', 'wrk')} "
        f"({run.loadgen.get('version')})"
        + (f" with `{run.loadgen['script']}`, whose `done()` prints one JSON line"
           if run.loadgen.get("script") else "")
        + " (the raw output of every run is kept beside the results). "
        f"Latency: {run.loadgen.get('latency')}. Failure classes counted: "
        f"{', '.join(run.loadgen.get('failure_classes', []))}. Body check: "
        f"{run.loadgen.get('body_check') or 'none'}.{_loadgen_cpu(run)} "
        f"{method.get('resources')}" + _waits(run) + _reads(run),
        *([f"- **Database latency**: {method.get('db_latency')} See *Database latency* above."]
          if run.mongo.fail_point else []),
        _reproduce(run, command),
        "",
    ]
    return lines


def _reproduce(run: RunResult, command: str) -> str:
    env = run.environment
    regenerate = prose.REGENERATE.format(run_id=run.run_id)
    if env.get("git_dirty"):
        return prose.REPRODUCE_DIRTY.format(commit=env.get("git_commit"),
                                            digest=env.get("git_diff_sha256") or "unknown",
                                            command=command, regenerate=regenerate)
    return prose.REPRODUCE.format(commit=env.get("git_commit") or "<commit>", command=command,
                                  regenerate=regenerate)


def details_section(view: View) -> list[str]:
    lines = ["## Every cell", "",
             "<details><summary>n repeats, spread, confidence interval, latency, resources, "
             "Little's law, MongoDB's finds, connections per worker</summary>", "",
             "| variant | cell | n | median req/s | 95% CI | CV | p50 / p90 / p99 / p99.9 ms "
             "| responses / latency samples | failed | server CPU | mongod CPU | wrk CPU "
             "| server memory MiB | L/N | finds / response | connections per worker "
             "| wrk-corrected p50 / p99 ms |",
             "|---|---|---:|---:|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for v in view.run.variants:
        for cell in v.cells:
            if not cell.repeats:
                continue
            s = view.summary(v, cell)
            ci = f"{fmt.integer(s.ci95[0])}–{fmt.integer(s.ci95[1])}" if s.ci95 else "–"
            cv = "–" if s.cv is None else f"{s.cv:.1%}" + (" ⚠" if s.unstable else "")
            latency = " / ".join(fmt.ms(s.latency_ms.get(k)) for k in SHOWN_PERCENTILES)
            flags = " (client-bound)" if s.client_bound else ""
            little = "–" if s.little is None else f"{s.little:.2f}"
            finds = "–" if s.finds_per_ok_min is None else f"{s.finds_per_ok_min:.2f}"
            lines.append(
                f"| {v.name} | {cell.label} | {s.n} | {fmt.integer(s.median_rps)} "
                f"| {ci} | {cv} | {latency} | {_counts(cell)} | {fmt.failures(s)} "
                f"| {fmt.cores(s.cpu_cores.get('server'))} "
                f"| {fmt.cores(s.cpu_cores.get('mongod'))} "
                f"| {fmt.cores(s.cpu_cores.get('loadgen'))}{flags} "
                f"| {fmt.mib(s.memory_max_bytes.get('server'))}{_measure(s)} | {little} "
                f"| {finds} | {'; '.join(s.spreads)} | {_corrected(cell)} |")
    return lines + ["", prose.DETAILS_LEGEND, "", "</details>", ""]


def _measure(s: CellSummary) -> str:
    measure = s.memory_measure.get("server")
    return {"pss": " PSS", "pss+rss": " PSS/RSS", "rss": " RSS",
            "cgroup-anon": " anon"}.get(measure or "", "")


def _counts(cell: Cell) -> str:
    parts = []
    for sample in cell.repeats:
        count = "?" if sample.latency_count is None else f"{sample.latency_count:,}"
        mark = " ≠" if sample.latency_count_matches is False else ""
        parts.append(f"{sample.requests:,} / {count}{mark}")
    return "; ".join(parts)


def _corrected(cell: Cell) -> str:
    corrected = [s.latency_corrected_us for s in cell.repeats if s.latency_corrected_us]
    if not corrected:
        return "–"
    return "; ".join(" / ".join(fmt.ms(None if c.get(k) is None else c[k] / 1000)
                                for k in ("p50", "p99")) for c in corrected)


def _settings(variant: VariantResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in variant.settings.items())


def variants_section(view: View) -> list[str]:
    run = view.run
    lines = ["## Variants and settings", "",
             "| variant | class | server | worker model | driver | interpreter | settings | "
             "status |", "|---|---|---|---|---|---|---|---|"]
    for v in run.variants:
        driver = f"{v.driver} (deprecated)" if v.deprecated else v.driver
        lines.append(f"| {v.name} | {v.classification} | {v.server} | {v.worker_model} | "
                     f"{driver} | {interpreter_text(v)} | {_settings(v)} | {v.status} |")
    deprecated = [v for v in run.variants if v.deprecated]
    if deprecated:
        lines += [""] + [f"- `{v.name}` is deprecated: {v.deprecated}" for v in deprecated]
    where = " (inside each variant's container)" if run.runtime == "docker" else ""
    lines += ["", f"Commands, as run{where}:", ""]
    for v in run.variants:
        lines.append(f"- `{v.name}`: `{' '.join(v.command)}`")
    built = [v for v in run.variants if v.image]
    if built:
        lines += ["", "Images:", ""]
        lines += [f"- `{v.name}`: `{v.image.name}` "
                  f"({v.image.id.removeprefix('sha256:')[:12]}), "
                  f"Python {v.image.python}, on `{v.image.base}`, "
                  f"open files {(v.image.nofile or ['?'])[0]}"
                  f"{', packages from the local wheelhouse only' if v.image.offline else ''}"
                  for v in built]
    versions: dict[str, set[str]] = {}
    for v in run.variants:
        for package, version in v.packages.items():
            versions.setdefault(package, set()).add(str(version))
    if versions:
        lines += ["", "Package versions: " + ", ".join(
            f"{p} {'/'.join(sorted(vs))}" for p, vs in sorted(versions.items())) + "."]
    return lines + [""]


def interpreter_text(v) -> str:
    """The interpreter as the server reported it at verification: "CPython 3.13.15
    free-threaded, GIL off"; "–" where it was not read (runs before results v8)."""
    said = v.interpreter
    if not said:
        return "–"
    if "version" in said and "python" not in said:   # a reference row: Node.js, Java, Rust
        return f"{said.get('implementation', '?')} {said['version']}"
    build = " free-threaded" if said.get("free_threaded") else ""
    return (f"{said.get('implementation', 'Python')} {said.get('python', '?')}{build}, "
            f"GIL {'on' if said.get('gil') else 'off'}")


def _runtime(run: RunResult) -> str:
    details = run.runtime_details
    if run.runtime != "docker" or details.engine is None:
        return run.runtime
    compose = details.compose or {}
    limits = dict(details.limits)
    if run.mongo.container:
        limits["db"] = {"cpuset": run.mongo.container.cpuset,
                        "memory": run.mongo.container.memory}
    return (f"docker (engine {details.engine}, compose {compose.get('version')} via "
            f"`{' '.join(compose.get('command', []))}`), {details.images} images "
            f"(chosen by {details.images_source}), {details.network} network; "
            + "; ".join(f"{role}: cpuset {lim.get('cpuset')}, memory {lim.get('memory')}"
                        for role, lim in limits.items()))


def commit_text(env: dict) -> str:
    commit = env.get("git_commit")
    if env.get("git_dirty"):
        digest = env.get("git_diff_sha256")
        return (f"{commit} **with uncommitted changes**"
                + (f" (diff sha256 {digest[:12]})" if digest else ""))
    return str(commit)


def machine_section(view: View) -> list[str]:
    run = view.run
    env, mongo, wrk = run.environment, run.mongo, run.loadgen
    memory = env.get("memory_bytes")
    rows = [
        ("CPU", f"{env.get('cpu_model')} × {env.get('cpu_count')} "
                f"(affinity {env.get('cpu_affinity')})"),
        ("Memory", f"{memory / 2**30:.1f} GiB" if memory else "?"),
        ("OS / kernel", f"{env.get('os')} / {env.get('kernel')}"),
        ("Python", env.get("python")),
        ("Open files (soft/hard)", f"{env.get('nofile_soft')}/{env.get('nofile_hard')}"),
        ("somaxconn / tcp_max_syn_backlog",
         f"{env.get('somaxconn')} / {env.get('tcp_max_syn_backlog')}"),
        ("MongoDB", f"{mongo.version} ({mongo_text(mongo)})"),
        ("Load generator", f"{wrk.get('version')}, up to {wrk.get('threads')} threads, "
                           f"--timeout {wrk.get('timeout_s')} s"),
        ("Suite", f"{env.get('suite_version')} at commit {commit_text(env)}"),
        ("Runtime", _runtime(run)),
    ]
    lines = ["## Machine and versions", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    for n, sitting in enumerate(run.sittings[1:], start=2):
        other = sitting.environment
        lines.append(f"| Sitting {n} | {other.get('cpu_model')} × {other.get('cpu_count')}, "
                     f"kernel {other.get('kernel')}, commit {commit_text(other)}, "
                     f"{sitting.started_at} |")
    return lines + [""]


def method_record(runtime: str, capabilities, *, quiet_fast_s: float, quiet_gap_s: float,
                  db_quiet_s: float, sample_interval_s: float,
                  calibration_blocks: int) -> dict[str, str]:
    """How the measuring code measures, in the words of this methodology section, recorded per
    run (RunResult.method) by the runner, which passes its own constants; what the runtime
    cannot measure says so, with its reason (its capabilities: connection_spread, same_machine,
    why_not)."""
    memory = ("each container's cgroup (memory: its anonymous memory)" if runtime == "docker"
              else "process groups in /proc (memory: PSS summed over each group, so pages "
                   "shared by prefork workers count once)")
    can = capabilities
    spread = ("half-way through every execution, the established connections to the server's "
              "port counted per worker process from /proc (and those not yet accepted)."
              if can.connection_spread else
              f"not measured: {can.why_not.get('connection_spread', 'this runtime cannot')}.")
    timed = ("right before every counted repeat, with the server idle, the suite times "
             f"{calibration_blocks} blocks of fixed interpreted work on each CPU the roles run "
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
                     f"within {quiet_fast_s:g} s, {quiet_gap_s:g} s apart) and for MongoDB's "
                     f"own operation counters to stand still for {db_quiet_s:g} s",
        "dependencies": "after every execution the suite checks its mongod and the load "
                        "generator: when one died, the run stops at once with a line naming "
                        "it, the repeat in flight is discarded and no later server is started "
                        "(`--resume` continues).",
        "resources": f"CPU/memory of the server, mongod and the load generator sampled every "
                     f"{sample_interval_s:g} s ({memory}; the generator's CPU from its rusage).",
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
