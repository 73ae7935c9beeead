"""Small-n intervals and tests (emovec.stats.small_n): scipy as the oracle, exact enumeration by
hand, and coverage at n = 5 over seeded samples (the percentile bootstrap's shortfall beside it)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from emovec.errors import EmovecInputError
from emovec.stats.small_n import sign_flip_p, t_interval


def test_t_interval_equals_scipys():
    d = np.array([0.3, -0.1, 0.8, 0.25, 0.05])
    lo, hi = t_interval(d, 0.9)
    expected = stats.t.interval(0.9, 4, loc=d.mean(), scale=stats.sem(d))
    assert (lo, hi) == pytest.approx(expected, abs=1e-14)
    assert t_interval(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0)


def test_t_interval_covers_at_the_nominal_rate_at_n5_and_the_percentile_bootstrap_does_not():
    """4,000 seeded normal samples of n = 5 with mean 1: the t interval covers 1 in 95% of them
    (binomial sd 0.34 points: within 1.2 points), a 2,000-draw percentile bootstrap of the mean
    in far fewer (it was what the steering findings used before issue 26)."""
    rng = np.random.default_rng(0)
    samples = rng.normal(1.0, 2.0, size=(4000, 5))
    t_cover = np.mean([lo <= 1.0 <= hi for lo, hi in (t_interval(s) for s in samples)])
    assert abs(t_cover - 0.95) < 0.012, t_cover
    boot_rng = np.random.default_rng(1)
    boot_cover = []
    for s in samples[:1000]:
        means = s[boot_rng.integers(0, 5, size=(2000, 5))].mean(axis=1)
        lo, hi = np.quantile(means, [0.025, 0.975])
        boot_cover.append(lo <= 1.0 <= hi)
    assert np.mean(boot_cover) < 0.90, np.mean(boot_cover)


def test_sign_flip_p_is_the_share_of_sign_patterns_reaching_the_observed_mean():
    d = np.array([0.5, 1.0, -0.2, 0.7])
    means = np.array([np.dot(s, d) / 4 for s in itertools.product((1, -1), repeat=4)])
    assert sign_flip_p(d, "greater") == (np.mean(means >= d.mean() - 1e-12), 1 / 16)
    assert sign_flip_p(d, "less") == (np.mean(means <= d.mean() + 1e-12), 1 / 16)
    assert sign_flip_p(d, "two-sided") == (np.mean(np.abs(means) >= abs(d.mean()) - 1e-12), 2 / 16)
    # all positive: the observed pattern is the only one reaching its mean
    assert sign_flip_p(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), "greater") == (1 / 32, 1 / 32)


def test_sign_flip_p_is_exact_under_the_null():
    """Under a symmetric null P(p <= 1/2^n) is exactly 1/2^n: with n = 5 over 3,200 seeds the
    smallest p (1/32) occurs at that rate (binomial sd 0.31 points: within 1 point)."""
    rng = np.random.default_rng(2)
    hits = np.mean([sign_flip_p(rng.normal(size=5), "greater")[0] <= 1 / 32 for _ in range(3200)])
    assert abs(hits - 1 / 32) < 0.01, hits


@pytest.mark.parametrize("call,message", [
    (lambda: t_interval(np.array([1.0])), "at least 2 values"),
    (lambda: t_interval(np.array([1.0, np.nan])), "finite"),
    (lambda: t_interval(np.array([1.0, 2.0]), 1.5), "level must lie in"),
    (lambda: sign_flip_p(np.ones(21)), "n=21 > 20"),
    (lambda: sign_flip_p(np.ones(3), "up"), "side must be"),
])
def test_bad_inputs_are_refused(call, message):
    with pytest.raises(EmovecInputError, match=message):
        call()
