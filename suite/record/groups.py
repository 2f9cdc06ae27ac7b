"""Top groups: per cell, the leader and every stack not separated from it beyond noise, each with
its ratio to the leader and a 95% interval. Pure functions of a results file: the runner uses
them to send precision rounds where the answer is undecided (racing), the results file keeps
the final groups, and the report shows them.

Why within rounds. An interleaved round starts every variant once, one after the other, within
minutes; what the machine does to a whole round (a neighbour, the CPU's clock, the page cache)
moves every variant of that round together. A ratio of two variants measured in the same round
cancels it, so each comparison is a paired one: the log of X's successful req/s over the
leader's, round by round (a randomized-block design, blocks = rounds), a one-sample t-test of
those logs against 0 and its t interval, turned back into a ratio. Where rounds were not
recorded (a sequential run, results before v10) the comparison is unpaired: Welch's test on the
logs of the two cells' repeats.

Who competes in a cell: deployable rows (classification "framework"), measured, not failed,
healthy (attempts pooled over all repeats failed at most the run's threshold, and no repeat
failed more), and not client-bound in any repeat (the client side, not the server, set the
figure). The leader is the competitor with the highest median successful req/s.

Many comparisons, many looks. Every comparison of every cell of the answer is one family,
corrected with Holm's method, so the chance that any stack is called separated from its leader
by luck stays at most ALPHA over the answer. Racing looks at the groups after every round it
adds; a comparison that is tested at several looks is corrected for them with Bonferroni over
the looks the plan allows (each look tests at ALPHA / looks): the union bound keeps the
family-wise error at most ALPHA however the looks fall, with no assumption of equal steps or
normal increments (which Pocock's or O'Brien-Fleming's boundaries need). It is conservative;
the price is a few more rounds, paid from the plan's precision budget, stated before the run.
The 95% interval shown beside each ratio is the plain (unadjusted) one: an estimate, not the
decision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from suite.record import health, stats
from suite.record.results import Cell, RunResult

PROCEDURE = ("paired t-test on within-round log ratios to the leader (Welch on logs where "
             "rounds were not recorded); Holm over every comparison of the answer; Bonferroni "
             "over the looks racing allows")


@dataclass(frozen=True)
class Comparison:
    """One stack against its cell's leader."""

    name: str
    ratio: float                   # its successful req/s ÷ the leader's (geometric mean)
    low: float | None              # 95% interval of the ratio (None: not enough rounds)
    high: float | None
    pairs: int                     # rounds with both measured (0: unpaired comparison)
    p: float | None                # two-sided; None: not tested
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


def _by_round(cell: Cell) -> dict[int, float]:
    return {s.round: s.ok_rps for s in cell.repeats if s.round is not None and s.ok_rps > 0}


def compare(name: str, leader: Cell, other: Cell) -> Comparison:
    """`other` against the leader's cell: within rounds where both have one, else unpaired."""
    lead_rounds, other_rounds = _by_round(leader), _by_round(other)
    common = sorted(set(lead_rounds) & set(other_rounds))
    if common:
        logs = [math.log(other_rounds[r] / lead_rounds[r]) for r in common]
        mean = sum(logs) / len(logs)
        if len(logs) < 2:
            return Comparison(name, math.exp(mean), None, None, len(logs), None)
        sd = stats.stdev(logs) or 0.0
        if sd == 0:
            return Comparison(name, math.exp(mean), math.exp(mean), math.exp(mean),
                              len(logs), 0.0 if mean else 1.0)
        se = sd / math.sqrt(len(logs))
        df = len(logs) - 1
        t = mean / se
        p = 2 * (1 - stats.t_cdf(abs(t), df))
        half = stats.t_quantile(0.975, df) * se
        return Comparison(name, math.exp(mean), math.exp(mean - half), math.exp(mean + half),
                          len(logs), p)
    a = [math.log(s.ok_rps) for s in other.repeats if s.ok_rps > 0]
    b = [math.log(s.ok_rps) for s in leader.repeats if s.ok_rps > 0]
    ratio = math.exp(stats.mean(a) - stats.mean(b)) if a and b else 0.0
    if min(len(a), len(b)) < 2 or stats.no_spread(a, b):
        return Comparison(name, ratio, None, None, 0, None)
    test = stats.welch(a, b)
    if test is None:
        return Comparison(name, ratio, None, None, 0, None)
    # Welch's interval of the difference of the mean logs (Welch-Satterthwaite df), as a ratio.
    se = math.sqrt((stats.stdev(a) or 0.0) ** 2 / len(a) + (stats.stdev(b) or 0.0) ** 2 / len(b))
    half = stats.t_quantile(0.975, test.df) * se
    return Comparison(name, ratio, ratio * math.exp(-half), ratio * math.exp(half), 0, test.p)


def top_groups(run: RunResult, looks: int = 1) -> list[TopGroup]:
    """The top group of every closed-loop read cell of the run with a competitor; the
    comparisons of all of them one family (Holm), each decided at ALPHA / looks."""
    groups: list[tuple[TopGroup, dict[str, Comparison]]] = []
    limit = run.profile.max_failed_share
    for ms in run.profile.db_latencies_ms:
        for doc in run.profile.docs:
            if doc == "write":
                continue
            for conns in run.profile.connections:
                competing: list[tuple[str, Cell]] = []
                left_out = {}
                for v in run.variants:
                    cell = v.cell(doc, conns, ms)
                    why = why_not_competing(cell, v.classification, limit)
                    if why is None:
                        competing.append((v.name, cell))
                    elif cell is not None and cell.repeats:
                        left_out[v.name] = why
                if not competing:
                    continue
                competing.sort(key=lambda item: (-stats.median([s.ok_rps for s in
                                                                 item[1].repeats]), item[0]))
                leader_name, leader = competing[0]
                group = TopGroup(doc, conns, ms, leader_name,
                                 round(stats.median([s.ok_rps for s in leader.repeats]), 1),
                                 left_out=left_out, alpha=stats.ALPHA / looks, looks=looks)
                groups.append((group, {name: compare(name, leader, cell)
                                       for name, cell in competing[1:]}))
    tested = [(g, c) for g, comps in groups for c in comps.values() if c.p is not None]
    adjusted = iter(stats.holm([c.p for _, c in tested]))
    decided = {}
    for group, comparison in tested:
        p_adj = next(adjusted)
        decided[(group.label, comparison.name)] = (p_adj, p_adj < group.alpha
                                                   and comparison.ratio < 1)
    result = []
    for group, comps in groups:
        for comparison in comps.values():
            p_adj, separated = decided.get((group.label, comparison.name), (None, False))
            done = Comparison(**{**asdict(comparison), "p_adjusted": p_adj,
                                 "separated": separated})
            (group.separated if separated else group.members).append(done)
        result.append(group)
    return result


def undecided(groups: Sequence[TopGroup]) -> dict[tuple[str, int, int], list[str]]:
    """The cells whose leader is not yet separated from every other stack: (doc, connections,
    database latency) -> the leader and the stacks still tied with it (racing measures them
    again, together, in one more round)."""
    return {(g.doc, g.connections, g.db_latency_ms): [g.leader, *(m.name for m in g.members)]
            for g in groups if g.members}
