"""Numbers derived from a results file: per-cell summaries and the consistency checks a report
states. Pure functions of `results` objects; formatting belongs to suite.report."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite import stats
from suite.results import ERROR_KEYS, Cell, RunResult, Sample

CLIENT_BOUND = 0.90       # wrk using >= 90% of its threads' CPUs: the client set the number
MACHINE_BUSY = 0.95       # all CPUs >= 95% busy: server, MongoDB and wrk competed for them
LITTLE_LOW = 0.5          # Little's law ratio below this: connections often idle or uncounted
LITTLE_HIGH = 1.05        # above this a closed loop is impossible in steady state: suspect figures
CLUSTER_SPREAD = 0.10     # every variant within 10% of each other: suspect a shared bottleneck
SHOWN_PERCENTILES = ("p50", "p90", "p99", "p99.9")


def _median_of(samples: list[Sample], get) -> float | None:
    values = [v for v in (get(s) for s in samples) if v is not None]
    return stats.median(values)


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
    # Measured latency (medians over repeats); None where no repeat has a measured figure.
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    latency_unmeasured: int = 0   # repeats whose latency is known only as wrk corrected it
    latency_mismatch: int = 0     # repeats whose latency sample count != responses in time
    # Median per repeat, per class; None for a class no repeat counted.
    errors: dict[str, float | None] = field(default_factory=dict)
    error_totals: list[int] = field(default_factory=list)      # every class, per repeat
    error_classes_seen: dict[str, int] = field(default_factory=dict)  # max per class, any repeat
    uncounted: tuple[str, ...] = ()   # failure classes some repeat could not count
    error_rate: float | None = None           # median over repeats
    error_rate_max: float | None = None       # the worst repeat
    cpu_cores: dict[str, float | None] = field(default_factory=dict)   # role -> median cores
    rss_max_bytes: dict[str, int | None] = field(default_factory=dict)
    little: float | None = None
    client_bound: bool = False
    machine_busy: bool = False
    stalled_repeats: int = 0   # repeats with no response and nothing counted as failed
    missing_sockets: int = 0   # connections wrk no longer had open when a repeat ended

    @property
    def unstable(self) -> bool:
        return self.cv is not None and self.cv > stats.UNSTABLE_CV

    @property
    def error_total(self) -> float:
        return sum(v for v in self.errors.values() if v)

    @property
    def clean(self) -> bool:
        """No failure of any class in any repeat, and every class counted."""
        return not any(self.error_totals) and not self.uncounted


def summarize(cell: Cell) -> CellSummary:
    samples = cell.repeats
    summary = CellSummary(cell.doc, cell.connections, len(samples))
    if not samples:
        return summary
    rps = [s.ok_rps for s in samples]
    summary.ok_rps = rps
    summary.median_rps, summary.min_rps, summary.max_rps = stats.median(rps), min(rps), max(rps)
    summary.ci95, summary.cv = stats.ci95(rps), stats.cv(rps)
    for key in (*SHOWN_PERCENTILES, "mean", "max"):
        us = _median_of(samples, lambda s, k=key: s.latency_us.get(k))
        summary.latency_ms[key] = None if us is None else us / 1000
    summary.latency_unmeasured = sum(
        1 for s in samples if s.latency_us.get("mean") is None and s.latency_corrected_us)
    summary.latency_mismatch = sum(1 for s in samples if s.latency_count_matches is False)
    counted = {key: [s.errors[key] for s in samples if s.errors.get(key) is not None]
               for key in ERROR_KEYS}
    summary.errors = {key: stats.median(values) for key, values in counted.items()}
    summary.error_totals = [s.error_count for s in samples]
    summary.error_classes_seen = {key: max(values, default=0) for key, values in counted.items()}
    summary.uncounted = tuple(key for key in ERROR_KEYS
                              if any(s.errors.get(key) is None for s in samples))
    summary.error_rate = stats.median([s.error_rate for s in samples])
    summary.error_rate_max = max(s.error_rate for s in samples)
    roles = sorted({role for s in samples for role in (s.resources or {})})
    for role in roles:
        summary.cpu_cores[role] = _median_of(
            samples, lambda s, r=role: (s.resources or {}).get(r, {}).get("cpu_cores"))
        rss = [(s.resources or {}).get(role, {}).get("rss_bytes_max") for s in samples]
        rss = [v for v in rss if v is not None]
        summary.rss_max_bytes[role] = max(rss) if rss else None
    summary.stalled_repeats = sum(1 for s in samples if s.requests == 0 and s.error_count == 0)
    summary.missing_sockets = max(_missing_sockets(s) for s in samples)
    summary.little = stats.median([r for r in (_little(s) for s in samples) if r is not None])
    summary.client_bound = any(
        (s.resources or {}).get("loadgen", {}).get("cpu_cores", 0) >= CLIENT_BOUND * s.threads
        for s in samples)
    machine = [(s.resources or {}).get("machine") for s in samples]
    summary.machine_busy = bool(machine) and all(
        m is not None and m["cpu_cores"] >= MACHINE_BUSY * m["cpus"] for m in machine)
    return summary


def _missing_sockets(sample: Sample) -> int:
    # wrk gives each thread connections // threads connections, one socket each.
    if not sample.sockets:
        return 0
    expected = sample.threads * (sample.connections // max(1, sample.threads))
    return max(0, expected - sample.sockets.get("open", expected))


def _little(sample: Sample) -> float | None:
    """Little's law for a closed loop, from measured latency only."""
    mean_us = sample.latency_us.get("mean")
    if mean_us is None or sample.duration_s <= 0 or sample.rate is not None:
        return None
    return stats.littles_law_ratio(sample.requests / sample.duration_s, mean_us / 1e6,
                                   sample.connections)


@dataclass(frozen=True)
class Finding:
    # stalled | late | lost | body | latency-count | corrected-latency | connections |
    # unstable | client-bound | machine-busy | little | cluster
    kind: str
    text: str


# What each counted failure class means for a cell's other figures.
FAILURE_CHECKS = {
    "late": "had late responses (slower than the timeout): counted as failures, and left out "
            "of the latency figures, which describe only the responses within the timeout",
    "lost": "had lost requests (still unanswered, longer than the timeout, when a repeat "
            "ended): failures no latency figure can show",
    "body": "had responses whose bytes differed from the verified document: counted as "
            "failures, not as successful requests",
}


def checks(run: RunResult) -> list[Finding]:
    """Computed warnings about the numbers themselves, in a stable order."""
    found: list[Finding] = []
    summaries = {(v.name, c.doc, c.connections): summarize(c)
                 for v in run.variants for c in v.cells if c.repeats}

    def cells_where(predicate) -> list[str]:
        return [f"{name} {doc}@{conns}" for (name, doc, conns), s in summaries.items()
                if predicate(s)]

    stalled = cells_where(lambda s: s.stalled_repeats > 0 and "lost" in s.uncounted)
    if stalled:
        found.append(Finding("stalled", f"{len(stalled)} cell(s) had a repeat in which the "
                             "server answered nothing and nothing was counted as failed (this "
                             "run did not count lost requests): the server stalled, it was not "
                             f"slow. Read those zeros as a failure, not a throughput: "
                             f"{', '.join(stalled)}."))
    for key, text in FAILURE_CHECKS.items():
        where = cells_where(lambda s, k=key: s.error_classes_seen.get(k, 0) > 0)
        if where:
            found.append(Finding(key, f"{len(where)} cell(s) {text}: {', '.join(where)}."))
    mismatch = cells_where(lambda s: s.latency_mismatch > 0)
    if mismatch:
        found.append(Finding("latency-count", f"In {len(mismatch)} cell(s) the number of latency "
                             "samples differs from the number of responses that arrived within "
                             "the timeout, so their latency figures do not describe exactly the "
                             f"responses counted: {', '.join(mismatch)}."))
    unmeasured = cells_where(lambda s: s.latency_unmeasured > 0)
    if unmeasured:
        found.append(Finding("corrected-latency", f"{len(unmeasured)} cell(s) have no measured "
                             "latency: this run's wrk script reported only wrk's histogram after "
                             "its coordinated-omission correction, which added synthetic samples "
                             "there; those figures are shown apart, as corrected: "
                             f"{', '.join(unmeasured)}."))
    short = cells_where(lambda s: s.missing_sockets > 0)
    if short:
        found.append(Finding("connections", f"In {len(short)} cell(s) wrk no longer had every "
                             "connection open when a repeat ended (a failed connect leaves a wrk "
                             "connection closed for good), so fewer connections than the cell's "
                             f"level were loading the server: {', '.join(short)}."))
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
                             "(reconnects without keep-alive, socket errors, or late responses "
                             f"left out of the latency): {', '.join(low)}."))
    high = cells_where(lambda s: s.little is not None and s.little > LITTLE_HIGH)
    if high:
        found.append(Finding("little", f"Little's law: in {len(high)} cell(s) throughput × mean "
                             f"latency exceeds the connections by more than "
                             f"{LITTLE_HIGH - 1:.0%}, which a closed-loop client cannot do in "
                             "steady state; their mean latency or request count is suspect: "
                             f"{', '.join(high)}."))
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


SLO_MAX_FAILURE_RATE = 0.01   # a rate within the SLO also fails at most 1% of its requests


@dataclass
class RatePoint:
    """One open-loop cell: the rate asked for, what was answered, and how fast."""

    variant: str
    doc: str
    connections: int
    rate: str                        # as given: "800" or "50%"
    target_rps: float | None         # medians over repeats
    answered_rps: float | None
    summary: CellSummary


def rate_points(run: RunResult) -> list[RatePoint]:
    points = []
    for v in run.variants:
        for cell in v.rate_cells:
            if not cell.repeats:
                continue
            points.append(RatePoint(
                v.name, cell.doc, cell.connections, cell.rate or "",
                stats.median([s.rate for s in cell.repeats if s.rate]),
                stats.median([s.requests / s.duration_s for s in cell.repeats if s.duration_s]),
                summarize(cell)))
    return points


def slo_capacity(points: list[RatePoint], key: str, limit_ms: float) -> RatePoint | None:
    """The point with the highest successful req/s whose `key` percentile stays within
    `limit_ms` and whose failure rate stays within SLO_MAX_FAILURE_RATE; None if none does."""
    good = [p for p in points
            if p.summary.latency_ms.get(key) is not None
            and p.summary.latency_ms[key] <= limit_ms
            and (p.summary.error_rate or 0) <= SLO_MAX_FAILURE_RATE]
    return max(good, key=lambda p: p.summary.median_rps or 0, default=None)


def overload(point: RatePoint) -> str:
    """How a server met more requests than it could answer: shed them fast, or queued them."""
    s = point.summary
    slow = s.error_classes_seen.get("late", 0) + s.error_classes_seen.get("lost", 0)
    fast = sum(s.error_classes_seen.get(k, 0) for k in ("connect", "read", "write", "status"))
    p99 = s.latency_ms.get("p99")
    p99_text = "–" if p99 is None else f"{p99:,.0f} ms"
    if fast and fast >= slow:
        return f"shed load: it failed {fast:,} requests quickly (p99 of the rest {p99_text})"
    if slow:
        return (f"queued: {slow:,} requests waited until they were late or lost "
                f"(p99 of the rest {p99_text})")
    if point.target_rps and point.answered_rps and point.answered_rps < 0.95 * point.target_rps:
        return (f"queued: it answered {point.answered_rps:,.0f} of {point.target_rps:,.0f} "
                f"req/s and the rest waited (p99 {p99_text}), none failed yet")
    return f"kept up: every request answered within the timeout (p99 {p99_text})"
