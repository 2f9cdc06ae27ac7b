"""What the suite depends on dies mid-run: its mongod, its load generator. The run stops at once
with one line naming what died, the repeat in flight is discarded, no later server starts, what
was measured is kept for --resume, and the exit status is 1."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from suite import REPO_ROOT
from suite.record import plan, results
from tests.conftest import alive, battle, descendants

pytestmark = pytest.mark.integration


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


VARIANTS = ("fastapi-uvicorn", "flask-gunicorn-gevent")
# The variant the first round starts first: each round starts them in an order drawn for it.
FIRST = plan.round_order(VARIANTS, 1)[0]


def _variant(run: results.RunResult, name: str) -> results.VariantResult:
    return next(v for v in run.variants if v.name == name)


def _kill_mid_run(tmp_path, name: str) -> tuple[subprocess.CompletedProcess, results.RunResult,
                                                 datetime, set[int]]:
    """Start a run of two variants, wait for its first counted repeat, kill the first process
    called `name` among its descendants while the next repeat runs."""
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "run", *VARIANTS,
         "--docs", "small", "--connections", "10,20", "--duration", "4", "--timeout", "2",
         "--warmup", "0", "--repeats", "2", "--out", str(out), "--reports", str(tmp_path / "rep")],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            children |= descendants(process.pid)
            files = sorted(out.glob("*.json"))
            run = results.load(files[0]) if files else None
            if run and run.variants and _variant(run, FIRST).cells[0].repeats:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no repeat was measured in time")
        target = None
        while time.monotonic() < deadline and target is None:   # the next repeat's generator
            children |= descendants(process.pid)
            target = next((p for p in sorted(children) if _comm(p) == name), None)
            time.sleep(0.05)
        assert target is not None, f"no {name} process under the run"
        killed_at = datetime.now(timezone.utc)
        os.kill(target, signal.SIGKILL)
        _, stderr = process.communicate(timeout=90)
    finally:
        process.kill()
    done = subprocess.CompletedProcess(process.args, process.returncode, "", stderr)
    return done, results.load(sorted(out.glob("*.json"))[0]), killed_at, children


def _started(sample) -> datetime:
    return datetime.fromisoformat(sample.started_at)


@pytest.mark.parametrize("name, what", [("mongod", "the suite's mongod died"),
                                        ("wrk", "the load generator died")])
def test_a_dependency_that_dies_stops_the_run_and_keeps_what_was_measured(tmp_path, name, what):
    done, run, killed_at, children = _kill_mid_run(tmp_path, name)
    assert done.returncode == 1, done.stderr
    stopped = [line for line in done.stderr.splitlines() if "run stopped" in line]
    assert len(stopped) == 1 and what in stopped[0], done.stderr
    assert f"--resume {run.run_id}" in stopped[0]
    assert run.status == "failed" and what in run.reason
    first = _variant(run, FIRST)
    [second] = [v for v in run.variants if v.name != FIRST]
    # The repeat in flight was discarded: every recorded repeat started before the kill.
    counted = [s for c in first.cells for s in c.repeats]
    assert counted and all(_started(s) < killed_at for s in counted)
    assert first.status == "interrupted" and "run stopped" in first.reason
    # No later server was started (its verification would have failed on a dead database).
    assert second.primers == [] and second.verification == [] and second.status == "interrupted"
    # Nothing is left running; the run can be resumed (its plan is what is left).
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(children)
    report = (tmp_path / "rep" / f"{run.run_id}.md").read_text().splitlines()
    assert "stopped early: partial results" in report[0] and what in "\n".join(report[:4])
    plan = battle("run", "--resume", run.run_id, "--plan", "--out", str(tmp_path / "results"))
    assert plan.returncode == 0, plan.stderr
    assert "plan:" in plan.stdout
