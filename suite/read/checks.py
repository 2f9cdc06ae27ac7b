"""The report's *Checks*: computed warnings about the numbers themselves (a stalled server, late
or lost requests, a client-bound cell, Little's law broken, ...). Pure functions of a results
file; each check is one CellCheck (it flags cells one by one) or one function, listed in CHECKS in
the order a report shows them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from suite.record import groups, stats
from suite.read.analysis import (FINDS_EXCESS, MACHINE_BUSY, CellKey, CellSummary,
                                 summaries)
from suite.record.results import CLIENT_BOUND, DbLatencyCheck, RunResult

LITTLE_LOW = 0.5          # Little's law ratio below this: connections often idle or uncounted
LITTLE_HIGH = 1.05        # above this a closed loop is impossible in steady state: suspect figures
CLUSTER_SPREAD = 0.10     # every variant within 10% of each other: suspect a shared bottleneck
# The busiest worker held at least this many times an even share of the connections (two
# workers: 75/25 or worse), half-way through a repeat.
STRONG_IMBALANCE = 1.5
SPREAD_MIN_POINTS = 8     # repeats with a spread needed before saying whether req/s follows it


@dataclass(frozen=True)
class Check:
    # stalled | late | lost | body | latency-count | corrected-latency | connections |
    # db-latency | unstable | client-bound | finds-excess | little | unequal-spread |
    # machine-busy | cluster
    kind: str
    text: str


@dataclass(frozen=True)
class CellCheck:
    """A check that flags cells one by one: which cells, and the sentence that names them
    ({count}: "3 cell(s)", {cells}: "variant doc@conns, ...")."""

    kind: str
    flags: Callable[[CellSummary], bool]
    sentence: str

    def text(self, where: list[str]) -> str:
        return self.sentence.format(count=f"{len(where)} cell(s)", cells=", ".join(where))


def _failure(key: str, text: str) -> CellCheck:
    return CellCheck(key, lambda s: s.error_classes_seen.get(key, 0) > 0,
                     "{count} " + text + ": {cells}.")


CELL_CHECKS = (
    CellCheck("stalled", lambda s: s.stalled_repeats > 0 and "lost" in s.uncounted,
              "{count} had a repeat in which the server answered nothing and nothing was "
              "counted as failed (this run did not count lost requests): the server stalled, "
              "it was not slow. Read those zeros as a failure, not a throughput: {cells}."),
    _failure("late", "had late responses (slower than the timeout): counted as failures, and "
                     "left out of the latency figures, which describe only the responses within "
                     "the timeout"),
    _failure("lost", "had lost requests (still unanswered, longer than the timeout, when a "
                     "repeat ended): failures no latency figure can show"),
    _failure("body", "had responses whose bytes differed from the verified document: counted "
                     "as failures, not as successful requests"),
    _failure("lost-write", "had acknowledged writes the database did not hold, or held twice "
                           "(counted after each repeat): failures, whatever the response said"),
    CellCheck("latency-count", lambda s: s.latency_mismatch > 0,
              "In {count} the number of latency samples differs from the number of responses "
              "that arrived within the timeout, so their latency figures do not describe "
              "exactly the responses counted: {cells}."),
    CellCheck("corrected-latency", lambda s: s.latency_unmeasured > 0,
              "{count} have no measured latency: this run's wrk script reported only wrk's "
              "histogram after its coordinated-omission correction, which added synthetic "
              "samples there; those figures are shown apart, as corrected: {cells}."),
    CellCheck("connections", lambda s: s.missing_sockets > 0,
              "In {count} wrk no longer had every connection open when a repeat ended (a "
              "failed connect leaves a wrk connection closed for good), so fewer connections "
              "than the cell's level were loading the server: {cells}."),
    CellCheck("db-latency", lambda s: s.db_latency_short > 0,
              "In {count} the database latency measured when the fail point was set was below "
              f"{DbLatencyCheck.ENOUGH:.0%} of the latency asked for, so those cells had a "
              "database nearer than their label says (see Database latency): {cells}."),
    CellCheck("unstable", lambda s: s.unstable,
              f"{{count}} vary by more than {stats.UNSTABLE_CV:.0%} (coefficient of variation) "
              "between repeats; treat their differences with care: {cells}."),
    CellCheck("client-bound", lambda s: s.client_bound,
              f"In {{count}} the client side used at least {CLIENT_BOUND:.0%} of its CPUs in a "
              "repeat (pinned: the load generator and mongod on theirs; unpinned: wrk on its "
              "threads' CPUs): the client or the database, not the server, set these numbers, "
              "so they are not ranked as the server's: {cells}."),
    CellCheck("finds-excess", lambda s: s.finds_per_ok_clean_max is not None
              and s.finds_per_ok_clean_max > FINDS_EXCESS
              and s.finds_beyond_edge_max is not None and s.finds_beyond_edge_max > 0,
              f"In {{count}} MongoDB counted more than {FINDS_EXCESS:g} finds per successful "
              "response in a repeat without any failure, more than the requests still "
              "outstanding when its window closed (one per connection) explain: work left from "
              "an earlier repeat (requests it abandoned, still queued in the server) landed in "
              "this one's window, so its throughput may count another repeat's finds: {cells}."),
    CellCheck("listen-drops", lambda s: bool(s.listen_drops_max),
              "In {count} the kernel dropped connection attempts because the server's listen "
              "queue was full; the clients retried after 1, 3, 7 s, so those requests are slow "
              "tails (late or lost), and the tails grow with a repeat's length (the profile "
              "study: flask-gunicorn-sync at 5000 connections, 0.06% late in 10 s repeats, "
              "13% in 30 s ones): {cells}."),
    CellCheck("spread", lambda s: s.imbalance_max is not None
              and s.imbalance_max >= STRONG_IMBALANCE,
              f"In {{count}} one worker process held at least {STRONG_IMBALANCE:g}× an even "
              "share of the connections half-way through a repeat (the kernel, not the server, "
              "decides which worker accepts a connection): {cells}."),
)


def spread_effect(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[Check]:
    """Does req/s follow the spread of connections over workers? Over the repeats of every
    multi-worker cell with a recorded spread: each repeat's req/s over its cell's median,
    against its busiest worker's share over an even one (Pearson's r, with its t-test)."""
    points = []
    for v in run.variants:
        for c in v.cells:
            summary = cells.get((v.name, c.doc, c.connections, c.db_latency_ms))
            if summary is None or not summary.median_rps or len(c.repeats) < 2:
                continue
            points += [(s.spread.imbalance, s.ok_rps / summary.median_rps) for s in c.repeats
                       if s.spread is not None and s.spread.imbalance is not None]
    if len(points) < SPREAD_MIN_POINTS:
        return []
    fit = stats.correlation([x for x, _ in points], [y for _, y in points])
    if fit is None:
        return []
    r, p = fit
    verdict = ("req/s follows the spread beyond noise" if p < stats.ALPHA
               else "req/s does not follow the spread beyond noise")
    direction = "lower" if r < 0 else "higher"
    return [Check("spread-effect", f"Connections over workers against req/s, {len(points)} "
                  f"repeats of multi-worker cells: Pearson r = {r:+.2f} (p = {p:.3f}): "
                  f"{verdict} (the more uneven, the {direction} the repeat's req/s relative to "
                  "its cell's median).")]


def unequal_spread(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[Check]:
    """Cells whose competitors' spread between starts differs beyond noise: the top groups pool
    one error variance per cell (suite.record.groups), which there is too small for the
    noisiest stacks' comparisons and too large for the steadiest ones'."""
    unequal = [t for t in groups.spread_tests(run) if t.p_adjusted < stats.ALPHA]
    if not unequal:
        return []
    return [Check("unequal-spread", f"{len(unequal)} cell(s) whose stacks spread unequally "
                  "between fresh starts (Bartlett's test on the top groups' fit, Holm over "
                  "the cells): the pooled error there makes the noisiest stacks' intervals "
                  "too narrow and the steadiest ones' too wide: " + ", ".join(
                      f"{t.label} (p {t.p_adjusted:.3f}, noisiest {t.noisiest})"
                      for t in unequal) + ".")]


def machine_busy(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[Check]:
    busy = [s for s in cells.values() if s.machine_busy]
    if not busy:
        return []
    return [Check("machine-busy", f"{len(busy)} of {len(cells)} cells ran with every CPU at "
                  f"least {MACHINE_BUSY:.0%} busy: server, MongoDB and wrk competed for the same "
                  "CPUs, so a server's number includes the others' appetite. Pin roles with "
                  "--cpus for a cleaner split.")]


def cluster(run: RunResult, cells: dict[CellKey, CellSummary]) -> list[Check]:
    """Every variant of a cell within CLUSTER_SPREAD of each other: a shared bottleneck."""
    found = []
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            for conns in run.profile.connections:
                medians = [s.median_rps for (_, d, c, m), s in cells.items()
                           if (d, c, m) == (doc, conns, ms) and s.median_rps]
                if len(medians) < 3:
                    continue
                spread = (max(medians) - min(medians)) / stats.median(medians)
                if spread < CLUSTER_SPREAD:
                    label = f"{doc}@{conns}" + (f"+{ms}ms" if ms else "")
                    found.append(Check("cluster", f"{label}: all {len(medians)} variants lie "
                                       f"within {spread:.0%} of each other, a sign of a shared "
                                       "bottleneck (MongoDB, the client or the machine) rather "
                                       "than of equal servers."))
    return found


LITTLE_CHECKS = (
    CellCheck("little", lambda s: s.little is not None and s.little < LITTLE_LOW,
              f"Little's law: in {{count}} throughput × mean latency is under {LITTLE_LOW:.0%} "
              "of the connections, so most connections were not waiting on a response most of "
              "the time (reconnects without keep-alive, socket errors, or late responses left "
              "out of the latency): {cells}."),
    CellCheck("little", lambda s: s.little is not None and s.little > LITTLE_HIGH,
              f"Little's law: in {{count}} throughput × mean latency exceeds the connections by "
              f"more than {LITTLE_HIGH - 1:.0%}, which a closed-loop client cannot do in steady "
              "state; their mean latency or request count is suspect: {cells}."),
)

# The order a report lists them in.
CHECKS = (*CELL_CHECKS, spread_effect, unequal_spread, machine_busy, *LITTLE_CHECKS, cluster)


def checks(run: RunResult, cells: dict[CellKey, CellSummary] | None = None) -> list[Check]:
    """Every check that fires for the run, in a stable order (`cells`: the run's summaries,
    when the caller has them already)."""
    cells = summaries(run) if cells is None else cells
    found = []
    for check in CHECKS:
        if isinstance(check, CellCheck):
            where = [f"{name} {s.label}" for (name, *_), s in cells.items() if check.flags(s)]
            if where:
                found.append(Check(check.kind, check.text(where)))
        else:
            found += check(run, cells)
    return found
