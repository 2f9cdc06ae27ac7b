"""Owned child processes: pinned, grouped, and stopped with everything they forked."""

import os
import sys
import time
from pathlib import Path

import pytest

from suite.measure.procs import Child, group_members

pytestmark = pytest.mark.integration


def test_child_is_pinned_and_stopped_with_its_whole_group(tmp_path):
    cpu = sorted(os.sched_getaffinity(0))[-1]
    # A parent that forks a grandchild which ignores SIGTERM: the group stop must still end it.
    script = ("import os, signal, time\n"
              "if os.fork() == 0:\n"
              "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "print('ready', flush=True)\n"
              "time.sleep(60)\n")
    child = Child([sys.executable, "-c", script], log_path=tmp_path / "log", cpus=[cpu])
    deadline = time.monotonic() + 30
    while "ready" not in (tmp_path / "log").read_text():
        if time.monotonic() > deadline:
            child.stop(grace=1)
            pytest.fail(f"the child printed no 'ready' within 30 s: {child.log_tail()!r}")
        time.sleep(0.05)
    members = group_members(child.pid)
    assert len(members) == 2
    for pid in members:
        allowed = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("Cpus_allowed_list"))
        assert allowed.split()[-1] == str(cpu)
    child.stop(grace=1)
    assert group_members(child.pid) == []
    assert not child.alive()


def test_monitor_measures_a_busy_process_group(tmp_path):
    from suite.measure.resources import Monitor

    burner = Child([sys.executable, "-c", "while True: pass"], log_path=tmp_path / "burn")
    try:
        time.sleep(0.3)
        monitor = Monitor({"burner": burner.pid, "absent": 2**22 + 1}, interval_s=0.2).start()
        time.sleep(1.5)
        usage = monitor.stop()
    finally:
        burner.stop(grace=1)
    # One busy-looping process: about one core (less when the machine is shared).
    assert 0.3 < usage["burner"].cpu_cores <= 1.1
    assert usage["burner"].memory_bytes_max > 2**20 and usage["burner"].processes_max == 1
    assert usage["burner"].memory == "pss"
    assert usage["absent"].cpu_cores == 0 and usage["absent"].processes_max == 0
    assert 0 < usage["machine"].cpu_cores <= usage["machine"].cpus


def test_memory_of_a_prefork_group_counts_shared_pages_once(tmp_path):
    """A parent touches 64 MiB and forks three children that only read it (copy-on-write): the
    group occupies ~64 MiB, which PSS says, where RSS summed over the four says ~256."""
    from suite.measure.resources import Monitor, pss_bytes

    script = ("import os, time\n"
              "data = bytearray(64 * 2**20)\n"
              "for i in range(0, len(data), 4096): data[i] = 1\n"
              "for _ in range(3):\n"
              "    if os.fork() == 0:\n"
              "        break\n"
              "print('ready', flush=True)\n"
              "time.sleep(60)\n")
    group = Child([sys.executable, "-c", script], log_path=tmp_path / "log")
    try:
        deadline = time.monotonic() + 30
        while (tmp_path / "log").read_text().count("ready") < 4:
            if time.monotonic() > deadline:
                pytest.fail(f"the group printed no 4 'ready' within 30 s: {group.log_tail()!r}")
            time.sleep(0.05)
        members = group_members(group.pid)
        rss = sum(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf(
            "SC_PAGE_SIZE") for pid in members)
        pss = sum(pss_bytes(pid) for pid in members)
        usage = Monitor({"group": group.pid}, interval_s=0.2).start().stop()
    finally:
        group.stop(grace=1)
    assert len(members) == 4
    assert rss > 4 * 64 * 2**20 and 64 * 2**20 < pss < 2 * 64 * 2**20
    assert abs(usage["group"].memory_bytes_max - pss) < 16 * 2**20


def test_a_server_master_stopped_alone_takes_its_workers_down(tmp_path):
    # What happens when the suite itself is killed: only the master gets SIGTERM (its
    # parent-death signal). Every multi-process server must then end its workers itself.
    import signal

    from suite.measure.verify import wait_ready
    from tests.conftest import start_variant

    for name in ("tornado-pymongo-async", "flask-gunicorn-gevent", "fastapi-uvicorn"):
        server = start_variant(name, "mongodb://127.0.0.1:9", tmp_path / f"{name}.log")
        try:
            wait_ready(server, 60)
            assert len(group_members(server.child.pid)) >= 3, name  # master + 2 workers
            os.kill(server.child.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while group_members(server.child.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if group_members(server.child.pid):
                pytest.fail(f"{name}: workers outlived their master")
        finally:
            server.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_swallowed_by_a_finalizer_still_stops_the_run(monkeypatch):
    # Python drops an exception raised inside __del__: a Ctrl-C that lands there must not be lost.
    import signal

    from suite.measure import procs

    monkeypatch.setattr(procs, "_interrupted", False)

    class Finalized:
        def __del__(self):
            procs.interrupt(signal.SIGINT, None)

    Finalized()   # prints "Exception ignored in ... KeyboardInterrupt" and goes on
    child = Child(["sleep", "30"])
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        child.communicate(timeout=60)
    assert time.monotonic() - started < 5
    child.stop(grace=1)
    assert not child.alive()
