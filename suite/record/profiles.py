"""Profiles: how long and how often each cell is measured."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from suite.record.catalog import DEFAULT_MAX_CONNECTIONS


@dataclass(frozen=True)
class Profile:
    name: str
    # wrk takes whole seconds for -d and --timeout.
    duration_s: int          # one counted wrk run
    warmup_s: int            # one uncounted wrk run before the repeats of every cell (0: none)
    repeats: int             # counted repeats every cell gets
    timeout_s: int           # slower responses are late, unanswered ones lost
    connections: tuple[int, ...] = (200, 1000, DEFAULT_MAX_CONNECTIONS)
    docs: tuple[str, ...] = ("small", "large")
    ready_timeout_s: float = 60.0
    pause_s: float = 1.0     # between cells, so sockets from the last one drain
    primer_s: int = 1        # after each server start: low-concurrency load, not counted
    interleave: bool = True  # repeat r of every variant before repeat r+1 of any
    # Open-loop cells after the closed-loop ones: rates as given ("800", or "50%" of the
    # capacity measured closed-loop in the same run), and the latency objective they are
    # judged by ("p99=100ms": capacity = the highest rate whose p99 stays within 100 ms).
    rates: tuple[str, ...] = ()
    slo: str = "p99=100ms"
    # Which variants get those open-loop cells: "every" (each session measures its variant's
    # rate cells after its closed-loop ones) or "top" (one phase after the closed-loop rounds:
    # per cell only its leader and the stacks tied with it, suite.record.plan.capacity_sessions;
    # what a whole matrix can afford).
    rates_for: str = "every"
    # Milliseconds every MongoDB find waits before it answers, one cell dimension like the
    # connections: (0,) is MongoDB as it is; (0, 1, 5) models a database 1 and 5 ms away.
    db_latencies_ms: tuple[int, ...] = (0,)
    # Precision-driven repeats (pyperf's and hyperfine's idea): every cell gets `repeats`; a cell
    # whose successful req/s still varies more than `target_cv` (stdev / mean over its repeats)
    # gets one more in a further round, up to `max_repeats`, while the precision budget lasts:
    # `precision_share` of the base plan's expected time (suite.record.plan). max_repeats
    # None: fixed.
    max_repeats: int | None = None
    target_cv: float = 0.10
    precision_share: float = 0.0
    # A cell is healthy when its attempts, pooled over its repeats, failed at most this share,
    # and no repeat more (suite.record.health); rankings and the answer rank healthy cells only.
    max_failed_share: float = 0.01

    @property
    def repeat_cap(self) -> int:
        """The most counted repeats a cell can get."""
        return max(self.repeats, self.max_repeats or self.repeats)

    def with_overrides(self, **changes: object) -> "Profile":
        profile = replace(self, **{k: v for k, v in changes.items() if v is not None})
        if profile.duration_s < 1 or profile.timeout_s < 1 or profile.repeats < 1:
            raise ValueError("duration, timeout and repeats must be at least 1")
        if profile.max_repeats is not None and profile.max_repeats < profile.repeats:
            # --repeats above the profile's cap: the cap follows (a fixed number of repeats).
            profile = replace(profile, max_repeats=profile.repeats)
        for spec in profile.rates:
            rate_spec(spec)
        if profile.rates_for not in RATES_FOR:
            raise ValueError(f"rates for {profile.rates_for!r}: give one of "
                             + ", ".join(RATES_FOR))
        if profile.rates_for == "top" and not profile.rates:
            raise ValueError("open-loop cells for the top group (--rates-for top) need the "
                             "rates to measure (--rate, e.g. 25%,50%,90%)")
        if not profile.db_latencies_ms or any(ms < 0 for ms in profile.db_latencies_ms):
            raise ValueError("database latencies are whole milliseconds, 0 or more")
        parse_slo(profile.slo)
        if profile.timeout_s >= profile.duration_s:
            raise ValueError(f"the timeout ({profile.timeout_s} s) must be shorter than the "
                             f"duration ({profile.duration_s} s), or no request could ever be "
                             "counted late or lost")
        return profile

    def to_dict(self) -> dict:
        data = asdict(self)
        data["connections"] = list(self.connections)
        data["docs"] = list(self.docs)
        data["rates"] = list(self.rates)
        data["db_latencies_ms"] = list(self.db_latencies_ms)
        if self.rates_for == "every":
            # The default, and what every results file before the setting means: left out,
            # so a run with rates for every variant writes its profile as it always did.
            del data["rates_for"]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{**{k: v for k, v in data.items() if k in known},
                      "connections": tuple(data["connections"]), "docs": tuple(data["docs"]),
                      "rates": tuple(data.get("rates", ())),
                      "db_latencies_ms": tuple(int(ms) for ms in data.get("db_latencies_ms",
                                                                         (0,)))})


# Who gets the open-loop cells (Profile.rates_for): every variant, or each cell's top group.
RATES_FOR = ("every", "top")


def rate_spec(spec: str) -> tuple[float, bool]:
    """"800" -> (800.0, False): req/s; "50%" -> (0.5, True): a share of the closed-loop capacity."""
    text = spec.strip()
    share = text.endswith("%")
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ValueError(f"rate {spec!r}: give requests per second (800) or a share of the "
                         "closed-loop capacity (50%)")
    return (value / 100, True) if share else (value, False)


def parse_db_latencies(text: str) -> tuple[int, ...]:
    """"0,1ms,5ms" -> (0, 1, 5). Whole milliseconds: MongoDB's fail point blocks in whole ms;
    a bare number is milliseconds. Each level once, in the order given."""
    levels = []
    for part in (p.strip() for p in text.split(",")):
        number = part.removesuffix("ms")
        if not number.isdigit():
            raise ValueError(f"database latency {part!r}: give whole milliseconds, 0 or more, "
                             "like 0, 1ms or 5ms (a list: 0,1ms,5ms)")
        levels.append(int(number))
    return tuple(dict.fromkeys(levels))


def parse_slo(slo: str) -> tuple[str, float]:
    """"p99=100ms" -> ("p99", 100.0): a latency percentile and its limit in milliseconds."""
    key, _, limit = slo.partition("=")
    try:
        if key not in ("p50", "p75", "p90", "p99", "p99.9") or not limit.endswith("ms"):
            raise ValueError
        value = float(limit[:-2])
    except ValueError:
        raise ValueError(f"SLO {slo!r}: give a percentile and a limit, e.g. p99=100ms") from None
    return key, value


# The timeout is what a response may take before it counts as a failure (late if it arrives
# after it, lost if it never does) and is left out of the latency figures. It must be shorter
# than a repeat, or a lost request could never be seen. 10 s in the measuring profiles: at 5000
# connections a closed-loop client queues for seconds behind a server doing ~1-2k req/s
# (Little's law), and those tails belong in the latency figures, not in the failures.
DEFAULT_PROFILE = "adaptive"   # `battle run` and `make bench-all` alike
PROFILES = {
    # A look at the whole matrix in minutes; its 4 s timeout fails the slowest 5000-connection
    # cells that the 10 s of the other profiles would still measure.
    "quick": Profile("quick", duration_s=8, warmup_s=2, repeats=1, timeout_s=4),
    # The measuring profile: every variant × both documents × 200/1000/5000 in about 1.5 hours
    # on two CPUs. Chosen from data (docs/profile-study.md): the spread between repeats comes
    # mostly from one server start to the next (median CV 5-6% at 5 or 10 s, 4% at 30 s), so
    # three 10 s repeats from fresh servers buy as much precision as three 30 s ones nearly, a
    # per-cell warmup changed no cell beyond noise, and precision rounds go where the repeats
    # disagree. Timeout 8 s as TechEmpower's wrk runs use; no pause (the idle wait suffices).
    "adaptive": Profile("adaptive", duration_s=10, warmup_s=0, repeats=3, timeout_s=8,
                        pause_s=0.0, max_repeats=5, target_cv=0.10, precision_share=0.2),
    # The 2014 study's method: 30 s per cell, 3 runs.
    "standard": Profile("standard", duration_s=30, warmup_s=5, repeats=3, timeout_s=10),
    "rigorous": Profile("rigorous", duration_s=30, warmup_s=10, repeats=5, timeout_s=10),
}
