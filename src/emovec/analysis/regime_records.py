"""The steering regime records (Jeong §5.3/§6: surgical, repetitive collapse, explosive): per model
the perplexity and distinct-2 statistics of the regime rule (``regime_stats``) and, per scenario
and run, the controls and the norm scale (``regime_check``). Frozen records of built-in types,
written and read by :mod:`emovec.analysis.json_records`; computed by :mod:`emovec.analysis.steering`.
"""

from __future__ import annotations

from dataclasses import dataclass

from emovec.analysis.steering_records import find

__all__ = ["NormScale", "RegimeCheck", "RegimeStats", "RegimeTable", "ScenarioRegime"]


# ---------------------------------------------------------------------------- regime_stats


@dataclass(frozen=True)
class RegimeStats:
    """One model's regime row (Jeong §6).

    Attributes:
        model: the steered model.
        ppl_low, ppl_high: token-weighted perplexity of the emotion rows at the low / high
            magnitude (all scenarios and samples).
        ratio: ppl_high / ppl_low; random_ratio: the same over the random rows (NaN when a
            perplexity is undefined).
        distinct2_high: mean distinct-2 of the emotion rows at high that have one.
        repeat_high: median longest repeated span (tokens) of the emotion rows at high.
        n_low, n_high: emotion generations at low / high.
        regime: ``classify_regime`` of the above.
        distinct2_unsteered: mean distinct-2 of the unsteered rows (the same prompts, no steering).
        distinct2_random_high: mean distinct-2 of the random-direction rows at high.
        unsteered_collapsed: whether the unsteered text itself already meets the collapse rule's
            distinct-2 threshold (distinct2_unsteered <= collapse_max_distinct2): then a low
            distinct-2 under steering says nothing about the vector.
    """

    model: str
    ppl_low: float
    ppl_high: float
    ratio: float
    random_ratio: float
    distinct2_high: float
    repeat_high: float
    n_low: int
    n_high: int
    regime: str
    distinct2_unsteered: float
    distinct2_random_high: float
    unsteered_collapsed: bool


@dataclass(frozen=True)
class RegimeTable:
    """Analysis ``regime_stats``: the regime rule's thresholds and one row per model."""

    models: tuple[str, ...]
    low_strength: float
    high_strength: float
    explosive_min_ratio: float
    collapse_max_distinct2: float
    collapse_min_repeat: float
    rows: tuple[RegimeStats, ...]

    def of(self, model: str) -> RegimeStats:
        return find(self.rows, "regime_stats", model=model)


# ---------------------------------------------------------------------------- regime_check


@dataclass(frozen=True)
class ScenarioRegime:
    """One scenario of one model in one run (``main`` or ``check``): its emotion-vector
    generations at the high magnitude (mean distinct-2 of those with one, median longest repeat,
    n_high) and the token-weighted perplexity at low and high; beside them the controls of the same
    prompt: the mean distinct-2 of its unsteered generations and of its random-direction
    generations at the high magnitude (NaN where none has a distinct-2)."""

    model: str
    run: str
    scenario: str
    direction: int
    distinct2_high: float
    repeat_high: float
    ppl_low: float
    ppl_high: float
    n_high: int
    distinct2_unsteered: float
    distinct2_random_high: float


@dataclass(frozen=True)
class NormScale:
    """One steered layer of one model in one run: the norm reference against the typical (median)
    token norm over the run's distinct prompts (norms.csv), i.e. a strength s adds s x ratio_mean
    typical-token norms."""

    model: str
    run: str
    norm_reference: str
    layer: int
    reference_norm: float
    typical_norm: float
    first_token_norm: float
    ratio_mean: float
    ratio_min: float
    ratio_max: float


@dataclass(frozen=True)
class RegimeCheck:
    """Analysis ``regime_check``: the regimes of the main run and of the steering check (the same
    models under the check's overrides, ``check_label``; empty ``check`` when the run has none),
    per scenario, and the norm scale of both runs."""

    models: tuple[str, ...]
    check_label: str
    low_strength: float
    high_strength: float
    main: tuple[RegimeStats, ...]
    check: tuple[RegimeStats, ...]
    scenarios: tuple[ScenarioRegime, ...]
    norms: tuple[NormScale, ...]
