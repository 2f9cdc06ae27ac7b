"""A database far away, for real: a MongoDB fail point makes every find wait without logging it,
the suite measures what it adds, a sync worker is bounded by it, and the fail point is off again
however a run against a server the suite did not start ends (success, failure, Ctrl-C)."""

import json
import signal
import statistics
import subprocess
import sys
import time

import pytest
from pymongo import MongoClient

from suite import REPO_ROOT
from suite.record import results
from suite.measure.dblatency import BLOCK, NAMES, SLEEP, FailPoint
from suite.measure.mongo import EmbeddedMongo, MongoError, seed
from tests.conftest import FIXTURES, battle

pytestmark = pytest.mark.integration
SHORT = ["--profile", "quick", "--docs", "small", "--connections", "50", "--duration", "3",
         "--warmup", "1", "--timeout", "2", "--repeats", "1"]


@pytest.fixture(scope="module")
def slow_capable_mongo(tmp_path_factory):
    """A mongod with test commands that the suite does not start: --mongo-url's case."""
    log = tmp_path_factory.mktemp("mongo-test-commands") / "mongod.log"
    with EmbeddedMongo(log, test_commands=True) as mongod:
        seed(mongod.url)
        yield mongod.url


def fail_point_mode(url: str) -> int:
    """1 when either fail point the suite may use is on, 0 when both are off."""
    client = MongoClient(url)
    try:
        return max(client.admin.command({"getParameter": 1, f"failpoint.{name}": 1})
                   [f"failpoint.{name}"]["mode"] for name in NAMES)
    finally:
        client.close()


def only_run(out) -> results.RunResult:
    [path] = list(out.glob("*.json"))
    return results.load(path)


def test_the_fail_point_adds_what_is_asked_and_finds_do_not_queue(slow_capable_mongo):
    fail_point = FailPoint(slow_capable_mongo, "battle")
    try:
        check = fail_point.verify(5)
        assert check.added_ms >= 5 and check.with_p50_ms >= 5
        assert check.concurrent == 20 and check.concurrent_p50_ms < 20 * 5 / 2
        # The model's own cost, read from mongod: its thread sleeps and wakes for every find.
        assert 0 < check.mongod_cpu_us_per_find_without < check.mongod_cpu_us_per_find_with
        assert fail_point.name == SLEEP   # mongod 6.0.5 has the silent one
        assert fail_point_mode(slow_capable_mongo) == 1
    finally:
        fail_point.close()
    assert fail_point_mode(slow_capable_mongo) == 0


def test_a_sync_worker_is_bounded_by_the_database_latency(slow_capable_mongo, tmp_path):
    out = tmp_path / "results"
    done = battle("run", "flask-gunicorn-sync", *SHORT, "--db-latency", "5ms",
                  "--mongo-url", slow_capable_mongo, "--out", str(out),
                  "--reports", str(tmp_path / "reports"))
    assert done.returncode == 0, done.stderr
    run = only_run(out)
    [check] = run.mongo.fail_point["verified"]
    assert check["requested_ms"] == 5 and check["added_ms"] >= 5
    variant = run.variant("flask-gunicorn-sync")
    cell = variant.cell("small", 50, 5)
    assert cell.status == "measured" and cell.db_latency_checks
    assert all(c.added_ms >= 5 for c in cell.db_latency_checks)
    # One request at a time per sync worker, each waiting 5 ms on MongoDB.
    workers = variant.settings["workers"]
    assert 0 < cell.repeats[0].ok_rps < workers / 0.005
    assert fail_point_mode(slow_capable_mongo) == 0


def test_the_fail_point_is_off_after_a_server_dies_with_it_on(slow_capable_mongo, tmp_path):
    out = tmp_path / "results"
    # It must outlive readiness, verification, the primer and the fail point's setting (a few
    # seconds), and die under the +5 ms cell's load (a 1 s warmup and a 10 s repeat).
    catalog = tmp_path / "catalog.toml"
    catalog.write_text((FIXTURES / "catalog-failures.toml").read_text()
                       .replace('"die-after", "{limit}"', '"die-at", "{limit}"')
                       .replace("limit = 400", "limit = 8"))
    done = battle("--catalog", str(catalog), "run", "dies-mid-run",
                  *SHORT, "--duration", "10", "--db-latency", "5ms", "--mongo-url", slow_capable_mongo,
                  "--out", str(out), "--reports", str(tmp_path / "reports"))
    run = only_run(out)
    variant = run.variant("dies-mid-run")
    assert variant.status == "failed" and "died" in variant.reason, done.stderr
    assert variant.cell("small", 50, 5).db_latency_checks   # it was on when the server died
    assert fail_point_mode(slow_capable_mongo) == 0


def test_the_fail_point_is_off_after_ctrl_c(slow_capable_mongo, tmp_path):
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "run", "flask-gunicorn-gevent", "--profile", "quick",
         "--docs", "small", "--connections", "10", "--duration", "30", "--warmup", "1",
         "--db-latency", "5ms", "--mongo-url", slow_capable_mongo, "--out", str(out),
         "--reports", str(tmp_path / "reports")],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            files = list(out.glob("*.json"))
            if files and json.loads(files[0].read_text())["variants"][0]["cells"][0]["warmups"]:
                break   # the fail point is on and the counted repeat has started
            time.sleep(0.2)
        assert process.poll() is None and fail_point_mode(slow_capable_mongo) == 1
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert fail_point_mode(slow_capable_mongo) == 0


def test_a_mongodb_without_the_fail_point_is_one_line_before_anything_is_measured(
        mongo_url, tmp_path):
    out = tmp_path / "results"
    done = battle("run", "fastapi-uvicorn", *SHORT, "--db-latency", "0,5ms", "--mongo-url",
                  mongo_url, "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()[-1:]
    assert line.startswith("battle: error: MongoDB at ")
    assert "refuses the fail point that adds database latency" in line
    assert "enableTestCommands=1" in line
    run = only_run(out)
    assert not any(c.repeats or c.warmups for v in run.variants for c in v.cells)
    assert not (tmp_path / "reports").exists()   # nothing measured: no report
    with pytest.raises(MongoError, match="refuses"):
        FailPoint(mongo_url, "battle").set(0)


@pytest.mark.parametrize("value", ["-5ms", "1.5ms", "soon"])
def test_a_bad_latency_is_a_usage_error(value, tmp_path):
    done = battle("run", "fastapi-uvicorn", f"--db-latency={value}", "--out", str(tmp_path))
    assert done.returncode == 2 and "whole milliseconds" in done.stderr
    assert list(tmp_path.iterdir()) == []


def _log_lines(path) -> int:
    return path.read_bytes().count(b"\n")


def test_blocked_finds_leave_no_trace_in_the_mongod_log(tmp_path):
    """failCommand logs three INFO lines for every find it blocks (1.85 GB in the +5 ms cells of
    one run), and no log setting silences them; the fail point the suite uses logs none. Both
    are measured here, so the check fails if the suite went back to the noisy one."""
    finds = 100
    log = tmp_path / "mongod.log"
    grown, waited = {}, {}
    with EmbeddedMongo(log, test_commands=True) as mongod:
        seed(mongod.url)
        for names in (NAMES, (BLOCK,)):
            fail_point = FailPoint(mongod.url, "battle", names=names)
            try:
                fail_point.set(5)
                before = _log_lines(log)
                started = time.perf_counter()
                for _ in range(finds):
                    fail_point.collection.find_one({"_id": "small"})
                waited[fail_point.name] = time.perf_counter() - started
                time.sleep(0.3)   # mongod writes its lines before it answers; a margin anyway
                grown[fail_point.name] = _log_lines(log) - before
            finally:
                fail_point.close()
    assert set(grown) == {SLEEP, BLOCK}
    assert all(seconds >= finds * 0.005 for seconds in waited.values()), waited   # they waited
    assert grown[SLEEP] < finds / 10, grown
    assert grown[BLOCK] >= 3 * finds, grown


def _wire_gaps_ms(port: int, finds) -> list[float]:
    """Request-to-reply times of MongoDB's own packets on loopback, captured by tcpdump while
    `finds()` runs: a second instrument, independent of the driver's and the suite's clocks."""
    capture = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-tt", "-l", "-q",
                                f"tcp port {port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        time.sleep(1)   # tcpdump has no "listening" signal on stdout; it attaches within this
        finds()
        time.sleep(0.5)
    finally:
        capture.terminate()
        lines = capture.communicate(timeout=10)[0].splitlines()
    sent, gaps = {}, []
    for line in lines:
        # "1764420000.123456 IP 127.0.0.1.41234 > 127.0.0.1.27017: tcp 123"
        parts = line.split()
        if len(parts) < 6 or parts[1] != "IP" or parts[-1] == "0":
            continue
        stamp, source, target = float(parts[0]), parts[2], parts[4].rstrip(":")
        if target.endswith(f".{port}"):
            sent[source] = stamp
        elif source.endswith(f".{port}") and target in sent:
            gaps.append((stamp - sent.pop(target)) * 1000)
    return gaps


def test_the_added_latency_is_on_the_wire_as_the_suite_measured_it(tmp_path):
    """Checked once against a second instrument: the packets MongoDB sends back leave that much
    later (mongod's own profiler does not see the wait: the fail point blocks before the
    command is timed)."""
    with EmbeddedMongo(tmp_path / "mongod.log", test_commands=True) as mongod:
        seed(mongod.url)
        client = MongoClient(mongod.url, maxPoolSize=1)
        collection = client["battle"]["documents"]
        collection.find_one({"_id": "small"})   # connect before capturing

        def finds() -> None:
            for _ in range(40):
                collection.find_one({"_id": "small"})
                time.sleep(0.005)

        fail_point = FailPoint(mongod.url, "battle")
        try:
            fail_point.set(0)
            without = statistics.median(_wire_gaps_ms(mongod.port, finds))
            check = fail_point.set(5)
            with_ = statistics.median(_wire_gaps_ms(mongod.port, finds))
        finally:
            fail_point.close()
            client.close()
    assert with_ - without >= 5
    assert abs((with_ - without) - check.added_ms) < 1.0, (without, with_, check)
