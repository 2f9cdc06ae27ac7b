"""Load generation with wrk: build the command, run it, parse the JSON line its Lua script prints."""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from suite.procs import Child
from suite.resources import Cgroup, Monitor
from suite.results import ERROR_KEYS, LATENCY_KEYS, Sample

SCRIPT = Path(__file__).parent / "wrk" / "report.lua"
MARKER = "BATTLE_WRK "


class LoadGenError(Exception):
    """wrk is missing, failed, or printed no result line."""


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadGenError("wrk not found: install it (`apt-get install wrk`, or `make setup` "
                           "as root)")
    return path


def wrk_version(wrk: str) -> str:
    # `wrk -v` prints its banner and usage, and exits 1.
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else ""


@dataclass(frozen=True)
class Wrk:
    binary: str
    threads: int                 # threads available to the load generator (its CPUs)
    timeout_s: int
    cpus: tuple[int, ...] = ()   # pinned CPUs (empty: not pinned)

    def threads_for(self, connections: int) -> int:
        # wrk splits connections evenly over threads and needs connections >= threads.
        return max(1, min(connections, self.threads))

    def args(self, url: str, connections: int, duration_s: int) -> list[str]:
        return ["-t", str(self.threads_for(connections)), "-c", str(connections),
                "-d", f"{duration_s}s", "--timeout", f"{self.timeout_s}s", "--latency",
                "-s", str(SCRIPT), url]

    def run(self, url: str, connections: int, duration_s: int, raw_path: Path,
            relative_to: Path, watch: dict[str, "int | Cgroup | None"] | None = None) -> Sample:
        """One wrk execution. `watch` names what to sample while it runs (role -> process group
        id or container cgroup), CPU and memory, together with wrk's own ("loadgen")."""
        args = self.args(url, connections, duration_s)
        # wrk is the only child reaped while it runs, so the change in RUSAGE_CHILDREN is its
        # CPU time, to its last tick (sampling /proc would miss the time after the last sample).
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        child = Child([self.binary, *args], cpus=self.cpus or None)
        monitor = Monitor({**(watch or {}), "loadgen": child.pid}).start() if watch is not None \
            else None
        try:
            output = child.communicate(timeout=duration_s + self.timeout_s + 30)
        except subprocess.TimeoutExpired:
            raise LoadGenError(f"wrk did not finish within {duration_s + self.timeout_s + 30:.0f} s")
        finally:
            usage = monitor.stop() if monitor else None
            child.stop(grace=2)
        if usage is not None:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            usage["loadgen"]["cpu_cores"] = round(cpu_s / max(time.monotonic() - started, 1e-6), 3)
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        raw_path.write_text(output)
        if child.returncode != 0:
            raise LoadGenError(f"wrk exited with {child.returncode}: {_last_line(output)}")
        sample = parse_output(output, args, str(raw_path.relative_to(relative_to)))
        sample.resources = usage
        return sample


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def parse_output(output: str, wrk_args: list[str], raw_output: str) -> Sample:
    """The Sample from wrk's output: exactly one BATTLE_WRK line is expected."""
    lines = [line[len(MARKER):] for line in output.splitlines() if line.startswith(MARKER)]
    if len(lines) != 1:
        raise LoadGenError(f"expected one {MARKER.strip()} line in wrk output, found "
                           f"{len(lines)}: {_last_line(output)}")
    try:
        data = json.loads(lines[0])
        errors = {key: int(data["errors"][key]) for key in ERROR_KEYS}
        latency = {key: data["latency_us"][key] for key in LATENCY_KEYS}
        return Sample(requests=int(data["requests"]), bytes=int(data["bytes"]),
                      duration_s=int(data["duration_us"]) / 1e6, errors=errors,
                      latency_us={k: None if v is None else float(v) for k, v in latency.items()},
                      wrk_args=wrk_args, raw_output=raw_output)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise LoadGenError(f"malformed wrk result line {lines[0]!r}: {exc}") from None
