"""The answer a run gives, computed from its cells: per document, connection level and database
latency, the leader and its top group (every stack not separated from it beyond noise: suite.
record.groups), the best stack for sync code and for async code and what moving from one to
the other buys, the best of each worker model, the baseline (Python without a framework), the
reference rows of other languages and the compiled ceiling (all never recommended); and one
recommendation with a confidence that follows from the tests. Pure functions of a results file;
suite.read.report writes them as the first screen of every report, the README's answer block
and the index's line.

Only healthy cells compete (suite.record.health: attempts pooled over the repeats, and no
repeat, failed at most the run's threshold), and only server-bound ones (a client-bound cell
measured the load generator and the database). The recommendation names a stack only if it is
healthy in every cell weighed and leads at least one: never a stack that is best nowhere.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

from suite.read import fmt
from suite.record import catalog, groups, stats
from suite.read.analysis import CellSummary, model_family, rate_points, slo_capacity, summarize
from suite.record.documents import WRITE
from suite.record.profiles import parse_slo
from suite.record.groups import Comparison, TopGroup
from suite.record.results import RunResult

# Families of worker model, in the order the 2014 question puts them (threads against events).
MODELS = ("processes", "threads", "greenlets", "asyncio")


@dataclass(frozen=True)
class Entry:
    """A variant's cell as the answer sees it."""

    name: str
    summary: CellSummary
    healthy: bool
    model: str
    # The client side had no headroom in some repeat: a measure of what the load generator and
    # the database allowed, shown but not ranked as the server's figure.
    client_bound: bool = False
    # The row's classification (suite.record.catalog): only "framework" rows are ranked.
    classification: str = "framework"
    # How the app's handlers are written: "sync" (plain def views) or "async" (async def);
    # None where neither the run nor the catalog says.
    code: str | None = None

    @property
    def baseline(self) -> bool:
        return self.classification == "baseline"

    @property
    def apart(self) -> bool:
        """Shown apart, never recommended: the baseline, the reference rows, the ceiling."""
        return self.classification != "framework"

    @property
    def competes(self) -> bool:
        """May lead a cell or be in its top group: deployable, healthy, server-bound."""
        return self.healthy and not self.apart and not self.client_bound

    @property
    def p99_ms(self) -> float | None:
        return self.summary.latency_ms.get("p99")


@dataclass(frozen=True)
class Tied:
    """A stack of a cell's top group beside its leader: its entry and its comparison."""

    entry: Entry
    comparison: Comparison


@dataclass
class CellAnswer:
    doc: str
    connections: int
    db_latency_ms: int
    best: Entry | None = None               # the leader: the best deployable healthy cell
    group: TopGroup | None = None           # the leader's top group (suite.record.groups)
    tied: list[Tied] = field(default_factory=list)   # not separated from the leader
    separated: list[str] = field(default_factory=list)   # behind it beyond noise
    # The best competitor whose app is written with plain def views, and with async def; the
    # async one's req/s over the sync one's within rounds, tested (Holm over the answer).
    best_sync: Entry | None = None
    best_async: Entry | None = None
    switch: Comparison | None = None
    baseline: Entry | None = None           # the best baseline, healthy or not
    ceiling: Entry | None = None            # the best compiled ceiling row, healthy or not
    references: list[Entry] = field(default_factory=list)   # other languages' rows
    by_model: dict[str, Entry] = field(default_factory=dict)   # best competitor per family
    # Deployable cells faster than the leader that failed too often to be ranked.
    faster_unhealthy: list[Entry] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)          # every measured cell

    @property
    def label(self) -> str:
        return f"{self.doc}@{self.connections}" + (f"+{self.db_latency_ms}ms"
                                                   if self.db_latency_ms else "")

    @property
    def decided(self) -> bool:
        """The leader is separated beyond noise from every other competitor (and had one)."""
        return self.best is not None and not self.tied and bool(self.separated)

    @property
    def tested(self) -> bool:
        """Some comparison of the cell's top group was tested."""
        return self.group is not None and any(
            c.p is not None for c in [*self.group.members, *self.group.separated])

    @property
    def runner_up(self) -> Entry | None:
        """The closest stack to the leader among the other competitors."""
        return next((e for e in self.entries if e.competes and e is not self.best), None)

    @property
    def top(self) -> list[Entry]:
        """The leader and the stacks tied with it."""
        return ([self.best] if self.best else []) + [t.entry for t in self.tied]


def code_of(variant) -> str | None:
    """How a row's app is written: the run's record (results v10 on), else the catalog's row of
    the same name (a run made before the field), else None."""
    if variant.code:
        return variant.code
    row = _catalog().get(variant.name)
    return row.code if row else None


@functools.cache
def _catalog() -> dict:
    """Today's catalog, read once (empty where it cannot be read: the code is then unknown)."""
    try:
        return catalog.load_catalog()
    except catalog.CatalogError:
        return {}


def entries(run: RunResult, doc: str, connections: int, db_latency_ms: int,
            summaries: dict | None = None) -> list[Entry]:
    """Every variant measured in one cell (a failed cell aside), healthy first by successful
    req/s, then the unhealthy by failed share."""
    found = []
    limit = run.profile.max_failed_share
    for v in run.variants:
        cell = v.cell(doc, connections, db_latency_ms)
        if cell is None or not cell.repeats or cell.status == "failed":
            continue
        s = (summaries or {}).get((v.name, doc, connections, db_latency_ms)) or summarize(cell, limit)
        if s.median_rps is None:
            continue
        found.append(Entry(v.name, s, s.healthy(limit), model_family(v.worker_model),
                           s.client_bound, v.classification, code_of(v)))
    return sorted(found, key=lambda e: (not e.healthy, -e.summary.median_rps
                                        if e.healthy else e.summary.failed_pooled, e.name))


def cells_of(run: RunResult) -> list[tuple[str, int, int]]:
    """The read cells of the run in report order: by database latency, document, connections."""
    return [(doc, conns, ms) for ms in run.profile.db_latencies_ms for doc in run.profile.docs
            if doc != WRITE or len(run.profile.docs) == 1 for conns in run.profile.connections]


def earlier_procedure(run: RunResult) -> str | None:
    """The procedure a run's recorded top groups were decided by, when it is not today's."""
    used = {g.get("procedure") for g in run.top_groups} - {groups.PROCEDURE}
    return next(iter(sorted(str(u) for u in used)), None) if used else None


def top_groups(run: RunResult) -> dict[tuple[str, int, int], TopGroup]:
    """The run's top groups as its results file holds them, when they were decided by today's
    procedure; else (a run made before they were recorded, or under an earlier procedure)
    computed from its repeats with today's, at the looks the run recorded (one without)."""
    recorded = run.top_groups
    if recorded and not earlier_procedure(run):
        found = [TopGroup.from_dict(g) for g in recorded]
    else:
        found = groups.top_groups(run, max((g.get("looks", 1) for g in recorded), default=1))
    return {(g.doc, g.connections, g.db_latency_ms): g for g in found}


def answers(run: RunResult, summaries: dict | None = None) -> list[CellAnswer]:
    """Per cell, the leader and its top group, the sync and async choices and what stands
    around them; the sync-against-async comparisons of all cells one family (Holm)."""
    found = []
    by_cell = top_groups(run)
    for doc, conns, ms in cells_of(run):
        ranked = entries(run, doc, conns, ms, summaries)
        if not ranked:
            continue
        answer = CellAnswer(doc, conns, ms, entries=ranked)
        named = {e.name: e for e in ranked}
        competing = [e for e in ranked if e.competes]
        group = by_cell.get((doc, conns, ms))
        if group is not None and group.leader in named:
            answer.group = group
            answer.best = named[group.leader]
            answer.tied = [Tied(named[c.name], c) for c in group.members if c.name in named]
            answer.separated = [c.name for c in group.separated]
        elif competing:   # a write cell, or a group the results file lacks
            answer.best = competing[0]
        if answer.best:
            answer.faster_unhealthy = [
                e for e in ranked if not e.healthy and not e.apart
                and e.summary.median_rps > answer.best.summary.median_rps]
        answer.best_sync = next((e for e in competing if e.code == "sync"), None)
        answer.best_async = next((e for e in competing if e.code == "async"), None)
        if answer.best_sync and answer.best_async:
            answer.switch = groups.pair(run, doc, conns, ms, answer.best_async.name,
                                        answer.best_sync.name)
        answer.baseline = _best_of(ranked, "baseline")
        answer.ceiling = _best_of(ranked, "ceiling")
        answer.references = [e for e in ranked if e.classification == "reference"]
        for e in competing:
            answer.by_model.setdefault(e.model, e)
        found.append(answer)
    switches = [a for a in found if a.switch and a.switch.p is not None]
    for a, p_adj in zip(switches, stats.holm([a.switch.p for a in switches])):
        a.switch = dataclasses.replace(a.switch, p_adjusted=p_adj,
                                       separated=p_adj < stats.ALPHA)
    return found


def top_group_rows(run: RunResult) -> list[str]:
    """Every row that leads a cell of `run` or is in a top group (not separated from a leader
    beyond noise), once each, in the order the cells name them: the rows a run of the
    answer's contenders measures."""
    found = [name for a in answers(run) if a.best is not None
             for name in (a.best.name, *(t.entry.name for t in a.tied))]
    return list(dict.fromkeys(found))


def _best_of(ranked: list[Entry], classification: str) -> Entry | None:
    return max((e for e in ranked if e.classification == classification),
               key=lambda e: e.summary.median_rps, default=None)


def ceiling_share(answer: CellAnswer) -> float | None:
    """The best deployable Python stack's req/s as a share of the compiled ceiling's, where
    both are healthy: how much of what this machine serves for the endpoint Python serves."""
    if answer.best is None or answer.ceiling is None or not answer.ceiling.healthy:
        return None
    return answer.best.summary.median_rps / answer.ceiling.summary.median_rps


def why_none(answer: CellAnswer) -> str:
    """A cell without a leader, in words: what kept every stack out."""
    deployable = [e for e in answer.entries if not e.apart]
    if not deployable:
        return "no deployable stack was measured here"
    sick = [e for e in deployable if not e.healthy]
    bound = [e for e in deployable if e.healthy and e.client_bound]
    parts = []
    if sick:
        least = min(sick, key=lambda e: e.summary.failed_pooled or 0.0)
        parts.append(f"{len(sick)} of {len(deployable)} failed more than the threshold "
                     f"(least: {least.name}, {fmt.share(least.summary.failed_pooled)})")
    if bound:
        parts.append(f"{len(bound)} client-bound (the load generator and the database set "
                     "their figure)")
    return "no healthy stack here: " + "; ".join(parts)


@dataclass(frozen=True)
class Standing:
    """One deployable variant over the cells the recommendation weighs."""

    name: str
    score: float | None              # geometric mean of its req/s ÷ each cell's leader
    healthy_in: int
    best_in: list[str]               # cells it leads
    beyond_in: list[str]             # cells it leads beyond noise (separated from all others)
    tied_in: list[str]               # in the top group, not the leader
    untested_in: list[str]           # not the leader, its comparison not tested
    behind_in: list[str]             # the leader is ahead of it beyond noise
    unhealthy_in: list[str]          # failed too often, client-bound, or not measured

    @property
    def in_top_group(self) -> int:
        return len(self.best_in) + len(self.tied_in)


@dataclass(frozen=True)
class Recommendation:
    name: str | None
    confidence: str                  # high | moderate | low | untested | none
    cells: int                       # the cells weighed
    standing: Standing | None
    why: str                         # the headline paragraph, computed


def weighed(answers_: list[CellAnswer]) -> list[CellAnswer]:
    """The cells a recommendation weighs: MongoDB as it is (no added latency) where the run has
    those, else every cell."""
    plain = [a for a in answers_ if a.db_latency_ms == 0]
    return plain or answers_


def standings(answers_: list[CellAnswer]) -> list[Standing]:
    """Every deployable stack over the weighed cells, by how it stands to each cell's top
    group; best score first (the stacks healthy everywhere)."""
    cells = weighed(answers_)
    names = sorted({e.name for a in cells for e in a.entries if not e.apart})
    result = []
    for name in names:
        best_in, beyond_in, tied_in, untested_in, behind_in, unhealthy_in = [], [], [], [], [], []
        ratios = []
        for a in cells:
            mine = next((e for e in a.entries if e.name == name), None)
            if mine is None or not mine.competes or a.best is None:
                unhealthy_in.append(a.label)
                continue
            ratios.append(mine.summary.median_rps / a.best.summary.median_rps)
            if a.best.name == name:
                best_in.append(a.label)
                if a.decided:
                    beyond_in.append(a.label)
                continue
            tie = next((t for t in a.tied if t.entry.name == name), None)
            if name in a.separated:
                behind_in.append(a.label)
            elif tie is not None and tie.comparison.p is None:
                untested_in.append(a.label)
            else:
                tied_in.append(a.label)
        score = stats.geometric_mean(ratios) if ratios and not unhealthy_in else None
        result.append(Standing(name, score, len(cells) - len(unhealthy_in), best_in, beyond_in,
                               tied_in, untested_in, behind_in, unhealthy_in))
    return sorted(result, key=lambda s: (s.score is None, -(s.score or 0), s.name))


def _cells_text(labels: list[str]) -> str:
    return ", ".join(labels)


def recommend(answers_: list[CellAnswer]) -> Recommendation:
    """The stack to choose across the cells weighed, if one: healthy in every one of them,
    leading at least one, the best geometric mean of its req/s over each cell's leader. Its
    confidence follows from the tests alone: high where it leads beyond noise in at least half
    the cells and trails beyond noise in none, moderate where it leads beyond noise somewhere
    and trails nowhere, untested where no comparison could be tested (single repeats), else
    low. The paragraph says what holds across cells: who leads where, how many cells have no
    leader beyond noise, and which stacks are healthy everywhere."""
    cells = weighed(answers_)
    n = len(cells)
    ranked = standings(answers_)
    everywhere = [s for s in ranked if s.score is not None]
    top = next((s for s in everywhere if s.best_in), None)
    leaders: dict[str, list[str]] = {}
    for a in cells:
        if a.best:
            leaders.setdefault(a.best.name, []).append(a.label)
    empty = [a.label for a in cells if a.best is None]
    undecided = [a for a in cells if a.best and not a.decided]
    sizes = sorted(len(a.top) for a in undecided)
    tested = any(a.tested for a in cells)
    parts = []
    if top is not None:
        parts.append(f"**{top.name}**: leads {len(top.best_in)} of {n} cells "
                     f"({_cells_text(top.best_in)})"
                     + (f", beyond noise in {len(top.beyond_in)}" if top.beyond_in else "")
                     + (f"; tied with the leader in {len(top.tied_in)}" if top.tied_in else "")
                     + (f"; behind the leader, not tested, in {len(top.untested_in)}"
                        if top.untested_in else "")
                     + (f"; behind the leader beyond noise in {len(top.behind_in)} "
                        f"({_cells_text(top.behind_in)})" if top.behind_in else "")
                     + f"; healthy in all {n}; on average {top.score:.0%} of each cell's leader.")
    others = [f"{name} ({_cells_text(labels)})" for name, labels in leaders.items()
              if top is None or name != top.name]
    if others:
        parts.append(("Other leaders: " if top else "Leaders: ") + "; ".join(others) + ".")
    if empty:
        parts.append(f"No healthy stack in {len(empty)} cell(s) ({_cells_text(empty)}).")
    if not tested:
        parts.append("Nothing was tested against noise (one repeat per cell): a first look, "
                     "not an answer; run a profile with repeats before choosing.")
    elif undecided:
        span = (f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}–{sizes[-1]}")
        parts.append(f"No leader beyond noise in {len(undecided)} of {n} cells: their top "
                     f"groups hold {span} stacks each (below), any of which may serve as well.")
    else:
        parts.append("Every cell's leader is ahead of every other stack beyond noise.")
    if top is None:
        if everywhere:
            shown = ", ".join(f"{s.name} ({s.score:.0%} of each cell's leader on average)"
                              for s in everywhere[:3])
            parts.append(f"Healthy in all {n} but leading none, so not the answer: {shown}.")
        else:
            parts.append(f"No deployable stack was healthy in all {n} cells, so none is "
                         "recommended across the board: take the leader of the cell that "
                         "matches your load.")
    if top is None:
        confidence = "none"
    elif not tested:
        confidence = "untested"
    elif top.behind_in or not top.beyond_in:
        confidence = "low"
    elif len(top.beyond_in) * 2 >= n:
        confidence = "high"
    else:
        confidence = "moderate"
    parts.append({
        "high": f"Confidence high: it leads beyond noise in {len(top.beyond_in) if top else 0} "
                f"of {n} cells and trails beyond noise in none.",
        "moderate": f"Confidence moderate: it leads beyond noise in "
                    f"{len(top.beyond_in) if top else 0} of {n} cells and trails in none; "
                    "elsewhere others may serve as well.",
        "low": "Confidence low: " + ("no lead of it is beyond noise" if top and not top.beyond_in
                                     else "other stacks beat it beyond noise where named")
               + ", so choose within the top group of the cell that matches your load.",
        "untested": "",
        "none": "",
    }[confidence])
    return Recommendation(top.name if top else None, confidence, n, top,
                          " ".join(p for p in parts if p))


def capacities(run: RunResult) -> dict[tuple[str, str, int, int], object]:
    """Open loop, where the run measured it: per (variant, doc, connections, database latency)
    the rate point with the highest successful req/s that kept the profile's SLO
    (suite.read.analysis.slo_capacity); a variant measured at rates that kept none is absent
    from the dict but present in `rated`."""
    key, limit_ms = parse_slo(run.profile.slo)
    by_cell: dict[tuple[str, str, int, int], list] = {}
    for p in rate_points(run):
        by_cell.setdefault((p.variant, p.doc, p.connections, p.db_latency_ms), []).append(p)
    return {cell: slo_capacity(points, key, limit_ms) for cell, points in by_cell.items()}
