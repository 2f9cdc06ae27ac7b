"""Top groups within rounds, racing, client-bound repeats and the pinning default: computed on
stored or constructed results, every expected figure derived by hand."""

import copy
import math

import pytest

from suite.measure.execution import add_cpu_shares
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


def test_without_rounds_the_cell_is_one_block_a_one_way_analysis_of_the_logs():
    a, b = [1000, 1010, 990], [800, 810, 790]
    run = run_of({"a": a, "b": b})
    for v in run.variants:
        for s in v.cells[0].repeats:
            s.round = None
    [group] = groups.top_groups(run)
    [found] = group.separated
    la, lb = [math.log(x) for x in a], [math.log(x) for x in b]
    pooled = math.sqrt((stats.stdev(la) ** 2 + stats.stdev(lb) ** 2) / 2)   # 4 df
    half = stats.t_quantile(0.975, 4) * pooled * math.sqrt(2 / 3)
    difference = stats.mean(lb) - stats.mean(la)
    assert found.pairs == 0 and found.ratio == pytest.approx(math.exp(difference))
    assert found.low == pytest.approx(math.exp(difference - half))
    assert found.high == pytest.approx(math.exp(difference + half))


def test_the_error_is_pooled_over_the_cells_stacks_with_its_degrees_of_freedom():
    rps = {"a": [1000, 1080, 1010], "b": [950, 990, 1000], "c": [700, 760, 720]}
    run = run_of(rps)
    [group] = groups.top_groups(run)
    logs = {n: [math.log(x) for x in v] for n, v in rps.items()}
    rounds = [stats.mean([logs[n][r] for n in rps]) for r in range(3)]
    means = {n: stats.mean(v) for n, v in logs.items()}
    grand = stats.mean(rounds)
    squares = sum((logs[n][r] - means[n] - rounds[r] + grand) ** 2 for n in rps for r in range(3))
    sigma = math.sqrt(squares / 4)                  # (3 stacks - 1) × (3 rounds - 1)
    b = next(c for c in group.members + group.separated if c.name == "b")
    half = stats.t_quantile(0.975, 4) * sigma * math.sqrt(2 / 3)
    assert b.ratio == pytest.approx(math.exp(means["b"] - means["a"]))
    assert b.low == pytest.approx(math.exp(means["b"] - means["a"] - half))
    assert b.high == pytest.approx(math.exp(means["b"] - means["a"] + half))


def by_name(group: groups.TopGroup) -> dict[str, groups.Comparison]:
    return {c.name: c for c in group.members + group.separated}


def test_a_racing_round_is_an_incomplete_block_that_cancels_what_it_did_to_all():
    base = {"a": [1000, 1040, 990], "b": [960, 1010, 975], "c": [700, 690, 720]}
    [three] = groups.top_groups(run_of(base))
    # A fourth round that measured the leader alone adds nothing to any comparison.
    [alone] = groups.top_groups(run_of({**base, "a": [*base["a"], 1020]}))
    assert by_name(alone)["b"].ratio == pytest.approx(by_name(three)["b"].ratio)
    assert by_name(alone)["b"].low == pytest.approx(by_name(three)["b"].low)
    # A racing round of a and b only; the same round 20% slower for both changes nothing.
    [raced] = groups.top_groups(run_of({**base, "a": [*base["a"], 1020],
                                        "b": [*base["b"], 1000]}))
    [slow] = groups.top_groups(run_of({**base, "a": [*base["a"], 816],
                                       "b": [*base["b"], 800]}))
    for name in ("b", "c"):
        assert by_name(slow)[name].ratio == pytest.approx(by_name(raced)[name].ratio)
        assert by_name(slow)[name].low == pytest.approx(by_name(raced)[name].low)
    assert by_name(raced)["b"].pairs == 4 and by_name(raced)["c"].pairs == 3
    assert by_name(raced)["b"].ratio != pytest.approx(by_name(three)["b"].ratio)


def test_bonferroni_over_the_cells_stacks_and_the_answers_cells():
    one = run_of({"a": [1000, 1020, 990], "b": [930, 960, 925], "c": [900, 905, 880]})
    [group] = groups.top_groups(one)
    for c in group.members + group.separated:
        assert c.p_adjusted == pytest.approx(min(1.0, c.p * 2 * 1))
    two = copy.deepcopy(one)
    two.profile = two.profile.with_overrides(docs=("small", "large"))
    for v in two.variants:
        twin = copy.deepcopy(v.cells[0])
        twin.doc = "large"
        v.cells.append(twin)
    doubled = groups.top_groups(two)
    assert len(doubled) == 2
    for c in doubled[0].members + doubled[0].separated:
        assert c.p_adjusted == pytest.approx(min(1.0, c.p * 2 * 2))


def test_stacks_that_spread_unequally_are_flagged():
    noise = [[1, -2, 0, 2, -1, 0], [-1, 0, 2, -2, 1, 0], [0, 1, -1, 0, -2, 2],
             [2, 0, -1, -1, 0, 1], [-2, 1, 1, 0, 0, -1], [0, -1, 0, 1, 2, -2]]
    steady = {f"s{i}": [1000 * 0.95 ** i * math.exp(0.01 * z) for z in n]
              for i, n in enumerate(noise)}
    even = groups.spread_tests(run_of(steady))
    assert even and even[0].p_adjusted > 0.05
    noisy = {**steady, "s5": [700 * math.exp(0.1 * z) for z in noise[5]]}
    [found] = groups.spread_tests(run_of(noisy))
    assert found.p_adjusted < 0.05 and found.noisiest == "s5"


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
