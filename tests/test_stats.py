"""Statistics on fixed fixtures, with reference values from published t tables / scipy."""

import math

import pytest

from suite.record import stats


@pytest.mark.parametrize("df, expected", [(1, 12.7062047), (2, 4.3026527), (4, 2.7764451),
                                          (30, 2.0422725)])
def test_t_quantile_matches_tables(df, expected):
    assert stats.t_quantile(0.975, df) == pytest.approx(expected, rel=1e-6)


def test_t_cdf_reference_points():
    assert stats.t_cdf(0.0, 3) == pytest.approx(0.5)
    assert stats.t_cdf(2.0, 5) == pytest.approx(0.9490303, rel=1e-6)
    assert stats.t_cdf(-2.0, 5) == pytest.approx(1 - 0.9490303, rel=1e-5)
    assert stats.betainc(2, 3, 0.4) == pytest.approx(0.5248, rel=1e-6)


def test_ci95_and_cv_on_a_fixture():
    values = [100.0, 110.0, 120.0]
    low, high = stats.ci95(values)
    half = 4.3026527 * 10.0 / math.sqrt(3)
    assert (low, high) == (pytest.approx(110 - half), pytest.approx(110 + half))
    assert stats.cv(values) == pytest.approx(10 / 110)
    assert stats.median(values) == 110


@pytest.mark.parametrize("values", [[], [5.0]])
def test_degenerate_samples_have_no_spread(values):
    assert stats.ci95(values) is None
    assert stats.cv(values) is None
    assert stats.stdev(values) is None


def test_zero_variance():
    assert stats.ci95([7.0, 7.0, 7.0]) == (7.0, 7.0)
    assert stats.cv([7.0, 7.0]) == 0.0
    assert stats.cv([0.0, 0.0]) is None  # all errors: no throughput, no meaningful CV
    assert stats.welch([1.0, 1.0], [1.0, 1.0]).p == 1.0
    assert stats.welch([1.0, 1.0], [2.0, 2.0]).p == 0.0


@pytest.mark.parametrize("a, b, t, p, df", [
    # scipy.stats.ttest_ind(b, a, equal_var=False) on the same inputs
    ([19.8, 20.4, 19.6, 17.8, 18.5, 18.9], [22.0, 18.6, 21.9, 20.7, 23.1, 18.8],
     1.9992358073, 0.0829966424, 7.4992705114),
    ([1400, 1390, 1415], [1500, 1520, 1490], 8.8977644814, 0.0010383072, 3.8585152838),
])
def test_welch_matches_scipy(a, b, t, p, df):
    result = stats.welch(a, b)
    assert result.t == pytest.approx(t, rel=1e-9)
    assert result.df == pytest.approx(df, rel=1e-9)
    assert result.p == pytest.approx(p, rel=1e-6)


def test_welch_needs_two_values_a_side():
    assert stats.welch([1.0], [1.0, 2.0]) is None


@pytest.mark.parametrize("raw, adjusted", [
    # Sorted: 0.005 x 4 = 0.02, 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, then 0.04 x 1 = 0.04 is raised
    # to 0.06 by the running max (monotonicity: a larger raw p never gets a smaller adjusted p).
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    # Ties: 0.02 x 3 = 0.06 and 0.02 x 2 = 0.04 -> 0.06; both tied values end the same.
    ([0.02, 0.5, 0.02], [0.06, 0.5, 0.06]),
    # Capped at 1: 0.7 x 2 = 1.4 -> 1, then 0.9 -> max(1, 0.9) = 1.
    ([0.9, 0.7], [1.0, 1.0]),
    ([0.4, 0.6], [0.8, 0.8]),
    ([0.03], [0.03]),
    ([], []),
])
def test_holm_by_hand(raw, adjusted):
    assert stats.holm(raw) == pytest.approx(adjusted, abs=1e-12)


def test_holm_rejects_fewer_than_raw_p_and_keeps_the_order():
    raw = [0.01, 0.04, 0.03, 0.005]
    adjusted = stats.holm(raw)
    assert [p < 0.05 for p in raw] == [True, True, True, True]
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]
    ranked = sorted(range(4), key=raw.__getitem__)
    assert [adjusted[i] for i in ranked] == sorted(adjusted)


def test_no_spread_is_both_sides_constant():
    assert stats.no_spread([5.0, 5.0], [5.0, 5.0, 5.0])      # t = 0/0
    assert stats.no_spread([5.0, 5.0], [6.0, 6.0])           # t = 1/0
    assert not stats.no_spread([5.0, 5.0], [5.0, 6.0])       # t defined: the other side's df
    assert not stats.no_spread([5.0], [5.0, 5.0])            # untested: a single repeat


def test_geometric_mean_and_littles_law():
    assert stats.geometric_mean([1.0, 4.0]) == pytest.approx(2.0)
    assert stats.geometric_mean([1.0, 0.0]) is None
    assert stats.littles_law_ratio(2000, 0.1, 200) == pytest.approx(1.0)
    assert stats.littles_law_ratio(0, 0.1, 200) is None


def test_kendall_counts_concordant_pairs_and_gives_the_exact_p_without_ties():
    # Pairs of (1..5) against (3, 1, 2, 5, 4): 7 concordant, 3 discordant, S = 4, τ = 0.4.
    found = stats.kendall([1, 2, 3, 4, 5], [3, 1, 2, 5, 4])
    assert found.tau == pytest.approx(0.4) and found.exact and found.n == 5
    # Orderings of 5 with at most 3 or at least 7 inversions: 29 + 29 of 120.
    assert found.p == pytest.approx(58 / 120)
    same, reverse = stats.kendall([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]), \
        stats.kendall([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])
    assert same.tau == 1.0 and reverse.tau == -1.0
    assert same.p == reverse.p == pytest.approx(2 / 120)
    twelve = stats.kendall(list(range(12)), list(range(12)))
    assert twelve.p == pytest.approx(2 / math.factorial(12))


def test_kendall_with_ties_is_tau_b_with_the_tie_corrected_normal_p():
    found = stats.kendall([1, 2, 2, 3], [1, 2, 3, 4])
    # S = 5 (the tied pair counts neither way); τ-b = 5 / √((6 - 1) × 6).
    assert found.tau == pytest.approx(5 / math.sqrt(30)) and not found.exact
    # Var(S) = (4·3·13 - 2·1·9) / 18; p = erfc(|S| / √Var / √2) ≈ 0.071.
    assert found.p == pytest.approx(math.erfc(5 / math.sqrt(138 / 18) / math.sqrt(2)))
    assert found.p == pytest.approx(0.0709, abs=1e-3)


def test_kendall_needs_three_pairs_and_two_values_on_each_side():
    assert stats.kendall([1, 2], [1, 2]) is None
    assert stats.kendall([1, 1, 1], [1, 2, 3]) is None
    assert stats.kendall([1, 2, 3], [1, 2]) is None


def test_block_fit_with_two_treatments_is_the_paired_t():
    a, b = [1000, 1010, 990, 1005, 995], [960, 1000, 950, 990, 975]
    fit = stats.block_fit([("a", r, math.log(x)) for r, x in enumerate(a)]
                          + [("b", r, math.log(x)) for r, x in enumerate(b)])
    logs = [math.log(y / x) for x, y in zip(a, b)]
    estimate, se = fit.difference("b", "a")
    assert fit.df == 4
    assert estimate == pytest.approx(stats.mean(logs))
    assert se == pytest.approx(stats.stdev(logs) / math.sqrt(5))


def test_block_fit_removes_block_effects_and_refuses_a_disconnected_design():
    # b = a - 1 in every block, blocks shifted by 0, 5, -3: the fit sees exactly that, no error.
    rows = [(t, blk, base + shift) for blk, shift in enumerate([0, 5, -3])
            for t, base in (("a", 2.0), ("b", 1.0))]
    fit = stats.block_fit(rows)
    assert fit.difference("b", "a") == pytest.approx((-1.0, 0.0), abs=1e-12)
    assert fit.sigma == pytest.approx(0.0, abs=1e-7)
    # a and b share blocks, c and d share others, no block links the two pairs.
    apart = [("a", 1, 1.0), ("b", 1, 2.0), ("a", 2, 1.5), ("b", 2, 2.1),
             ("c", 3, 1.0), ("d", 3, 0.5), ("c", 4, 1.2), ("d", 4, 0.4)]
    assert stats.block_fit(apart) is None
    assert stats.block_fit([("a", 1, 1.0), ("a", 2, 1.1)]) is None


@pytest.mark.parametrize("x, df, expected", [(3.841459, 1, 0.05), (7.814728, 3, 0.05),
                                             (18.307038, 10, 0.05), (0.5, 4, 0.973500979),
                                             (67.504807, 50, 0.05)])
def test_chi2_sf_matches_tables(x, df, expected):
    assert stats.chi2_sf(x, df) == pytest.approx(expected, rel=1e-5)


def test_bartlett_matches_scipy():
    # scipy.stats.bartlett's documented example: statistic 22.789434813726768, p 1.1254782518834628e-05
    groups = [[8.88, 9.12, 9.04, 8.98, 9.00, 9.08, 9.01, 8.85, 9.06, 8.99],
              [8.88, 8.95, 9.29, 9.44, 9.15, 9.58, 8.36, 9.18, 8.67, 9.05],
              [8.95, 9.12, 8.95, 8.85, 9.03, 8.84, 9.07, 8.98, 8.86, 8.98]]
    samples = [(sum((x - stats.mean(g)) ** 2 for x in g), len(g) - 1) for g in groups]
    found = stats.bartlett(samples)
    assert found.statistic == pytest.approx(22.789434813726768)
    assert found.p == pytest.approx(1.1254782518834628e-05, rel=1e-6)
    assert found.df == 2
    assert stats.bartlett(samples[:1]) is None
    assert stats.bartlett([(0.0, 3), (1.0, 3)]) is None
