import copy

import pytest

from suite import analysis, results, stats
from tests.conftest import FIXTURES


def run_v2():
    return results.load(FIXTURES / "results-v2.json")


def test_summary_of_a_real_cell():
    cell = run_v2().variant("fastapi-uvicorn").cell("small", 100)
    s = analysis.summarize(cell)
    rps = [sample.ok_rps for sample in cell.repeats]
    assert s.n == 3 and s.ok_rps == rps
    assert s.median_rps == stats.median(rps) and s.min_rps == min(rps)
    assert s.ci95 == stats.ci95(rps) and s.cv == stats.cv(rps)
    assert s.latency_ms["p99"] == stats.median([x.latency_us["p99"] for x in cell.repeats]) / 1000
    assert s.cpu_cores["server"] > 0.1 and s.rss_max_bytes["server"] > 10 * 2**20
    assert 0.5 < s.little < 1.5


def test_unstable_and_client_bound_flags():
    run = run_v2()
    cell = run.variant("fastapi-uvicorn").cell("small", 100)
    steady = analysis.summarize(cell)
    assert not steady.unstable and not steady.client_bound
    for sample, factor in zip(cell.repeats, (1.0, 1.5, 0.6)):
        sample.requests = int(sample.requests * factor)
        sample.resources["loadgen"]["cpu_cores"] = 0.95  # wrk ran -t 1
    noisy = analysis.summarize(cell)
    assert noisy.unstable and noisy.client_bound
    kinds = [f.kind for f in analysis.checks(run)]
    assert "unstable" in kinds and "client-bound" in kinds


def test_single_repeat_has_no_spread():
    s = analysis.summarize(results.load(FIXTURES / "results-v1.json").variants[0].cells[0])
    assert s.n == 1 and s.ci95 is None and s.cv is None and not s.unstable
    assert s.cpu_cores == {}  # v1 recorded no resources


def test_all_errors_cell():
    run = run_v2()
    cell = run.variant("fastapi-uvicorn").cell("large", 20)
    for sample in cell.repeats:
        sample.errors["status"] = sample.requests
    s = analysis.summarize(cell)
    assert s.median_rps == 0 and s.cv is None and s.error_rate == pytest.approx(1.0)


def test_clustered_variants_are_called_out():
    run = run_v2()
    extra = copy.deepcopy(run.variants[1])
    extra.name = "third"
    run.variants.append(extra)
    for variant in run.variants:  # force every variant to the same throughput at small@20
        for sample in variant.cell("small", 20).repeats:
            sample.requests, sample.duration_s, sample.errors["status"] = 2000, 2.0, 0
    cluster = [f for f in analysis.checks(run)
               if f.kind == "cluster" and f.text.startswith("small@20:")]
    assert len(cluster) == 1 and "all 3 variants lie within 0%" in cluster[0].text


def test_littles_law_outliers_are_flagged_both_ways():
    run = run_v2()
    sample = run.variant("fastapi-uvicorn").cell("small", 100).repeats
    for s in sample:
        s.latency_us["mean"] = s.latency_us["mean"] * 10
    texts = [f.text for f in analysis.checks(run) if f.kind == "little"]
    assert any("exceeds the connections" in t and "fastapi-uvicorn small@100" in t for t in texts)


def test_a_silent_repeat_is_called_a_stall():
    run = run_v2()
    sample = run.variant("fastapi-uvicorn").cell("large", 100).repeats[1]
    sample.requests, sample.bytes = 0, 0
    summary = analysis.summarize(run.variant("fastapi-uvicorn").cell("large", 100))
    assert summary.stalled_repeats == 1
    [stall] = [f for f in analysis.checks(run) if f.kind == "stalled"]
    assert stall.text.endswith("fastapi-uvicorn large@100.")
