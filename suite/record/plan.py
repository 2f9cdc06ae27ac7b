"""The plan of a run: which server starts (sessions) measure which cells, in what order, how many
counted repeats that makes and how long it should take, made once before anything starts.

`battle run --plan` prints it, the progress line counts it down, the runner follows it, and
`battle run --resume` follows what is left of it: a session measures each of its cells until
the cell has the session's `target` repeats, so the repeats already in a results file are
simply not made again. Two phases depend on what the base rounds measured, so the plan states
their cost, not their sessions: precision rounds (a budget) and, when the open-loop rates are
for the top group only, the capacity phase (an upper bound). Pure values and functions:
nothing here starts a process.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace

from suite.record import stats
from suite.record.groups import TopGroup, top_groups, undecided
from suite.record.profiles import Profile
from suite.record.results import Cell, RunResult, VariantResult


@dataclass(frozen=True)
class CellKey:
    """A cell of a variant: document × connections × added database latency (× open-loop rate)."""

    doc: str
    connections: int
    db_latency_ms: int = 0
    rate: str | None = None

    @classmethod
    def of(cls, cell: Cell) -> "CellKey":
        return cls(cell.doc, cell.connections, cell.db_latency_ms, cell.rate)

    @property
    def label(self) -> str:
        return Cell(self.doc, self.connections, rate=self.rate,
                    db_latency_ms=self.db_latency_ms).label


# The capacity phase (rates for the top group): per cell, at most this many stacks get the
# open-loop cells: the leader, then the stacks tied with it, the closest by ratio first. Five
# is about how many stacks a cell of the published matrix ties; it bounds the phase's cost.
CAPACITY_STACKS = 5


def closed_keys(profile: Profile) -> tuple[CellKey, ...]:
    """The closed-loop cells of a variant, cells of one database latency together (the fail
    point changes least often)."""
    return tuple(CellKey(doc, conns, ms) for ms in profile.db_latencies_ms
                 for doc in profile.docs for conns in profile.connections)


def rate_keys(profile: Profile, closed: Iterable[CellKey]) -> tuple[CellKey, ...]:
    """The open-loop cells of the closed-loop cells `closed`: each one's rates, in order."""
    return tuple(replace(key, rate=rate) for key in closed for rate in profile.rates)


def cell_keys(profile: Profile) -> tuple[CellKey, ...]:
    """The cells every session of the base rounds measures, in order: the closed-loop ones,
    then, when the rates are for every variant, the open-loop ones (for the top group only,
    they wait for the capacity phase)."""
    closed = closed_keys(profile)
    rated = rate_keys(profile, closed) if profile.rates_for == "every" else ()
    return (*closed, *rated)


@dataclass(frozen=True)
class Session:
    """One start of one variant: each of `cells` is measured until it has `target` counted
    repeats (interleaved rounds: one more per round; sequential: all of them at once)."""

    variant: str
    round: int
    cells: tuple[CellKey, ...]
    target: int
    precision: bool = False      # a round beyond the profile's repeats, for noisy cells only
    capacity: bool = False       # the capacity phase: open-loop cells of the top groups

    @property
    def label(self) -> str:
        if self.capacity:
            return "capacity phase"
        kind = "precision round" if self.precision else "round"
        return f"{kind} {self.round}"


def round_order(names: Sequence[str], round_no: int) -> list[str]:
    """The order round `round_no` starts the variants in: a permutation drawn afresh for every
    round (a randomized block design), so that no variant always runs beside the same
    neighbours or at the same place in a round. The machine's speed drifts over minutes
    (docs/profile-study.md, the spread between fresh starts): in a fixed order two neighbours
    always share their minutes and two variants far apart never do. Seeded by the round and the
    variants, so a resumed run draws the same order; catalog order is the first round's only by
    chance."""
    seed = hashlib.sha256(f"{round_no}|{','.join(names)}".encode()).digest()
    order = list(names)
    random.Random(seed).shuffle(order)
    return order


@dataclass(frozen=True)
class Costs:
    """What a run spends besides counted load, in seconds, as the estimate counts it.

    Fitted to the runs of the profile study on this 2-CPU machine (docs/profile-study.md; the
    10 s runs with and without warmups give both): a server start with its verification and
    stop (the primer is counted apart), 1.7 s there, rounded up for the variants that start
    slower; and per load-generator execution the idle wait before it, starting and reaping the
    generator and saving the results file, 1.0 s."""

    server_start_s: float = 3.0
    execution_s: float = 1.05


SessionRepeats = tuple[Session, dict[CellKey, int]]   # a session and the repeats it makes per cell
# Counted repeats per (variant, cell) so far; None: a cell that is not measured again.
RepeatCounts = dict[tuple[str, CellKey], "int | None"]


def schedule(sessions: Iterable[Session], counts: RepeatCounts | None = None) -> list[SessionRepeats]:
    """What `sessions` still have to do, in order, given the repeats each (variant, cell) has:
    a session makes up each of its cells to its target; a closed cell (None) is left out, and
    a session left with nothing to do is dropped."""
    counts = dict(counts or {})
    left: list[SessionRepeats] = []
    for session in sessions:
        repeats_left = {}
        for cell in session.cells:
            key = (session.variant, cell)
            count = counts.get(key, 0)
            if count is None:
                continue
            if session.target > count:
                repeats_left[cell] = session.target - count
                counts[key] = session.target
        if repeats_left:
            left.append((session, repeats_left))
    return left


@dataclass(frozen=True)
class Plan:
    """The sessions of a run in order, and what they cost."""

    variants: tuple[str, ...]
    profile: Profile
    sessions: tuple[Session, ...]
    crosscheck: bool = False      # a second generator after every closed-loop repeat
    costs: Costs = field(default_factory=Costs)
    catalog_sha256: str | None = None   # the catalog file the variants come from

    @classmethod
    def make(cls, variants: Iterable[str], profile: Profile, crosscheck: bool = False,
             costs: Costs | None = None, catalog_sha256: str | None = None) -> "Plan":
        names = tuple(variants)
        cells = cell_keys(profile)
        if profile.interleave:
            # Round r starts every variant once and measures each of its cells once more.
            sessions = [Session(name, r, cells, r) for r in range(1, profile.repeats + 1)
                        for name in round_order(names, r)]
        else:
            sessions = [Session(name, 1, cells, profile.repeats) for name in names]
        return cls(names, profile, tuple(sessions), crosscheck, costs or Costs(), catalog_sha256)

    def cells(self) -> tuple[CellKey, ...]:
        return cell_keys(self.profile)

    # -- what is left, given what a results file holds --------------------------------------

    def steps(self, counts: RepeatCounts | None = None) -> list[SessionRepeats]:
        """The sessions still to run and the repeats each makes per cell, given what a results
        file holds (none: a fresh run)."""
        return schedule(self.sessions, counts)

    @staticmethod
    def repeat_counts(run: RunResult) -> RepeatCounts:
        """Counted repeats per (variant, cell) in a results file; None for a cell that will not
        be measured again (failed, skipped, or its variant failed)."""
        found: dict[tuple[str, CellKey], int | None] = {}
        for variant in run.variants:
            for cell in variant.all_cells():
                closed = cell.status in ("failed", "skipped") or variant.status == "failed"
                found[(variant.name, CellKey.of(cell))] = None if closed else len(cell.repeats)
        return found

    # -- counts and time ---------------------------------------------------------------------

    def counted_repeats(self, steps: list[SessionRepeats] | None = None) -> int:
        steps = self.steps() if steps is None else steps
        return sum(sum(repeats_left.values()) for _, repeats_left in steps)

    def counted_seconds(self, steps: list[SessionRepeats] | None = None) -> float:
        return self.counted_repeats(steps) * self.profile.duration_s

    def session_seconds(self, repeats_left: dict[CellKey, int]) -> float:
        """Expected wall time of one session that makes `repeats_left` repeats per cell."""
        p, c = self.profile, self.costs
        total = c.server_start_s + p.primer_s
        for cell, repeats in repeats_left.items():
            closed = cell.rate is None
            executions = repeats * (2 if self.crosscheck and closed else 1)
            if closed and p.warmup_s:
                total += p.warmup_s + c.execution_s
            total += executions * (p.duration_s + c.execution_s) + p.pause_s
        return total

    def seconds(self, steps: list[SessionRepeats] | None = None) -> float:
        """Expected wall time of `steps` (default: the whole base plan)."""
        steps = self.steps() if steps is None else steps
        return sum(self.session_seconds(repeats_left) for _, repeats_left in steps)

    @property
    def precision_budget_s(self) -> float:
        """Time the plan sets aside for precision rounds (none for a fixed profile)."""
        if self.profile.repeat_cap <= self.profile.repeats:
            return 0.0
        return self.profile.precision_share * self.seconds()

    @property
    def capacity_stacks(self) -> int:
        """The most stacks per cell the capacity phase measures open loop (0: no such phase)."""
        if self.profile.rates_for != "top" or not self.profile.rates:
            return 0
        return min(CAPACITY_STACKS, len(self.variants))

    def capacity_cells(self) -> tuple[CellKey, ...]:
        """The closed-loop cells that can have a top group (reads: writes are wrk's alone)."""
        return tuple(k for k in closed_keys(self.profile) if k.doc != "write")

    @property
    def capacity_bound_s(self) -> float:
        """The most the capacity phase can take: every cell's top group at its largest, each
        stack with every rate, `repeats` times each (as the base rounds measure a rate cell),
        and every variant that can be chosen started once."""
        stacks = self.capacity_stacks
        if not stacks:
            return 0.0
        p, c = self.profile, self.costs
        cells = len(self.capacity_cells())
        starts = min(len(self.variants), cells * stacks)
        rate_cells = cells * stacks * len(p.rates)
        return (starts * (c.server_start_s + p.primer_s)
                + rate_cells * (p.repeats * (p.duration_s + c.execution_s) + p.pause_s))

    @property
    def closed_loop_s(self) -> float:
        """The base rounds and the precision budget: the run ends its precision rounds before
        going beyond it (the capacity phase has its own bound, after them)."""
        return self.seconds() + self.precision_budget_s

    @property
    def expected_s(self) -> float:
        """The whole plan: the base rounds, the precision budget and the capacity phase's
        upper bound."""
        return self.closed_loop_s + self.capacity_bound_s

    def to_dict(self) -> dict:
        """What a results file records of the plan, to compare a resumed run's plan with."""
        return {"variants": list(self.variants), "cells": [c.label for c in self.cells()],
                "rounds": max((s.round for s in self.sessions), default=0),
                "sessions": len(self.sessions), "counted_repeats": self.counted_repeats(),
                "counted_s": self.counted_seconds(), "base_s": round(self.seconds(), 1),
                "precision_budget_s": round(self.precision_budget_s, 1),
                "rates_for": self.profile.rates_for, "capacity_stacks": self.capacity_stacks,
                "capacity_bound_s": round(self.capacity_bound_s, 1),
                "expected_s": round(self.expected_s, 1), "crosscheck": self.crosscheck,
                "costs": asdict(self.costs), "catalog_sha256": self.catalog_sha256,
                # The base rounds start the variants in an order drawn for each (round_order).
                "round_order": "shuffled" if self.profile.interleave else "sequential"}

    def describe(self, steps: list[SessionRepeats] | None = None) -> list[str]:
        """The plan as `battle run --plan` prints it (and a run's first lines)."""
        p = self.profile
        steps = self.steps() if steps is None else steps
        cells = self.cells()
        sessions = len(steps)
        lines = [f"plan: {len(self.variants)} variant(s) × {len(cells)} cell(s) = "
                 f"{len(self.variants) * len(cells)} cells; {sessions} server start(s)"
                 + (f" in {p.repeats} interleaved rounds" if p.interleave and p.repeats > 1
                    else ""),
                 f"  cells of each variant: {', '.join(c.label for c in cells)}",
                 f"  counted: {self.counted_repeats(steps)} repeats of {p.duration_s} s "
                 f"({duration(self.counted_seconds(steps))})"
                 + (", each with a second generator after it" if self.crosscheck else "")
                 + f"; warmup {p.warmup_s} s before each cell of a session; timeout "
                   f"{p.timeout_s} s"]
        if self.precision_budget_s and len(self.variants) > 1 and p.repeats >= 2:
            lines.append(f"  precision: at least {p.repeats} repeats per cell; racing, up to "
                         f"{p.repeat_cap} for the leader of each cell and the stacks not yet "
                         f"separated from it, within {duration(self.precision_budget_s)} "
                         f"({looks(p)} looks, each deciding at {stats.ALPHA:g}/{looks(p)})")
        elif self.precision_budget_s:
            lines.append(f"  precision: at least {p.repeats} repeats per cell, up to "
                         f"{p.repeat_cap} where successful req/s varies more than "
                         f"{p.target_cv:.0%} (CV), within {duration(self.precision_budget_s)}")
        lines += self.describe_rates()
        base = self.seconds(steps)
        parts = [(base, "base"), (self.precision_budget_s, "precision"),
                 (self.capacity_bound_s, "capacity phase at most")]
        shown = [f"{what} {duration(s)}" for s, what in parts if s]
        total = sum(s for s, _ in parts)
        if base:
            lines.append(f"  expected: {duration(total)}"
                         + (f" ({' + '.join(shown)})" if len(shown) > 1 else "")
                         + f"; counted ÷ wall about {self.counted_seconds(steps) / base:.2f}")
        elif self.capacity_bound_s:
            # A resumed run whose base rounds are done: what remains depends on what they
            # measured (precision rounds within what is left of their budget, then capacity).
            lines.append(f"  expected: the base rounds are done; what is left of the precision "
                         f"rounds and the capacity phase, at most "
                         f"{duration(self.capacity_bound_s)}")
        else:
            lines.append("  expected: nothing left to measure")
        groups = list(_by_label(steps))
        if len(groups) > 1 and all(names == groups[0][1] for _, names in groups):
            lines.append(f"  order, each of {len(groups)} rounds: {', '.join(groups[0][1])}")
        elif groups:
            lines.append("  order: " + "; ".join(
                f"{label}: {', '.join(names)}" for label, names in groups))
        return lines


    def describe_rates(self) -> list[str]:
        """Which variants get the open-loop cells, and for the top group, what it costs."""
        p = self.profile
        if not p.rates:
            return []
        rates = ",".join(p.rates)
        if not self.capacity_stacks:
            return [f"  open loop: rates {rates} (oha) for every variant, after its "
                    "closed-loop cells in each session"]
        cells = len(self.capacity_cells())
        most = cells * self.capacity_stacks * len(p.rates)
        return [f"  open loop: rates {rates} (oha) for the top group only, in a capacity phase "
                f"after the closed-loop rounds: per cell its leader and the stacks tied with "
                f"it, the closest first, up to {self.capacity_stacks} stacks; at most {most} "
                f"open-loop cells ({cells} cell(s) × {self.capacity_stacks} stacks × "
                f"{len(p.rates)} rate(s)), each {p.repeats} repeat(s) of {p.duration_s} s: "
                f"at most {duration(self.capacity_bound_s)}"]


def _by_label(steps: list[SessionRepeats]) -> Iterator[tuple[str, list[str]]]:
    current, names = None, []
    for session, _ in steps:
        if session.label != current and names:
            yield current, names
            names = []
        current = session.label
        names.append(session.variant)
    if names:
        yield current, names


def noisy_cells(variant: VariantResult, profile: Profile) -> dict[CellKey, float]:
    """Closed-loop cells of a variant whose successful req/s varies more than the profile's
    target over their repeats and that may get another one: cell -> its CV."""
    if variant.status == "failed":
        return {}
    found = {}
    for cell in variant.cells:
        if cell.status != "measured" or len(cell.repeats) >= profile.repeat_cap:
            continue
        cv = stats.cv([s.ok_rps for s in cell.repeats])
        if cv is not None and cv > profile.target_cv:
            found[CellKey.of(cell)] = cv
    return found


def looks(profile: Profile) -> int:
    """How many times racing may decide a cell's top group: after the base rounds, and after
    each precision round the repeat cap allows (suite.record.groups corrects for them)."""
    return max(1, profile.repeat_cap - profile.repeats + 1)


def races(profile: Profile, variants: int) -> bool:
    """Whether precision rounds race (the leader of each undecided cell and the stacks tied with
    it get the repeats) rather than go to the noisy cells: two or more variants, each cell with
    at least two base repeats to test, and repeats left under the cap."""
    return profile.repeat_cap > profile.repeats >= 2 and variants > 1


def precision_round(run: RunResult, plan: Plan, round_no: int) -> list[Session]:
    """The next precision round. With two or more variants it races (suite.record.groups):
    every cell whose leader is not yet separated from every other stack measures the leader
    and the stacks tied with it once more, all in this round, so their ratios stay within a
    round. Single base repeats are a first look, never tested, so they race nothing; with one
    variant there is nothing to race either: its noisy cells get one more repeat each,
    the noisiest first (the budget may end before the last)."""
    if plan.profile.repeat_cap <= plan.profile.repeats:
        return []
    if races(plan.profile, len(plan.variants)):
        return racing_round(run, plan, round_no)
    sessions = []
    for variant in run.variants:
        if variant.name not in plan.variants:
            continue
        noisy = noisy_cells(variant, plan.profile)
        if noisy:
            target = min(len(c.repeats) for c in variant.cells if CellKey.of(c) in noisy) + 1
            cells = tuple(sorted(noisy, key=lambda k: plan.cells().index(k)))
            sessions.append((max(noisy.values()), Session(variant.name, round_no, cells, target,
                                                          precision=True)))
    return [s for _, s in sorted(sessions, key=lambda item: -item[0])]


def racing_round(run: RunResult, plan: Plan, round_no: int) -> list[Session]:
    """One session per variant that is the leader of, or tied with the leader of, an undecided
    cell (catalog order, as the base rounds), each of those cells one repeat more; a cell whose
    racers reached the repeat cap races no more."""
    cap = plan.profile.repeat_cap
    racing: dict[str, list[CellKey]] = {}
    for (doc, conns, ms), names in undecided(top_groups(run, looks(plan.profile))).items():
        key = CellKey(doc, conns, db_latency_ms=ms)
        cells = {name: run.variant(name).cell(doc, conns, ms) for name in names}
        if any(c is None or len(c.repeats) >= cap for c in cells.values()):
            continue
        for name in names:
            racing.setdefault(name, []).append(key)
    sessions = []
    for variant in run.variants:
        keys = racing.get(variant.name)
        if not keys or variant.name not in plan.variants or variant.status == "failed":
            continue
        counts = [len(variant.cell(k.doc, k.connections, k.db_latency_ms).repeats) for k in keys]
        cells = tuple(sorted(keys, key=lambda k: plan.cells().index(k)))
        sessions.append(Session(variant.name, round_no, cells, min(counts) + 1, precision=True))
    return sessions


def capacity_choice(group: TopGroup, most: int = CAPACITY_STACKS) -> list[str]:
    """Who in one cell gets the open-loop cells: the leader, then the stacks tied with it
    (not separated beyond noise), the closest by ratio first, at most `most` in all."""
    tied = sorted(group.members, key=lambda c: (-c.ratio, c.name))
    return [group.leader, *(c.name for c in tied)][:most]


def capacity_sessions(plan: Plan, run: RunResult,
                      groups: Sequence[TopGroup]) -> list[Session]:
    """The capacity phase, once the closed-loop rounds are done (rates for the top group): one
    session per chosen variant, in catalog order as the base rounds, with the open-loop cells
    of every cell it was chosen in (`groups`: the run's top groups at that point), each
    measured `repeats` times as the base rounds measure a rate cell. None without the phase."""
    if not plan.capacity_stacks:
        return []
    chosen: dict[str, list[CellKey]] = {}
    for group in groups:
        key = CellKey(group.doc, group.connections, group.db_latency_ms)
        for name in capacity_choice(group, plan.capacity_stacks):
            chosen.setdefault(name, []).append(key)
    order = closed_keys(plan.profile)
    sessions = []
    for variant in run.variants:
        keys = chosen.get(variant.name)
        if not keys or variant.name not in plan.variants or variant.status == "failed":
            continue
        closed = sorted((k for k in keys if k in order), key=order.index)
        sessions.append(Session(variant.name, 0, rate_keys(plan.profile, closed),
                                plan.profile.repeats, capacity=True))
    return sessions


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
