"""Classifier agreement with steering (Jeong 2026 §5.4 analogue): per unit, does the classifier's
score of the scenario's target (p_target) move toward the target under the emotion vector, the
random control and prompt induction? Counts with Clopper-Pearson intervals. No LaTeX here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from emovec.analysis.steering import mean_finite
from emovec.analysis.steering_records import ModelCount
from emovec.readers.steering import magnitude_key

__all__ = ["COMPARISONS", "SCOPES", "agreement_counts", "agreement_units", "clopper_pearson", "model_counts",
           "no_hit_count", "target_shift", "unsteered_references"]

# (key, row label) of the agreement table, in print order. "emotion_vs_random" succeeds when the
# emotion vector moves p_target further toward the target than the random directions do.
COMPARISONS: tuple[tuple[str, str], ...] = (
    ("emotion", "emotion vector"),
    ("random", "random direction (matched norm)"),
    ("induction", "prompt induction (no steering)"),
    ("emotion_vs_random", "emotion vector beats random"),
)
SCOPES: tuple[str, ...] = ("protocol", "every strength")


def unsteered_references(df: pd.DataFrame, column: str = "p_target") -> dict[tuple[str, str], float]:
    """The reference of every shift: {(model, scenario): mean of the finite ``column`` values of
    that scenario's unsteered rows} (NaN when it has none), over all samples of the scenario.

    ``df``: merged measures (columns ``model, scenario, condition`` and ``column``), one or more
    models. Scenarios without unsteered rows are absent (a shift against them is NaN)."""
    u = df[df["condition"] == "unsteered"]
    return {k: mean_finite(g[column]) for k, g in u.groupby(["model", "scenario"], sort=True)}


def target_shift(values: Any, reference: float) -> float:
    """The one definition of a classifier "shift" (the agreement table's and the dose-response
    figure's): the mean of the finite ``values`` (p_target of one unit's generations, e.g. one
    scenario's emotion-vector rows at one strength) minus ``reference``, the mean p_target of the
    unsteered generations of the same (model, scenario) (:func:`unsteered_references`). Units:
    those of p_target (a probability for probability classifiers). NaN when either side is.

    The reference is the scenario's unsteered *mean*, not the unsteered generation of the same
    sample index, because a sample index pairs nothing: a model's rows are generated in batches
    that each draw from one random stream seeded by ``seed`` + the batch's first row
    (:func:`emovec.generate.generate_ids`), so the unsteered and a steered row of one sample index
    are different rows (often different batches) with their own draws, not the same seed under
    two conditions. Under sampling a per-sample difference only adds the unsteered row's own
    noise; under greedy decoding every sample is the same text and the two references agree."""
    return mean_finite(values) - reference


def agreement_units(df: pd.DataFrame) -> pd.DataFrame:
    """Per-unit classifier shifts (differences in p_target, a probability).

    ``df``: merged measures of one or more models (columns ``model, scenario, direction,
    condition, magnitude, is_protocol, p_target``). shift(c) = :func:`target_shift` of the unit's
    rows of condition c: their mean p_target minus the mean p_target of the unsteered rows of the
    same (model, scenario).

    Returns:
        One row per unit: ``scope`` ("protocol": unit = (model, scenario) with the emotion and
        random rows at is_protocol and all induction rows; "every strength": unit = (model,
        scenario, magnitude) over the emotion and random rows, no induction), ``model, scenario,
        direction, magnitude`` (the protocol magnitude for "protocol" units; NaN if the scenario
        has no protocol rows), ``emotion, random, induction`` (shifts; NaN where the unit has no
        such rows or no unsteered rows). Sorted by scope, model, scenario, magnitude.
    """
    base = unsteered_references(df)
    rows = []
    for (model, scenario), g in df.groupby(["model", "scenario"], sort=True):
        u = base.get((model, scenario), math.nan)
        direction = int(g["direction"].iloc[0])
        prot = g[g["is_protocol"]]
        mag = magnitude_key(prot["magnitude"].iloc[0]) if len(prot) else math.nan
        rows.append({"scope": "protocol", "model": model, "scenario": scenario, "direction": direction,
                     "magnitude": mag,
                     "emotion": target_shift(prot.loc[prot["condition"] == "emotion", "p_target"], u),
                     "random": target_shift(prot.loc[prot["condition"] == "random", "p_target"], u),
                     "induction": target_shift(g.loc[g["condition"] == "induction", "p_target"], u)})
        steered = g[g["condition"].isin(["emotion", "random"])]
        keys = steered["magnitude"].map(magnitude_key)
        for mag_key, part in steered.groupby(keys, sort=True):
            rows.append({"scope": "every strength", "model": model, "scenario": scenario, "direction": direction,
                         "magnitude": float(mag_key),
                         "emotion": target_shift(part.loc[part["condition"] == "emotion", "p_target"], u),
                         "random": target_shift(part.loc[part["condition"] == "random", "p_target"], u),
                         "induction": math.nan})
    out = pd.DataFrame(rows, columns=["scope", "model", "scenario", "direction", "magnitude", "emotion", "random",
                                      "induction"])
    out["_s"] = out["scope"].map(SCOPES.index)
    return out.sort_values(["_s", "model", "scenario", "magnitude"], kind="stable").drop(columns="_s") \
        .reset_index(drop=True)


def clopper_pearson(k: int, n: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson exact interval of the proportion k/n at ``level``; NaNs when n = 0."""
    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def agreement_counts(df: pd.DataFrame, ci_level: float) -> pd.DataFrame:
    """Success counts of the classifier agreement table.

    A unit (see ``agreement_units``) succeeds for comparison c when direction * shift_c > 0
    (strictly: no change is not a success); "emotion_vs_random" succeeds when
    direction * (shift_emotion - shift_random) > 0. Units lacking the shift(s) are left out of n.

    Returns:
        One row per (scope, comparison) in ``SCOPES`` x ``COMPARISONS`` order: ``scope,
        comparison, k, n, proportion, ci_low, ci_high`` (Clopper-Pearson exact interval at
        ``ci_level``; NaN when n = 0) and ``mean_shift`` (mean of direction * shift over the n
        units, in probability units). The induction row of "every strength" has n = 0 (induction
        has no strength).
    """
    rows = []
    for scope, key, signed in _signed_shifts(agreement_units(df)):
        n, k = int(signed.size), int((signed > 0).sum())
        lo, hi = clopper_pearson(k, n, ci_level)
        rows.append({"scope": scope, "comparison": key, "k": k, "n": n,
                     "proportion": k / n if n else math.nan, "ci_low": lo, "ci_high": hi,
                     "mean_shift": float(signed.mean()) if n else math.nan})
    return pd.DataFrame(rows)


def _signed_shifts(units: pd.DataFrame) -> Iterator[tuple[str, str, np.ndarray]]:
    """(scope, comparison, finite direction-signed shifts of the units that have them) in
    ``SCOPES`` x ``COMPARISONS`` order."""
    for scope in SCOPES:
        u = units[units["scope"] == scope]
        sign = u["direction"].to_numpy(dtype=float)
        for key, _ in COMPARISONS:
            if key == "emotion_vs_random":
                signed = sign * (u["emotion"].to_numpy(dtype=float) - u["random"].to_numpy(dtype=float))
            else:
                signed = sign * u[key].to_numpy(dtype=float)
            yield scope, key, signed[np.isfinite(signed)]


def model_counts(df: pd.DataFrame, models: Sequence[str]) -> list[ModelCount]:
    """The success counts of ``agreement_counts`` per model (``models`` order, then ``SCOPES`` x
    ``COMPARISONS``): units belong to one model, so the pooled k and n are the sums of these."""
    units = agreement_units(df)
    return [ModelCount(model=model, scope=scope, comparison=key, k=int((signed > 0).sum()), n=int(signed.size))
            for model in models for scope, key, signed in _signed_shifts(units[units["model"] == model])]


def no_hit_count(df: pd.DataFrame) -> tuple[int, int]:
    """(generations whose classifier found no lexicon hit, generations with a hit count); (0, 0)
    for a classifier without a lexicon (``n_hits`` empty)."""
    hits = df["n_hits"].to_numpy(dtype=float)
    return int((hits == 0).sum()), int(np.isfinite(hits).sum())
