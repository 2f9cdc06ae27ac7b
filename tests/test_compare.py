import copy

import pytest

from suite.read import compare
from suite.record import results, stats
from tests.conftest import FIXTURES


def base():
    return results.load(FIXTURES / "results-v2.json")


def scaled(run, variant: str, factor: float):
    new = copy.deepcopy(run)
    new.run_id = "new-run"
    for cell in new.variant(variant).cells:
        for sample in cell.repeats:
            sample.requests = round(sample.requests * factor)
    return new


def cell_of(result, variant: str, doc: str, connections: int):
    return next(c for c in result.cells if (c.variant, c.doc, c.connections) == (variant, doc,
                                                                                  connections))


def test_a_real_difference_is_significant_and_noise_is_hidden():
    old = base()
    result = compare.compare(old, scaled(old, "fastapi-uvicorn", 1.5))
    by_key = {(c.variant, c.doc, c.connections): c for c in result.cells}
    faster = by_key[("fastapi-uvicorn", "small", 100)]
    assert faster.ratio == pytest.approx(1.5, rel=0.01) and faster.verdict == "different"
    same = by_key[("flask-gunicorn-gevent", "small", 100)]
    assert same.ratio == pytest.approx(1.0) and same.p == 1.0 and same.verdict == "noise"
    means = result.geometric_means()
    assert means["fastapi-uvicorn"] == pytest.approx(1.5, rel=0.01)
    assert means["flask-gunicorn-gevent"] == pytest.approx(1.0)
    assert result.warnings == []
    text = compare.render(result)
    assert "**1.50×** (p=0.003, Holm 0.026)" in text and "≈ (p=1.00, Holm 1.00)" in text
    assert "Holm's correction across the 8 cells tested here" in text
    assert "**The adjusted p decides**" in text


def test_a_cell_that_passes_alone_is_noise_among_many():
    old = base()
    result = compare.compare(old, scaled(old, "fastapi-uvicorn", 1.5))
    assert result.tested == 8
    raw = [cell.p for cell in result.cells]
    assert [cell.p_adjusted for cell in result.cells] == stats.holm(raw)
    cell = cell_of(result, "fastapi-uvicorn", "large", 100)
    # p = 0.0146 passes at 0.05 alone; as the second smallest of eight p's it needs 0.05/7.
    assert cell.p == pytest.approx(0.014557, rel=1e-4) and cell.p < compare.ALPHA
    assert cell.p_adjusted == pytest.approx(0.101899, rel=1e-4)
    assert cell.verdict == "noise"
    assert "≈ (p=0.01, Holm 0.10)" in compare.render(result)


def with_constant_repeats(run, variant: str, doc: str, connections: int, requests: int):
    """The cell's repeats made identical: same requests, errors and duration."""
    run = copy.deepcopy(run)
    first, *others = run.variant(variant).cell(doc, connections).repeats
    first.requests = requests
    for sample in others:
        sample.requests, sample.errors, sample.duration_s = \
            first.requests, dict(first.errors), first.duration_s
    return run


@pytest.mark.parametrize("new_requests", [5000, 6000])
def test_repeats_without_spread_are_not_enough_information(new_requests):
    old = with_constant_repeats(base(), "fastapi-uvicorn", "small", 20, 5000)
    new = with_constant_repeats(base(), "fastapi-uvicorn", "small", 20, new_requests)
    new.run_id = "new-run"
    result = compare.compare(old, new)
    cell = cell_of(result, "fastapi-uvicorn", "small", 20)
    assert len(set(cell.base)) == len(set(cell.new)) == 1 and len(cell.base) == 3
    # Identical values (0/0) or two constants (x/0): never p = 1 or p = 0, and not in the family.
    assert cell.no_spread and cell.p is None and cell.p_adjusted is None
    assert cell.verdict == "insufficient"
    assert cell.ratio == pytest.approx(new_requests / 5000)
    assert result.tested == 7
    assert f"| {cell.ratio:.2f}× (not enough information) |" in compare.render(result)


def test_one_side_without_spread_is_still_tested():
    # Welch's t is defined when only one side is constant (its df then come from the other
    # side), and a side of identical values may be a real change (e.g. every repeat at 0 req/s).
    old = with_constant_repeats(base(), "fastapi-uvicorn", "small", 20, 5000)
    new = base()
    new.run_id = "new-run"
    result = compare.compare(old, new)
    cell = cell_of(result, "fastapi-uvicorn", "small", 20)
    assert len(set(cell.base)) == 1 and len(set(cell.new)) == 3
    assert not cell.no_spread and cell.p is not None and cell.p_adjusted is not None
    assert cell.verdict in ("noise", "different") and result.tested == 8


def test_single_repeats_cannot_be_tested():
    old = results.load(FIXTURES / "results-v1.json")
    result = compare.compare(old, old)
    assert {c.verdict for c in result.cells} == {"untested"}
    # The failed variant has no repeats in either run, so it has no cells at all.
    assert "flask-dev-broken" not in {c.variant for c in result.cells}


def test_different_machines_warn_loudly():
    old = base()
    new = copy.deepcopy(old)
    new.environment["cpu_count"] = 64
    new.environment["cpu_model"] = "Other CPU"
    new.profile = new.profile.with_overrides(duration_s=30)
    warnings = compare.compare(old, new).warnings
    assert warnings[0].startswith("the runs come from different machines")
    assert "cpu_count: 2 vs 64" in warnings[0]
    assert "profiles differ: duration_s 2 vs 30" in warnings
    assert "WARNING" in compare.render(compare.compare(old, new))


def test_containers_with_other_limits_or_images_warn():
    old = results.load(FIXTURES / "results-v3-docker.json")
    new = copy.deepcopy(old)
    new.runtime_details.limits["server"]["cpuset"] = "1"
    warnings = compare.compare(old, new).warnings
    assert any(w.startswith("container limits differ") for w in warnings)
    assert not any("images differ" in w for w in warnings)
    assert compare.compare(old, copy.deepcopy(old)).warnings == []


def test_cells_with_database_latency_are_compared_too():
    run = results.load(FIXTURES / "results-v5.json")
    comparison = compare.compare(run, copy.deepcopy(run))
    measured = sum(1 for v in run.variants for c in v.cells if c.repeats)
    assert len(comparison.cells) == measured == 12
    assert {c.db_latency_ms for c in comparison.cells} == {0, 2}
    assert "## /small, database +2 ms" in compare.render(comparison)


def test_rank_stability_is_kendall_tau_over_the_rows_ranked_in_both_runs():
    run = results.load(FIXTURES / "results-v10.json")
    same = compare.rank_agreement(run, run)
    assert same and all(a.base_order == a.new_order and a.moved() == [] for a in same)
    cell = next(a for a in same if len(a.base_order) >= 3)
    assert cell.kendall.tau == 1.0 and cell.kendall.exact
    # The slowest row of that cell serves ten times as much in the new run: first, the rest
    # one place down, the leader changes and τ-b = (C - D) / pairs.
    last = cell.base_order[-1]
    new = copy.deepcopy(run)
    new.run_id = "new-run"
    for sample in new.variant(last).cell(cell.doc, cell.connections).repeats:
        sample.requests *= 10
    moved = next(a for a in compare.rank_agreement(run, new) if a.label == cell.label)
    n = len(cell.base_order)
    assert moved.new_order == (last, *cell.base_order[:-1])
    assert moved.kendall.tau == pytest.approx(((n - 1) * (n - 2) / 2 - (n - 1)) / (n * (n - 1) / 2))
    assert moved.moved()[0] == (last, n, 1)
    lines = compare.rank_lines(compare.rank_agreement(run, new))
    row = next(line for line in lines if line.startswith(f"| {cell.label} |"))
    assert f"{cell.base_order[0]} → {last}" in row and f"{last} {n} → 1" in row
    assert "## Rank stability" in compare.render(compare.compare(run, new))


def test_a_row_unhealthy_in_one_run_is_left_out_of_the_rank_stability():
    run = results.load(FIXTURES / "results-v10.json")
    cell = next(a for a in compare.rank_agreement(run, run) if len(a.base_order) >= 3)
    out = cell.base_order[0]
    new = copy.deepcopy(run)
    new.run_id = "new-run"
    for sample in new.variant(out).cell(cell.doc, cell.connections).repeats:
        sample.errors["lost"] = sample.requests   # half its attempts never answered: unhealthy
    found = next(a for a in compare.rank_agreement(run, new) if a.label == cell.label)
    assert out not in found.base_order and out in found.left_out
    assert found.base_order == cell.base_order[1:]
