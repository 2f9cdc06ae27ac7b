"""The plan: sessions, counts, the estimate, what is left of it, and precision rounds."""

import pytest

from suite.record.plan import CellKey, Costs, Plan, cell_keys, noisy_cells, precision_round, schedule
from suite.record.profiles import PROFILES
from suite.record.results import Cell, RunResult, Sample, VariantResult

PROFILE = PROFILES["standard"].with_overrides(duration_s=10, warmup_s=2, repeats=3, timeout_s=8)


def plan(variants=("a", "b"), profile=PROFILE, **kwargs) -> Plan:
    return Plan.make(variants, profile, costs=Costs(server_start_s=5.0, execution_s=1.0),
                     **kwargs)


def test_interleaved_rounds_start_every_variant_once_per_round():
    made = plan()
    assert [(s.variant, s.round, s.target) for s in made.sessions] == [
        ("a", 1, 1), ("b", 1, 1), ("a", 2, 2), ("b", 2, 2), ("a", 3, 3), ("b", 3, 3)]
    assert made.counted_repeats() == 2 * 6 * 3
    assert [c.label for c in made.cells()] == ["small@200", "small@1000", "small@5000",
                                               "large@200", "large@1000", "large@5000"]


def test_sequential_runs_each_variant_once_with_every_repeat():
    made = plan(profile=PROFILE.with_overrides(interleave=False))
    assert [(s.variant, s.target) for s in made.sessions] == [("a", 3), ("b", 3)]
    [(session, todo)] = made.steps()[:1]
    assert set(todo.values()) == {3}


def test_the_estimate_counts_starts_warmups_repeats_and_their_overheads():
    made = plan(variants=("a",), profile=PROFILE.with_overrides(connections=(200,),
                                                                 docs=("small",), repeats=2))
    # Per session: start 5 + primer 1, then warmup 2 + 1, repeat 10 + 1, pause 1.
    assert made.seconds() == 2 * (5 + 1 + 3 + 11 + 1)
    assert made.counted_seconds() == 20
    crosschecked = Plan.make(("a",), made.profile, crosscheck=True, costs=made.costs)
    assert crosschecked.seconds() == made.seconds() + 2 * 11


def test_precision_budget_is_part_of_the_expected_time_only_with_a_cap():
    fixed = plan()
    assert fixed.precision_budget_s == 0 and fixed.expected_s == fixed.seconds()
    adaptive = plan(profile=PROFILE.with_overrides(max_repeats=5, precision_share=0.2))
    assert adaptive.precision_budget_s == pytest.approx(0.2 * adaptive.seconds())
    assert adaptive.expected_s == pytest.approx(1.2 * adaptive.seconds())
    assert "up to 5" in "\n".join(adaptive.describe())


def test_what_is_left_after_an_interruption_is_made_up_session_by_session():
    made = plan()
    cells = made.cells()
    # a: every cell measured twice; b: twice for the first cell, once for the others.
    have = {("a", c): 2 for c in cells}
    have.update({("b", c): 1 for c in cells})
    have[("b", cells[0])] = 2
    steps = made.steps(have)
    assert [(s.variant, s.round) for s, _ in steps] == [("b", 2), ("a", 3), ("b", 3)]
    assert steps[0][1] == {c: 1 for c in cells[1:]}
    assert made.counted_repeats(steps) == 5 + 6 + 6
    # A failed cell (None) is never measured again; a complete plan has nothing left.
    assert made.steps({**{k: 3 for k in have}, ("a", cells[0]): None}) == []


def test_the_plan_reads_what_a_results_file_holds():
    made = plan(variants=("a",))
    cells = [Cell(k.doc, k.connections) for k in made.cells()]
    cells[0].repeats = [_sample(100)] * 3
    cells[0].status = "measured"
    cells[1].status = "failed"
    record = VariantResult("a", "app", "server", "model", "driver", "why", {}, [], {},
                           cells=cells)
    run = _run([record])
    have = made.have(run)
    assert have[("a", CellKey("small", 200))] == 3
    assert have[("a", CellKey("small", 1000))] is None
    assert have[("a", CellKey("large", 5000))] == 0
    left = made.steps(have)
    assert sum(sum(t.values()) for _, t in left) == 4 * 3


def _sample(ok: float) -> Sample:
    return Sample(generator="wrk", connections=200, threads=2, timeout_s=8.0,
                  requests=int(ok * 10), bytes=0, duration_s=10.0,
                  errors={"connect": 0, "read": 0, "write": 0, "status": 0, "late": 0,
                          "lost": 0, "body": 0}, latency_us={}, latency_count=None, args=[],
                  raw_output="")


def _run(records) -> RunResult:
    return RunResult(run_id="r", started_at="2026-11-30T00:00:00+00:00", profile=PROFILE,
                     runtime="local", argv=[], environment={}, mongo=None, loadgen={},
                     variants=records)


def _record(name: str, rps: dict[str, list[float]]) -> VariantResult:
    cells = []
    for key in cell_keys(PROFILE):
        cell = Cell(key.doc, key.connections)
        if key.label in rps:
            cell.repeats, cell.status = [_sample(x) for x in rps[key.label]], "measured"
        cells.append(cell)
    return VariantResult(name, "app", "server", "model", "driver", "why", {}, [], {},
                         cells=cells)


def test_one_variant_has_nothing_to_race_its_noisy_cells_get_the_rounds():
    profile = PROFILE.with_overrides(max_repeats=5, precision_share=0.2)
    noisier = _record("b", {"small@200": [100, 50, 150], "small@1000": [100, 80, 120],
                            "large@200": [100, 100, 100, 100, 60]})
    run = _run([noisier])
    assert set(noisy_cells(noisier, profile)) == {CellKey("small", 200), CellKey("small", 1000)}
    # large@200 is noisy but at the cap already.
    made = plan(variants=("b",), profile=profile)
    sessions = precision_round(run, made, 4)
    assert [(s.variant, s.cells, s.target, s.precision) for s in sessions] == [
        ("b", (CellKey("small", 200), CellKey("small", 1000)), 4, True)]
    left = schedule(sessions, made.have(run))
    assert [todo for _, todo in left] == [{CellKey("small", 200): 1, CellKey("small", 1000): 1}]
    # A fixed profile never adds a round.
    assert precision_round(run, plan(variants=("b",)), 4) == []


def test_plan_records_what_a_resume_compares():
    recorded = plan(catalog_sha256="abc").to_dict()
    assert recorded["variants"] == ["a", "b"] and recorded["counted_repeats"] == 36
    assert recorded["catalog_sha256"] == "abc" and recorded["rounds"] == 3
    assert recorded["expected_s"] == recorded["base_s"]
