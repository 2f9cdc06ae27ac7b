"""What every section of a report reads: the run, each cell summarized once, the answer, and
where the charts are. Made once per report (suite.read.report.render)."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.read import answer
from suite.read.analysis import CellKey, CellSummary, summarize
from suite.record.results import Cell, RunResult, VariantResult


@dataclass
class View:
    run: RunResult
    charts: dict[str, str] = field(default_factory=dict)   # chart key -> relative path
    guide: str = "../docs/reading-a-report.md"             # the reading guide, from the report
    summaries: dict[CellKey, CellSummary] = field(default_factory=dict)
    answers: list[answer.CellAnswer] = field(default_factory=list)

    @classmethod
    def of(cls, run: RunResult, charts: dict[str, str] | None = None,
           guide: str = "../docs/reading-a-report.md") -> "View":
        limit = run.profile.max_failed_share
        summaries = {(v.name, c.doc, c.connections, c.db_latency_ms): summarize(c, limit)
                     for v in run.variants for c in v.cells if c.repeats}
        return cls(run, charts or {}, guide, summaries, answer.answers(run, summaries))

    @property
    def profile(self):
        return self.run.profile

    @property
    def limit(self) -> float:
        """The failed share of attempts a healthy cell may have."""
        return self.run.profile.max_failed_share

    def summary(self, variant: VariantResult, cell: Cell) -> CellSummary:
        found = self.summaries.get((variant.name, cell.doc, cell.connections, cell.db_latency_ms))
        return found if found is not None and not cell.rate else summarize(cell, self.limit)

    def healthy(self, summary: CellSummary) -> bool:
        return summary.healthy(self.limit)
