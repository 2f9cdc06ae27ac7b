"""Sweeps: a variant's settings varied, every combination a row, the catalog's always in."""

import pytest

from suite.measure import sweep
from suite.read import report, series
from suite.record import results, stats
from suite.record.catalog import load_catalog
from tests.conftest import FIXTURES


def test_every_combination_with_the_catalogs_values_included():
    variant = load_catalog()["flask-gunicorn-gthread"]     # workers = cpus, threads = 32
    sets = sweep.parse_sets(["workers=1,4", "threads=8,64"])
    rows = sweep.expand(variant, sets, cpus=2, max_connections=5000)
    assert [r.overrides for r in rows] == [
        {"workers": w, "threads": t} for w in (1, 2, 4) for t in (8, 32, 64)]
    row = rows[0]
    assert row.name == "flask-gunicorn-gthread workers=1 threads=8"
    assert row.base == row.service == "flask-gunicorn-gthread"
    assert row.originals == {"workers": "cpus", "threads": 32}
    assert row.resolve(cpus=2, max_connections=5000)["workers"] == 1
    # The other settings stay the catalog's, expressions included.
    assert row.settings["worker_connections"] == variant.settings["worker_connections"]
    assert "--workers" in row.argv(row.resolve(cpus=2, max_connections=5000), python="py",
                                   host="h", port=1)
    assert row.slug == "flask-gunicorn-gthread_workers=1_threads=8"


@pytest.mark.parametrize("specs, message", [
    (["foo=1,2"], "has no setting 'foo'"),
    (["workers="], "--set takes NAME=VALUE"),
    (["workers"], "--set takes NAME=VALUE"),
])
def test_a_sweep_it_cannot_run_is_one_line(specs, message):
    variant = load_catalog()["flask-gunicorn-sync"]
    with pytest.raises(sweep.SweepError, match=message):
        sweep.expand(variant, sweep.parse_sets(specs), cpus=2, max_connections=5000)


def test_the_cli_refuses_an_unknown_setting_before_starting_anything(tmp_path, capsys):
    from suite.cli import main

    assert main(["sweep", "flask-gunicorn-sync", "--set", "threads=8", "--out",
                 str(tmp_path)]) == 2
    assert "has no setting 'threads'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_report_compares_the_best_combination_with_the_catalogs():
    # flask-gunicorn-sync at small@50, workers 1 and 3 against the catalog's 5 (2 repeats).
    run = results.load(FIXTURES / "results-v5-sweep.json")
    [group] = series.swept(run)
    assert group.of == "flask-gunicorn-sync" and group.catalog == "workers=5"
    assert group.labels == ("workers=1", "workers=3", "workers=5")
    medians = {v.sweep.label: stats.median([s.ok_rps for s in v.cells[0].repeats])
               for v in run.variants}
    [lead] = group.leads
    best = max(medians, key=medians.get)
    assert lead.best.label == best and lead.ratio == pytest.approx(
        medians[best] / medians["workers=5"])
    text = report.render(run)
    assert "## Sweeps" in text and "| workers=5 (catalog) |" in text
    assert f"up to {lead.ratio:.2f}× it ({best} at small@50)" in text
    assert f"beyond noise in {int(lead.beyond_noise)} of 1 tested" in text

    # With one repeat per combination nothing is tested, and the report does not count it as
    # "beyond noise in 0".
    for variant in run.variants:
        del variant.cells[0].repeats[1:]
    single = report.render(run)
    assert "none tested against noise (one repeat)" in single and "of 1 tested" not in single
