"""CPU and memory of each role (server, mongod, load generator) sampled during a measurement.

Read straight from /proc: a role is a process group (every child the suite starts leads its own
group, so a server's workers are in its master's group). CPU is reported in cores (1.0 = one
CPU busy for the whole interval), memory as resident bytes summed over the group.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from suite.procs import all_group_stats

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Usage:
    cpu_cores: float          # mean over the interval
    rss_bytes_max: int
    rss_bytes_mean: int
    processes_max: int

    def to_dict(self) -> dict:
        return {"cpu_cores": round(self.cpu_cores, 3), "rss_bytes_max": self.rss_bytes_max,
                "rss_bytes_mean": self.rss_bytes_mean, "processes_max": self.processes_max}


def _snapshot(pgids: set[int]) -> dict[int, dict[int, tuple[int, int]]]:
    """pgid -> pid -> (cpu ticks utime+stime, rss pages), in one pass over /proc."""
    # Fields from the state on: [11] utime, [12] stime, [21] rss (proc(5) fields 14, 15, 24).
    return {pgid: {pid: (int(f[11]) + int(f[12]), int(f[21])) for pid, f in group.items()}
            for pgid, group in all_group_stats(pgids).items()}


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


class Monitor:
    """Samples process groups by role on a background thread between start() and stop()."""

    def __init__(self, roles: dict[str, int | None], interval_s: float = 0.5):
        self.roles = {role: pgid for role, pgid in roles.items() if pgid}
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first: dict[str, dict[int, int]] = {}
        self._last: dict[str, dict[int, int]] = {}
        self._rss: dict[str, list[int]] = {}
        self._procs: dict[str, int] = {}
        self._started = 0.0
        self._machine_start = (0, 0)

    def start(self) -> "Monitor":
        self._started = time.monotonic()
        self._machine_start = machine_cpu_ticks()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="resource-monitor", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        snapshots = _snapshot(set(self.roles.values()))
        for role, pgid in self.roles.items():
            snapshot = snapshots.get(pgid, {})
            first = self._first.setdefault(role, {})
            last = self._last.setdefault(role, {})
            for pid, (ticks, _) in snapshot.items():
                first.setdefault(pid, ticks)  # a process born mid-interval counts from then
                last[pid] = ticks
            self._rss.setdefault(role, []).append(
                sum(rss for _, rss in snapshot.values()) * PAGE_SIZE)
            self._procs[role] = max(self._procs.get(role, 0), len(snapshot))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def stop(self) -> dict:
        """Usage per role plus the machine's overall CPU use, as plain dicts for results."""
        self._sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        busy0, total0 = self._machine_start
        busy1, total1 = machine_cpu_ticks()
        usage: dict = {}
        for role in self.roles:
            ticks = sum(self._last[role][pid] - self._first[role][pid] for pid in self._last[role])
            rss = self._rss[role]
            usage[role] = Usage(cpu_cores=ticks / CLOCK_TICKS / elapsed, rss_bytes_max=max(rss),
                                rss_bytes_mean=int(sum(rss) / len(rss)),
                                processes_max=self._procs[role]).to_dict()
        cpus = os.cpu_count() or 1
        usage["machine"] = {"cpu_cores": round((busy1 - busy0) / max(total1 - total0, 1) * cpus, 3),
                            "cpus": cpus}
        return usage
