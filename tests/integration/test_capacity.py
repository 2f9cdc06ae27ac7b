"""Open-loop cells for the top group only (`--rates-for top`), as a user runs them: real mongod,
real servers, wrk for the closed-loop rounds, then oha in the capacity phase for each cell's
leader and the stacks tied with it, and nobody else."""

import pytest

from suite.record import results, stats
from tests.conftest import battle, oha_or_skip

pytestmark = pytest.mark.integration
# A deployable stack and the no-framework baseline: the baseline never competes for a top
# group (it is shown apart), so the phase must leave it without open-loop cells.
RUN = ["flask-gunicorn-sync", "asgi-uvicorn", "--docs", "small", "--connections", "10",
       "--duration", "3", "--timeout", "2", "--warmup", "0", "--repeats", "1",
       "--profile", "quick", "--rate", "50%", "--rates-for", "top"]


def test_only_the_top_group_gets_open_loop_cells_after_the_closed_loop_rounds(tmp_path):
    oha_or_skip()
    out, reports = tmp_path / "results", tmp_path / "reports"
    planned = battle("run", *RUN, "--plan", "--out", str(out))
    assert planned.returncode == 0, planned.stderr
    assert "rates 50% (oha) for the top group only, in a capacity phase" in planned.stdout
    assert "+ capacity phase at most" in planned.stdout and not out.exists()

    done = battle("run", *RUN, "--out", str(out), "--reports", str(reports))
    assert done.returncode == 0, done.stderr
    [path] = sorted(out.glob("*.json"))
    run = results.load(path)
    assert run.status == "complete" and run.profile.rates_for == "top"
    assert run.plan["rates_for"] == "top" and run.plan["capacity_bound_s"] > 0
    assert run.plan["cells"] == ["small@10"]
    [group] = run.top_groups
    assert group["leader"] == "flask-gunicorn-sync" and "asgi-uvicorn" in group["left_out"]
    flask, baseline = run.variant("flask-gunicorn-sync"), run.variant("asgi-uvicorn")
    assert baseline.cell("small", 10).repeats and baseline.rate_cells == []
    [cell] = flask.rate_cells
    [sample] = cell.repeats
    closed = stats.median([s.ok_rps for s in flask.cell("small", 10).repeats])
    assert cell.rate == "50%" and cell.status == "measured" and sample.generator == "oha"
    assert sample.rate == pytest.approx(closed / 2, rel=0.01)
    assert sample.round is None     # measured in the capacity phase, not in a round
    # The phase came after the closed-loop rounds: the open-loop repeat is the last one made.
    closed_starts = [s.started_at for v in run.variants for c in v.cells for s in c.repeats]
    assert sample.started_at >= max(closed_starts)
    assert "capacity phase: rates 50% for the top group of 1 cell(s)" in done.stderr
    assert "[flask-gunicorn-sync capacity phase] starting" in done.stderr

    text = (reports / f"{run.run_id}.md").read_text()
    assert "Capacity under the SLO" in text
    section = text.split("## Open loop")[1].split("\n## ")[0]
    assert "| flask-gunicorn-sync | 50% |" in section and "asgi-uvicorn" not in section
