"""Numbers derived from a results file: per-cell summaries and the consistency checks a report
states. Pure functions of `results` objects; formatting belongs to suite.report."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite import stats
from suite.results import ERROR_KEYS, Cell, RunResult, Sample

CLIENT_BOUND = 0.90       # wrk using >= 90% of its threads' CPUs: the client set the number
MACHINE_BUSY = 0.95       # all CPUs >= 95% busy: server, MongoDB and wrk competed for them
LITTLE_LOW = 0.5          # Little's law ratio below this: connections often idle or uncounted
LITTLE_HIGH = 1.2         # above this a closed loop is impossible in steady state: suspect figures
CLUSTER_SPREAD = 0.10     # every variant within 10% of each other: suspect a shared bottleneck
LATENCY_KEYS = ("p50", "p90", "p99", "p99.9")


def _median_of(samples: list[Sample], get) -> float | None:
    values = [v for v in (get(s) for s in samples) if v is not None]
    return stats.median(values)


def _threads(sample: Sample) -> int:
    args = sample.wrk_args
    return int(args[args.index("-t") + 1]) if "-t" in args else 1


@dataclass
class CellSummary:
    doc: str
    connections: int
    n: int
    ok_rps: list[float] = field(default_factory=list)
    median_rps: float | None = None
    min_rps: float | None = None
    max_rps: float | None = None
    ci95: tuple[float, float] | None = None
    cv: float | None = None
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)     # median per repeat, per class
    error_totals: list[int] = field(default_factory=list)      # every class, per repeat
    error_classes_seen: dict[str, int] = field(default_factory=dict)  # max per class, any repeat
    error_rate: float | None = None
    cpu_cores: dict[str, float | None] = field(default_factory=dict)   # role -> median cores
    rss_max_bytes: dict[str, int | None] = field(default_factory=dict)
    little: float | None = None
    client_bound: bool = False
    machine_busy: bool = False
    stalled_repeats: int = 0   # repeats with no response and no error at all

    @property
    def unstable(self) -> bool:
        return self.cv is not None and self.cv > stats.UNSTABLE_CV

    @property
    def error_total(self) -> float:
        return sum(self.errors.values())


def summarize(cell: Cell) -> CellSummary:
    samples = cell.repeats
    summary = CellSummary(cell.doc, cell.connections, len(samples))
    if not samples:
        return summary
    rps = [s.ok_rps for s in samples]
    summary.ok_rps = rps
    summary.median_rps, summary.min_rps, summary.max_rps = stats.median(rps), min(rps), max(rps)
    summary.ci95, summary.cv = stats.ci95(rps), stats.cv(rps)
    for key in (*LATENCY_KEYS, "mean"):
        us = _median_of(samples, lambda s, k=key: s.latency_us.get(k))
        summary.latency_ms[key] = None if us is None else us / 1000
    summary.errors = {key: stats.median([s.errors[key] for s in samples]) for key in ERROR_KEYS}
    summary.error_totals = [s.error_count for s in samples]
    summary.error_classes_seen = {key: max(s.errors[key] for s in samples) for key in ERROR_KEYS}
    summary.error_rate = stats.median([s.error_rate for s in samples])
    roles = sorted({role for s in samples for role in (s.resources or {})})
    for role in roles:
        summary.cpu_cores[role] = _median_of(
            samples, lambda s, r=role: (s.resources or {}).get(r, {}).get("cpu_cores"))
        rss = [(s.resources or {}).get(role, {}).get("rss_bytes_max") for s in samples]
        rss = [v for v in rss if v is not None]
        summary.rss_max_bytes[role] = max(rss) if rss else None
    summary.stalled_repeats = sum(1 for s in samples if s.requests == 0 and s.error_count == 0)
    summary.little = stats.median([r for r in (_little(s) for s in samples) if r is not None])
    summary.client_bound = any(
        (s.resources or {}).get("loadgen", {}).get("cpu_cores", 0) >= CLIENT_BOUND * _threads(s)
        for s in samples)
    machine = [(s.resources or {}).get("machine") for s in samples]
    summary.machine_busy = bool(machine) and all(
        m is not None and m["cpu_cores"] >= MACHINE_BUSY * m["cpus"] for m in machine)
    return summary


def _little(sample: Sample) -> float | None:
    mean_us = sample.latency_us.get("mean")
    if mean_us is None or sample.duration_s <= 0:
        return None
    connections = int(sample.wrk_args[sample.wrk_args.index("-c") + 1]) \
        if "-c" in sample.wrk_args else 0
    return stats.littles_law_ratio(sample.requests / sample.duration_s, mean_us / 1e6, connections)


@dataclass(frozen=True)
class Finding:
    kind: str      # unstable | client-bound | machine-busy | little | cluster | timeouts
    text: str


def checks(run: RunResult) -> list[Finding]:
    """Computed warnings about the numbers themselves, in a stable order."""
    found: list[Finding] = []
    summaries = {(v.name, c.doc, c.connections): summarize(c)
                 for v in run.variants for c in v.cells if c.repeats}

    def cells_where(predicate) -> list[str]:
        return [f"{name} {doc}@{conns}" for (name, doc, conns), s in summaries.items()
                if predicate(s)]

    stalled = cells_where(lambda s: s.stalled_repeats > 0)
    if stalled:
        found.append(Finding("stalled", f"{len(stalled)} cell(s) had a repeat in which the "
                             "server answered nothing and wrk saw no error (connections open, "
                             "no response before the end of the repeat, too early for wrk's "
                             "timeout check): the server stalled, it was not slow. Read those "
                             f"zeros as a failure, not a throughput: {', '.join(stalled)}."))
    unstable = cells_where(lambda s: s.unstable)
    if unstable:
        found.append(Finding("unstable", f"{len(unstable)} cell(s) vary by more than "
                             f"{stats.UNSTABLE_CV:.0%} (coefficient of variation) between repeats; "
                             f"treat their differences with care: {', '.join(unstable)}."))
    bound = cells_where(lambda s: s.client_bound)
    if bound:
        found.append(Finding("client-bound", f"In {len(bound)} cell(s) wrk used at least "
                             f"{CLIENT_BOUND:.0%} of its threads' CPUs: the load generator, not "
                             f"the server, set these numbers: {', '.join(bound)}."))
    busy = cells_where(lambda s: s.machine_busy)
    if busy:
        found.append(Finding("machine-busy", f"{len(busy)} of {len(summaries)} cells ran with every "
                             f"CPU at least {MACHINE_BUSY:.0%} busy: server, MongoDB and wrk "
                             "competed for the same CPUs, so a server's number includes the "
                             "others' appetite. Pin roles with --cpus for a cleaner split."))
    low = cells_where(lambda s: s.little is not None and s.little < LITTLE_LOW)
    if low:
        found.append(Finding("little", f"Little's law: in {len(low)} cell(s) throughput × mean "
                             f"latency is under {LITTLE_LOW:.0%} of the connections, so most "
                             "connections were not waiting on a response most of the time "
                             "(reconnects without keep-alive, socket errors, or timeouts left out "
                             f"of the latency): {', '.join(low)}."))
    high = cells_where(lambda s: s.little is not None and s.little > LITTLE_HIGH)
    if high:
        found.append(Finding("little", f"Little's law: in {len(high)} cell(s) throughput × mean "
                             f"latency exceeds the connections by more than "
                             f"{LITTLE_HIGH - 1:.0%}, which a closed-loop client cannot do in "
                             "steady state; their mean latency or request count is suspect (very "
                             f"bimodal latency, or too short a run): {', '.join(high)}."))
    timeouts = cells_where(lambda s: s.error_classes_seen.get("timeout", 0) > 0)
    if timeouts:
        found.append(Finding("timeouts", f"{len(timeouts)} cell(s) had timeouts; wrk leaves "
                             "timed-out requests out of every latency figure, so their "
                             f"percentiles look better than the service was: {', '.join(timeouts)}."))
    for doc in run.profile.docs:
        for conns in run.profile.connections:
            medians = [s.median_rps for (_, d, c), s in summaries.items()
                       if d == doc and c == conns and s.median_rps]
            if len(medians) >= 3:
                spread = (max(medians) - min(medians)) / stats.median(medians)
                if spread < CLUSTER_SPREAD:
                    found.append(Finding("cluster", f"{doc}@{conns}: all {len(medians)} variants "
                                         f"lie within {spread:.0%} of each other, a sign of a "
                                         "shared bottleneck (MongoDB, the client or the machine) "
                                         "rather than of equal servers."))
    return found
