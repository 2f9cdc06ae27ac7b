"""Is one stack ahead of another beyond the noise of the repeats? The one rule every section of
a report uses (the answer, findings, sweeps, the 2014 study, `battle compare`).

Two cells are compared by the ratio of their medians (what tables show) and tested by Welch's
t-test on their means (what the repeats support), two-sided; a family of such comparisons (the
cells of one report section) is corrected with Holm's method, so the chance of calling any of
them real by luck stays below ALPHA. A lead is *beyond noise* when the adjusted p is below ALPHA
and the means point the same way as the medians. Single repeats, or repeats without spread, are
not tested: nothing is claimed about them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from suite.record import stats
from suite.record.stats import ALPHA

ONE_REPEAT = "one repeat"
NO_SPREAD = "every repeat gave the same figure"


@dataclass(frozen=True)
class Lead:
    """`ahead` against `behind` (successful req/s per repeat)."""

    ahead: tuple[float, ...]
    behind: tuple[float, ...]
    ratio: float | None                # median(ahead) ÷ median(behind)
    p: float | None = None             # Welch, two-sided; None: not tested (see untested)
    t: float | None = None             # > 0: ahead's mean is above behind's
    p_adjusted: float | None = None    # after Holm's correction over its family
    family: int = 1                    # how many tests the correction ran over
    untested: str | None = None        # why it was not tested

    @property
    def tested(self) -> bool:
        return self.p is not None

    @property
    def agree(self) -> bool:
        """The means point the way the medians do."""
        return (self.t is not None and self.ratio is not None
                and (self.t > 0) == (self.ratio > 1))

    @property
    def beyond_noise(self) -> bool:
        adjusted = self.p if self.p_adjusted is None else self.p_adjusted
        return adjusted is not None and adjusted < ALPHA and self.agree

    @property
    def text(self) -> str:
        """"beyond noise (Welch p = 0.004, Holm over 6: 0.021)", "within noise (...)", or why
        it was not tested."""
        if not self.tested:
            return f"not tested ({self.untested})"
        holm = (f", Holm over {self.family}: {self.p_adjusted:.3f}"
                if self.p_adjusted is not None and self.family > 1 else "")
        verdict = "beyond noise" if self.beyond_noise else "within noise"
        return f"{verdict} (Welch p = {self.p:.3f}{holm})"


def lead(ahead: Sequence[float], behind: Sequence[float]) -> Lead:
    """One comparison, untested where the repeats cannot support a test."""
    a, b = tuple(ahead), tuple(behind)
    ma, mb = stats.median(a), stats.median(b)
    ratio = ma / mb if ma is not None and mb else None
    if min(len(a), len(b)) < 2:
        return Lead(a, b, ratio, untested=ONE_REPEAT)
    if stats.no_spread(b, a):
        return Lead(a, b, ratio, untested=NO_SPREAD)
    test = stats.welch(b, a)
    return Lead(a, b, ratio, p=test.p, t=test.t)


def family(leads: Sequence[Lead]) -> list[Lead]:
    """The leads of one family, each with its Holm-adjusted p (untested ones unchanged)."""
    tested = [i for i, x in enumerate(leads) if x.tested]
    adjusted = stats.holm([leads[i].p for i in tested])
    result = list(leads)
    for i, p in zip(tested, adjusted):
        result[i] = dataclasses.replace(result[i], p_adjusted=p, family=len(tested))
    return result
