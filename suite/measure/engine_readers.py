"""What a placed run reads through another Docker engine (`docker exec` in a container there):
that container's cgroup (EngineCgroup), its machine's CPUs (EngineMachine) and its network
namespace's listen-queue drops. The Monitor reads them beside the readers of this machine
(suite.measure.resources: /proc and the cgroup files, which start no process); each reading
here is a `docker exec`, and one that fails or gets no answer is no value.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from suite.measure.connections import parse_listen_drops
from suite.measure.resources import parse_proc_stat


def engine_exec(cli: tuple[str, ...], container: str, *argv: str) -> str | None:
    """What `argv` prints in a container on another engine (`cli`: the docker CLI aimed at
    it), or None when it fails or gives no answer within 20 s: readers return no value then."""
    try:
        done = subprocess.run([*cli, "exec", container, *argv], capture_output=True, text=True,
                              timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


@dataclass(frozen=True)
class EngineMachine:
    """Another engine's machine, read through a container on it: /proc/stat is not namespaced,
    so a container reads its host's CPUs (a placed run's "machine" is the server's host)."""

    cli: tuple[str, ...]
    container: str

    def __call__(self) -> tuple[int, int, int] | None:
        text = engine_exec(self.cli, self.container, "cat", "/proc/stat")
        try:
            return parse_proc_stat(text) if text is not None else None
        except (ValueError, IndexError):
            return None


@dataclass(frozen=True)
class EngineCgroup:
    """A container's cgroup on another Docker engine (a placed run), read through that engine:
    `docker exec` of `head` on the files Cgroup reads, inside the container, where Docker
    mounts the container's own cgroup at /sys/fs/cgroup (v1 and v2 alike). `sparse`: an exec
    costs tens of milliseconds of both machines' CPU, so the Monitor reads it only when it
    starts and stops (CPU is a counter: the difference is exact; memory is the two readings)."""

    cli: tuple[str, ...]    # the docker CLI aimed at the container's engine
    container: str
    version: int            # the engine's cgroup version
    sparse = True

    def files(self) -> tuple[str, str, str]:
        if self.version == 1:
            return ("/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/memory/memory.stat",
                    "/sys/fs/cgroup/cpuacct/cgroup.procs")
        return "/sys/fs/cgroup/cpu.stat", "/sys/fs/cgroup/memory.stat", "/sys/fs/cgroup/cgroup.procs"

    def read(self) -> tuple[float, int, int] | None:
        text = engine_exec(self.cli, self.container, "head", "-n", "100000", *self.files())
        return parse_heads(text, self.files(), self.version) if text is not None else None


def parse_heads(text: str, files: tuple[str, str, str], version: int
                ) -> tuple[float, int, int] | None:
    """`head` of the three cgroup files (CPU, memory.stat, procs) -> what Cgroup.read returns."""
    parts: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("==> ") and line.endswith(" <=="):
            current = line[4:-4]
            parts[current] = []
        elif current is not None and line.strip():
            parts[current].append(line)
    cpu, memory, procs = (parts.get(name) for name in files)
    try:
        if version == 1:
            cpu_s = int(cpu[0]) / 1e9
            rss_key = "total_rss"
        else:
            cpu_s = int(dict(line.split() for line in cpu)["usage_usec"]) / 1e6
            rss_key = "anon"
        return cpu_s, int(dict(line.split() for line in memory)[rss_key]), len(procs or [])
    except (TypeError, IndexError, KeyError, ValueError):
        return None


def listen_drops(cli: tuple[str, ...], container: str) -> int | None:
    """Connection attempts dropped at a full listen queue in the network namespace `container`
    is in (a server's host network), read there; None when it cannot be read."""
    text = engine_exec(cli, container, "cat", "/proc/net/netstat")
    return parse_listen_drops(text) if text is not None else None
