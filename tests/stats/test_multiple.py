"""Known-answer tests for multiple-comparison and resampling helpers (emovec.stats.multiple)."""

from __future__ import annotations

import numpy as np
import pingouin
import pytest
from scipy.stats import false_discovery_control

from emovec.errors import EmovecInputError
from emovec.stats.multiple import (
    bh_adjust,
    by_adjust,
    max_statistic_p,
    percentile_ci,
    permutation_p,
)

# Hand-computed: sorted p = 0.005, 0.01, 0.03, 0.04, 0.5 -> m p_(j) / j = 0.025, 0.025, 0.05,
# 0.05, 0.5; the running minimum from the top changes nothing. BY multiplies by
# c(5) = 1 + 1/2 + 1/3 + 1/4 + 1/5 = 137/60 and clips at 1.
HAND_P = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
HAND_BH = np.array([0.025, 0.05, 0.05, 0.025, 0.5])
HAND_BY = np.minimum(HAND_BH * 137 / 60, 1.0)


def _random_p_with_ties(seed: int, m: int) -> np.ndarray:
    """Uniform p rounded to 2 decimals (many ties), plus the edge values 0 and 1."""
    rng = np.random.default_rng(seed)
    return np.concatenate([np.round(rng.uniform(size=m), 2), [0.0, 1.0, 1.0]])


# ---- BH / BY ----------------------------------------------------------------------------------


def test_bh_and_by_hand_example():
    np.testing.assert_allclose(bh_adjust(HAND_P), HAND_BH, rtol=1e-12)
    np.testing.assert_allclose(by_adjust(HAND_P), HAND_BY, rtol=1e-12)
    assert by_adjust(HAND_P)[4] == 1.0  # 0.5 * 137/60 > 1 is clipped


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("m", [1, 7, 60])
def test_bh_and_by_match_scipy(seed, m):
    p = _random_p_with_ties(seed, m)
    np.testing.assert_allclose(bh_adjust(p), false_discovery_control(p, method="bh"), rtol=1e-12, atol=0)
    np.testing.assert_allclose(by_adjust(p), false_discovery_control(p, method="by"), rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(3))
def test_bh_matches_pingouin(seed):
    p = _random_p_with_ties(seed, 40)
    np.testing.assert_allclose(bh_adjust(p), pingouin.multicomp(p, method="fdr_bh")[1], rtol=1e-12)


def test_bh_ties_share_one_adjusted_value_and_order_is_preserved():
    p = np.array([0.02, 0.01, 0.02, 0.02])
    # sorted 0.01, 0.02 x3: 4*0.01/1 = 0.04; 4*0.02/{2,3,4} = 0.04, 0.0267, 0.02 -> min from top 0.02
    np.testing.assert_allclose(bh_adjust(p), [0.02, 0.02, 0.02, 0.02], rtol=1e-12)


@pytest.mark.parametrize("fn", [bh_adjust, by_adjust])
@pytest.mark.parametrize(
    "bad, fragment",
    [
        (np.array([]), "shape (0,)"),
        (np.array([[0.1, 0.2]]), "shape (1, 2)"),
        (np.array([0.1, np.nan]), "p[1] = nan"),
        (np.array([0.1, 1.5]), "p[1] = 1.5"),
        (np.array([-0.1, 0.5]), "p[0] = -0.1"),
    ],
)
def test_bad_p_values_raise_naming_p(fn, bad, fragment):
    with pytest.raises(EmovecInputError, match="p") as err:
        fn(bad)
    assert fragment in str(err.value)


# ---- permutation p ----------------------------------------------------------------------------


def test_permutation_p_known_answers():
    null = np.array([1.0, 2.0, 3.0, 4.0])
    assert permutation_p(3.0, null) == 3 / 5  # 3 and 4 are >= 3, plus the observed itself
    assert permutation_p(10.0, null) == 1 / 5  # never 0
    assert permutation_p(0.0, null) == 1.0


def test_permutation_p_counts_float_ties():
    # 0.1 + 0.2 is 0.30000000000000004: a null value equal in exact arithmetic must count.
    assert permutation_p(0.1 + 0.2, np.array([0.3])) == 1.0


@pytest.mark.parametrize(
    "observed, null, fragment",
    [
        (1.0, np.array([0.5, np.nan]), "null contains NaN"),
        (1.0, np.array([]), "null must be a non-empty"),
        (1.0, np.ones((2, 2)), "null must be a non-empty 1-D"),
        (np.nan, np.array([0.5]), "observed must be finite"),
    ],
)
def test_permutation_p_bad_inputs(observed, null, fragment):
    with pytest.raises(EmovecInputError, match=fragment):
        permutation_p(observed, null)


# ---- max-statistic p --------------------------------------------------------------------------


def test_max_statistic_p_hand_built_null():
    null = np.array([[0.1, 0.5], [0.9, 0.2], [0.3, 0.4]])  # per-permutation maxima 0.5, 0.9, 0.4
    observed = np.array([0.45, 0.8])
    p_max, p_adj = max_statistic_p(observed, null)
    # 0.45: maxima >= it are 0.5 and 0.9 -> (1+2)/4; 0.8: only 0.9 -> (1+1)/4
    np.testing.assert_array_equal(p_adj, [3 / 4, 2 / 4])
    assert p_max == 2 / 4
    # the uncorrected p of layer 1 alone would be (1+0)/4: the correction is what costs
    assert permutation_p(0.8, null[:, 1]) == 1 / 4


def test_max_statistic_p_is_never_below_the_per_element_p():
    rng = np.random.default_rng(0)
    null = np.abs(rng.normal(size=(99, 6)))
    observed = np.abs(rng.normal(size=6)) + 1.0
    p_max, p_adj = max_statistic_p(observed, null)
    per_element = np.array([permutation_p(o, null[:, i]) for i, o in enumerate(observed)])
    assert np.all(p_adj >= per_element)
    assert p_max == p_adj.min()


@pytest.mark.parametrize(
    "observed, null, fragment",
    [
        (np.array([0.1, 0.2]), np.ones((5, 3)), r"null must have shape \[n_perm, L=2\]"),
        (np.array([0.1, 0.2]), np.ones(5), "null must be a non-empty 2-D"),
        (np.array([0.1, np.inf]), np.ones((5, 2)), r"observed\[1\]"),
        (np.array([]), np.ones((5, 0)), "observed must be a non-empty"),
        (np.array([0.1, 0.2]), np.array([[0.1, np.nan]]), "null contains NaN"),
    ],
)
def test_max_statistic_p_bad_inputs(observed, null, fragment):
    with pytest.raises(EmovecInputError, match=fragment):
        max_statistic_p(observed, null)


# ---- percentile CI ----------------------------------------------------------------------------


def test_percentile_ci_known_answer_and_nan_ignored():
    samples = np.arange(101.0)  # percentiles of 0..100 are the values themselves
    np.testing.assert_allclose(percentile_ci(samples, 0.9), (5.0, 95.0), rtol=1e-12)
    with_nan = np.concatenate([samples, [np.nan] * 7])
    assert percentile_ci(with_nan, 0.9) == percentile_ci(samples, 0.9)
    np.testing.assert_allclose(percentile_ci(samples), (2.5, 97.5), rtol=1e-12)


@pytest.mark.parametrize(
    "samples, level, fragment",
    [
        (np.array([1.0, np.nan, np.nan]), 0.95, "samples needs at least 2 non-NaN values .*; got 1"),
        (np.arange(5.0), 1.0, "level must lie in"),
        (np.arange(5.0), 0.0, "level must lie in"),
        (np.array([1.0, np.inf]), 0.95, "samples contains"),
    ],
)
def test_percentile_ci_bad_inputs(samples, level, fragment):
    with pytest.raises(EmovecInputError, match=fragment):
        percentile_ci(samples, level)


def test_bias_corrected_ci_equals_percentile_when_centred_and_shifts_when_biased() -> None:
    from emovec.stats.multiple import bias_corrected_ci

    samples = np.linspace(-1.0, 1.0, 2001)  # symmetric about 0: z0 = 0
    assert bias_corrected_ci(samples, 0.0, 0.9) == pytest.approx(percentile_ci(samples, 0.9), abs=1e-12)
    # Observed at the samples' 84.13th percentile: z0 = 1, so a 68.27% interval covers the
    # Phi(2 - 1) .. Phi(2 + 1) percentiles = 84.13% .. 99.87%.
    from scipy.stats import norm

    observed = float(np.percentile(samples, 100 * norm.cdf(1.0)))
    lo, hi = bias_corrected_ci(samples, observed, level=norm.cdf(1.0) - norm.cdf(-1.0))
    expected = np.percentile(samples, [100 * norm.cdf(1.0), 100 * norm.cdf(3.0)])
    np.testing.assert_allclose([lo, hi], expected, atol=2e-3)
    with pytest.raises(EmovecInputError, match="one side"):
        bias_corrected_ci(samples, 5.0)
