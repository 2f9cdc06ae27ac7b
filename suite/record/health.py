"""The one health rule: a cell is healthy when the attempts of all its repeats, pooled, failed at
most the run's threshold (`Profile.max_failed_share`, 1%) and no single repeat failed more. A
cell that fails more than that is never ranked, never a leader, never a ratio's denominator;
tables and charts show it marked with its pooled failed share and, where worse, its worst
repeat's. Everything that ranks (the answer, the top groups, the charts, the study, the index)
asks this module, so the rule the README states is the rule every surface applies."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Health:
    pooled: float          # failed attempts ÷ attempts, pooled over every counted repeat
    worst: float           # the worst repeat's failed share
    limit: float           # the run's threshold

    @property
    def healthy(self) -> bool:
        return self.pooled <= self.limit and self.worst <= self.limit


def of(repeats, limit: float) -> Health | None:
    """The health of a cell from its counted repeats (objects with `attempts`,
    `failed_attempts` and `error_rate`); None: nothing counted."""
    repeats = list(repeats)
    if not repeats:
        return None
    attempts = sum(s.attempts for s in repeats)
    pooled = sum(s.failed_attempts for s in repeats) / attempts if attempts else 0.0
    return Health(pooled, max(s.error_rate for s in repeats), limit)
