"""Effect sizes and two-group tests: against pingouin/scipy, and the LOO identity of METHODS §2.2."""

from __future__ import annotations

import numpy as np
import pingouin as pg
import pytest
from scipy import stats

from emovec.errors import EmovecInputError
from emovec.stats.effect_size import (
    cohens_d,
    cohens_d_ci,
    loo_means,
    mann_whitney,
    mannwhitney_min_p,
    paired_wilcoxon,
    sign_test,
)


@pytest.mark.parametrize("seed,nx,ny", [(0, 20, 20), (1, 10, 3), (2, 7, 31)])
def test_cohens_d_and_ci_equal_pingouin(seed: int, nx: int, ny: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0.4, 1.0, nx), rng.normal(0.0, 2.0, ny)
    d = cohens_d(x, y)
    assert d == pytest.approx(pg.compute_effsize(x, y, paired=False, eftype="cohen"), rel=1e-12)
    lo, hi = cohens_d_ci(d, nx, ny, 0.95)
    # pingouin rounds its interval; ask for 12 decimals so the comparison is exact to that.
    ref = pg.compute_esci(d, nx=nx, ny=ny, eftype="cohen", confidence=0.95, decimals=12)
    np.testing.assert_allclose([lo, hi], ref, rtol=0, atol=1e-11)


def test_loo_identity_d_on_replicates_is_n_minus_1_times_item_d() -> None:
    # Generated data, equal n: the LOO replicates' d is exactly (n - 1) times the items' d.
    rng = np.random.default_rng(7)
    for n in (3, 5, 10, 40):
        x, y = rng.normal(0.0, 1.0, n), rng.normal(0.3, 1.5, n)
        d_items = cohens_d(x, y)
        d_loo = cohens_d(loo_means(x), loo_means(y))
        # LOO means keep the sample mean and shrink the spread by n - 1.
        assert np.mean(loo_means(x)) == pytest.approx(np.mean(x), rel=1e-12)
        assert d_loo == pytest.approx((n - 1) * d_items, rel=1e-10)
        assert np.std(loo_means(x), ddof=1) == pytest.approx(np.std(x, ddof=1) / (n - 1), rel=1e-12)


def test_loo_means_known_answer() -> None:
    np.testing.assert_allclose(loo_means([1.0, 2.0, 6.0]), [4.0, 3.5, 1.5])


def test_mann_whitney_matches_scipy_and_records_method() -> None:
    x, y = [0.31, 0.35, 0.33, 0.36, 0.30, 0.32, 0.34, 0.37, 0.29, 0.38], [0.60, 0.66, 0.63]
    res = mann_whitney(x, y)
    ref = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
    assert (res.u, res.p, res.method, res.n_x, res.n_y) == (float(ref.statistic), float(ref.pvalue), "exact", 10, 3)
    assert res.u == 0.0  # no overlap: every x below every y
    tied = mann_whitney([1.0, 1.0, 2.0], [1.0, 3.0])
    assert tied.method == "asymptotic"


def test_mannwhitney_min_p_is_jeongs_reported_p() -> None:
    # Two non-overlapping samples of 10 and 3 values: 2 / C(13, 3) = 2 / 286.
    assert mannwhitney_min_p(10, 3) == pytest.approx(2 / 286, rel=1e-12)
    assert round(mannwhitney_min_p(10, 3), 3) == 0.007
    assert mannwhitney_min_p(3, 10) == mannwhitney_min_p(10, 3)


def test_sign_test_known_answers() -> None:
    assert sign_test(7, 7) == pytest.approx(2 * 0.5**7, rel=1e-12)  # 0.015625
    assert sign_test(0, 7) == sign_test(7, 7)
    assert sign_test(1, 2) == 1.0


def test_paired_wilcoxon_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, 20)
    y = x + rng.normal(0.5, 0.3, 20)
    stat, p = paired_wilcoxon(x, y)
    ref = stats.wilcoxon(x, y, alternative="two-sided")
    assert (stat, p) == (float(ref.statistic), float(ref.pvalue))
    assert paired_wilcoxon([1.0, 2.0], [1.0, 2.0]) == (0.0, 1.0)


@pytest.mark.parametrize("call,fragment", [
    (lambda: cohens_d([1.0], [1.0, 2.0]), "at least 2"),
    (lambda: cohens_d([1.0, 1.0], [2.0, 2.0]), "zero variance"),
    (lambda: cohens_d([1.0, float("nan")], [1.0, 2.0]), "index 1"),
    (lambda: cohens_d_ci(1.0, 1, 5), "n >= 2"),
    (lambda: cohens_d_ci(1.0, 5, 5, level=1.5), "level"),
    (lambda: paired_wilcoxon([1.0, 2.0], [1.0, 2.0, 3.0]), "differ in length"),
    (lambda: sign_test(8, 7), "0 <= k <= n"),
    (lambda: mannwhitney_min_p(0, 3), ">= 1"),
])
def test_bad_inputs_raise_clearly(call, fragment: str) -> None:
    with pytest.raises(EmovecInputError, match=fragment):
        call()
