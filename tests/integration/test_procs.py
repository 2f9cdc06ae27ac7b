"""Owned child processes: pinned, grouped, and stopped with everything they forked."""

import os
import sys
from pathlib import Path

from suite.procs import Child, group_members


def test_child_is_pinned_and_stopped_with_its_whole_group(tmp_path):
    cpu = sorted(os.sched_getaffinity(0))[-1]
    # A parent that forks a grandchild which ignores SIGTERM: the group stop must still end it.
    script = ("import os, signal, time\n"
              "if os.fork() == 0:\n"
              "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "print('ready', flush=True)\n"
              "time.sleep(60)\n")
    child = Child([sys.executable, "-c", script], log_path=tmp_path / "log", cpus=[cpu])
    while "ready" not in (tmp_path / "log").read_text():
        pass
    members = group_members(child.pid)
    assert len(members) == 2
    for pid in members:
        allowed = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("Cpus_allowed_list"))
        assert allowed.split()[-1] == str(cpu)
    child.stop(grace=1)
    assert group_members(child.pid) == []
    assert not child.alive()
