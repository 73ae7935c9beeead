"""Effect sizes and the two-group tests behind the generation-vs-comprehension comparison.

Jeong (2026, §4.2) reports Cohen's d = -107.5 for generation vs comprehension separation. The
number comes from computing d on leave-one-out (LOO) replicates: the mean of n - 1 items moves
by (x_i - mean) / (n - 1) when item i is dropped, so LOO replicates have spread SD / (n - 1),
and a pooled-SD d on them is (n - 1) times the d on the items themselves (METHODS trap 2).
``loo_means`` and ``cohens_d`` make that identity checkable; effect sizes worth reporting use
independent units, the pooled-SD formula and a confidence interval (``cohens_d_ci``).

Everything here is dimensionless unless stated; inputs are 1-D float arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from emovec.errors import EmovecInputError

__all__ = [
    "MannWhitney",
    "cohens_d",
    "cohens_d_ci",
    "loo_means",
    "mann_whitney",
    "mannwhitney_min_p",
    "paired_wilcoxon",
    "sign_test",
]


def _sample(x: np.ndarray | list[float], name: str, min_n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < min_n:
        raise EmovecInputError(f"{name} must be a 1-D sample of at least {min_n} values; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise EmovecInputError(f"{name} holds a non-finite value at index {int(np.flatnonzero(~np.isfinite(x))[0])}")
    return x


def cohens_d(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float:
    """Cohen's d of two independent samples with the pooled standard deviation: pingouin's
    ``compute_effsize(x, y, eftype="cohen")`` after the package's input checks.

    d = (mean(x) - mean(y)) / s_p,  s_p^2 = ((n_x - 1) s_x^2 + (n_y - 1) s_y^2) / (n_x + n_y - 2),
    with s^2 the unbiased (ddof = 1) variances. Sign: positive when x is larger.

    Raises:
        EmovecInputError: fewer than 2 values per sample, a non-finite value, or zero pooled SD.
    """
    import pingouin

    x, y = _sample(x, "x", 2), _sample(y, "y", 2)
    if x.var(ddof=1) == 0 and y.var(ddof=1) == 0:
        raise EmovecInputError("Cohen's d is undefined: both samples have zero variance")
    return float(pingouin.compute_effsize(x, y, paired=False, eftype="cohen"))


def cohens_d_ci(d: float, nx: int, ny: int, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of an independent-samples Cohen's d (Hedges & Olkin 1985): pingouin's
    ``compute_esci(stat=d, nx, ny, eftype="cohen")``, to 12 decimals (pingouin rounds its result).

    SE = sqrt((n_x + n_y) / (n_x n_y) + d^2 / (2 (n_x + n_y))), interval d -+ t_{(1+level)/2,
    n_x + n_y - 2} * SE: the large-sample normal-theory interval, as R's
    ``effsize::cohen.d(noncentral = FALSE)`` also computes it.
    """
    import pingouin

    if nx < 2 or ny < 2:
        raise EmovecInputError(f"a Cohen's d interval needs n >= 2 per group; got n_x={nx}, n_y={ny}")
    if not 0 < level < 1:
        raise EmovecInputError(f"level must be in (0, 1); got {level}")
    low, high = pingouin.compute_esci(stat=d, nx=nx, ny=ny, paired=False, eftype="cohen", confidence=level,
                                      decimals=12)
    return float(low), float(high)


def loo_means(x: np.ndarray | list[float]) -> np.ndarray:
    """Leave-one-out means: element i is the mean of x without x_i.

    Equal to (n mean(x) - x_i) / (n - 1), so their SD is SD(x) / (n - 1).

    Args:
        x: [n] values, n >= 2.

    Returns:
        float64 [n].
    """
    x = _sample(x, "x", 2)
    return (x.sum() - x) / (x.size - 1)


@dataclass(frozen=True)
class MannWhitney:
    """A two-sided Mann-Whitney U test of x vs y.

    Attributes:
        u: U statistic of x (the number of (x_i, y_j) pairs with x_i > y_j, ties counting 1/2).
        p: two-sided p.
        method: "exact" (no ties, small samples) or "asymptotic" (normal approximation with
            tie and continuity correction), as scipy chose.
        n_x, n_y: sample sizes.
    """

    u: float
    p: float
    method: str
    n_x: int
    n_y: int


def mann_whitney(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test (scipy's, method chosen as scipy's "auto" does)."""
    x, y = _sample(x, "x", 1), _sample(y, "y", 1)
    # scipy's "auto" uses the exact distribution when both samples are small (< 8) or there are
    # no ties; record which one it used so the table can say.
    ties = np.unique(np.concatenate([x, y])).size < x.size + y.size
    method = "asymptotic" if ties or (x.size > 8 and y.size > 8) else "exact"
    res = stats.mannwhitneyu(x, y, alternative="two-sided", method=method)
    return MannWhitney(float(res.statistic), float(res.pvalue), method, int(x.size), int(y.size))


def mannwhitney_min_p(n1: int, n2: int) -> float:
    """The smallest two-sided exact Mann-Whitney p for samples of n1 and n2 values.

    Reached when the samples do not overlap: 2 / C(n1 + n2, n1). With n1 = 10 stories and
    n2 = 3 passages it is 2 / 286 = 0.00699, Jeong's reported p = 0.007: the test could not
    have returned anything smaller, whatever the size of the difference.
    """
    if n1 < 1 or n2 < 1:
        raise EmovecInputError(f"sample sizes must be >= 1; got n1={n1}, n2={n2}")
    x = np.arange(n1, dtype=np.float64)
    y = np.arange(n1, n1 + n2, dtype=np.float64)
    return float(stats.mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue)


def paired_wilcoxon(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of paired x - y: (statistic, p), scipy's defaults.

    Raises:
        EmovecInputError: samples of different length or fewer than 2 pairs.
    """
    x, y = _sample(x, "x", 2), _sample(y, "y", 2)
    if x.size != y.size:
        raise EmovecInputError(f"paired samples differ in length: {x.size} vs {y.size}")
    if np.all(x == y):
        return 0.0, 1.0
    res = stats.wilcoxon(x, y, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def sign_test(k: int, n: int) -> float:
    """Two-sided exact sign test: P(a Binomial(n, 1/2) count is as far from n/2 as k)."""
    if n < 1 or not 0 <= k <= n:
        raise EmovecInputError(f"sign test needs 0 <= k <= n and n >= 1; got k={k}, n={n}")
    return float(stats.binomtest(int(k), int(n), 0.5, alternative="two-sided").pvalue)
