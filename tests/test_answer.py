"""The answer a report opens with: healthy cells only, the baseline apart, leads tested, one
recommendation with its confidence; the one significance rule every section shares."""

import pytest

from suite.read import answer, significance
from suite.record.profiles import PROFILES
from suite.record.results import Cell, MongoInfo, RunResult, Sample, VariantResult

PROFILE = PROFILES["standard"].with_overrides(docs=("small",), connections=(200, 1000))


def sample(ok_rps: float, failed: int = 0) -> Sample:
    return Sample(generator="wrk", connections=200, threads=2, timeout_s=8.0,
                  requests=int(ok_rps * 10) + failed, bytes=0, duration_s=10.0,
                  errors={"connect": 0, "read": 0, "write": 0, "status": failed, "late": 0,
                          "lost": 0, "body": 0}, latency_us={}, latency_count=None, args=[],
                  raw_output="")


def variant(name: str, model: str, cells: dict[int, list[Sample]],
            classification: str = "framework") -> VariantResult:
    return VariantResult(name, "app", "server", model, "driver", "why", {}, [], {},
                         classification=classification,
                         cells=[Cell("small", conns, status="measured", repeats=repeats)
                                for conns, repeats in cells.items()])


def run_of(*variants: VariantResult) -> RunResult:
    return RunResult(run_id="r", started_at="2026-11-30T00:00:00+00:00", profile=PROFILE,
                     runtime="local", argv=[], environment={}, mongo=MongoInfo(), loadgen={},
                     variants=list(variants))


def steady(rps: float, failed: int = 0) -> list[Sample]:
    return [sample(rps * f, failed) for f in (0.99, 1.0, 1.01)]


def test_the_leader_is_healthy_and_the_baseline_apart():
    run = run_of(variant("fast-but-failing", "gevent", {200: steady(3000, failed=3000),
                                                         1000: steady(3000, failed=3000)}),
                 variant("bare", "asyncio (uvloop)", {200: steady(3500), 1000: steady(3400)},
                         classification="baseline"),
                 variant("good", "asyncio (uvloop)", {200: steady(2500), 1000: steady(2400)}),
                 variant("threads", "gthread", {200: steady(2000), 1000: steady(2300)}))
    [at200, at1000] = answer.answers(run)
    assert at200.best.name == "good" and at200.runner_up.name == "threads"
    assert at200.baseline.name == "bare" and at200.baseline.baseline
    assert at200.ceiling is None and answer.ceiling_share(at200) is None
    assert [e.name for e in at200.faster_unhealthy] == ["fast-but-failing"]
    assert at200.faster_unhealthy[0].summary.failed_pooled == pytest.approx(0.1, abs=0.01)
    assert set(at200.by_model) == {"asyncio", "threads"}
    # 2500 against 2000 with 1% spread: separated, so the leader is beyond noise.
    assert at200.decided and at200.separated == ["threads"] and not at200.tied
    made = answer.recommend([at200, at1000])
    assert made.name == "good" and made.confidence == "high"
    assert "leads 2 of 2 cells" in made.why and "beyond noise in 2" in made.why


def test_no_lead_beyond_noise_makes_the_confidence_low_whoever_leads():
    """The confidence follows from the tests: a leader tied with the next stack in every cell is
    'low', never 'moderate'; a stack behind beyond noise somewhere is 'low' too."""
    close = run_of(variant("a", "asyncio", {200: [sample(x) for x in (2500, 2300, 2700)],
                                            1000: [sample(x) for x in (2500, 2300, 2700)]}),
                   variant("b", "asyncio", {200: [sample(x) for x in (2450, 2250, 2650)],
                                            1000: [sample(x) for x in (2450, 2250, 2650)]}))
    cells = answer.answers(close)
    assert all(not a.decided and [t.entry.name for t in a.tied] == ["b"] for a in cells)
    tie = cells[0].tied[0].comparison
    assert tie.low < tie.ratio < 1 < tie.high
    made = answer.recommend(cells)
    assert made.name == "a" and made.confidence == "low"
    assert "No leader beyond noise in 2 of 2 cells" in made.why
    split = run_of(variant("a", "asyncio", {200: steady(3000), 1000: steady(1000)}),
                   variant("b", "gthread", {200: steady(2000), 1000: steady(2000)}))
    made = answer.recommend(answer.answers(split))
    assert made.confidence == "low" and "behind the leader beyond noise in 1" in made.why


def test_the_headline_never_names_a_stack_that_leads_nowhere():
    """The one stack healthy in every cell but leading none is stated as such, not as the
    answer: the leaders are named per cell instead."""
    run = run_of(variant("fast", "asyncio", {200: steady(3000), 1000: steady(3000, failed=900)}),
                 variant("also-fast", "gthread", {200: steady(2000, failed=900),
                                                  1000: steady(2900)}),
                 variant("steady", "gevent", {200: steady(1500), 1000: steady(1500)}))
    made = answer.recommend(answer.answers(run))
    assert made.name is None and made.confidence == "none"
    assert made.why.startswith("Leaders: fast (small@200); also-fast (small@1000).")
    assert "Healthy in all 2 but leading none, so not the answer: steady" in made.why
    assert "**steady**" not in made.why


def test_no_recommendation_when_nothing_is_healthy_everywhere():
    run = run_of(variant("a", "asyncio", {200: steady(3000), 1000: steady(3000, failed=500)}),
                 variant("b", "gthread", {200: steady(2000, failed=900), 1000: steady(2000)}))
    made = answer.recommend(answer.answers(run))
    assert made.name is None and made.confidence == "none"
    assert "No deployable stack was healthy in all 2 cells" in made.why


def test_one_bad_repeat_makes_a_cell_unhealthy_though_its_median_repeat_is_clean():
    """The health rule pools the attempts of every repeat and bounds each repeat: a repeat that
    failed 5% takes the cell out of the ranking and marks it with that repeat's share."""
    bad = [sample(3000), sample(3010), sample(2990, failed=1600)]
    run = run_of(variant("bursty", "asyncio", {200: bad}),
                 variant("calm", "asyncio", {200: steady(2000)}))
    [at200] = answer.answers(run)
    assert at200.best.name == "calm"
    bursty = next(e for e in at200.entries if e.name == "bursty")
    assert bursty.summary.error_rate == 0 and not bursty.healthy
    assert bursty.summary.health.pooled < 0.02 < bursty.summary.health.worst
    from suite.read import fmt
    assert fmt.failed(bursty.summary.health) == "1.7% failed (one repeat 5.1%)"  # 1600 of 91,600; 1600 of 31,500


def test_the_best_for_sync_and_for_async_code_and_what_switching_buys():
    run = run_of(variant("wsgi", "sync", {200: steady(2000), 1000: steady(2000)}),
                 variant("events", "asyncio", {200: steady(3000), 1000: steady(2020)}),
                 variant("events-slow", "asyncio", {200: steady(1000), 1000: steady(1000)}))
    for v in run.variants:
        v.code = "sync" if v.name == "wsgi" else "async"
    [at200, at1000] = answer.answers(run)
    assert (at200.best_sync.name, at200.best_async.name) == ("wsgi", "events")
    assert at200.switch.ratio == pytest.approx(1.5, rel=0.01) and at200.switch.separated
    assert at1000.switch.ratio == pytest.approx(1.01, rel=0.01)
    assert at200.switch.p_adjusted is not None


def test_a_cell_without_a_healthy_stack_says_why_in_words():
    from suite.read.report.answer import groups_table

    run = run_of(variant("a", "gevent", {200: steady(3000), 1000: steady(2000, failed=2000)}),
                 variant("b", "asyncio", {200: steady(2000), 1000: steady(1000, failed=300)}))
    [_, at1000] = answer.answers(run)
    assert at1000.best is None
    assert answer.why_none(at1000).startswith("no healthy stack here: 2 of 2 failed more than "
                                              "the threshold (least: b, 2.9%)")
    row = groups_table([at1000])[-1]
    assert row.startswith("| small@1000 | no healthy stack here: 2 of 2 failed") and "| – |" in row


def test_significance_tests_only_what_the_repeats_support():
    single = significance.lead([2.0], [1.0])
    assert not single.tested and single.text == "not tested (one repeat)"
    flat = significance.lead([2.0, 2.0], [1.0, 1.0])
    assert flat.untested == significance.NO_SPREAD and not flat.beyond_noise
    clear = significance.lead([200, 201, 199], [100, 101, 99])
    assert clear.ratio == 2.0 and clear.beyond_noise and "beyond noise (Welch p" in clear.text
    # The means against the medians: a lead the means do not support is not beyond noise.
    odd = significance.lead([100, 101, 400], [102, 103, 104])
    assert odd.ratio < 1 and not odd.agree
    family = significance.family([clear, single, significance.lead([10, 11, 12], [10, 11, 13])])
    assert family[0].family == 2 and family[1] is single
    assert family[0].p_adjusted == pytest.approx(min(1, 2 * min(family[0].p, family[2].p)))


def test_a_run_of_single_repeats_recommends_nothing_as_tested():
    """With one repeat per cell no lead is tested: the recommendation says so, never
    'within noise' or a confidence."""
    from suite.record import results
    from tests.conftest import FIXTURES

    run = results.load(FIXTURES / "results-v3-docker.json")
    assert run.profile.repeats == 1
    made = answer.recommend(answer.answers(run))
    assert made.confidence in ("untested", "none")
    assert "Nothing was tested against noise (one repeat per cell)" in made.why
    assert "tied with the leader" not in made.why and "beyond noise in" not in made.why


def test_other_languages_and_the_ceiling_are_apart_and_the_share_of_the_ceiling_is_computed():
    """Reference rows and the compiled ceiling are never the best, however fast; the answer
    says the best Python stack's share of the ceiling, and only of a healthy one."""
    run = run_of(variant("node", "event loop (Node.js)", {200: steady(4000), 1000: steady(3900)},
                         classification="reference"),
                 variant("rust", "event loop (tokio)", {200: steady(8000),
                                                        1000: steady(8000, failed=8000)},
                         classification="ceiling"),
                 variant("good", "asyncio (uvloop)", {200: steady(2000), 1000: steady(1950)}))
    [at200, at1000] = answer.answers(run)
    assert at200.best.name == "good" and at200.runner_up is None
    assert [e.name for e in at200.references] == ["node"] and at200.ceiling.name == "rust"
    assert answer.ceiling_share(at200) == pytest.approx(0.25, rel=0.01)
    assert not at1000.ceiling.healthy and answer.ceiling_share(at1000) is None
    assert [s.name for s in answer.standings([at200, at1000])] == ["good"]
    assert answer.recommend([at200, at1000]).name == "good"


def test_the_readme_block_states_the_share_of_the_ceiling_per_cell():
    from suite.read.report import readme

    run = run_of(variant("rust", "event loop (tokio)", {200: steady(8000), 1000: steady(6000)},
                         classification="ceiling"),
                 variant("good", "asyncio (uvloop)", {200: steady(2000), 1000: steady(1950)}))
    block = readme.readme_block(run)
    assert "| cell | best Python, req/s | share of the ceiling |" in block
    assert "| small@200 | good 2,000 | 25% of rust's 8,000 |" in block
    assert "| small@1000 | good 1,950 | 32% of rust's 6,000 |" in block
    plain = readme.readme_block(run_of(variant("good", "asyncio", {200: steady(2000)})))
    assert "share of the ceiling" not in plain


def test_the_readme_block_names_the_top_group_with_intervals_p99_and_code():
    from suite.read.report import readme

    run = run_of(variant("a", "asyncio", {200: [sample(x) for x in (2500, 2300, 2700)]}),
                 variant("b", "sync", {200: [sample(x) for x in (2450, 2250, 2650)]}))
    run.variants[0].code, run.variants[1].code = "async", "sync"
    for v in run.variants:
        for s in v.cells[0].repeats:
            s.latency_us = {"p99": 120_000}
    block = readme.readme_block(run)
    assert "| small@200 | a 2,500, p99 120 ms | b 0.98× [" in block
    assert "**no leader beyond noise**: 1 tied" in block
    assert "| small@200 | b 2,450, p99 120 ms | a 2,500, p99 120 ms | 1.02× [" in block
