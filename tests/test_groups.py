"""Top groups within rounds, racing, client-bound repeats and the pinning default: computed on
stored or constructed results, every expected figure derived by hand."""

import copy
import math

import pytest

from suite.measure.runner import add_cpu_shares
from suite.measure.runtime import default_pinning
from suite.record import groups, plan, results, stats
from suite.record.results import Usage
from tests.conftest import FIXTURES


def run_of(rps: dict[str, list[float]], doc="small", connections=200) -> results.RunResult:
    """A run of one cell whose variants' repeats gave these req/s, round by round."""
    run = results.load(FIXTURES / "results-v10.json")
    template = copy.deepcopy(run.variants[0])
    base = template.cells[0].repeats[0]
    run.variants = []
    run.profile = run.profile.with_overrides(docs=(doc,), connections=(connections,),
                                             db_latencies_ms=(0,))
    for name, values in rps.items():
        v = copy.deepcopy(template)
        v.name, v.classification, v.status = name, "framework", "measured"
        cell = results.Cell(doc, connections, status="measured")
        for r, value in enumerate(values, start=1):
            s = copy.deepcopy(base)
            s.duration_s, s.requests, s.round = 10.0, int(value * 10), r
            s.errors = {k: 0 for k in s.errors}
            s.resources = None
            cell.repeats.append(s)
        v.cells = [cell]
        run.variants.append(v)
    return run


def test_a_ratio_within_rounds_cancels_what_the_machine_did_to_a_round():
    # Round 2 ran 20% slower for everyone: pooled, b looks as noisy as the round; within
    # rounds it is 0.9 of a every time, an interval of zero width, separated beyond noise.
    run = run_of({"a": [1000, 800, 1000, 1000], "b": [900, 720, 900, 900]})
    [group] = groups.top_groups(run)
    assert group.leader == "a" and group.leader_rps == 1000
    [b] = group.separated
    assert b.pairs == 4 and b.ratio == pytest.approx(0.9) and b.low == pytest.approx(0.9)
    assert group.decided and not group.members


def test_the_interval_is_the_t_interval_of_the_log_ratios():
    a = [1000, 1010, 990, 1005, 995]
    b = [960, 1000, 950, 990, 975]
    run = run_of({"a": a, "b": b})
    [group] = groups.top_groups(run)
    logs = [math.log(y / x) for x, y in zip(a, b)]
    mean, sd = stats.mean(logs), stats.stdev(logs)
    half = stats.t_quantile(0.975, 4) * sd / math.sqrt(5)
    comparison = (group.members + group.separated)[0]
    assert comparison.ratio == pytest.approx(math.exp(mean))
    assert comparison.low == pytest.approx(math.exp(mean - half))
    assert comparison.high == pytest.approx(math.exp(mean + half))


def test_a_tie_stays_in_the_group_and_racing_measures_it_again():
    run = run_of({"a": [1000, 1050, 980], "b": [990, 1060, 1000], "c": [500, 520, 510]})
    [group] = groups.top_groups(run)
    assert [m.name for m in group.members] == ["b"]
    assert [m.name for m in group.separated] == ["c"]
    assert groups.undecided([group]) == {("small", 200, 0): ["a", "b"]}


def test_looks_make_each_decision_stricter():
    run = run_of({"a": [1000, 1004, 998, 1003], "b": [960, 968, 955, 962]})
    once = groups.top_groups(run, looks=1)[0]
    assert once.separated and once.alpha == stats.ALPHA
    many = groups.top_groups(run, looks=10**6)[0]
    assert many.alpha == stats.ALPHA / 10**6 and many.members   # no longer decided


def test_unhealthy_client_bound_and_baseline_cells_do_not_compete():
    run = run_of({"a": [1000, 1000, 1000], "fails": [2000, 2000, 2000],
                  "bound": [3000, 3000, 3000], "base": [4000, 4000, 4000]})
    failing = run.variant("fails").cells[0].repeats[1]
    failing.errors["status"] = int(0.05 * failing.requests)        # one repeat 5% failed
    for s in run.variant("bound").cells[0].repeats[:1]:
        s.resources = {"client": Usage(cpu_cores=0.95, cpus=1)}
    run.variant("base").classification = "baseline"
    [group] = groups.top_groups(run)
    assert group.leader == "a" and not group.members and not group.separated
    assert group.left_out["fails"].startswith("unhealthy: 1.7% of its attempts failed (one repeat 5.0%)")
    assert group.left_out["bound"].startswith("client-bound in 1 of 3 repeats")
    assert group.left_out["base"].startswith("baseline")


def test_without_rounds_the_comparison_is_welch_on_logs():
    run = run_of({"a": [1000, 1010, 990], "b": [800, 810, 790]})
    for v in run.variants:
        for s in v.cells[0].repeats:
            s.round = None
    [group] = groups.top_groups(run)
    [b] = group.separated
    assert b.pairs == 0 and b.ratio == pytest.approx(0.8, rel=0.01)
    # Welch's interval of the mean logs: around the ratio, and excluding 1 (separated).
    assert b.low < b.ratio < b.high < 1


def test_top_groups_round_trip_through_the_results_file():
    run = run_of({"a": [1000, 1050, 980], "b": [990, 1060, 1000]})
    group = groups.top_groups(run)[0]
    assert groups.TopGroup.from_dict(group.to_dict()) == group


def test_racing_rounds_take_the_leader_and_its_ties_only():
    run = run_of({"a": [1000, 1050, 980], "b": [990, 1060, 1000], "c": [500, 520, 510]})
    run.profile = run.profile.with_overrides(repeats=3, max_repeats=5, precision_share=0.2)
    p = plan.Plan.make(["a", "b", "c"], run.profile)
    sessions = plan.precision_round(run, p, 4)
    assert [(s.variant, s.round, s.target, s.precision) for s in sessions] == \
        [("a", 4, 4, True), ("b", 4, 4, True)]
    assert plan.looks(p.profile) == 3
    # Single base repeats are a first look: nothing is tested, nothing races.
    single = run.profile.with_overrides(repeats=1, max_repeats=5)
    assert plan.precision_round(run, plan.Plan.make(["a", "b", "c"], single), 2) == []


def test_the_pinning_default_gives_the_server_cpus_of_its_own():
    assert default_pinning([0]) == {}
    assert default_pinning([0, 1]) == {"server": [1], "loadgen": [0], "db": [0]}
    assert default_pinning([0, 1, 2, 3]) == {"server": [2, 3], "loadgen": [0, 1], "db": [0, 1]}
    assert default_pinning([0, 1], external_db=True) == {"server": [1], "loadgen": [0]}


def test_each_repeat_records_cpu_use_against_the_cpus_each_side_had():
    sample = copy.deepcopy(results.load(FIXTURES / "results-v10.json").variants[0].cells[0]
                           .repeats[0])
    sample.resources = {"server": Usage(cpu_cores=0.98), "loadgen": Usage(cpu_cores=0.2),
                        "mongod": Usage(cpu_cores=0.75)}
    add_cpu_shares(sample, {"server": [1], "loadgen": [0], "db": [0]})
    assert sample.resources["server"].cpus == 1
    assert sample.resources["client"] == Usage(cpu_cores=0.95, cpus=1)
    assert sample.client_bound                      # 0.95 of its one CPU
    sample.resources["client"] = Usage(cpu_cores=0.5, cpus=1)
    assert not sample.client_bound
    unpinned = copy.deepcopy(sample)
    unpinned.resources = {"loadgen": Usage(cpu_cores=0.1)}
    add_cpu_shares(unpinned, {})
    assert "client" not in unpinned.resources


def test_a_cell_fails_its_pooled_attempts():
    run = run_of({"a": [1000, 1000]})
    cell = run.variants[0].cells[0]
    cell.repeats[0].errors["status"] = 100          # 100 of 10,000 responses
    assert cell.failed_share == pytest.approx(100 / 20000)
