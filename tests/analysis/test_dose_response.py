"""The one definition of a classifier shift (mean p_target minus the scenario's unsteered mean),
the dose-response curves built on it, and the norm scale shared by the norm-scale table and the
findings: known answers on tiny hand-made frames (dyadic values, exact in floating point)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from emovec.analysis.agreement import agreement_units, target_shift, unsteered_references
from emovec.analysis.dose_response import DoseScenario, dose_curve, dose_magnitudes
from emovec.analysis.regime_records import NormScale
from emovec.analysis.steering import norm_ratio_scale


def _frame() -> pd.DataFrame:
    """Model m, scenario s (direction -1) with two samples, whose unsteered p_target are 0.25 and
    0.75 (mean 0.5); its emotion row of sample 1 at 0.01 has no score. Scenario t (direction +1)
    has no unsteered rows."""
    rows = [
        # scenario, direction, condition, magnitude, random_index, sample, p_target
        ("s", -1, "unsteered", 0.0, None, 0, 0.25), ("s", -1, "unsteered", 0.0, None, 1, 0.75),
        ("s", -1, "induction", 0.0, None, 0, 0.125), ("s", -1, "induction", 0.0, None, 1, 0.375),
        ("s", -1, "emotion", 0.01, None, 0, 0.5), ("s", -1, "emotion", 0.01, None, 1, math.nan),
        ("s", -1, "emotion", 0.02, None, 0, 0.0), ("s", -1, "emotion", 0.02, None, 1, 0.25),
        ("s", -1, "random", 0.01, 0, 0, 0.75), ("s", -1, "random", 0.01, 0, 1, 0.75),
        ("s", -1, "random", 0.01, 1, 0, 0.5), ("s", -1, "random", 0.01, 1, 1, 0.25),
        ("t", 1, "emotion", 0.01, None, 0, 0.5),
    ]
    df = pd.DataFrame(rows, columns=["scenario", "direction", "condition", "magnitude", "random_index", "sample",
                                     "p_target"])
    return df.assign(model="m", is_protocol=df["magnitude"] == 0.02)


def test_the_shift_is_taken_against_the_scenarios_unsteered_mean():
    df = _frame()
    refs = unsteered_references(df)
    assert refs == {("m", "s"): 0.5}  # t has no unsteered rows
    emo = df[(df["scenario"] == "s") & (df["condition"] == "emotion") & (df["magnitude"] == 0.01)]
    # mean of the scored rows (0.5) minus the unsteered mean (0.5); the same-sample pairing would say
    # 0.5 - 0.25 = +0.25, an artefact of which unsteered sample happens to share the index.
    assert target_shift(emo["p_target"], refs[("m", "s")]) == 0.0
    assert target_shift([0.0, 0.25], 0.5) == -0.375
    assert math.isnan(target_shift([0.5], math.nan)) and math.isnan(target_shift([math.nan], 0.5))
    # the agreement table's units use this very shift
    units = agreement_units(df).set_index(["scope", "scenario", "magnitude"])
    assert units.loc[("every strength", "s", 0.01), "emotion"] == 0.0
    assert units.loc[("every strength", "s", 0.01), "random"] == 0.5625 - 0.5
    assert units.loc[("protocol", "s", 0.02), "emotion"] == -0.375
    assert units.loc[("protocol", "s", 0.02), "induction"] == 0.25 - 0.5
    assert math.isnan(units.loc[("every strength", "t", 0.01), "emotion"])


def test_the_dose_curve_signs_and_aggregates_the_shifts():
    df = _frame()
    scenarios = [DoseScenario("s", "sad", -1), DoseScenario("t", "happy", 1)]
    mags = dose_magnitudes(df)
    assert mags == [0.01, 0.02]
    curve = dose_curve(df, "p_target", "toy", scenarios, mags, unsteered_references(df))
    # s: direction -1 x (0.5 - 0.5, 0.125 - 0.5); t: no reference -> NaN
    assert curve.scenarios[0].values == (-0.0, 0.375)
    assert all(math.isnan(v) for v in curve.scenarios[1].values)
    assert curve.mean == (0.0, 0.375)
    # random at 0.01 (s only): r0 -1 x (0.75 - 0.5) = -0.25, r1 -1 x (0.375 - 0.5) = +0.125; none at 0.02
    assert (curve.random_lo[0], curve.random_hi[0], curve.random_mean[0]) == (-0.25, 0.125, -0.0625)
    assert np.isnan([curve.random_lo[1], curve.random_hi[1], curve.random_mean[1]]).all()
    assert curve.induction == -1 * (0.25 - 0.5) and curve.unsteered == 0.0
    # a column that already is a change (delta) has reference 0: direction x its mean
    plain = dose_curve(df, "p_target", "delta", scenarios, mags, None)
    assert plain.scenarios[1].values[0] == 0.5 and plain.scenarios[0].values == (-0.5, -0.125)


def test_the_norm_scale_is_the_median_and_range_over_layers():
    def ns(run: str, layer: int, ratio: float) -> NormScale:
        return NormScale(model="m", run=run, norm_reference="r", layer=layer, reference_norm=ratio,
                         typical_norm=1.0, first_token_norm=9.0, ratio_mean=ratio, ratio_min=ratio, ratio_max=ratio)

    norms = [ns("main", 0, 4.0), ns("main", 1, 20.0), ns("main", 2, 12.0), ns("main", 3, 6.0), ns("check", 0, 1.0)]
    assert norm_ratio_scale(norms, "m", "main") == (9.0, 4.0, 20.0)
    assert norm_ratio_scale(norms, "m", "check") == (1.0, 1.0, 1.0)
    assert norm_ratio_scale(norms, "other", "main") is None and norm_ratio_scale([], "m", "main") is None
