"""CPU and memory of each role (server, mongod, load generator) sampled during a measurement.

A role is either a process group, read straight from /proc (every child the local runtime starts
leads its own group, so a server's workers are in its master's group), or a container's cgroup
(`Cgroup`, docker runtime), read from the cgroup filesystem, v1 or v2. CPU is reported in cores
(1.0 = one CPU busy for the whole interval). Memory of a process group is its PSS (proportional
set size, /proc/PID/smaps_rollup) summed over the group: a page shared by N processes (a prefork
master's code and heap after fork) counts 1/N in each, so the sum is what the group occupies,
where summed RSS would count shared pages N times. A container's memory is its cgroup's
anonymous memory (page cache left out). Each role's record names which (`Usage.memory`).

Everything here reads files of this machine and starts no process. A container on another
Docker engine is read through that engine (suite.measure.engine_readers: EngineCgroup,
EngineMachine); the Monitor samples those as it samples a Cgroup.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from suite.measure.procs import all_group_stats
from suite.record.results import Usage

SAMPLE_INTERVAL_S = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def pss_bytes(pid: int) -> int | None:
    """The process's proportional set size; None where smaps_rollup cannot be read (a kernel
    older than 4.14, or a process that just exited)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _snapshot(pgids: set[int]) -> dict[int, dict[int, tuple[int, int | None, int]]]:
    """pgid -> pid -> (cpu ticks utime+stime, PSS bytes or None, RSS bytes), in one pass over
    /proc."""
    # Fields from the state on: [11] utime, [12] stime, [21] rss (proc(5) fields 14, 15, 24).
    return {pgid: {pid: (int(f[11]) + int(f[12]), pss_bytes(pid), int(f[21]) * PAGE_SIZE)
                   for pid, f in group.items()}
            for pgid, group in all_group_stats(pgids).items()}


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    busy, total, _ = parse_proc_stat(Path("/proc/stat").read_text())
    return busy, total


def parse_proc_stat(text: str) -> tuple[int, int, int]:
    """(busy, total) jiffies over all CPUs and the number of CPUs, from /proc/stat's text."""
    lines = text.splitlines()
    values = [int(v) for v in lines[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    cpus = sum(1 for line in lines[1:] if line.startswith("cpu") and line[3:4].isdigit())
    return sum(values) - idle, sum(values), cpus


def local_machine() -> tuple[int, int, int] | None:
    """This machine's (busy, total, CPUs): the "machine" the Monitor reports by default."""
    busy, total = machine_cpu_ticks()
    return busy, total, os.cpu_count() or 1


class CgroupError(Exception):
    """A process's cgroup cannot be found or read."""


def _cgroup_mounts(mountinfo: str) -> dict[str, tuple[str, Path]]:
    """Controller ("cpuacct", "memory"; "" for the v2 unified tree) -> (the cgroup path mounted
    there, mount point). The root is "/" on a host; inside a cgroup namespace it may not be."""
    mounts: dict[str, tuple[str, Path]] = {}
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        if tail[0] == "cgroup2":
            mounts.setdefault("", (fields[3], Path(fields[4])))
        elif tail[0] == "cgroup":
            for option in tail[2].split(","):
                mounts.setdefault(option, (fields[3], Path(fields[4])))
    return mounts


def _under(mount: tuple[str, Path], path: str) -> Path:
    root, point = mount
    relative = PurePosixPath(path).relative_to(root) if path.startswith(root) else path
    return point / str(relative).lstrip("/")


@dataclass(frozen=True)
class Cgroup:
    """A container's cgroup: everything in it, processes that already exited included.

    v1 (cgroupfs): CPU from cpuacct.usage (ns), memory from memory.stat's total_rss, processes
    from cgroup.procs. v2: cpu.stat's usage_usec, memory.stat's anon, cgroup.procs.
    """

    version: int
    cpu: Path       # directory holding the CPU accounting file
    memory: Path    # directory holding memory.stat
    procs: Path     # cgroup.procs

    @classmethod
    def of_pid(cls, pid: int, proc: Path = Path("/proc")) -> "Cgroup":
        try:
            mounts = _cgroup_mounts((proc / "self" / "mountinfo").read_text())
            lines = (proc / str(pid) / "cgroup").read_text().splitlines()
        except OSError as exc:
            raise CgroupError(f"cannot read the cgroup of process {pid}: {exc.strerror}") from None
        paths: dict[str, str] = {}
        for line in lines:
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
        if "cpuacct" in mounts and "memory" in mounts and "cpuacct" in paths and "memory" in paths:
            cpu = _under(mounts["cpuacct"], paths["cpuacct"])
            return cls(1, cpu, _under(mounts["memory"], paths["memory"]), cpu / "cgroup.procs")
        if "" in mounts and "" in paths:
            unified = _under(mounts[""], paths[""])
            return cls(2, unified, unified, unified / "cgroup.procs")
        raise CgroupError(f"no cpuacct/memory (v1) or unified (v2) cgroup for process {pid}")

    def read(self) -> tuple[float, int, int] | None:
        """(CPU seconds so far, anonymous memory bytes, processes), or None once the cgroup is
        gone."""
        try:
            if self.version == 1:
                cpu_s = int((self.cpu / "cpuacct.usage").read_text()) / 1e9
                rss_key = "total_rss"
            else:
                stat = dict(line.split() for line in (self.cpu / "cpu.stat").read_text().splitlines())
                cpu_s = int(stat["usage_usec"]) / 1e6
                rss_key = "anon"
            memory = dict(line.split() for line in (self.memory / "memory.stat").read_text()
                          .splitlines())
            processes = len((self.procs).read_text().split())
            return cpu_s, int(memory[rss_key]), processes
        except (OSError, KeyError, ValueError):
            return None


class Monitor:
    """Samples roles (process groups or cgroups) on a background thread between start() and
    stop()."""

    def __init__(self, roles: dict[str, "int | list[int] | Cgroup | None"],
                 interval_s: float = SAMPLE_INTERVAL_S, machine=local_machine):
        # `machine`: reads (busy, total, CPUs) of the machine reported as "machine", at the
        # start and the stop (None when unreadable: no "machine" then).
        self.machine = machine
        # role -> the cgroups, or the process groups, it sums (several: the instances of a
        # deployment).
        members = {role: tuple(w if isinstance(w, list) else [w]) for role, w in roles.items()
                   if w}
        # A cgroup, here or through an engine (anything with read(): Cgroup, and
        # engine_readers.EngineCgroup); else process groups.
        self.cgroups = {role: ws for role, ws in members.items()
                        if all(hasattr(w, "read") for w in ws)}
        self.roles = {role: ws for role, ws in members.items()
                      if not any(hasattr(w, "read") for w in ws)}
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._first: dict[str, dict[int, int]] = {}
        self._last: dict[str, dict[int, int]] = {}
        self._memory: dict[str, list[int]] = {}
        self._rss_used: set[str] = set()   # roles where some process's PSS was unreadable
        self._procs: dict[str, int] = {}
        self._cpu_s: dict[str, list[float]] = {}   # cgroup role -> [first, last] CPU seconds
        self._started = 0.0
        self._machine_start: tuple[int, int, int] | None = None

    def start(self) -> "Monitor":
        self._started = time.monotonic()
        self._machine_start = self.machine()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="resource-monitor", daemon=True)
        self._thread.start()
        return self

    def _sample(self, every: bool = True) -> None:
        """Read every role; `every` False (the background thread): the sparse ones not."""
        snapshots = _snapshot({pgid for pgids in self.roles.values() for pgid in pgids})
        for role, pgids in self.roles.items():
            snapshot = {pid: values for pgid in pgids
                        for pid, values in snapshots.get(pgid, {}).items()}
            first = self._first.setdefault(role, {})
            last = self._last.setdefault(role, {})
            for pid, (ticks, _, _) in snapshot.items():
                first.setdefault(pid, ticks)  # a process born mid-interval counts from then
                last[pid] = ticks
            # A process whose PSS could not be read counts with its RSS, and the role says so.
            if any(pss is None for _, pss, _ in snapshot.values()):
                self._rss_used.add(role)
            self._memory.setdefault(role, []).append(
                sum(rss if pss is None else pss for _, pss, rss in snapshot.values()))
            self._procs[role] = max(self._procs.get(role, 0), len(snapshot))
        for role, cgroups in self.cgroups.items():
            if not every and any(getattr(cgroup, "sparse", False) for cgroup in cgroups):
                continue
            readings = [cgroup.read() for cgroup in cgroups]
            if any(reading is None for reading in readings):
                continue
            cpu_s, rss, processes = (sum(values) for values in zip(*readings))
            self._cpu_s.setdefault(role, [cpu_s, cpu_s])[1] = cpu_s
            self._memory.setdefault(role, []).append(rss)
            self._procs[role] = max(self._procs.get(role, 0), processes)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample(every=False)

    def stop(self) -> dict[str, Usage]:
        """Usage per role plus the machine's overall CPU use ("machine")."""
        self._sample()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        elapsed = max(time.monotonic() - self._started, 1e-6)
        machine_end = self.machine()
        usage: dict[str, Usage] = {}

        def record(role: str, cpu_s: float, memory: str) -> Usage:
            values = self._memory[role]
            return Usage(cpu_cores=round(cpu_s / elapsed, 3), memory_bytes_max=max(values),
                         memory_bytes_mean=int(sum(values) / len(values)),
                         processes_max=self._procs.get(role, 0), memory=memory)

        for role in self.roles:
            ticks = sum(self._last[role][pid] - self._first[role][pid] for pid in self._last[role])
            usage[role] = record(role, ticks / CLOCK_TICKS,
                                 "pss+rss" if role in self._rss_used else "pss")
        for role in self.cgroups:
            if role not in self._cpu_s:
                continue   # never readable: no number rather than a zero that looks measured
            first, last = self._cpu_s[role]
            usage[role] = record(role, last - first, "cgroup-anon")
        if self._machine_start is not None and machine_end is not None:
            (busy0, total0, _), (busy1, total1, cpus) = self._machine_start, machine_end
            usage["machine"] = Usage(
                cpu_cores=round((busy1 - busy0) / max(total1 - total0, 1) * cpus, 3), cpus=cpus)
        return usage
