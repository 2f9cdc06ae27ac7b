"""Statistics over repeats: plain functions on lists of numbers, no dependencies.

Repeats are few (3 in `standard`, 5 in `rigorous`), so intervals and tests use Student's t
distribution, computed here from the regularized incomplete beta function.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

UNSTABLE_CV = 0.10  # a cell whose coefficient of variation exceeds this is flagged
ALPHA = 0.05        # a difference is "beyond noise" below this (adjusted) p-value


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def stdev(values: Sequence[float]) -> float | None:
    """Sample standard deviation; None below two values."""
    return statistics.stdev(values) if len(values) >= 2 else None


def cv(values: Sequence[float]) -> float | None:
    """Coefficient of variation (stdev / mean); None below two values or at a zero mean."""
    s, m = stdev(values), mean(values)
    if s is None or not m:
        return None
    return s / abs(m)


def _betacf(a: float, b: float, x: float) -> float:
    # Continued fraction for the incomplete beta function (modified Lentz's method).
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with df degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t such that P(T <= t) = p (bisection on t_cdf; p in (0, 1))."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def ci95(values: Sequence[float]) -> tuple[float, float] | None:
    """95% confidence interval of the mean (Student's t); None below two values."""
    if len(values) < 2:
        return None
    m, s = statistics.fmean(values), statistics.stdev(values)
    half = t_quantile(0.975, len(values) - 1) * s / math.sqrt(len(values))
    return (m - half, m + half)


@dataclass(frozen=True)
class Welch:
    t: float
    df: float
    p: float


def welch(a: Sequence[float], b: Sequence[float]) -> Welch | None:
    """Welch's two-sided t-test for different means; None when either side has < 2 values.

    With zero variance on both sides the result is exact: p = 1 for equal means, else 0.
    """
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0.0:
        return Welch(0.0, float(len(a) + len(b) - 2), 1.0) if ma == mb else \
            Welch(math.copysign(math.inf, mb - ma), float(len(a) + len(b) - 2), 0.0)
    t = (mb - ma) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va * va / (len(a) - 1)) + (vb * vb / (len(b) - 1)))
    p = 2.0 * (1.0 - t_cdf(abs(t), df))
    return Welch(t, df, min(1.0, max(0.0, p)))


def no_spread(a: Sequence[float], b: Sequence[float]) -> bool:
    """Both sides repeated, and every repeat on each side gave the same value: Welch's t is then
    0/0 or ±x/0, undefined, and the repeats say nothing about noise (welch() still answers with
    p = 1 or 0 for callers that want a number)."""
    return len(a) >= 2 and len(b) >= 2 and stdev(a) == 0.0 and stdev(b) == 0.0


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given.

    With the m p-values sorted, p(1) <= ... <= p(m), the k-th adjusted value is
    max over j <= k of min(1, (m - j + 1) * p(j)): a hypothesis is rejected at level alpha when
    its adjusted p is below alpha, which keeps the chance of any false rejection among the m
    below alpha. The running max makes the adjusted values follow the order of the raw ones, so
    tied raw values get the same adjusted value whatever their order."""
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def correlation(x: Sequence[float], y: Sequence[float]) -> tuple[float, float] | None:
    """Pearson's r of paired values and its two-sided p-value (t = r √(n-2) / √(1-r²), n-2
    degrees of freedom); None below three pairs or when either side does not vary."""
    n = len(x)
    if n != len(y) or n < 3:
        return None
    mx, my = statistics.fmean(x), statistics.fmean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    r = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    if abs(r) == 1.0:
        return r, 0.0
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return r, min(1.0, 2.0 * (1.0 - t_cdf(abs(t), n - 2)))


def geometric_mean(values: Sequence[float]) -> float | None:
    positive = [v for v in values if v > 0]
    if not positive or len(positive) != len(values):
        return None
    return math.exp(statistics.fmean(math.log(v) for v in positive))


def littles_law_ratio(throughput_rps: float, mean_latency_s: float, in_flight: int) -> float | None:
    """Throughput × mean latency over the connections in flight (Little's law: L = λW).

    Near 1.0 for a closed-loop client whose every connection always waits on a response.
    Well below 1 means connections sat idle or were not counted: errors, reconnects (no
    keep-alive), timeouts left out of the latency, or a client that could not keep up.
    """
    if in_flight <= 0 or throughput_rps <= 0 or mean_latency_s <= 0:
        return None
    return throughput_rps * mean_latency_s / in_flight


@dataclass(frozen=True)
class Kendall:
    """Kendall's rank correlation of paired values: τ-b (ties counted apart) and its two-sided
    p-value under independence, exact (every ordering counted) when neither side has ties,
    else the normal approximation with the tie-corrected variance of S."""

    tau: float
    p: float
    n: int
    exact: bool


def _tie_groups(values: Sequence[float]) -> list[int]:
    return [t for t in Counter(values).values() if t > 1]


def _inversion_counts(n: int) -> list[int]:
    """How many orderings of n items have k inversions, for k = 0 .. n(n-1)/2 (the Mahonian
    numbers): the exact null distribution of Kendall's S = pairs(n) - 2k without ties."""
    counts = [1]
    for m in range(2, n + 1):
        grown = [0] * (len(counts) + m - 1)
        for k, c in enumerate(counts):
            for j in range(m):
                grown[k + j] += c
        counts = grown
    return counts


def kendall(x: Sequence[float], y: Sequence[float]) -> Kendall | None:
    """τ-b of pairs (x[i], y[i]); None below three pairs or when either side is constant."""
    n = len(x)
    if n != len(y) or n < 3:
        return None
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            s += ((x[i] > x[j]) - (x[i] < x[j])) * ((y[i] > y[j]) - (y[i] < y[j]))
    pairs = n * (n - 1) // 2
    ties_x, ties_y = _tie_groups(x), _tie_groups(y)
    tied_x = sum(t * (t - 1) // 2 for t in ties_x)
    tied_y = sum(u * (u - 1) // 2 for u in ties_y)
    if tied_x == pairs or tied_y == pairs:
        return None
    tau = s / math.sqrt((pairs - tied_x) * (pairs - tied_y))
    if not ties_x and not ties_y:
        counts = _inversion_counts(n)
        # S = pairs - 2 × inversions; as extreme as |s|: |pairs - 2k| >= |s|.
        extreme = sum(c for k, c in enumerate(counts) if abs(pairs - 2 * k) >= abs(s))
        return Kendall(tau, min(1.0, extreme / math.factorial(n)), n, True)
    v0 = n * (n - 1) * (2 * n + 5)
    vt = sum(t * (t - 1) * (2 * t + 5) for t in ties_x)
    vu = sum(u * (u - 1) * (2 * u + 5) for u in ties_y)
    v1 = (sum(t * (t - 1) for t in ties_x) * sum(u * (u - 1) for u in ties_y)
          / (2 * n * (n - 1)))
    v2 = (sum(t * (t - 1) * (t - 2) for t in ties_x) * sum(u * (u - 1) * (u - 2) for u in ties_y)
          / (9 * n * (n - 1) * (n - 2)))
    variance = (v0 - vt - vu) / 18 + v1 + v2
    z = abs(s) / math.sqrt(variance) if variance > 0 else math.inf
    return Kendall(tau, min(1.0, math.erfc(z / math.sqrt(2))), n, False)


@dataclass(frozen=True)
class BlockFit:
    """An additive two-way model fitted by least squares: each value = its treatment's effect +
    its block's effect + an error of one variance σ² for every treatment (the intrablock
    analysis of a block design; blocks may be incomplete, as rounds are once racing measures
    only some treatments again). Only differences of effects mean anything."""

    names: tuple[str, ...]
    effects: tuple[float, ...]
    inverse: tuple[tuple[float, ...], ...]   # (C + J/k)⁻¹: contrasts' variances in units of σ²
    sigma: float | None                      # residual standard deviation; None without df
    df: int
    counts: tuple[int, ...] = ()             # observations of each treatment
    residual_ss: tuple[float, ...] = ()      # each treatment's share of the residual squares

    def equal_spread(self) -> "Bartlett | None":
        """Bartlett's test that every treatment's errors have one variance (the fit's
        assumption), each treatment's residual degrees of freedom taken as its share of the
        observations: approximate where blocks are incomplete."""
        if self.df <= 0 or not self.counts:
            return None
        n = sum(self.counts)
        return bartlett([(ss, self.df * count / n)
                         for ss, count in zip(self.residual_ss, self.counts)])

    def difference(self, a: str, b: str) -> tuple[float, float | None]:
        """Effect of a minus effect of b, and its standard error (None: no residual df)."""
        i, j = self.names.index(a), self.names.index(b)
        estimate = self.effects[i] - self.effects[j]
        if self.sigma is None:
            return estimate, None
        factor = self.inverse[i][i] + self.inverse[j][j] - 2 * self.inverse[i][j]
        return estimate, self.sigma * math.sqrt(max(factor, 0.0))


def _inverse(matrix: list[list[float]]) -> list[list[float]] | None:
    """Gauss-Jordan inverse with partial pivoting; None when (numerically) singular."""
    n = len(matrix)
    work = [row[:] + [float(i == j) for j in range(n)] for i, row in enumerate(matrix)]
    scale = max((abs(v) for row in matrix for v in row), default=0.0)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(work[r][col]))
        if abs(work[pivot][col]) <= 1e-10 * scale:
            return None
        work[col], work[pivot] = work[pivot], work[col]
        head = work[col][col]
        work[col] = [v / head for v in work[col]]
        for r in range(n):
            if r != col and work[r][col]:
                factor = work[r][col]
                work[r] = [v - factor * w for v, w in zip(work[r], work[col])]
    return [row[n:] for row in work]


def block_fit(observations: Sequence[tuple[str, object, float]]) -> BlockFit | None:
    """Fit (treatment, block, value) observations; None below two treatments or when the design
    is not connected (some treatments share no chain of blocks with the others).

    With r_i the observations of treatment i, K_b the size of block b, N the incidence counts,
    T and B the treatment and block totals: C = diag(r) − N diag(1/K) Nᵀ, Q = T − N diag(1/K) B,
    the effects solve C τ = Q (C has rank k − 1 in a connected design; C + J/k is then
    invertible and its inverse a generalized inverse of C for every contrast), the residual sum
    of squares is Σy² − Σ B_b²/K_b − τᵀQ on n − blocks − (k − 1) degrees of freedom. With every
    block complete this is the two-way analysis of variance; with two treatments, the paired
    t-test."""
    names = list(dict.fromkeys(name for name, _, _ in observations))
    k = len(names)
    if k < 2:
        return None
    index = {name: i for i, name in enumerate(names)}
    blocks: dict[object, list[tuple[int, float]]] = {}
    for name, block, value in observations:
        blocks.setdefault(block, []).append((index[name], value))
    counts = [0] * k
    totals = [0.0] * k
    c = [[0.0] * k for _ in range(k)]
    q = [0.0] * k
    within = 0.0
    for members in blocks.values():
        size = len(members)
        block_total = sum(v for _, v in members)
        within += block_total * block_total / size
        incidence = Counter(i for i, _ in members)
        for i, n_i in incidence.items():
            q[i] -= n_i * block_total / size
            for j, n_j in incidence.items():
                c[i][j] -= n_i * n_j / size
        for i, v in members:
            counts[i] += 1
            totals[i] += v
    for i in range(k):
        c[i][i] += counts[i]
        q[i] += totals[i]
    inverse = _inverse([[c[i][j] + 1.0 / k for j in range(k)] for i in range(k)])
    if inverse is None:
        return None
    effects = [sum(inverse[i][j] * q[j] for j in range(k)) for i in range(k)]
    n = len(observations)
    df = n - len(blocks) - (k - 1)
    residual = (sum(v * v for _, _, v in observations) - within
                - sum(e * x for e, x in zip(effects, q)))
    sigma = math.sqrt(max(residual, 0.0) / df) if df > 0 else None
    squares = [0.0] * k
    for members in blocks.values():
        shift = sum(v - effects[i] for i, v in members) / len(members)   # the block's effect
        for i, v in members:
            squares[i] += (v - effects[i] - shift) ** 2
    return BlockFit(tuple(names), tuple(effects), tuple(tuple(row) for row in inverse), sigma, df,
                    tuple(counts), tuple(squares))


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a chi-squared variable with df degrees of freedom (the regularized upper
    incomplete gamma function Q(df/2, x/2): its series below a + 1, its continued fraction
    above)."""
    if x <= 0:
        return 1.0
    a, z = df / 2.0, x / 2.0
    front = math.exp(-z + a * math.log(z) - math.lgamma(a))
    if z < a + 1.0:
        term = total = 1.0 / a
        n = 0
        while abs(term) > 1e-16 * abs(total) and n < 10_000:
            n += 1
            term *= z / (a + n)
            total += term
        return max(0.0, 1.0 - front * total)
    tiny = 1e-300
    b, c, d = z + 1.0 - a, 1.0 / tiny, 1.0 / (z + 1.0 - a)
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return min(1.0, front * h)


@dataclass(frozen=True)
class Bartlett:
    statistic: float
    df: int
    p: float


def bartlett(samples: Sequence[tuple[float, float]]) -> Bartlett | None:
    """Bartlett's test of equal variances from (sum of squares, degrees of freedom) per group;
    None below two groups with degrees of freedom or with a group of zero squares (the log of
    its variance is undefined)."""
    found = [(ss, df) for ss, df in samples if df > 0]
    if len(found) < 2 or any(ss <= 0 for ss, _ in found):
        return None
    total_df = sum(df for _, df in found)
    pooled = sum(ss for ss, _ in found) / total_df
    statistic = (total_df * math.log(pooled)
                 - sum(df * math.log(ss / df) for ss, df in found))
    k = len(found)
    statistic /= 1.0 + (sum(1.0 / df for _, df in found) - 1.0 / total_df) / (3.0 * (k - 1))
    return Bartlett(statistic, k - 1, chi2_sf(statistic, k - 1))
