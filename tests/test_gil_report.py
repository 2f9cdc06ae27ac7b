"""The report's "Threads without the GIL" section, on summaries whose figures are exact: each
free-threaded row against its twin, the best of it against the best process-based and event-loop
rows, with the noise test, and nothing for a run without free-threaded rows."""

import dataclasses

from suite.read.analysis import CellSummary
from suite.read.report import gil
from suite.record.health import Health
from suite.read.report.view import View
from suite.record import results
from suite.record.results import VariantResult
from tests.conftest import FIXTURES


def row(name: str, worker_model: str, build: str = "default", twin_of: str | None = None,
        gil_on: bool = True) -> VariantResult:
    return VariantResult(name=name, app="flask", server="gunicorn", worker_model=worker_model,
                         driver="pymongo", why="", settings={}, command=[], packages={},
                         status="measured", build=build, twin_of=twin_of,
                         interpreter={"python": "3.13.15", "free_threaded": build != "default",
                                      "gil": gil_on, "implementation": "CPython", "json": "json"})


def summary(doc: str, c: int, rps: list[float], cores: float, failed: float = 0.0) -> CellSummary:
    ordered = sorted(rps)
    return CellSummary(doc=doc, connections=c, n=len(rps), ok_rps=list(rps),
                       median_rps=ordered[len(ordered) // 2], min_rps=ordered[0],
                       max_rps=ordered[-1], error_rate=failed, error_rate_max=failed,
                       health=Health(failed, failed, 0.01), cpu_cores={"server": cores},
                       cpu_us_per_ok={"server": cores * 1e6 / ordered[len(ordered) // 2]})


def view(extra_rows=(), extra=None) -> View:
    run = results.load(FIXTURES / "results-v7.json")
    rows = [dataclasses.replace(row("ft", "gthread, 1 process x threads", "free-threaded",
                                    gil_on=False), settings={"workers": 1}),
            row("ft+gil", "gthread, 1 process x threads, GIL on", "free-threaded", "ft"),
            row("sync", "sync"), row("events", "asyncio (uvloop)"), *extra_rows]
    run = dataclasses.replace(run, variants=rows)
    figures = {
        ("ft", "small", 200, 0): summary("small", 200, [3000, 3100, 3050], 1.6),
        ("ft+gil", "small", 200, 0): summary("small", 200, [1500, 1550, 1520], 1.0),
        ("sync", "small", 200, 0): summary("small", 200, [2000, 2100, 2050], 1.9),
        ("events", "small", 200, 0): summary("small", 200, [4000, 4100, 4050], 1.9),
        # At 5000 the twin failed 30% of its attempts: shown, marked, not a healthy figure.
        ("ft", "small", 5000, 0): summary("small", 5000, [2500, 2600, 2550], 1.5),
        ("ft+gil", "small", 5000, 0): summary("small", 5000, [1200, 1300, 1250], 1.0, 0.3),
        ("events", "small", 5000, 0): summary("small", 5000, [2000, 2050, 2020], 1.9),
        **(extra or {}),
    }
    return View(run, summaries=figures)


def test_each_free_threaded_row_is_compared_with_its_twin():
    text = "\n".join(gil.section(view()))
    assert text.startswith("## Threads without the GIL")
    line = next(l for l in text.splitlines() if l.startswith("| `ft` | small@200 |"))
    assert "| 3,050 (3,000–3,100) | 1,520 (1,500–1,550) | 2.01× ✓ | 1.49× | 0.75× |" in line
    assert "1.60 CPU" in line and "1.00 CPU" in line
    twin_5000 = next(l for l in text.splitlines() if l.startswith("| `ft` | small@5,000 |"))
    # Against an unhealthy twin the ratio is shown, never tested: its figure is not a healthy one.
    assert "✗" in twin_5000 and "30.0% failed" in twin_5000 and "| 2.04× (unhealthy) |" in twin_5000
    assert "| 2.04× (unhealthy) | – | 1.26× |" in twin_5000
    assert "beyond noise in 1 of 1 tested cells" in text
    assert "`ft`, one process, used up to 1.60 CPU without the GIL and 1.00 with it." in text


def test_the_best_free_threaded_row_against_processes_and_events():
    text = "\n".join(gil.section(view()))
    at_200 = next(l for l in text.splitlines() if l.startswith("| small@200 | `ft` 3,050 |"))
    assert "`sync` 2,050 | 1.49× ✓ | `events` 4,050 | 0.75× ✓ |" in at_200
    at_5000 = next(l for l in text.splitlines() if l.startswith("| small@5,000 | `ft` 2,550 |"))
    assert "| – | – | `events` 2,020 | 1.26× ✓ |" in at_5000
    # One cell ahead of the event loop, one behind: not "more than it loses", so the answer holds.
    assert "ahead of the best event-loop row beyond noise in 1 of 2 cells, behind it in 1" in text
    assert "does not change the study's answer" in text


def test_the_twin_and_the_baseline_are_never_the_best_of_a_kind():
    baseline = dataclasses.replace(row("asgi", "asyncio (uvloop)"), classification="baseline")
    figures = {("asgi", "small", 200, 0): summary("small", 200, [9000, 9100, 9050], 1.9),
               ("ft+gil", "small", 200, 0): summary("small", 200, [5000, 5100, 5050], 1.0)}
    best = gil.bests(view([baseline], figures))[("small", 200, 0)]
    assert best["free-threaded"][0] == "ft" and best["events"][0] == "events"


def test_a_run_without_free_threaded_rows_has_no_section():
    run = results.load(FIXTURES / "results-v7.json")
    assert gil.section(View.of(run)) == []


def test_a_row_without_a_twin_is_shown_and_said_so():
    alone = row("alone", "threads (blocking pool) on a Rust HTTP server, 1 process",
                "free-threaded", gil_on=False)
    figures = {("alone", "small", 200, 0): summary("small", 200, [2500, 2600, 2550], 1.4)}
    text = "\n".join(gil.section(view([alone], figures)))
    line = next(l for l in text.splitlines() if l.startswith("| `alone` | small@200 |"))
    assert "| 2,550 (2,500–2,600) | – | – | 1.24× | 0.63× |" in line
    assert "`alone` ran without a twin" in text
