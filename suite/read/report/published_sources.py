"""The results files the blocks of docs/published-runs.md are filled from, each read once, and
the error of a block that cannot be filled (suite.read.report.published fills the page)."""

from __future__ import annotations

from pathlib import Path

from suite.record import results
from suite.record.results import RunResult

REPORTS = "../reports"   # the reports, as the page (in docs/) links to them


class PublishedError(ValueError):
    """A block that cannot be filled: an unknown kind, a run without a results file."""


class Runs:
    """The results files blocks name, each read once."""

    def __init__(self, results_dir: Path):
        self.results_dir = Path(results_dir)
        self._loaded: dict[str, RunResult] = {}

    def get(self, run_id: str) -> RunResult:
        if run_id not in self._loaded:
            path = self.results_dir / f"{run_id}.json"
            if not path.exists():
                raise PublishedError(f"no results file {path}")
            try:
                self._loaded[run_id] = results.load(path)
            except results.ResultsError as exc:
                raise PublishedError(str(exc)) from None
        return self._loaded[run_id]

