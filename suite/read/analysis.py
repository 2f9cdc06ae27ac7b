"""Numbers derived from a results file: per-cell summaries, rankings, open-loop points. Pure
functions of `results` objects; the report's checks are in suite.read.checks, its findings in
suite.read.findings, its rendering in suite.read.report."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.record import health, stats
from suite.record.results import ERROR_KEYS, Cell, RunResult, Sample

# MongoDB counted more than this many finds per successful response in a repeat without
# failures: work of an earlier repeat (requests it abandoned) landed in this one's window.
FINDS_EXCESS = 1.1
MACHINE_BUSY = 0.95       # all CPUs >= 95% busy: server, MongoDB and wrk competed for them
SHOWN_PERCENTILES = ("p50", "p90", "p99", "p99.9")


def _median_of(samples: list[Sample], get) -> float | None:
    values = [v for v in (get(s) for s in samples) if v is not None]
    return stats.median(values)


@dataclass
class CellSummary:
    doc: str
    connections: int
    n: int
    db_latency_ms: int = 0
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
    # The failures of one real repeat: the median repeat by failed attempts (of an even
    # number, the worse of the middle two), per class; None for a class it did not count.
    errors: dict[str, float | None] = field(default_factory=dict)
    failure_repeat: int | None = None         # its index among the repeats
    error_totals: list[int] = field(default_factory=list)      # every class, per repeat
    error_classes_seen: dict[str, int] = field(default_factory=dict)  # max per class, any repeat
    uncounted: tuple[str, ...] = ()   # failure classes some repeat could not count
    error_rate: float | None = None           # the median repeat's failed share of attempts
    error_rate_max: float | None = None       # the worst repeat's
    # Failed attempts pooled over every repeat, and the worst repeat's (suite.record.health):
    # what decides whether the cell is healthy.
    health: health.Health | None = None
    cpu_cores: dict[str, float | None] = field(default_factory=dict)   # role -> median cores
    # Role -> median CPU µs per successful request (what a request costs each role).
    cpu_us_per_ok: dict[str, float | None] = field(default_factory=dict)
    memory_max_bytes: dict[str, int | None] = field(default_factory=dict)
    memory_measure: dict[str, str | None] = field(default_factory=dict)  # pss | rss | cgroup-anon
    little: float | None = None
    client_bound: bool = False
    client_bound_repeats: int = 0   # repeats whose client side had no headroom
    # Median successful req/s per CPU the server was pinned to (None: not pinned): the figure
    # that scales to a machine with more cores for process-based servers.
    rps_per_server_cpu: float | None = None
    server_cpus: int | None = None
    # The highest finds per successful response of a repeat without any failure (None: not
    # counted, or every repeat failed something), and the most finds such a repeat counted
    # beyond its responses and the one request per connection still outstanding at its end.
    finds_per_ok_clean_max: float | None = None
    finds_beyond_edge_max: int | None = None
    machine_busy: bool = False
    stalled_repeats: int = 0   # repeats with no response and nothing counted as failed
    db_latency_short: int = 0  # fail point checks that added less than the latency asked for
    missing_sockets: int = 0   # connections wrk no longer had open when a repeat ended
    # MongoDB finds (inserts, for writes) per successful response, the lowest over repeats
    # (None: not counted).
    finds_per_ok_min: float | None = None
    # The busiest worker's connections over an even share, the largest over repeats (None: one
    # worker, or no spread recorded), and each repeat's spread as text ("119/81").
    imbalance_max: float | None = None
    spreads: list[str] = field(default_factory=list)
    # Connection attempts the kernel dropped at a full listen queue, the most in one repeat.
    listen_drops_max: int | None = None

    @property
    def label(self) -> str:
        return f"{self.doc}@{self.connections}" + (f"+{self.db_latency_ms}ms"
                                                   if self.db_latency_ms else "")

    @property
    def unstable(self) -> bool:
        return self.cv is not None and self.cv > stats.UNSTABLE_CV

    @property
    def error_total(self) -> float:
        return sum(v for v in self.errors.values() if v)

    def healthy(self, max_failed_share: float) -> bool:
        """The one health rule (suite.record.health): the attempts of all repeats pooled failed
        at most `max_failed_share`, and no repeat failed more (a cell without a figure is not
        healthy)."""
        return self.health is not None and health.Health(
            self.health.pooled, self.health.worst, max_failed_share).healthy

    @property
    def failed_pooled(self) -> float | None:
        return None if self.health is None else self.health.pooled

    @property
    def worst_differs(self) -> bool:
        """The worst repeat failed materially more than the median one (a bad repeat a
        table should show): at least 1 point of attempts more, and twice the share."""
        if self.error_rate is None or self.error_rate_max is None:
            return False
        return (self.error_rate_max - self.error_rate >= 0.01
                and self.error_rate_max >= 2 * self.error_rate)

    @property
    def clean(self) -> bool:
        """No failure of any class in any repeat, and every class counted."""
        return not any(self.error_totals) and not self.uncounted


def summarize(cell: Cell, max_failed_share: float = 0.01) -> CellSummary:
    """`max_failed_share`: the run's threshold, which only the text marking an unhealthy cell
    uses (`healthy()` takes the threshold it is asked about)."""
    samples = cell.repeats
    summary = CellSummary(cell.doc, cell.connections, len(samples), cell.db_latency_ms)
    summary.db_latency_short = sum(c.short for c in cell.db_latency_checks)
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
               for key in ERROR_KEYS if any(key in s.errors for s in samples)}
    middle = median_repeat(samples)
    summary.failure_repeat = middle
    summary.errors = {key: samples[middle].errors.get(key) for key in counted}
    summary.error_totals = [s.error_count for s in samples]
    summary.error_classes_seen = {key: max(values, default=0) for key, values in counted.items()}
    summary.uncounted = tuple(key for key in counted
                              if any(s.errors.get(key) is None for s in samples))
    summary.error_rate = samples[middle].error_rate
    summary.error_rate_max = max(s.error_rate for s in samples)
    summary.health = health.of(samples, max_failed_share)
    roles = sorted({role for s in samples for role in (s.resources or {})} - {"machine"})
    for role in roles:
        usages = [u for u in (s.usage(role) for s in samples) if u is not None]
        summary.cpu_cores[role] = _median_of(samples, lambda s, r=role: getattr(
            s.usage(r), "cpu_cores", None))
        summary.cpu_us_per_ok[role] = _median_of(samples, lambda s, r=role: s.cpu_us_per_ok(r))
        memory = [u.memory_bytes_max for u in usages if u.memory_bytes_max is not None]
        summary.memory_max_bytes[role] = max(memory) if memory else None
        summary.memory_measure[role] = next((u.memory for u in usages if u.memory), None)
    per_ok = (lambda s: s.inserts_per_ok) if cell.doc == "write" else (lambda s: s.finds_per_ok)
    finds = [x for x in map(per_ok, samples) if x is not None]
    summary.finds_per_ok_min = min(finds) if finds else None
    imbalances = [s.spread.imbalance for s in samples
                  if s.spread is not None and s.spread.imbalance is not None]
    summary.imbalance_max = max(imbalances) if imbalances else None
    summary.spreads = [s.spread.text if s.spread else "–" for s in samples]
    drops = [s.listen_drops for s in samples if s.listen_drops is not None]
    summary.listen_drops_max = max(drops) if drops else None
    summary.stalled_repeats = sum(1 for s in samples if s.requests == 0 and s.error_count == 0)
    summary.missing_sockets = max(missing_sockets(s) for s in samples)
    summary.little = stats.median([r for r in (little(s) for s in samples) if r is not None])
    summary.client_bound_repeats = sum(s.client_bound for s in samples)
    summary.client_bound = summary.client_bound_repeats > 0
    server_cpus = {u.cpus for u in (s.usage("server") for s in samples) if u and u.cpus}
    if len(server_cpus) == 1 and summary.median_rps is not None:
        summary.server_cpus = server_cpus.pop()
        summary.rps_per_server_cpu = summary.median_rps / summary.server_cpus
    clean = [s for s in samples
             if s.error_count == 0 and s.finds_per_ok is not None and cell.doc != "write"]
    summary.finds_per_ok_clean_max = max(s.finds_per_ok for s in clean) if clean else None
    # A closed-loop client has one request outstanding per connection when its window closes;
    # the server may have run the find of each (its response not yet read), so up to one find
    # per connection more than the responses is the window's edge, not work carried over.
    summary.finds_beyond_edge_max = max(
        (s.database.finds - s.ok_requests - cell.connections for s in clean), default=None)
    machine = [s.usage("machine") for s in samples]
    summary.machine_busy = bool(machine) and all(
        m is not None and m.cpu_cores is not None and m.cpus is not None
        and m.cpu_cores >= MACHINE_BUSY * m.cpus for m in machine)
    return summary


def model_family(worker_model: str) -> str:
    """The catalog's worker model as one of the 2014 question's families: processes (one
    request per process at a time), threads, greenlets (gevent) or asyncio (an event loop)."""
    model = worker_model.lower()
    if "gevent" in model:
        return "greenlets"
    if "asyncio" in model or "event loop" in model:   # Node.js, Netty: events, not asyncio's
        return "asyncio"
    if model == "sync":
        return "processes"
    return "threads"


def median_repeat(samples: list[Sample]) -> int:
    """The index of the median repeat by failed share of attempts (of an even number, the
    worse of the middle two; ties by order): one real repeat whose failures a table shows."""
    order = sorted(range(len(samples)), key=lambda i: (samples[i].error_rate, i))
    return order[len(order) // 2]


CellKey = tuple[str, str, int, int]   # variant, document, connections, database latency (ms)


def summaries(run: RunResult) -> dict[CellKey, CellSummary]:
    """Every measured closed-loop cell of the run, summarized."""
    limit = run.profile.max_failed_share
    return {(v.name, c.doc, c.connections, c.db_latency_ms): summarize(c, limit)
            for v in run.variants for c in v.cells if c.repeats}


def ranking(run: RunResult, doc: str, connections: int,
            db_latency_ms: int = 0) -> list[tuple[str, CellSummary]]:
    """Healthy variants of one cell, best median successful req/s first (ties by name): an
    unhealthy cell (suite.record.health) is not ranked as if healthy, nor a failed cell (e.g.
    reads MongoDB never saw), whatever its repeats."""
    limit = run.profile.max_failed_share
    cells = [(v.name, summarize(c, limit)) for v in run.variants
             if (c := v.cell(doc, connections, db_latency_ms)) is not None and c.repeats
             and c.status != "failed"]
    cells = [(name, s) for name, s in cells if s.median_rps is not None and s.healthy(limit)]
    return sorted(cells, key=lambda item: (-item[1].median_rps, item[0]))


def missing_sockets(sample: Sample) -> int:
    # wrk gives each thread connections // threads connections, one socket each.
    if not sample.sockets:
        return 0
    expected = sample.threads * (sample.connections // max(1, sample.threads))
    return max(0, expected - sample.sockets.get("open", expected))


def little(sample: Sample) -> float | None:
    """Little's law for a closed loop, from measured latency only."""
    mean_us = sample.latency_us.get("mean")
    if mean_us is None or sample.duration_s <= 0 or sample.rate is not None:
        return None
    return stats.littles_law_ratio(sample.requests / sample.duration_s, mean_us / 1e6,
                                   sample.connections)


SLO_MAX_FAILURE_RATE = 0.01   # a rate within the SLO also fails at most 1% of its requests


@dataclass
class RatePoint:
    """One open-loop cell: the rate asked for, what was answered, and how fast."""

    variant: str
    doc: str
    connections: int
    db_latency_ms: int
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
                v.name, cell.doc, cell.connections, cell.db_latency_ms, cell.rate or "",
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
