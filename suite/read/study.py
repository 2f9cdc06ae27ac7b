"""The 2014 study side by side with a run: its figures (suite/read/data/study-2014.toml) and this
run's, both as ratios to the same reference stack (gunicorn + gevent), because the hardware
differs; and which of the study's orderings still hold. Pure functions; suite.read.report renders.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path

from suite.read import fmt, significance
from suite.read.analysis import CellSummary, summarize
from suite.record.results import RunResult

DATA = Path(__file__).parent / "data" / "study-2014.toml"


@dataclass(frozen=True)
class Stack:
    key: str
    title: str
    variant: str                                 # the catalog variant that runs it today
    ran: str                                     # how the study ran it
    rps: dict[str, dict[int, float]]             # doc -> connections -> req/s (2014)
    language: str = "Python"                     # the study's other rows: JavaScript, Scala

    @property
    def python(self) -> bool:
        return self.language == "Python"


@dataclass(frozen=True)
class Study:
    source: dict[str, str]
    reference: Stack
    stacks: tuple[Stack, ...]


def load(path: Path = DATA) -> Study:
    data = tomllib.loads(path.read_text())
    stacks = tuple(
        Stack(key, row["title"], row["variant"], row["ran"],
              {doc: {int(c): float(v) for c, v in row[doc].items()}
               for doc in ("small", "large") if doc in row}, row.get("language", "Python"))
        for key, row in data["stack"].items())
    reference = next(s for s in stacks if s.key == data["source"]["reference"])
    return Study(data["source"], reference, stacks)


@dataclass(frozen=True)
class Point:
    """One stack in one cell: the study's req/s and ratio to the reference, and this run's."""

    stack: Stack
    doc: str
    connections: int
    then_rps: float
    then_ratio: float
    now_rps: float | None = None                 # median successful req/s
    now_ratio: float | None = None
    now_repeats: tuple[float, ...] = ()
    # Why there is no ratio although both were measured: this stack's cell, or the
    # reference's, was unhealthy (suite.record.health); None: healthy (or not measured).
    unhealthy: str | None = None


@dataclass(frozen=True)
class Ordering:
    """A pair of stacks the study ranked in one cell (`faster` ahead), and what this run says."""

    faster: Point
    slower: Point
    now_ratio: float                             # faster ÷ slower today (> 1: still ahead)
    test: significance.Lead                      # faster over slower, over this run's repeats

    @property
    def p(self) -> float | None:
        return self.test.p

    @property
    def p_adjusted(self) -> float | None:
        return self.test.p_adjusted

    @property
    def held(self) -> bool:
        return self.now_ratio > 1

    @property
    def beyond_noise(self) -> bool:
        """Beyond noise whichever way it went today, held or flipped: the medians' ratio and
        the means' test agree, at Holm's adjusted p < ALPHA."""
        return self.test.beyond_noise


def applies(run: RunResult, study: Study) -> bool:
    """The section appears when the run measured the reference and another of the stacks."""
    measured = {v.name for v in run.variants if any(c.repeats for c in v.cells)}
    return study.reference.variant in measured and any(
        s.variant in measured for s in study.stacks if s is not study.reference)


def points(run: RunResult, study: Study, db_latency_ms: int = 0) -> list[Point]:
    """Every (stack, doc, connections) the study published, with this run's figures where it
    measured the same cell (the run's other connection levels are not compared)."""
    found = []
    for stack in study.stacks:
        for doc, by_conns in stack.rps.items():
            for conns, rps in by_conns.items():
                reference = study.reference.rps[doc].get(conns)
                now, now_ref = (_median(run, s.variant, doc, conns, db_latency_ms)
                                for s in (stack, study.reference))
                sick = [f"{who} {fmt.failed(side[2].health)}" for who, side in
                        ((stack.title, now), (study.reference.title, now_ref))
                        if side and not side[2].healthy(run.profile.max_failed_share)]
                healthy = now and now_ref and now_ref[0] and not sick
                found.append(Point(
                    stack, doc, conns, rps, rps / reference if reference else float("nan"),
                    now_rps=now[0] if now else None,
                    now_ratio=now[0] / now_ref[0] if healthy else None,
                    now_repeats=now[1] if now else (),
                    unhealthy="; ".join(sick) if now and now_ref and sick else None))
    return found


def _median(run: RunResult, variant: str, doc: str, conns: int,
            db_latency_ms: int) -> tuple[float, tuple[float, ...], CellSummary] | None:
    record = run.variant(variant)
    cell = record.cell(doc, conns, db_latency_ms) if record else None
    if cell is None or not cell.repeats:
        return None
    summary = summarize(cell, run.profile.max_failed_share)
    return summary.median_rps, tuple(summary.ok_rps), summary


def orderings(found: list[Point]) -> list[Ordering]:
    """For each cell, every pair of stacks both measured now: the study's order and today's,
    tested with Welch's t over the repeats, Holm's correction across all the pairs."""
    result = []
    cells = dict.fromkeys((p.doc, p.connections) for p in found)
    for doc, conns in cells:
        # Only healthy cells are ordered (an unhealthy one's req/s is not its capacity).
        here = [p for p in found if (p.doc, p.connections) == (doc, conns) and p.now_rps
                and p.now_ratio is not None]
        for i, a in enumerate(here):
            for b in here[i + 1:]:
                faster, slower = (a, b) if a.then_rps >= b.then_rps else (b, a)
                test = significance.lead(faster.now_repeats, slower.now_repeats)
                result.append(Ordering(faster, slower, faster.now_rps / slower.now_rps, test))
    tests = iter(significance.family([o.test for o in result]))
    return [dataclasses.replace(o, test=next(tests)) for o in result]


@dataclass(frozen=True)
class Beyond:
    """Another language's row against the study's best Python row in one cell, then and now."""

    stack: Stack
    doc: str
    connections: int
    then_ratio: float               # the row ÷ the study's best Python row, 2014
    then_python: str                # which Python row that was
    now_ratio: float | None         # the same ratio in this run (its best of those rows)
    now_python: str | None


def beyond_python(found: list[Point]) -> list[Beyond]:
    """Per cell where the study published another language's row: how far ahead of (or behind)
    the best of the study's Python rows it was in 2014, and is in this run."""
    result = []
    for p in found:
        if p.stack.python:
            continue
        python = [q for q in found if q.stack.python and (q.doc, q.connections)
                  == (p.doc, p.connections)]
        if not python:
            continue
        then = max(python, key=lambda q: q.then_rps)
        measured = [q for q in python if q.now_rps and q.now_ratio is not None]
        now = max(measured, key=lambda q: q.now_rps, default=None)
        result.append(Beyond(p.stack, p.doc, p.connections, p.then_rps / then.then_rps,
                             then.stack.title,
                             p.now_rps / now.now_rps if now and p.now_rps
                             and p.now_ratio is not None else None,
                             now.stack.title if now else None))
    return result
