"""What the numbers depend on, read off the machine: recorded in every results file."""

from __future__ import annotations

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


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty",
                              "--abbrev=12"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


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
        "suite_version": __version__,
        "git_commit": git_commit(),
        "suite_packages": package_versions(["pymongo"]),
    }
