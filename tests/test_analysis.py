import copy

import pytest

from suite.read import analysis, checks
from suite.record import results, stats
from tests.conftest import FIXTURES


def run_v2():
    return results.load(FIXTURES / "results-v2.json")


def run_v4():
    return results.load(FIXTURES / "results-v4.json")


def test_summary_of_a_real_cell():
    cell = run_v4().variant("fastapi-uvicorn").cell("small", 20)
    s = analysis.summarize(cell)
    rps = [sample.ok_rps for sample in cell.repeats]
    assert s.n == 3 and s.ok_rps == rps
    assert s.median_rps == stats.median(rps) and s.min_rps == min(rps)
    assert s.ci95 == stats.ci95(rps) and s.cv == stats.cv(rps)
    assert s.latency_ms["p99"] == stats.median([x.latency_us["p99"] for x in cell.repeats]) / 1000
    assert s.cpu_cores["server"] > 0.1 and s.memory_max_bytes["server"] > 10 * 2**20
    assert 0.9 < s.little <= 1.05
    assert s.clean and s.uncounted == () and s.latency_mismatch == 0


def test_late_and_lost_requests_are_failures_of_their_cell():
    run = run_v4()
    s = analysis.summarize(run.variant("fastapi-uvicorn").cell("small", 300))
    assert s.error_classes_seen["late"] > 0 and s.error_classes_seen["lost"] > 0
    assert not s.clean and s.error_rate > 0
    kinds = {f.kind: f.text for f in checks.checks(run)}
    assert kinds["late"].endswith("fastapi-uvicorn small@300.")
    assert kinds["lost"].endswith("fastapi-uvicorn small@300.")
    assert "stalled" not in kinds and "latency-count" not in kinds


def test_a_latency_count_that_does_not_match_is_flagged():
    run = run_v4()
    sample = run.variant("flask-gunicorn-sync").cell("small", 20).repeats[1]
    sample.latency_count += 5
    [check] = [f for f in checks.checks(run) if f.kind == "latency-count"]
    assert check.text.endswith("flask-gunicorn-sync small@20.")


def test_old_runs_say_what_they_did_not_count():
    s = analysis.summarize(run_v2().variant("fastapi-uvicorn").cell("small", 100))
    assert s.uncounted == ("lost", "body") and not s.clean
    assert s.latency_unmeasured == 3 and s.latency_ms["p50"] is None and s.little is None
    assert "corrected-latency" in {f.kind for f in checks.checks(run_v2())}


def test_unstable_and_client_bound_flags():
    run = run_v2()
    cell = run.variant("fastapi-uvicorn").cell("small", 100)
    steady = analysis.summarize(cell)
    assert not steady.unstable and not steady.client_bound
    for sample, factor in zip(cell.repeats, (1.0, 1.5, 0.6)):
        sample.requests = int(sample.requests * factor)
        sample.resources["loadgen"].cpu_cores = 0.95  # wrk ran -t 1
    noisy = analysis.summarize(cell)
    assert noisy.unstable and noisy.client_bound
    kinds = [f.kind for f in checks.checks(run)]
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
    cluster = [f for f in checks.checks(run)
               if f.kind == "cluster" and f.text.startswith("small@20:")]
    assert len(cluster) == 1 and "all 3 variants lie within 0%" in cluster[0].text


def test_littles_law_outliers_are_flagged_both_ways():
    run = run_v4()
    sample = run.variant("fastapi-uvicorn").cell("small", 20).repeats
    for s in sample:
        s.latency_us["mean"] = s.latency_us["mean"] * 10
    texts = [f.text for f in checks.checks(run) if f.kind == "little"]
    assert any("exceeds the connections" in t and "fastapi-uvicorn small@20" in t for t in texts)
    assert any("under 50%" in t and "fastapi-uvicorn small@300" in t for t in texts)


def test_a_silent_repeat_is_called_a_stall():
    run = run_v2()
    sample = run.variant("fastapi-uvicorn").cell("large", 100).repeats[1]
    sample.requests, sample.bytes = 0, 0
    summary = analysis.summarize(run.variant("fastapi-uvicorn").cell("large", 100))
    assert summary.stalled_repeats == 1
    [stall] = [f for f in checks.checks(run) if f.kind == "stalled"]
    assert stall.text.endswith("fastapi-uvicorn large@100.")


def test_a_silent_repeat_with_lost_requests_counted_is_not_a_stall_but_a_failure():
    run = run_v4()
    sample = run.variant("flask-gunicorn-sync").cell("small", 20).repeats[0]
    sample.requests, sample.bytes, sample.latency_count = 0, 0, 0
    sample.errors["lost"] = 20
    kinds = {f.kind: f.text for f in checks.checks(run)}
    assert "stalled" not in kinds and "flask-gunicorn-sync small@20" in kinds["lost"]


def test_a_fail_point_that_added_too_little_is_flagged_on_its_cells():
    run = results.load(FIXTURES / "results-v5.json")
    assert "db-latency" not in {f.kind for f in checks.checks(run)}
    # Set (and measured) at the first +2 ms cell of each server start: small@200.
    cell = run.variant("tornado-motor").cell("small", 200, 2)
    cell.db_latency_checks[0].added_ms = 1.5          # 2 ms asked for
    [flag] = [f for f in checks.checks(run) if f.kind == "db-latency"]
    assert flag.text.endswith("tornado-motor small@200+2ms.")


def _clean_read_cell(run):
    return next((v, c) for v in run.variants for c in v.cells
                if c.doc != "write" and c.repeats
                and all(s.error_count == 0 and s.database is not None for s in c.repeats))


def test_finds_beyond_one_per_outstanding_request_are_work_carried_over():
    run = results.load(FIXTURES / "results-v10.json")
    variant, cell = _clean_read_cell(run)
    sample, n = cell.repeats[0], cell.connections
    # 1.5 finds per response: a quarter of them more than one per connection still outstanding.
    sample.requests, sample.database.finds = 4 * n, 6 * n
    summary = analysis.summarize(cell)
    assert summary.finds_per_ok_clean_max == pytest.approx(1.5)
    assert summary.finds_beyond_edge_max == n
    [found] = [f for f in checks.checks(run) if f.kind == "finds-excess"]
    assert f"{variant.name} {cell.label}" in found.text and "one per connection" in found.text


def test_finds_of_the_requests_outstanding_at_the_end_are_the_window_s_edge():
    run = results.load(FIXTURES / "results-v10.json")
    variant, cell = _clean_read_cell(run)
    sample, n = cell.repeats[0], cell.connections
    # 1.25 finds per response, every extra one a request still outstanding when wrk stopped.
    sample.requests, sample.database.finds = 4 * n, 5 * n
    summary = analysis.summarize(cell)
    assert summary.finds_per_ok_clean_max == pytest.approx(1.25)
    assert summary.finds_beyond_edge_max == 0
    assert "finds-excess" not in {f.kind for f in checks.checks(run)}
