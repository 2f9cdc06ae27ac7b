"""The answer a run gives, computed from its cells: per document, connection level and database
latency, the best deployable stack among healthy cells, its runner-up and whether the lead is
beyond noise, the best of each worker model, the baseline (Python without a framework), the
reference rows of other languages and the compiled ceiling (all never recommended); and
one recommendation with its confidence. Pure functions of a results file; suite.report writes
them as the first screen of every report, the README's answer table and the index's line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.read import significance
from suite.record import stats
from suite.read.analysis import CellSummary, model_family, summarize
from suite.record.documents import WRITE
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

    @property
    def baseline(self) -> bool:
        return self.classification == "baseline"

    @property
    def apart(self) -> bool:
        """Shown apart, never recommended: the baseline, the reference rows, the ceiling."""
        return self.classification != "framework"


@dataclass
class CellAnswer:
    doc: str
    connections: int
    db_latency_ms: int
    best: Entry | None = None               # the best deployable healthy cell
    runner_up: Entry | None = None
    lead: significance.Lead | None = None   # best over runner-up (one family per run)
    baseline: Entry | None = None           # the best baseline, healthy or not
    ceiling: Entry | None = None            # the best compiled ceiling row, healthy or not
    references: list[Entry] = field(default_factory=list)   # other languages' rows
    by_model: dict[str, Entry] = field(default_factory=dict)   # best healthy per family
    # Deployable cells faster than the best that failed too often to be ranked.
    faster_unhealthy: list[Entry] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)          # every measured cell

    @property
    def label(self) -> str:
        return f"{self.doc}@{self.connections}" + (f"+{self.db_latency_ms}ms"
                                                   if self.db_latency_ms else "")


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
        s = (summaries or {}).get((v.name, doc, connections, db_latency_ms)) or summarize(cell)
        if s.median_rps is None:
            continue
        found.append(Entry(v.name, s, s.healthy(limit), model_family(v.worker_model),
                           s.client_bound, v.classification))
    return sorted(found, key=lambda e: (not e.healthy, -e.summary.median_rps
                                        if e.healthy else e.summary.error_rate, e.name))


def cells_of(run: RunResult) -> list[tuple[str, int, int]]:
    """The read cells of the run in report order: by database latency, document, connections."""
    return [(doc, conns, ms) for ms in run.profile.db_latencies_ms for doc in run.profile.docs
            if doc != WRITE or len(run.profile.docs) == 1 for conns in run.profile.connections]


def answers(run: RunResult, summaries: dict | None = None) -> list[CellAnswer]:
    """Per cell, the best deployable healthy stack and what stands around it; the leads of
    all cells are one family for Holm's correction."""
    found = []
    for doc, conns, ms in cells_of(run):
        ranked = entries(run, doc, conns, ms, summaries)
        if not ranked:
            continue
        answer = CellAnswer(doc, conns, ms, entries=ranked)
        deployable = [e for e in ranked if e.healthy and not e.apart and not e.client_bound]
        if deployable:
            answer.best = deployable[0]
            answer.runner_up = deployable[1] if len(deployable) > 1 else None
            answer.faster_unhealthy = [
                e for e in ranked if not e.healthy and not e.apart
                and e.summary.median_rps > answer.best.summary.median_rps]
        answer.baseline = _best_of(ranked, "baseline")
        answer.ceiling = _best_of(ranked, "ceiling")
        answer.references = [e for e in ranked if e.classification == "reference"]
        for e in deployable:
            answer.by_model.setdefault(e.model, e)
        if answer.best and answer.runner_up:
            answer.lead = significance.lead(answer.best.summary.ok_rps,
                                            answer.runner_up.summary.ok_rps)
        found.append(answer)
    leads = iter(significance.family([a.lead for a in found if a.lead]))
    for answer in found:
        if answer.lead:
            answer.lead = next(leads)
    return found


def _best_of(ranked: list[Entry], classification: str) -> Entry | None:
    return max((e for e in ranked if e.classification == classification),
               key=lambda e: e.summary.median_rps, default=None)


def ceiling_share(answer: CellAnswer) -> float | None:
    """The best deployable Python stack's req/s as a share of the compiled ceiling's, where
    both are healthy: how much of what this machine serves for the endpoint Python serves."""
    if answer.best is None or answer.ceiling is None or not answer.ceiling.healthy:
        return None
    return answer.best.summary.median_rps / answer.ceiling.summary.median_rps


@dataclass(frozen=True)
class Standing:
    """One deployable variant over the cells the recommendation weighs."""

    name: str
    score: float | None              # geometric mean of its req/s ÷ each cell's best
    healthy_in: int
    best_in: list[str]               # cells where it is the best
    tied_in: list[str]               # not the best, within noise of it
    untested_in: list[str]           # not the best, and not tested (one repeat, no spread)
    behind_in: list[str]             # the best leads it beyond noise
    unhealthy_in: list[str]          # failed too often, or not measured


@dataclass(frozen=True)
class Recommendation:
    name: str | None
    confidence: str                  # high | moderate | low | untested | none
    cells: int                       # the cells weighed
    standing: Standing | None
    why: str                         # the one paragraph, computed


def weighed(answers_: list[CellAnswer]) -> list[CellAnswer]:
    """The cells a recommendation weighs: MongoDB as it is (no added latency) where the run has
    those, else every cell."""
    plain = [a for a in answers_ if a.db_latency_ms == 0]
    return plain or answers_


def standings(answers_: list[CellAnswer]) -> list[Standing]:
    cells = weighed(answers_)
    names = sorted({e.name for a in cells for e in a.entries if not e.apart})
    result = []
    for name in names:
        best_in, tied_in, untested_in, behind_in, unhealthy_in, ratios = [], [], [], [], [], []
        versus = []
        for a in cells:
            mine = next((e for e in a.entries if e.name == name), None)
            if mine is None or not mine.healthy or a.best is None:
                unhealthy_in.append(a.label)
                continue
            ratios.append(mine.summary.median_rps / a.best.summary.median_rps)
            if a.best.name == name:
                best_in.append(a.label)
            else:
                versus.append((a.label, significance.lead(a.best.summary.ok_rps,
                                                          mine.summary.ok_rps)))
        tests = significance.family([lead for _, lead in versus])
        for (label, _), lead in zip(versus, tests):
            if not lead.tested:
                untested_in.append(label)
            else:
                (behind_in if lead.beyond_noise else tied_in).append(label)
        score = stats.geometric_mean(ratios) if ratios and not unhealthy_in else None
        result.append(Standing(name, score, len(cells) - len(unhealthy_in), best_in, tied_in,
                               untested_in, behind_in, unhealthy_in))
    return sorted(result, key=lambda s: (s.score is None, -(s.score or 0), s.name))


def recommend(answers_: list[CellAnswer]) -> Recommendation:
    """The deployable stack with the best geometric mean of its req/s relative to each
    cell's best, among those healthy in every cell weighed; its confidence from where it is
    best, tied with the best, or behind it beyond noise."""
    cells = weighed(answers_)
    ranked = standings(answers_)
    top = ranked[0] if ranked and ranked[0].score is not None else None
    if top is None:
        return Recommendation(None, "none", len(cells), None,
                              "No deployable stack was healthy in every cell weighed, so none "
                              "is recommended across the board: take the best of the cell "
                              "that matches your load, in the table.")
    n = len(cells)
    beyond = [a.label for a in cells if a.best and a.best.name == top.name and a.lead
              and a.lead.beyond_noise]
    tested = [a for a in cells if a.lead and a.lead.tested]
    if not tested and not top.behind_in and not top.tied_in:
        confidence = "untested"
    elif not top.behind_in and len(beyond) * 2 >= n:
        confidence = "high"
    elif not top.behind_in:
        confidence = "moderate"
    else:
        confidence = "low"
    parts = [f"best in {len(top.best_in)} of {n} cells"]
    if top.tied_in:
        parts.append(f"within noise of the best in {len(top.tied_in)} "
                     f"({', '.join(top.tied_in)})")
    if top.untested_in:
        parts.append(f"behind the best, untested, in {len(top.untested_in)} "
                     f"({', '.join(top.untested_in)})")
    if top.behind_in:
        parts.append(f"behind the best beyond noise in {len(top.behind_in)} "
                     f"({', '.join(top.behind_in)})")
    text = (f"**{top.name}**: " + "; ".join(parts)
            + f"; healthy in all {n}; on average {top.score:.0%} of each cell's best. ")
    text += {"high": f"Confidence high: it never trails the best beyond noise and leads its "
                     f"runner-up beyond noise in {len(beyond)} of {n} cells.",
             "moderate": f"Confidence moderate: it never trails the best beyond noise, but "
                         f"leads beyond noise in only {len(beyond)} of {n} cells, so others "
                         "may serve as well.",
             "untested": "Not tested against noise: one repeat per cell gives a first look, "
                         "not an answer; run a profile with repeats before choosing.",
             "low": "Confidence low: other stacks beat it beyond noise where named, so choose "
                    "by the cell that matches your load."}[confidence]
    return Recommendation(top.name, confidence, n, top, text)
