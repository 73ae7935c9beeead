"""emovec.stats.proportions: Wilson against scipy, Newcombe's hybrid score interval against the
published example, and bad counts refused."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from emovec.errors import EmovecInputError
from emovec.stats.proportions import newcombe_difference, wilson_interval


@pytest.mark.parametrize("k,n,level", [(0, 5, 0.95), (1, 5, 0.95), (5, 5, 0.9), (56, 70, 0.95), (3, 17, 0.99)])
def test_wilson_equals_scipy(k, n, level):
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    assert wilson_interval(k, n, level) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_newcombe_reproduces_the_published_example():
    # Newcombe (1998), Stat Med 17:873, Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339
    d, lo, hi = newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2) and (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_newcombe_at_zero_counts_keeps_a_positive_width():
    d, lo, hi = newcombe_difference(0, 5, 0, 5)
    assert d == 0.0 and lo < 0 < hi and hi == pytest.approx(-lo)


@pytest.mark.parametrize("args", [(6, 5, 0, 5), (1, 0, 0, 5), (-1, 5, 0, 5), (1.5, 5, 0, 5), (True, 5, 0, 5)])
def test_bad_counts_are_refused(args):
    with pytest.raises(EmovecInputError, match="need whole counts"):
        newcombe_difference(*args)
