"""Multiple comparisons and resampling p-values.

A per-layer analysis tests the same hypothesis at every layer and then reports the best
layer. That best layer is a maximum, so its raw p is optimistic (METHODS trap: "a peak r over
layers is a maximum"). This module provides the two standard answers: false-discovery-rate
control across layers (Benjamini-Hochberg / Benjamini-Yekutieli, scipy's) and the max-statistic
(single-step max-T) permutation p, which keeps the dependence between layers (no library has it
for a precomputed null, so it is the package's own, like the CIs from precomputed replicates).

All p-values are dimensionless probabilities in (0, 1].
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import stats

from emovec.errors import EmovecInputError

__all__ = [
    "bh_adjust",
    "bias_corrected_ci",
    "by_adjust",
    "max_statistic_p",
    "percentile_ci",
    "permutation_p",
]

# Relative tolerance when comparing a null statistic with the observed one. A permutation
# that is (in exact arithmetic) as extreme as the data can come out a few ulps smaller after
# a differently-ordered float sum; counting it anyway keeps p valid. Same rule as
# scipy.stats.permutation_test (100 machine epsilons, relative to |observed|).
_TIE_RTOL = 100 * np.finfo(np.float64).eps


def _check_pvalues(p: np.ndarray, name: str = "p") -> np.ndarray:
    """p as float64 [m], m >= 1, every value finite and in [0, 1]."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise EmovecInputError(
            f"{name} must be a non-empty 1-D array of p-values; got shape {p.shape}"
        )
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EmovecInputError(
            f"{name} must hold finite values in [0, 1]; {name}[{i}] = {float(p[i])}"
        )
    return p


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (FDR under independence or positive dependence):
    scipy's ``false_discovery_control(p, method="bh")`` after the package's input checks.

    Args:
        p: [m] raw p-values in [0, 1], m >= 1.

    Returns:
        float64 [m], same order as ``p``; reject at FDR q where the adjusted p <= q.
    """
    return np.asarray(stats.false_discovery_control(_check_pvalues(p), method="bh"), dtype=np.float64)


def by_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Yekutieli adjusted p-values (FDR under arbitrary dependence; BH inflated by the
    harmonic number c(m) = sum_{i=1}^m 1/i): scipy's ``false_discovery_control(p, method="by")``.

    Args:
        p: [m] raw p-values in [0, 1], m >= 1.

    Returns:
        float64 [m], same order as ``p``.
    """
    return np.asarray(stats.false_discovery_control(_check_pvalues(p), method="by"), dtype=np.float64)


def _check_null(null: np.ndarray, ndim: int, name: str = "null") -> np.ndarray:
    null = np.asarray(null, dtype=np.float64)
    if null.ndim != ndim or null.shape[0] == 0:
        raise EmovecInputError(
            f"{name} must be a non-empty {ndim}-D array (permutations first); "
            f"got shape {null.shape}"
        )
    if np.isnan(null).any():
        i = np.argwhere(np.isnan(null))[0].tolist()
        raise EmovecInputError(
            f"{name} contains NaN at index {i}; a null statistic must be defined"
        )
    return null


def _count_at_least(null: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """#(null >= observed) along axis 0, with a few-ulp tolerance (see ``_TIE_RTOL``)."""
    return np.count_nonzero(null >= observed - _TIE_RTOL * np.abs(observed), axis=0)


def permutation_p(observed: float, null: np.ndarray) -> float:
    """One-sided permutation p: (1 + #(null >= observed)) / (1 + len(null)).

    The "+1" counts the observed labelling as one of the permutations, so p is never 0 and
    the test is exact (P(p <= a) <= a under exchangeability). For a two-sided test pass
    absolute values (e.g. |r|).

    Args:
        observed: the statistic on the real labelling (finite).
        null: [n_perm] the statistic under permuted labellings; NaN is an error.

    Returns:
        p in [1/(n_perm+1), 1].
    """
    obs = float(observed)
    if not np.isfinite(obs):
        raise EmovecInputError(f"observed must be finite; got {obs}")
    null = _check_null(null, ndim=1)
    return float((1 + _count_at_least(null, np.float64(obs))) / (1 + null.shape[0]))


def max_statistic_p(observed: np.ndarray, null: np.ndarray) -> tuple[float, np.ndarray]:
    """Max-statistic permutation p for the peak, and single-step max-T adjusted p per element.

    Each permutation's null statistic is reduced to its maximum over the L elements (layers);
    comparing every observed value with that distribution of maxima controls the family-wise
    error over all L, whatever their correlation. This is valid only if permutation i applied
    the SAME relabelling to all L elements: that is what carries the dependence between
    layers into the null. Larger statistics must mean stronger evidence (use |r|).

    Args:
        observed: [L] observed statistics, finite.
        null: [P, L] statistics under P permutations, row i from one permutation; no NaN.

    Returns:
        (p_max, p_adjusted): p_max = (1 + #(max_l null[i, l] >= max_l observed[l])) / (1 + P)
        is the p of the post-hoc peak; p_adjusted float64 [L] is the same formula with
        observed[l] in place of the maximum (so p_max == p_adjusted.min()).
    """
    observed = np.asarray(observed, dtype=np.float64)
    if observed.ndim != 1 or observed.size == 0:
        raise EmovecInputError(
            f"observed must be a non-empty 1-D array; got shape {observed.shape}"
        )
    if not np.isfinite(observed).all():
        i = int(np.flatnonzero(~np.isfinite(observed))[0])
        raise EmovecInputError(f"observed must be finite; observed[{i}] = {float(observed[i])}")
    null = _check_null(null, ndim=2)
    if null.shape[1] != observed.size:
        raise EmovecInputError(
            f"null must have shape [n_perm, L={observed.size}]; got {null.shape}"
        )
    null_max = null.max(axis=1)  # [P]
    counts = _count_at_least(null_max[:, None], observed[None, :])  # [L]
    p_adjusted = (1.0 + counts) / (1.0 + null.shape[0])
    return float(p_adjusted.min()), p_adjusted


def percentile_ci(samples: np.ndarray, level: float = 0.95, *,
                  too_few: Literal["raise", "nan"] = "raise") -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap samples, NaN samples ignored: the package's
    one percentile interval, used by every statistic that reports one.

    Args:
        samples: any shape, flattened; NaN marks a resample where the statistic is undefined.
            +-inf is an error (no statistic here can be infinite; it signals a bug upstream).
        level: coverage in (0, 1), e.g. 0.95 -> the 2.5th and 97.5th percentiles.
        too_few: fewer than 2 non-NaN samples raise (``"raise"``) or give (NaN, NaN) (``"nan"``,
            for statistics that report "no interval" rather than stop).

    Returns:
        (low, high): the (1 - level)/2 and (1 + level)/2 quantiles, linear interpolation between
        order statistics (numpy's default).
    """
    level = float(level)
    if not 0.0 < level < 1.0:
        raise EmovecInputError(f"level must lie in (0, 1); got {level!r}")
    samples = np.asarray(samples, dtype=np.float64).ravel()
    if np.isinf(samples).any():
        raise EmovecInputError("samples contains +-inf; only finite values or NaN are allowed")
    finite = samples[~np.isnan(samples)]
    if finite.size < 2:
        if too_few == "nan":
            return math.nan, math.nan
        raise EmovecInputError(
            f"samples needs at least 2 non-NaN values for a percentile interval; got {finite.size}"
        )
    low, high = np.quantile(finite, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(low), float(high)


def bias_corrected_ci(samples: np.ndarray, observed: float, level: float = 0.95) -> tuple[float, float]:
    """Bias-corrected (BC) percentile interval of bootstrap samples (Efron 1987, without the
    acceleration term of BCa).

    A statistic such as a mean pairwise cosine of resampled means is biased under the bootstrap
    (duplicated stimuli make noisier, more separated vectors), so its replicates are not centred
    on the observed value and the plain percentile interval is shifted. BC corrects that shift:
    z0 = Phi^-1(share of samples below observed + half the ties), and the interval takes the
    Phi(2 z0 -+ z_{(1+level)/2}) percentiles. With samples symmetric about ``observed`` it equals
    ``percentile_ci``.

    Args:
        samples: bootstrap replicates, any shape, flattened; NaN ignored, +-inf an error.
        observed: the statistic on the original sample.
        level: coverage in (0, 1).

    Raises:
        EmovecInputError: as ``percentile_ci``, or every sample on one side of ``observed``
            (z0 infinite: the bootstrap cannot place the observed value).
    """
    from scipy.stats import norm

    percentile_ci(samples, level)  # validates samples and level
    finite = np.asarray(samples, dtype=np.float64).ravel()
    finite = finite[~np.isnan(finite)]
    below = (np.count_nonzero(finite < observed) + 0.5 * np.count_nonzero(finite == observed)) / finite.size
    if below in (0.0, 1.0):
        raise EmovecInputError(
            f"every bootstrap sample lies on one side of the observed value {observed!r}; "
            "no bias-corrected interval exists (raise n_boot or check the statistic)")
    z0 = norm.ppf(below)
    z = norm.ppf(0.5 + float(level) / 2.0)
    lo_q, hi_q = norm.cdf(2 * z0 - z), norm.cdf(2 * z0 + z)
    low, high = np.percentile(finite, [100.0 * lo_q, 100.0 * hi_q])
    return float(low), float(high)
