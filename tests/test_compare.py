import copy

import pytest

from suite import compare, results
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
    assert "**1.50×**" in text and "≈ (p=1.00)" in text


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
