"""The `battle` command end to end, as a user runs it: real mongod, real servers, real wrk."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from suite import REPO_ROOT
from suite.record import results
from suite.measure.http import get
from suite.measure.mongo import free_port
from tests.conftest import (FIXTURES, alive, assert_only_a_slow_tail, battle, descendants,
                            oha_or_skip)

pytestmark = pytest.mark.integration
SHORT = ["--duration", "3", "--timeout", "2", "--warmup", "1", "--connections", "10,40",
         "--profile", "quick"]


def test_pinned_roles_run_on_their_cpus(tmp_path):
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu = cpus[-1]
    out = tmp_path / "results"
    done = battle("run", "fastapi-uvicorn", "--duration", "2", "--timeout", "1", "--warmup", "0",
                  "--connections", "10", "--docs", "small", "--cpus",
                  f"loadgen={cpus[0]} server={server_cpu} db={server_cpu}", "--out", str(out),
                  "--reports", str(tmp_path / "rep"))
    assert done.returncode == 0, done.stderr
    run = results.load(run_files(out)[0])
    assert run.cpu_roles == {"loadgen": [cpus[0]], "server": [server_cpu], "db": [server_cpu]}
    variant = run.variants[0]
    assert variant.settings["workers"] == 1  # workers follow the CPUs the server is given
    sample = variant.cells[0].repeats[0]
    assert sample.threads == 1 and sample.args[:2] == ["-t", "1"]  # one wrk thread, one CPU
    # The machine's speed before it, timed on each CPU a role runs on; what was stolen from each.
    assert set(sample.calibration_us) == {str(cpus[0]), str(server_cpu)}
    assert all(us > 0 for us in sample.calibration_us.values())
    assert set(sample.steal_s) == {str(cpu) for cpu in range(os.cpu_count())}


def run_files(out):
    return sorted(out.glob("*.json"))


def test_by_default_the_server_runs_alone_on_its_cpus_and_on_a_production_interpreter(tmp_path):
    cpus = sorted(os.sched_getaffinity(0))
    out = tmp_path / "results"
    done = battle("run", "flask-gunicorn-sync", "--duration", "2", "--timeout", "1",
                  "--warmup", "0", "--connections", "10", "--docs", "small", "--repeats", "2",
                  "--out", str(out), "--reports", str(tmp_path / "rep"))
    assert done.returncode == 0, done.stderr
    run = results.load(run_files(out)[0])
    half = len(cpus) // 2
    assert run.cpu_roles == {"server": cpus[half:], "loadgen": cpus[:half], "db": cpus[:half]}
    [variant] = run.variants
    # Settings follow the server's CPUs: gunicorn's 2 x cpus + 1 for the server's half.
    assert variant.settings["workers"] == 2 * len(cpus[half:]) + 1
    build = variant.interpreter_build
    assert build["production"] and build["pgo"] and build["lto"], build
    assert build["path"] != os.path.realpath(sys.executable)   # not the suite's own
    assert variant.code == "sync"
    for sample in variant.cells[0].repeats:
        assert sample.resources["server"].cpus == len(cpus[half:])
        client = sample.resources["client"]
        assert client.cpus == half and client.cpu_cores == pytest.approx(
            sample.resources["loadgen"].cpu_cores + sample.resources["mongod"].cpu_cores,
            abs=0.002)
    assert [s.round for s in variant.cells[0].repeats] == [1, 2]
    assert run.top_groups and run.top_groups[0]["leader"] == "flask-gunicorn-sync"
    text = (tmp_path / "rep" / f"{run.run_id}.md").read_text()
    assert "**Interpreters:** CPython" in text and "PGO + LTO" in text
    assert "without PGO and LTO" not in text


def test_run_measures_every_cell_and_writes_a_report(tmp_path):
    out, reports = tmp_path / "results", tmp_path / "reports"
    # Unpinned, so each server gets every CPU and a worker per CPU to spread connections over.
    done = battle("run", "flask-gunicorn-gevent", "fastapi-uvicorn", *SHORT, "--repeats", "2",
                  "--unpinned", "--out", str(out), "--reports", str(reports))
    assert done.returncode == 0, done.stderr
    [path] = run_files(out)
    run = results.load(path)
    assert run.status == "complete" and run.runtime == "local" and run.order == "interleaved"
    assert [v.name for v in run.variants] == ["flask-gunicorn-gevent", "fastapi-uvicorn"]
    for variant in run.variants:
        assert variant.status == "measured"
        assert all(check.passed for check in variant.verification)
        assert len(variant.primers) == 2  # a fresh server per round
        assert [(c.doc, c.connections) for c in variant.cells] == [
            ("small", 10), ("small", 40), ("large", 10), ("large", 40)]
        for cell in variant.cells:
            assert cell.status == "measured" and len(cell.warmups) == 2
            assert len(cell.repeats) == 2
            for sample in cell.repeats:
                assert sample.requests > 0
                assert_only_a_slow_tail(sample, at_most=0.01)
                assert (out / sample.raw_output).read_text().count("BATTLE_WRK") == 1
                assert sample.connections == cell.connections and "-c" in sample.args
                # Every response was checked against the verified bytes.
                assert sample.body_checked == sample.requests
                assert sample.quiet_wait_s is not None and sample.quiet_wait_s < 5
                usage = sample.resources
                assert usage["server"].cpu_cores > 0 and usage["mongod"].cpu_cores > 0
                assert usage["loadgen"].memory_bytes_max > 0
                assert usage["server"].processes_max >= 2  # master + workers
                # PSS: what the master and its forked workers occupy together, shared pages
                # once, so less than their resident sizes summed.
                assert usage["server"].memory == "pss"
                # Every successful read made MongoDB run a find (its own counters).
                assert sample.database.finds >= sample.ok_requests > 0
                assert sample.database.inserts == 0
                # Half-way through, every connection was on one of the workers (keep-alive),
                # or still waiting to be accepted.
                spread = sample.spread
                assert len(spread.workers) == variant.settings["workers"] >= 2
                assert spread.total == cell.connections
        assert variant.packages["pymongo"] != "missing"
    # Interleaved: round 1 of both variants ran before round 2 of either.
    raw = out / run.run_id / "raw"
    mtime = lambda variant, r: (raw / variant / f"small-c10-r{r}.txt").stat().st_mtime
    both = ("flask-gunicorn-gevent", "fastapi-uvicorn")
    assert max(mtime(v, 1) for v in both) < min(mtime(v, 2) for v in both)
    assert run.mongo.embedded and run.mongo.version and run.mongo.fail_point is None
    # The verification checked that reads query MongoDB, and last the interpreter, whose state
    # every variant records (the default build, the GIL on); one sitting, its time recorded.
    assert [c.name for c in run.variants[0].verification][-2:] == ["reads query MongoDB",
                                                                   "interpreter"]
    assert all(v.interpreter["gil"] is True and v.interpreter["free_threaded"] is False
               and v.interpreter["json"] == "orjson" for v in run.variants)
    [sitting] = run.sittings
    assert sitting.status == "complete" and sitting.repeats == 2 * 2 * 4
    assert sitting.counted_s == pytest.approx(16 * 3, abs=1) and sitting.wall_s > sitting.counted_s
    assert run.plan["counted_repeats"] == 16
    # Recorded how it measured, for a report regenerated by later code.
    assert "PSS" in run.method["resources"] and run.method["verification"]
    assert run.environment["cpu_count"] >= 1 and run.environment["nofile_soft"] > 5000
    report_text = (reports / "latest.md").read_text()
    assert report_text == (reports / f"{run.run_id}.md").read_text()
    assert "fastapi-uvicorn" in report_text and "Failures" not in report_text

    # Regenerating the report reads only the results file.
    again = battle("report", str(path), "--reports", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / f"{run.run_id}.md").read_text() == report_text


def test_broken_variants_fail_with_reasons_and_the_run_goes_on(tmp_path):
    out = tmp_path / "results"
    done = battle("--catalog", str(FIXTURES / "catalog-failures.toml"), "run", *SHORT,
                  "--docs", "small", "--out", str(out), "--reports", str(tmp_path / "rep"))
    assert done.returncode == 0, done.stderr
    run = results.load(run_files(out)[0])
    by_name = {v.name: v for v in run.variants}
    crashed = by_name["crashes-at-start"]
    assert crashed.status == "failed"
    assert "died at start" in crashed.reason and "boom: cannot import xyz" in crashed.reason
    assert all(c.status == "skipped" for c in crashed.cells)
    wrong = by_name["wrong-body"]
    assert wrong.status == "failed" and "verification failed: /small" in wrong.reason
    # /small wrong; /plain, reads query MongoDB and the interpreter right.
    assert [c.name for c in wrong.verification] == ["/small", "/plain", "reads query MongoDB",
                                                    "interpreter"]
    assert [c.passed for c in wrong.verification] == [False, True, True, True]
    died = by_name["dies-mid-run"]
    assert died.status == "failed" and "server died during small" in died.reason
    assert "code 7" in died.reason
    assert by_name["fastapi-uvicorn"].status == "measured"
    report_text = (tmp_path / "rep" / "latest.md").read_text()
    assert "**crashes-at-start** failed" in report_text
    assert "**wrong-body** failed" in report_text


def test_unknown_variant_is_a_usage_error(tmp_path):
    done = battle("run", "no-such-variant", "--out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        done.stderr.strip()] and "unknown variant 'no-such-variant'" in done.stderr
    assert not list(tmp_path.iterdir())


def test_missing_wrk_is_one_clear_line(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # no wrk (and no mongod) on PATH
    done = battle("run", "fastapi-uvicorn", "--out", str(tmp_path / "r"), env=env)
    assert done.returncode == 1
    assert done.stderr.strip() == "battle: error: wrk not found: install it (`apt-get install " \
                                  "wrk`, or `make setup` as root)"


def test_a_hung_wrk_is_one_clear_line(tmp_path):
    hung = tmp_path / "bin"
    hung.mkdir()
    (hung / "wrk").write_text("#!/bin/sh\nexec sleep 60\n")   # even `wrk -v` never answers
    (hung / "wrk").chmod(0o755)
    env = {**os.environ, "PATH": f"{hung}{os.pathsep}{os.environ['PATH']}"}
    done = battle("run", "fastapi-uvicorn", "--out", str(tmp_path / "r"), env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "battle: error: wrk -v did not finish within 10 s"


def test_ctrl_c_stops_every_child_and_keeps_results(tmp_path):
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "run", "flask-gunicorn-gevent", "fastapi-uvicorn",
         "--duration", "5", "--timeout", "2", "--warmup", "1", "--connections", "10",
         "--out", str(out), "--reports", str(tmp_path / "rep")],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        children: set[int] = set()
        # Wait until a counted repeat is recorded (a report needs one; a run that measured
        # nothing gets none) and the next one runs, then interrupt.
        while time.monotonic() < deadline:
            children |= descendants(process.pid)
            files = run_files(out)
            run = results.load(files[0]) if files else None
            if run and run.variants and run.variants[0].cells[0].repeats:
                break
            time.sleep(0.2)
        time.sleep(1)
        children |= descendants(process.pid)
        assert len(children) >= 3  # mongod, gunicorn master + workers, wrk
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr.strip().splitlines()[-1]
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(children)
    run = results.load(run_files(out)[0])
    assert run.status == "interrupted"
    assert run.variants[0].status == "interrupted"
    # Its own report says so (latest.md shows complete runs only).
    report_text = (tmp_path / "rep" / f"{run.run_id}.md").read_text()
    assert "interrupted" in report_text.splitlines()[0]
    assert not (tmp_path / "rep" / "latest.md").exists()


def test_serve_answers_until_interrupted(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "serve", "fastapi-uvicorn", "--port", str(port),
         "--logs", str(tmp_path)], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = get("127.0.0.1", port, "/small", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        assert response is not None and response.status == 200
        assert json.loads(response.body) == {"canonicalUrl": "https://t.co/bttl"}
        printed = []
        while not printed or not (printed[-1] == "" or printed[-1].startswith("serving")):
            printed.append(process.stderr.readline())
        children = descendants(process.pid)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
        stderr = "".join(printed) + rest
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert f"serving fastapi-uvicorn on http://127.0.0.1:{port}" in stderr
    time.sleep(0.5)
    assert not alive(children)


def test_serve_on_a_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = battle("serve", "fastapi-uvicorn", "--port", str(port), "--logs", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"battle: error: port {port} on 127.0.0.1 is already in use "
                                   "(try --port)")


def test_bad_arguments_exit_2(tmp_path):
    assert battle("run", "--connections", "0").returncode == 2
    assert battle("run", "--docs", "medium").returncode == 2
    assert battle("report", str(tmp_path / "missing.json")).returncode == 1


def test_crosscheck_runs_both_generators_on_one_cell(tmp_path):
    oha_or_skip()
    out = tmp_path / "results"
    done = battle("crosscheck", "fastapi-uvicorn", "--connections", "20", "--duration", "2",
                  "--timeout", "1", "--warmup", "0", "--out", str(out),
                  "--reports", str(tmp_path / "rep"))
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.strip().splitlines()
    assert header.split()[:4] == ["variant", "cell", "wrk", "req/s"]
    assert row.split()[:2] == ["fastapi-uvicorn", "small@20"]
    run = results.load(run_files(out)[0])
    assert run.loadgen["tool"] == "wrk" and run.crosscheck["tool"] == "oha"
    [cell] = run.variants[0].cells
    [first], [second] = cell.repeats, cell.crosschecks
    assert (first.generator, second.generator) == ("wrk", "oha")
    ratio = second.ok_rps / first.ok_rps
    assert f"{ratio:.2f}" in row and second.requests > 0 and second.error_count == 0
    assert "## Cross-check" in (tmp_path / "rep" / "latest.md").read_text()
