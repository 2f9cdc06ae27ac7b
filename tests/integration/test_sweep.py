"""A sweep for real: each combination started with its own settings and measured as a row."""

import pytest

from suite.record import results
from tests.conftest import battle

pytestmark = pytest.mark.integration


def test_each_combination_runs_with_its_settings(tmp_path):
    out = tmp_path / "results"
    done = battle("sweep", "flask-gunicorn-sync", "--set", "workers=1,2", "--profile", "quick",
                  "--docs", "small", "--connections", "20", "--duration", "2", "--warmup", "0",
                  "--timeout", "1", "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    by_workers = {v.settings["workers"]: v for v in run.variants}
    # The catalog row resolved for the server's CPUs (pinned by default: its own half).
    server_cpus = len(run.cpu_roles.get("server") or range(run.environment["cpu_count"]))
    assert set(by_workers) == {1, 2, 2 * server_cpus + 1}   # + the catalog's
    for workers, variant in by_workers.items():
        assert variant.status == "measured", variant.reason
        assert variant.command[variant.command.index("--workers") + 1] == str(workers)
        assert variant.sweep.of == "flask-gunicorn-sync" and variant.sweep.set == {
            "workers": workers}
        # The server ran that many workers (master + workers in its process group).
        assert variant.cells[0].repeats[0].usage("server").processes_max == workers + 1
    assert sum(v.sweep.is_catalog for v in run.variants) == 1
    report = (tmp_path / "reports" / f"{run.run_id}.md").read_text()
    assert "## Sweeps" in report and "(catalog)" in report
