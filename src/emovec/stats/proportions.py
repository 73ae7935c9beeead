"""Confidence intervals for proportions and their differences (units: fractions in [0, 1]).

The Wilson score interval (what ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``
gives) and Newcombe's hybrid score interval for the difference of two independent proportions
(Newcombe 1998, method 10), which keeps its coverage at the small counts a steering run has
(a handful of generations per condition), where the Wald interval collapses to zero width at 0/n.
"""

from __future__ import annotations

import math

from scipy.stats import norm

from emovec.errors import EmovecInputError

__all__ = ["newcombe_difference", "wilson_interval"]


def _check(k: int, n: int, name: str) -> None:
    if isinstance(k, bool) or isinstance(n, bool) or int(k) != k or int(n) != n or n < 1 or not 0 <= k <= n:
        raise EmovecInputError(f"{name}: need whole counts 0 <= k <= n and n >= 1; got k={k!r}, n={n!r}")


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion k/n at ``level`` (two-sided)."""
    _check(k, n, "wilson_interval")
    if not 0 < level < 1:
        raise EmovecInputError(f"wilson_interval: level must be in (0, 1); got {level!r}")
    z = float(norm.ppf(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, level: float = 0.95) -> tuple[float, float, float]:
    """(difference k1/n1 - k2/n2, low, high): Newcombe's hybrid score interval from the two
    Wilson intervals, for independent samples."""
    _check(k1, n1, "newcombe_difference (first)")
    _check(k2, n2, "newcombe_difference (second)")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
