"""emovec.config.ranges: a Range holds exactly the values it says, finite ones only, and says so."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import pytest

from emovec.config.ranges import COUNT, LEVEL, NON_NEGATIVE, POSITIVE, SHARE, Range, ranged


@pytest.mark.parametrize("allowed,inside,outside,text", [
    (COUNT, [1, 2, 10**9], [0, -1, 0.5, math.inf], ">= 1"),
    (NON_NEGATIVE, [0, 3], [-1, -1e-12, math.nan], ">= 0"),
    (POSITIVE, [1e-12, 5], [0, -2, math.inf], "> 0"),
    (LEVEL, [0.5, 0.999], [0, 1, 1.5], "in (0, 1)"),
    (SHARE, [0, 0.5, 1], [-0.1, 1.01, math.nan], "in [0, 1]"),
    (Range(low=0, high=1, low_open=True), [1, 1e-9], [0], "in (0, 1]"),
    (Range(high=2), [-5, 2], [2.5, -math.inf], "in (-inf, 2]"),
])
def test_a_range_holds_exactly_its_values_and_says_so(allowed: Range, inside, outside, text):
    assert all(allowed.contains(x) for x in inside)
    assert not any(allowed.contains(x) for x in outside)
    assert str(allowed) == text


def test_ranged_carries_the_range_and_a_list_default_is_fresh_per_instance():
    @dataclass
    class Probe:
        n: int = ranged(3, COUNT)
        xs: list[float] = ranged(lambda: [0.5], POSITIVE)

    a, b = Probe(), Probe()
    assert (a.n, a.xs) == (3, [0.5]) and a.xs is not b.xs
    assert {f.name: f.metadata["range"] for f in fields(Probe)} == {"n": COUNT, "xs": POSITIVE}
