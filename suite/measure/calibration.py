"""How fast this machine's CPUs are at the moment a counted repeat starts: a fixed piece of
interpreted work timed on each CPU in turn, right before the repeat (never during one), and the
time the hypervisor took from each CPU while the repeat ran (steal, /proc/stat).

The spread between fresh starts is shared by consecutive starts of different variants
(docs/profile-study.md, the spread between fresh starts): the machine drifts over minutes. If
its CPUs drift, the same fixed work drifts with them, and a repeat's calibration then tells a
slow minute from a slow server. The work is interpreted Python over a dictionary of about a
megabyte (the servers' own kind of work: bytecode, small objects, a cache-sized working set);
the harness runs it in its own thread, pinned to one CPU at a time, with the servers idle.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

BLOCKS = 5          # timed blocks per CPU; the median is recorded
ITEMS = 20_000      # one block's dictionary entries (a few milliseconds of work)


def _block() -> int:
    table = {i: str(i) for i in range(ITEMS)}
    return sum(len(text) for text in table.values())


def calibrate(cpus: list[int]) -> dict[str, float]:
    """Per CPU (its number, as text), the median wall time in µs of one block of the fixed
    work run on it alone. The caller's CPU affinity is restored afterwards."""
    saved = os.sched_getaffinity(0)
    found: dict[str, float] = {}
    try:
        for cpu in cpus:
            os.sched_setaffinity(0, {cpu})
            _block()                                   # once untimed: caches, the allocator
            times = []
            for _ in range(BLOCKS):
                started = time.perf_counter_ns()
                _block()
                times.append((time.perf_counter_ns() - started) / 1000)
            found[str(cpu)] = round(statistics.median(times), 1)
    finally:
        os.sched_setaffinity(0, saved)
    return found


def steal_ticks(stat: Path = Path("/proc/stat")) -> dict[str, int]:
    """Per CPU (its number, as text), the clock ticks stolen from it so far (the eighth value
    of its `cpuN` line); empty where the kernel does not count them."""
    found = {}
    for line in stat.read_text().splitlines():
        fields = line.split()
        if fields and fields[0].startswith("cpu") and fields[0] != "cpu" and len(fields) > 8:
            found[fields[0][3:]] = int(fields[8])
    return found


def stolen_s(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    """Seconds stolen from each CPU between two readings of steal_ticks."""
    tick = os.sysconf("SC_CLK_TCK")
    return {cpu: round((after[cpu] - ticks) / tick, 2) for cpu, ticks in before.items()
            if cpu in after}
