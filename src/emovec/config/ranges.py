"""The allowed range of a numeric config value, declared beside its schema field.

``ranged(default, allowed)`` makes a dataclass field that carries its :class:`Range` in the
field's metadata; :func:`emovec.config.checks.check_ranges` walks a composed config and checks
every such field, so a nonsensical value (``separation.n_permutations=-5``) stops compose with
one line naming the key, the value and the range, before any stage runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["COUNT", "LEVEL", "NON_NEGATIVE", "POSITIVE", "SHARE", "Range", "ranged"]


@dataclass(frozen=True)
class Range:
    """The values a numeric config field may take: finite, and within ``low``/``high`` (either
    end None: unbounded; ``*_open``: the end itself excluded). A list field's range applies to
    each element. Checked at compose by :func:`emovec.config.checks.check_ranges`."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, x: float) -> bool:
        if not math.isfinite(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return self.high is None or (x < self.high if self.high_open else x <= self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}" if self.low is not None else "finite"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        return f"in {'(' if self.low_open or self.low is None else '['}{lo}, {self.high:g}{')' if self.high_open else ']'}"


COUNT = Range(low=1)  # how many of something: at least one
NON_NEGATIVE = Range(low=0)  # seeds, offsets, counts that may be zero
POSITIVE = Range(low=0, low_open=True)  # rates, strengths, thresholds
LEVEL = Range(low=0, high=1, low_open=True, high_open=True)  # confidence levels
SHARE = Range(low=0, high=1)  # a fraction of something, ends included


def ranged(default: Any, allowed: Range) -> Any:
    """A dataclass field with its allowed range (``field(metadata={"range": ...})``)."""
    if callable(default):
        return field(default_factory=default, metadata={"range": allowed})
    return field(default=default, metadata={"range": allowed})
