"""What the numbers depend on, read off the machine: recorded in every results file."""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from suite import REPO_ROOT, __version__


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model() -> str | None:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def os_name() -> str | None:
    for line in (_read("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return None


def memory_total_bytes() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


# What a run writes into the tree itself (the reports index and latest.md): a change there
# cannot change a measurement, so it does not make the next run "dirty".
OUTPUTS = ("reports",)


def _git(root: Path, *args: str) -> bytes | None:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(root: Path = REPO_ROOT) -> dict[str, str | bool | None]:
    """The commit the suite runs from and whether its tracked files differ from it: a run from
    a changed tree records the hash of `git diff HEAD`, so nobody mistakes it for the commit.
    The suite's own outputs (OUTPUTS) are left out of the comparison."""
    commit = _git(root, "rev-parse", "--short=12", "HEAD")
    if not commit:
        return {"git_commit": None, "git_dirty": None, "git_diff_sha256": None}
    diff = _git(root, "diff", "HEAD", "--binary", "--", ".",
                *(f":(exclude){path}" for path in OUTPUTS))
    dirty = None if diff is None else bool(diff)
    return {"git_commit": commit.decode().strip(), "git_dirty": dirty,
            "git_diff_sha256": hashlib.sha256(diff).hexdigest() if diff else None}


def cpu_frequency_policy() -> dict[str, str | None]:
    """Scaling governor and turbo state where the kernel exposes them (often not in VMs)."""
    no_turbo = _read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = _read("/sys/devices/system/cpu/cpufreq/boost")
    turbo = ("off" if no_turbo == "1" else "on") if no_turbo is not None else (
        ("on" if boost == "1" else "off") if boost is not None else None)
    return {"governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
            "turbo": turbo}


ADDR_NO_RANDOMIZE = 0x0040000   # the personality flag `setarch -R` sets (linux/personality.h)


def randomization() -> dict[str, int | str | bool | None]:
    """What makes one server start differ from the next by chance, as its children inherit it:
    the kernel's address-space randomization (randomize_va_space: 0 off, 1 partial, 2 full),
    whether this process runs with it disabled by personality (`setarch -R`), and Python's hash
    seed (PYTHONHASHSEED: unset means a random seed per process). docs/profile-study.md says
    what each does to the spread between starts."""
    personality = _read("/proc/self/personality")
    return {"randomize_va_space": _int_or_none(_read("/proc/sys/kernel/randomize_va_space")),
            "addr_no_randomize": (bool(int(personality, 16) & ADDR_NO_RANDOMIZE)
                                  if personality else None),
            "python_hash_seed": os.environ.get("PYTHONHASHSEED", "random")}


def container_limits() -> dict[str, str | None]:
    """The cgroup limits this process runs under (v2 first, then v1); None where unlimited."""
    cpu_max = _read("/sys/fs/cgroup/cpu.max")
    if cpu_max is None:
        quota = _read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
        period = _read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
        cpu_max = None if quota in (None, "-1") else f"{quota} {period}"
    elif cpu_max.startswith("max"):
        cpu_max = None
    memory = _read("/sys/fs/cgroup/memory.max") or _read("/sys/fs/cgroup/memory/memory.limit_in_bytes")
    if memory is not None and (memory == "max" or int(memory) >= 2**62):
        memory = None
    cpuset = _read("/sys/fs/cgroup/cpuset.cpus.effective") or _read("/sys/fs/cgroup/cpuset/cpuset.cpus")
    return {"cpu_max": cpu_max, "memory_max": memory, "cpuset": cpuset}


def installed_packages() -> dict[str, str]:
    """Every distribution in this interpreter's environment (what `pip freeze` would list)."""
    found = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name.lower()] = dist.version
    return dict(sorted(found.items()))


def package_versions(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Installed versions in this interpreter's environment ("missing" when not installed)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def collect() -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "memory_bytes": memory_total_bytes(),
        "os": os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "nofile_soft": soft,
        "nofile_hard": hard,
        "somaxconn": _int_or_none(_read("/proc/sys/net/core/somaxconn")),
        "tcp_max_syn_backlog": _int_or_none(_read("/proc/sys/net/ipv4/tcp_max_syn_backlog")),
        "load_average": list(os.getloadavg()),
        "cpu_frequency": cpu_frequency_policy(),
        "container_limits": container_limits(),
        "randomization": randomization(),
        "suite_version": __version__,
        **git_state(),
        # Local servers run in this interpreter's environment: these are their versions too.
        "packages": installed_packages(),
    }
