"""Top groups: per cell, the leader and every stack not separated from it beyond noise, each with
its ratio to the leader and a 95% interval. Pure functions of a results file: the runner uses
them to send precision rounds where the answer is undecided (racing), the results file keeps
the final groups, and the report shows them.

Why within rounds. An interleaved round starts every variant once, one after the other, within
minutes; what the machine does to a whole round (a neighbour, the CPU's clock, the page cache)
moves every variant of that round together. So each cell is a block design, blocks = rounds:
the log of every competitor's successful req/s = its effect + its round's effect + an error, a
least-squares fit (stats.block_fit) whose ratios to the leader cancel what a round did to all.
The error's variance is pooled over the cell's competitors: on the log scale a stack's spread
between fresh starts is about the same whatever the stack (Bartlett's test on the published
runs' residuals: docs/methodology.md), and pooling gives each comparison (stacks − 1) × (rounds
− 1) degrees of freedom instead of the rounds − 1 of one pair's own differences; three rounds
leave a paired t-test with 2, whose critical values at a corrected level are useless. Racing
rounds, which measure only the leader and its ties again, are incomplete blocks of the same fit.
Where rounds were not recorded (a sequential run, results before v10) the cell is one block:
the same fit is then a one-way analysis of variance on the logs, unpaired.

Who competes in a cell: deployable rows (classification "framework"), measured, not failed,
healthy (attempts pooled over all repeats failed at most the run's threshold, and no repeat
failed more), and not client-bound in any repeat (the client side, not the server, set the
figure). The leader is the competitor with the highest median successful req/s.

The top group is the set of stacks the data cannot rule out as the cell's best (Gupta's subset
selection, read as Hsu's multiple comparisons with the best): a stack leaves it when some other
competitor's effect is above its own beyond noise, a one-sided t-test on the pooled error. If
the cell's best stack were ever ruled out, one of its k − 1 comparisons with the others would
have erred, so testing each at ALPHA / (k − 1) keeps that chance below ALPHA in the cell
(Bonferroni; Dunnett's exact constant would be a little less strict), and dividing again by the
number of cells keeps it below ALPHA over the whole answer. A leader whose group is itself alone
is then the best of its cell with 95% confidence over the answer. Racing looks at the groups
after every round it adds; a comparison tested at several looks is corrected for them with
Bonferroni over the looks the plan allows (each look tests at ALPHA / looks): the union bound
holds however the looks fall, with no assumption of equal steps or normal increments (which
Pocock's or O'Brien-Fleming's boundaries need). The price is a few more rounds, paid from the
plan's precision budget, stated before the run. The 95% interval shown beside each ratio is the
plain (unadjusted, two-sided) one of the fit: an estimate, not the decision.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from suite.record import health, stats
from suite.record.results import Cell, RunResult

PROCEDURE = ("least squares on the logs of successful req/s with rounds as blocks, the error "
             "pooled over the cell's stacks (one block where rounds were not recorded); a stack "
             "leaves the top group when another is above it in a one-sided t-test, Bonferroni "
             "over the cell's stacks, the answer's cells and the looks racing allows")


@dataclass(frozen=True)
class Comparison:
    """One stack against its cell's leader."""

    name: str
    ratio: float                   # its successful req/s ÷ the leader's (fitted, rounds removed)
    low: float | None              # 95% interval of the ratio (None: not enough repeats)
    high: float | None
    pairs: int                     # rounds with both measured (0: unpaired comparison)
    p: float | None                # one-sided, of the competitor most clearly above it; None:
                                   # not tested
    p_adjusted: float | None = None
    separated: bool = False        # behind the leader beyond noise


@dataclass
class TopGroup:
    doc: str
    connections: int
    db_latency_ms: int
    leader: str
    leader_rps: float
    members: list[Comparison] = field(default_factory=list)    # not separated from the leader
    separated: list[Comparison] = field(default_factory=list)  # behind it beyond noise
    left_out: dict[str, str] = field(default_factory=dict)     # name -> why it did not compete
    alpha: float = stats.ALPHA     # the level each comparison was decided at (after looks)
    looks: int = 1

    @property
    def label(self) -> str:
        return f"{self.doc}@{self.connections}" + (f"+{self.db_latency_ms}ms"
                                                   if self.db_latency_ms else "")

    @property
    def decided(self) -> bool:
        """No stack is left tied with the leader."""
        return not self.members

    def to_dict(self) -> dict:
        return {**asdict(self), "procedure": PROCEDURE}

    @classmethod
    def from_dict(cls, data: dict) -> "TopGroup":
        known = {k: v for k, v in data.items() if k != "procedure"}
        return cls(**{**known,
                      "members": [Comparison(**c) for c in data.get("members", [])],
                      "separated": [Comparison(**c) for c in data.get("separated", [])]})


def why_not_competing(cell: Cell | None, classification: str, max_failed_share: float) -> str | None:
    """Why a variant's cell does not compete for its cell's top group (None: it does)."""
    if classification != "framework":
        return f"{classification}: shown apart, never recommended"
    if cell is None or not cell.repeats:
        return "not measured"
    if cell.status == "failed":
        return f"failed: {cell.reason}"
    found = health.of(cell.repeats, max_failed_share)
    if not found.healthy:
        return (f"unhealthy: {found.pooled:.1%} of its attempts failed"
                + (f" (one repeat {found.worst:.1%})" if found.worst > found.pooled else ""))
    bound = sum(s.client_bound for s in cell.repeats)
    if bound:
        return (f"client-bound in {bound} of {len(cell.repeats)} repeats: the load generator "
                "and the database, not the server, set its figure")
    return None


def _beaten(fit: stats.BlockFit, name: str, other: str) -> float:
    """One-sided p-value of `other`'s effect being above `name`'s."""
    estimate, se = fit.difference(other, name)
    if se == 0:
        return 0.0 if estimate > 0 else 1.0
    return 1.0 - stats.t_cdf(estimate / se, fit.df)


def competitors(run: RunResult, doc: str, conns: int,
                ms: int) -> tuple[list[tuple[str, Cell]], dict[str, str]]:
    """The cell's competitors, the leader first (highest median successful req/s, then by
    name), and why each other measured stack does not compete."""
    competing: list[tuple[str, Cell]] = []
    left_out = {}
    for v in run.variants:
        cell = v.cell(doc, conns, ms)
        why = why_not_competing(cell, v.classification, run.profile.max_failed_share)
        if why is None:
            competing.append((v.name, cell))
        elif cell is not None and cell.repeats:
            left_out[v.name] = why
    competing.sort(key=lambda item: (-stats.median([s.ok_rps for s in item[1].repeats]),
                                     item[0]))
    return competing, left_out


def blocked(competing: Sequence[tuple[str, Cell]]) -> bool:
    """Whether the cell is fitted with rounds as blocks (every repeat recorded its round)."""
    return all(s.round is not None for _, cell in competing for s in cell.repeats)


def cell_fit(competing: Sequence[tuple[str, Cell]]) -> stats.BlockFit | None:
    """One fit of the cell's logs of successful req/s: rounds as blocks where every repeat
    has one, else one block (unpaired)."""
    by_round = blocked(competing)
    return stats.block_fit([(name, s.round if by_round else 0, math.log(s.ok_rps))
                            for name, cell in competing for s in cell.repeats if s.ok_rps > 0])


def compare_cell(competing: Sequence[tuple[str, Cell]]) -> dict[str, Comparison]:
    """Every competitor after the first (the leader) against it, from one fit of the cell.
    Not yet corrected for the answer's other comparisons."""
    by_round = blocked(competing)
    fit = cell_fit(competing)
    fitted = set(fit.names) if fit else set()
    rounds = {name: {s.round for s in cell.repeats if s.ok_rps > 0} for name, cell in competing}
    leader = competing[0][0]
    found = {}
    for name, _ in competing[1:]:
        pairs = len(rounds[name] & rounds[leader]) if by_round else 0
        if fit is None or not {name, leader} <= fitted:
            found[name] = Comparison(name, 0.0, None, None, pairs, None)
            continue
        estimate, se = fit.difference(name, leader)
        if se is None:
            found[name] = Comparison(name, math.exp(estimate), None, None, pairs, None)
            continue
        half = stats.t_quantile(0.975, fit.df) * se
        p = min(_beaten(fit, name, other) for other in fit.names if other != name)
        found[name] = Comparison(name, math.exp(estimate), math.exp(estimate - half),
                                 math.exp(estimate + half), pairs, p)
    return found


def pair(run: RunResult, doc: str, conns: int, ms: int, name: str, base: str) -> Comparison:
    """`name` against `base` in one cell, from the cell's fit over its competitors and the two
    (the same pooled error as the top groups): the ratio, its 95% interval and a two-sided p,
    not corrected for anything else."""
    competing, _ = competitors(run, doc, conns, ms)
    named = dict(competing)
    for extra in (base, name):
        if extra not in named:
            competing.append((extra, run.variant(extra).cell(doc, conns, ms)))
    ordered = sorted(competing, key=lambda item: item[0] != base)   # base first: the reference
    found = compare_cell(ordered)[name]
    if found.p is None:
        return found
    fit = cell_fit(ordered)
    estimate, se = fit.difference(name, base)
    p = (0.0 if estimate else 1.0) if se == 0 else 2 * (1 - stats.t_cdf(abs(estimate / se),
                                                                         fit.df))
    return dataclasses.replace(found, p=p)


def top_groups(run: RunResult, looks: int = 1) -> list[TopGroup]:
    """The top group of every closed-loop read cell of the run with a competitor, each
    comparison decided at ALPHA / looks after Bonferroni over its cell's tested comparisons and
    the cells with any."""
    groups: list[tuple[TopGroup, dict[str, Comparison]]] = []
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            if doc == "write":
                continue
            for conns in run.profile.connections:
                competing, left_out = competitors(run, doc, conns, ms)
                if not competing:
                    continue
                leader_name, leader = competing[0]
                group = TopGroup(doc, conns, ms, leader_name,
                                 round(stats.median([s.ok_rps for s in leader.repeats]), 1),
                                 left_out=left_out, alpha=stats.ALPHA / looks, looks=looks)
                groups.append((group, compare_cell(competing)))
    cells = sum(any(c.p is not None for c in comps.values()) for _, comps in groups)
    result = []
    for group, comps in groups:
        tests = sum(c.p is not None for c in comps.values())
        for comparison in comps.values():
            p_adj = None if comparison.p is None else min(1.0, comparison.p * tests * cells)
            separated = p_adj is not None and p_adj < group.alpha and comparison.ratio < 1
            done = Comparison(**{**asdict(comparison), "p_adjusted": p_adj,
                                 "separated": separated})
            (group.separated if separated else group.members).append(done)
        result.append(group)
    return result


@dataclass(frozen=True)
class SpreadTest:
    """Whether a cell's competitors spread alike between starts, as its fit assumes."""

    label: str
    test: stats.Bartlett
    noisiest: str          # the competitor with the largest residual spread
    p_adjusted: float = 1.0   # Holm over the run's tested cells


def spread_tests(run: RunResult) -> list[SpreadTest]:
    """Bartlett's test of one residual variance for every competitor, per closed-loop read
    cell whose fit has residual degrees of freedom, Holm over those cells."""
    found = []
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            if doc == "write":
                continue
            for conns in run.profile.connections:
                competing, _ = competitors(run, doc, conns, ms)
                fit = cell_fit(competing) if len(competing) > 1 else None
                test = fit.equal_spread() if fit else None
                if test is None:
                    continue
                per = [ss / count for ss, count in zip(fit.residual_ss, fit.counts)]
                label = f"{doc}@{conns}" + (f"+{ms}ms" if ms else "")
                found.append(SpreadTest(label, test, fit.names[per.index(max(per))]))
    adjusted = stats.holm([t.test.p for t in found])
    return [SpreadTest(t.label, t.test, t.noisiest, p) for t, p in zip(found, adjusted)]


def undecided(groups: Sequence[TopGroup]) -> dict[tuple[str, int, int], list[str]]:
    """The cells whose leader is not yet separated from every other stack: (doc, connections,
    database latency) -> the leader and the stacks still tied with it (racing measures them
    again, together, in one more round)."""
    return {(g.doc, g.connections, g.db_latency_ms): [g.leader, *(m.name for m in g.members)]
            for g in groups if g.members}
