"""The plan: sessions, counts, the estimate, what is left of it, and precision rounds."""

import pytest

from suite.record import plan as plan_module
from suite.record.groups import Comparison, TopGroup, top_groups
from suite.record.plan import (CAPACITY_STACKS, CellKey, Costs, Plan, Session, capacity_choice,
                               capacity_sessions, cell_keys, closed_keys, looks, noisy_cells,
                               precision_round, rate_keys, schedule)
from suite.record.profiles import PROFILES, Profile
from suite.record.results import Cell, RunResult, Sample, VariantResult

PROFILE = PROFILES["standard"].with_overrides(duration_s=10, warmup_s=2, repeats=3, timeout_s=8)


def plan(variants=("a", "b"), profile=PROFILE, **kwargs) -> Plan:
    return Plan.make(variants, profile, costs=Costs(server_start_s=5.0, execution_s=1.0),
                     **kwargs)


def test_interleaved_rounds_start_every_variant_once_per_round():
    made = plan()
    assert [(s.round, s.target) for s in made.sessions] == [(1, 1), (1, 1), (2, 2), (2, 2),
                                                            (3, 3), (3, 3)]
    for r in (1, 2, 3):
        assert sorted(s.variant for s in made.sessions if s.round == r) == ["a", "b"]
    assert made.counted_repeats() == 2 * 6 * 3


def test_each_round_starts_the_variants_in_an_order_of_its_own_that_a_resume_draws_again():
    names = tuple(f"v{i}" for i in range(12))
    orders = [plan_module.round_order(names, r) for r in range(1, 6)]
    assert all(sorted(o) == sorted(names) for o in orders)
    assert len({tuple(o) for o in orders}) == 5          # no two rounds alike
    assert orders == [plan_module.round_order(names, r) for r in range(1, 6)]
    made = Plan.make(names, PROFILE)
    for r, order in enumerate(orders[:PROFILE.repeats], start=1):
        assert [s.variant for s in made.sessions if s.round == r] == order
    assert [c.label for c in made.cells()] == ["small@200", "small@1000", "small@5000",
                                               "large@200", "large@1000", "large@5000"]


def test_sequential_runs_each_variant_once_with_every_repeat():
    made = plan(profile=PROFILE.with_overrides(interleave=False))
    assert [(s.variant, s.target) for s in made.sessions] == [("a", 3), ("b", 3)]
    [(session, repeats_left)] = made.steps()[:1]
    assert set(repeats_left.values()) == {3}


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
    counts = {("a", c): 2 for c in cells}
    counts.update({("b", c): 1 for c in cells})
    counts[("b", cells[0])] = 2
    steps = made.steps(counts)
    assert [(s.variant, s.round) for s, _ in steps] == [
        ("b", 2), *(("a", 3), ("b", 3))[::1 if plan_module.round_order(("a", "b"), 3)[0] == "a"
                                         else -1]]
    assert steps[0][1] == {c: 1 for c in cells[1:]}
    assert made.counted_repeats(steps) == 5 + 6 + 6
    # A failed cell (None) is never measured again; a complete plan has nothing left.
    assert made.steps({**{k: 3 for k in counts}, ("a", cells[0]): None}) == []


def test_the_plan_reads_what_a_results_file_holds():
    made = plan(variants=("a",))
    cells = [Cell(k.doc, k.connections) for k in made.cells()]
    cells[0].repeats = [_sample(100)] * 3
    cells[0].status = "measured"
    cells[1].status = "failed"
    record = VariantResult("a", "app", "server", "model", "driver", "why", {}, [], {},
                           cells=cells)
    run = _run([record])
    counts = made.repeat_counts(run)
    assert counts[("a", CellKey("small", 200))] == 3
    assert counts[("a", CellKey("small", 1000))] is None
    assert counts[("a", CellKey("large", 5000))] == 0
    left = made.steps(counts)
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
    left = schedule(sessions, made.repeat_counts(run))
    assert [repeats_left for _, repeats_left in left] == [{CellKey("small", 200): 1, CellKey("small", 1000): 1}]
    # A fixed profile never adds a round.
    assert precision_round(run, plan(variants=("b",)), 4) == []


def test_plan_records_what_a_resume_compares():
    recorded = plan(catalog_sha256="abc").to_dict()
    assert recorded["variants"] == ["a", "b"] and recorded["counted_repeats"] == 36
    assert recorded["catalog_sha256"] == "abc" and recorded["rounds"] == 3
    assert recorded["expected_s"] == recorded["base_s"]


# -- open-loop cells for the top group only: the capacity phase --------------------------------

RATED = PROFILE.with_overrides(rates=("50%", "90%"))
TOP = RATED.with_overrides(rates_for="top")


def test_rates_for_top_leaves_the_rate_cells_out_of_the_base_rounds():
    every, top = plan(profile=RATED), plan(profile=TOP)
    assert any(k.rate for s in every.sessions for k in s.cells)
    assert [(s.variant, s.round, s.target) for s in top.sessions] == [
        (s.variant, s.round, s.target) for s in every.sessions]
    assert all(k.rate is None for s in top.sessions for k in s.cells)
    # The base rounds cost the closed-loop cells only; the rates are counted in the bound.
    assert top.counted_repeats() == 2 * 6 * 3 and every.counted_repeats() == 2 * 18 * 3
    assert top.to_dict()["cells"] == [k.label for k in top.cells()] == [
        "small@200", "small@1000", "small@5000", "large@200", "large@1000", "large@5000"]
    assert top.to_dict()["rates_for"] == "top" and every.to_dict()["rates_for"] == "every"
    assert every.capacity_bound_s == 0 and every.capacity_stacks == 0


def test_the_capacity_bound_is_the_largest_phase_and_part_of_the_expected_time():
    top = plan(profile=TOP)
    # Two variants: each cell's top group has at most both, each of them every rate cell.
    assert top.capacity_stacks == 2
    worst = [Session(name, 0, rate_keys(TOP, closed_keys(TOP)), TOP.repeats, capacity=True)
             for name in top.variants]
    # Per session: start 5 + primer 1; per rate cell 3 repeats of 10 + 1, pause 1.
    assert top.seconds(schedule(worst)) == 2 * (5 + 1) + 2 * 12 * (3 * 11 + 1)
    assert top.capacity_bound_s == top.seconds(schedule(worst))
    assert top.expected_s == top.seconds() + top.capacity_bound_s
    recorded = top.to_dict()
    assert recorded["capacity_bound_s"] == top.capacity_bound_s
    assert recorded["expected_s"] == round(recorded["base_s"] + top.capacity_bound_s, 1)
    assert recorded["capacity_stacks"] == 2
    # Many variants: five stacks per cell at most, each variant started once at most.
    many = plan(variants=[f"v{i}" for i in range(30)], profile=TOP)
    assert many.capacity_stacks == CAPACITY_STACKS == 5
    assert many.capacity_bound_s == 30 * (5 + 1) + 6 * 5 * 2 * (3 * 11 + 1)
    # Precision rounds end within the base and their budget, not within the phase's bound.
    adaptive = plan(profile=TOP.with_overrides(max_repeats=5, precision_share=0.2))
    assert adaptive.closed_loop_s == pytest.approx(1.2 * adaptive.seconds())
    assert adaptive.expected_s == pytest.approx(adaptive.closed_loop_s + adaptive.capacity_bound_s)


def test_describe_says_who_gets_the_rates_and_what_the_phase_costs():
    top = "\n".join(plan(variants=[f"v{i}" for i in range(30)], profile=TOP).describe())
    assert "rates 50%,90% (oha) for the top group only, in a capacity phase" in top
    assert "up to 5 stacks; at most 60 open-loop cells (6 cell(s) × 5 stacks × 2 rate(s)), " \
           "each 3 repeat(s) of 10 s" in top
    assert "+ capacity phase at most" in top
    every = "\n".join(plan(profile=RATED).describe())
    assert "rates 50%,90% (oha) for every variant" in every and "capacity" not in every
    assert "open loop" not in "\n".join(plan().describe())
    # A resumed run whose base rounds are done still has the phase to come.
    made = plan(profile=TOP)
    done = {("a", k): 3 for k in made.cells()} | {("b", k): 3 for k in made.cells()}
    assert "the base rounds are done" in "\n".join(made.describe(made.steps(done)))


def test_profile_refuses_bad_rates_for():
    with pytest.raises(ValueError, match="need the rates to measure"):
        PROFILE.with_overrides(rates_for="top")
    with pytest.raises(ValueError, match="give one of every, top"):
        RATED.with_overrides(rates_for="all")
    # Recorded in the profile when asked; "every", the default, is written as a results file
    # before the setting has it (left out), and such a file reads as "every".
    assert TOP.to_dict()["rates_for"] == "top" and "rates_for" not in RATED.to_dict()
    assert Profile.from_dict(RATED.to_dict()).rates_for == "every"
    assert Profile.from_dict(TOP.to_dict()) == TOP


def _rounds(name: str, rps: dict[str, list[float]], classification="framework") -> VariantResult:
    """A variant whose cells' repeats gave these req/s, round by round."""
    record = _record(name, rps)
    record.classification, record.status = classification, "measured"
    for cell in record.cells:
        for number, sample in enumerate(cell.repeats, start=1):
            sample.round = number
    return record


def _group(leader: str, tied: dict[str, float], separated: dict[str, float] = (),
           doc="small", connections=200) -> TopGroup:
    comparison = lambda name, ratio, apart: Comparison(name, ratio, None, None, 3, 0.5,
                                                       separated=apart)
    return TopGroup(doc, connections, 0, leader, 1000.0,
                    members=[comparison(n, r, False) for n, r in tied.items()],
                    separated=[comparison(n, r, True) for n, r in dict(separated).items()])


def test_the_capacity_phase_measures_each_leader_and_the_closest_tied_stacks():
    names = [f"v{i}" for i in range(8)]
    run = _run([_rounds(n, {}) for n in names])
    made = plan(variants=names, profile=TOP)
    groups = [
        # Seven tied with v3: the leader and the four closest by ratio, not the rest.
        _group("v3", {"v0": 0.90, "v1": 0.99, "v2": 0.95, "v4": 0.97, "v5": 0.80, "v6": 0.96,
                      "v7": 0.93}),
        # One tied, one behind beyond noise: the one behind gets nothing.
        _group("v7", {"v6": 0.98}, {"v0": 0.60}, doc="large", connections=1000),
    ]
    assert capacity_choice(groups[0]) == ["v3", "v1", "v4", "v6", "v2"]
    assert capacity_choice(groups[1]) == ["v7", "v6"]
    sessions = capacity_sessions(made, run, groups)
    small, large = CellKey("small", 200), CellKey("large", 1000)
    rates = lambda *cells: rate_keys(TOP, cells)
    # One server start per variant chosen, catalog order, each with all its rate cells.
    assert [(s.variant, s.cells) for s in sessions] == [
        ("v1", rates(small)), ("v2", rates(small)), ("v3", rates(small)), ("v4", rates(small)),
        ("v6", rates(small, large)), ("v7", rates(large))]
    assert all(s.capacity and s.target == TOP.repeats and s.label == "capacity phase"
               for s in sessions)
    assert [k.label for k in sessions[4].cells] == [
        "small@200 rate 50%", "small@200 rate 90%", "large@1000 rate 50%",
        "large@1000 rate 90%"]
    # Within the bound the plan stated.
    assert made.seconds(schedule(sessions)) <= made.capacity_bound_s
    # A variant that failed since is not started again; without the phase, no sessions.
    run.variant("v6").status = "failed"
    assert "v6" not in [s.variant for s in capacity_sessions(made, run, groups)]
    assert capacity_sessions(plan(variants=names, profile=RATED), run, groups) == []


def test_the_capacity_phase_follows_the_run_s_own_top_groups():
    # Paired within rounds, c is half of a every round: behind beyond noise; b is tied with a.
    # The baseline row is faster but never competes, so never gets a rate cell.
    run = _run([_rounds("a", {"small@200": [1000, 1010, 990]}),
                _rounds("b", {"small@200": [1005, 990, 1000]}),
                _rounds("c", {"small@200": [500, 502, 497]}),
                _rounds("base", {"small@200": [3000, 3000, 3000]}, classification="baseline")])
    made = plan(variants=("a", "b", "c", "base"), profile=TOP)
    sessions = capacity_sessions(made, run, top_groups(run, looks(made.profile)))
    assert [(s.variant, s.cells) for s in sessions] == [
        ("a", rate_keys(TOP, [CellKey("small", 200)])),
        ("b", rate_keys(TOP, [CellKey("small", 200)]))]


def test_a_resume_in_the_capacity_phase_makes_up_what_it_lacks():
    made = plan(profile=TOP)
    record_a, record_b = _rounds("a", {}), _rounds("b", {})
    small = rate_keys(TOP, [CellKey("small", 200)])
    # The phase had started: a's first rate cell has its 3 repeats, its second one, b none.
    done, started = (Cell("small", 200, rate="50%", status="measured"),
                     Cell("small", 200, rate="90%", status="measured"))
    done.repeats, started.repeats = [_sample(50)] * 3, [_sample(90)]
    record_a.rate_cells = [done, started]
    record_b.rate_cells = [Cell("small", 200, rate="50%"), Cell("small", 200, rate="90%")]
    run = _run([record_a, record_b])
    counts = made.repeat_counts(run)
    assert counts[("a", small[0])] == 3 and counts[("a", small[1])] == 1 and counts[("b", small[0])] == 0
    sessions = capacity_sessions(made, run, [_group("a", {"b": 0.99})])
    left = schedule(sessions, counts)
    assert [(s.variant, repeats_left) for s, repeats_left in left] == [
        ("a", {small[1]: 2}), ("b", {small[0]: 3, small[1]: 3})]
    # A failed rate cell is not measured again.
    started.status = "failed"
    assert [s.variant for s, _ in schedule(sessions, made.repeat_counts(run))] == ["b"]


def test_a_resume_compares_who_gets_the_rates():
    from suite.measure.resume import plan_differences

    top, every = plan(profile=TOP).to_dict(), plan(profile=RATED).to_dict()
    assert plan_differences(top, dict(top)) == []
    assert plan_differences(every, top) == [
        "cells " + repr(every["cells"]) + " -> " + repr(top["cells"]),
        "counted_repeats 108 -> 36", "rates_for 'every' -> 'top'", "capacity_stacks 0 -> 2"]
    # A plan recorded before the setting had rates for every variant: no difference.
    older = {k: v for k, v in every.items() if k not in ("rates_for", "capacity_stacks")}
    assert plan_differences(older, every) == []


def test_the_phase_adds_each_rate_cell_once_in_the_profile_s_order():
    from suite.measure.runner import add_rate_cells

    record = _rounds("a", {})
    large, small = rate_keys(TOP, [CellKey("large", 200)]), rate_keys(TOP, [CellKey("small", 200)])
    add_rate_cells(record, large, TOP)
    record.rate_cells[0].repeats = [_sample(50)]
    # A resumed phase adds what is missing and keeps what was measured, in the cells' order.
    add_rate_cells(record, (*small, *large), TOP)
    assert [CellKey.of(c) for c in record.rate_cells] == [*small, *large]
    assert record.rate_cells[2].repeats and all(c.status == "pending"
                                                for c in record.rate_cells[:2])
