"""The run's progress lines: where it is in its plan ("[k/N, elapsed, ~left]") and what each
repeat measured, in words (each scenario picks its line). Text only: the runner decides when a
line is said."""

from __future__ import annotations

from collections.abc import Callable

from suite.record.plan import Plan, Session, duration, schedule
from suite.record.results import DbLatencyCheck, RunResult, Sample

Progress = Callable[[str], None]


class Counter:
    """The counted repeats made and planned so far, every sitting included."""

    def __init__(self, plan: Plan, done: int):
        self.plan = plan
        self.done = self.total = done

    def plan_more(self, repeats: int) -> None:
        """`repeats` more are planned beyond those done (a sitting's steps, the capacity
        phase's)."""
        self.total = self.done + repeats

    def tick(self, result: RunResult, capacity: list[Session], elapsed: float) -> str:
        """"[k/N, elapsed, ~left]" for a progress line, after the k-th counted repeat
        (`elapsed`: this sitting's seconds so far)."""
        self.done += 1
        self.total = max(self.total, self.done)
        counts = self.plan.repeat_counts(result)
        left = self.plan.seconds(self.plan.steps(counts))
        if capacity:
            left += self.plan.seconds(schedule(capacity, counts))
        return f"[{self.done}/{self.total}, {duration(elapsed)}, ~{duration(left)} left]"


def repeat_line(tick: str, title: str, number: int, sample: Sample, detail: str) -> str:
    """A closed-loop repeat in words (`detail`: what its scenario adds)."""
    idle = (f" (after {sample.quiet_wait_s:.1f} s waiting for the server to go idle)"
            if sample.quiet_wait_s > 2 else "")
    return (f"{tick} {title} repeat {number}: {sample.ok_rps:,.0f} ok req/s, "
            f"{failures_text(sample)}{detail}"
            + (f", connections {sample.spread.text}" if sample.spread else "") + idle)


def rate_line(tick: str, title: str, number: int, sample: Sample, target: float) -> str:
    """An open-loop repeat in words: its rate, what was answered, its p99."""
    return (f"{tick} {title} ({target:,.0f}/s) repeat {number}: "
            f"{sample.requests / sample.duration_s:,.0f} answered/s, "
            f"p99 {ms_text(sample.latency_us.get('p99'))}, {failures_text(sample)}")


def ms_text(us: float | None) -> str:
    return "–" if us is None else f"{us / 1000:,.1f} ms"


def failures_text(sample: Sample) -> str:
    failed = {k: v for k, v in sample.errors.items() if v}
    return ", ".join(f"{v:,} {k}" for k, v in failed.items()) if failed else "no failure"


def latency_line(check: DbLatencyCheck) -> str:
    """A database latency as the fail point's check measured it, in words."""
    if check.fail_point_cpu_us is None:
        cost = "; mongod's CPU not readable (serverStatus has no extra_info times)"
    else:
        without, with_ = check.fail_point_cpu_us
        cost = f"; mongod CPU per find {without:.0f} -> {with_:.0f} us (the fail point's own cost)"
    return (f"database latency {check.requested_ms} ms: adds {check.added_ms:.2f} ms to a find "
            f"({check.without_p50_ms:.2f} -> {check.with_p50_ms:.2f} ms at the median); "
            f"{check.concurrent} concurrent finds blocked {check.concurrent_block_ms} ms each: "
            f"{check.concurrent_wall_ms:.0f} ms in all" + cost)
