"""`battle run --plan` and `--resume`, as a user runs them: a run interrupted after some repeats
and continued ends with the cells an uninterrupted run has; what a resume refuses is one line
and exit 2, with nothing started."""

import json
import shutil
import signal
import subprocess
import sys
import time

import pytest

from suite import REPO_ROOT
from suite.record import results
from suite.record.catalog import DEFAULT_CATALOG
from tests.conftest import battle

pytestmark = pytest.mark.integration
RUN = ["fastapi-uvicorn", "--docs", "small", "--connections", "10,20", "--duration", "2",
       "--timeout", "1", "--warmup", "0", "--repeats", "3", "--profile", "quick"]


def only_file(out):
    [path] = sorted(out.glob("*.json"))
    return path


def run_interrupted(tmp_path, after: int, *extra: str) -> results.RunResult:
    """A run stopped with Ctrl-C once `after` counted repeats are in its results file."""
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", *extra, "run", *RUN, "--out", str(out),
         "--reports", str(tmp_path / "reports")],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            files = sorted(out.glob("*.json"))
            run = results.load(files[0]) if files else None
            if run and sum(len(c.repeats) for v in run.variants for c in v.cells) >= after:
                break
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    return results.load(only_file(out))


def test_plan_prints_the_plan_and_starts_nothing(tmp_path):
    done = battle("run", *RUN, "--plan", "--out", str(tmp_path / "results"))
    assert done.returncode == 0, done.stderr
    assert "1 variant(s) × 2 cell(s)" in done.stdout and "6 repeats of 2 s" in done.stdout
    assert "expected:" in done.stdout and "each of 3 rounds: fastapi-uvicorn" in done.stdout
    assert not (tmp_path / "results").exists()
    refused = battle("run", "no-such-variant", "--plan", "--out", str(tmp_path / "results"))
    assert refused.returncode == 2 and "unknown variant" in refused.stderr
    assert battle("run", *RUN, "--plan", "--duration", "1").returncode == 2  # timeout >= duration


def test_an_interrupted_run_resumes_into_the_same_file_and_ends_like_an_uninterrupted_one(
        tmp_path):
    interrupted = run_interrupted(tmp_path, after=2)
    assert interrupted.status == "interrupted"
    made = sum(len(c.repeats) for c in interrupted.variants[0].cells)
    assert 2 <= made < 6
    out = tmp_path / "results"
    plan = battle("run", "--resume", interrupted.run_id, "--plan", "--out", str(out))
    assert plan.returncode == 0, plan.stderr
    assert f"{6 - made} repeats of 2 s" in plan.stdout

    done = battle("run", "--resume", interrupted.run_id, "--out", str(out),
                  "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    assert f"resuming {interrupted.run_id}" in done.stderr
    resumed = results.load(only_file(out))
    assert resumed.run_id == interrupted.run_id and resumed.status == "complete"
    assert [s.status for s in resumed.sittings] == ["interrupted", "complete"]
    assert resumed.sittings[1].repeats == 6 - made
    assert resumed.sittings[1].environment["git_commit"] == \
        resumed.sittings[0].environment["git_commit"]
    # The repeats of the first sitting are kept as they were.
    for before, after in zip(interrupted.variants[0].cells, resumed.variants[0].cells):
        assert after.repeats[:len(before.repeats)] == before.repeats

    whole = tmp_path / "whole"
    straight = battle("run", *RUN, "--out", str(whole), "--reports", str(tmp_path / "r2"))
    assert straight.returncode == 0, straight.stderr
    uninterrupted = results.load(only_file(whole))
    shape = lambda run: [(v.name, v.status, [(c.label, c.status, len(c.repeats))
                                             for c in v.cells]) for v in run.variants]
    assert shape(resumed) == shape(uninterrupted)

    # A complete run has nothing to resume.
    again = battle("run", "--resume", interrupted.run_id, "--out", str(out))
    assert again.returncode == 2
    assert again.stderr.strip() == (f"battle: error: run {interrupted.run_id} is complete: "
                                    "nothing to resume")


def test_a_resume_refuses_another_plan_catalog_or_commit(tmp_path):
    catalog = tmp_path / "catalog.toml"
    shutil.copy(DEFAULT_CATALOG, catalog)
    interrupted = run_interrupted(tmp_path, 1, "--catalog", str(catalog))
    out, run_id = tmp_path / "results", interrupted.run_id

    def resume(*args: str) -> subprocess.CompletedProcess:
        done = battle("run", "--resume", run_id, *args, "--out", str(out))
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        return done

    unknown = battle("run", "--resume", "20990101T000000Z-0000", "--out", str(out))
    assert unknown.returncode == 2 and "no such run" in unknown.stderr
    assert "as planned, with documents small, not large" in resume("--docs", "large").stderr
    assert "with connection levels 10,20, not 200" in resume("--connections", "200").stderr
    assert "with variants fastapi-uvicorn, not flask-gunicorn-sync" in \
        resume("flask-gunicorn-sync").stderr

    # The catalog changed under it: the setting, and the file, are named (3 workers: what
    # `cpus` resolves to on no machine here, pinned or not).
    text = catalog.read_text().replace('[variant.fastapi-uvicorn.settings]\nworkers = "cpus"',
                                       '[variant.fastapi-uvicorn.settings]\nworkers = 3')
    assert text != catalog.read_text()
    catalog.write_text(text)
    changed = resume().stderr
    assert "cannot resume run" in changed and "catalog_sha256" in changed
    assert "fastapi-uvicorn settings workers" in changed

    # Another commit (as if the code moved on between the sittings).
    shutil.copy(DEFAULT_CATALOG, catalog)
    path = only_file(out)
    data = json.loads(path.read_text())
    for sitting in data["sittings"]:
        sitting["environment"]["git_commit"] = "000000000000"
    path.write_text(json.dumps(data))
    moved = resume().stderr
    assert "git_commit '000000000000' ->" in moved
    assert results.load(path).status == "interrupted"   # nothing started, nothing written
