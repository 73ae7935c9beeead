"""The steering dose-response curves (analysis ``dose_response``): per steered model and panel,
the direction-signed change of a measure against the steering magnitude, as the paper's
dose-response figure draws it (:mod:`emovec.report.steering_figures` only renders these records).

Panels: one per classifier (in the paper config's order), its p_target shift
(:func:`emovec.analysis.agreement.target_shift`: mean p_target of a unit's generations minus
the mean p_target of the scenario's unsteered generations, the agreement table's shift), then
``delta`` (the target-projection change the steering stage records per generation, steered minus
unsteered; its reference is 0). Every value is multiplied by the scenario's direction, so "toward
the target" is positive for both directions. The unit of every point is the scenario: a
scenario's value at a magnitude is the shift of its generations there (mean over samples).

No LaTeX and no plotting here; the records are frozen dataclasses of built-in types
(:mod:`emovec.analysis.json_records` writes and reads them exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emovec.analysis.agreement import target_shift, unsteered_references
from emovec.analysis.steering import mean_finite
from emovec.analysis.steering_records import find
from emovec.readers.steering import SteeringData, magnitude_key

__all__ = ["DELTA_PANEL", "DoseCurve", "DoseResponseTable", "DoseScenario", "ModelDoseResponse", "ScenarioCurve",
           "dose_curve", "dose_response", "dose_magnitudes"]

DELTA_PANEL = "delta"  # the panel of the target-projection change (after the classifiers' panels)


@dataclass(frozen=True)
class DoseScenario:
    """A scenario of a model, in the run's scenario order: its target emotion and direction (+1
    toward the emotion, -1 away from it)."""

    scenario: str
    emotion: str
    direction: int


@dataclass(frozen=True)
class ScenarioCurve:
    """One scenario's line: direction x shift of its emotion-vector generations per magnitude
    (``ModelDoseResponse.magnitudes`` order; NaN where it has none)."""

    scenario: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class DoseCurve:
    """One panel of one model. ``measure``: a classifier name (p_target shift, its score units) or
    ``"delta"`` (target-projection change, activation units). Per magnitude: ``scenarios`` (one
    line each), ``mean`` (their mean over the scenarios with a value), ``random_mean`` /
    ``random_lo`` / ``random_hi`` (per random direction, the mean over scenarios of its
    direction-signed shift; then mean, min and max over directions). ``induction``: mean over
    scenarios of the prompt-induction shift; ``unsteered``: the same for the unsteered rows (0
    wherever the reference exists, by definition). NaN where nothing is there."""

    measure: str
    scenarios: tuple[ScenarioCurve, ...]
    mean: tuple[float, ...]
    random_mean: tuple[float, ...]
    random_lo: tuple[float, ...]
    random_hi: tuple[float, ...]
    induction: float
    unsteered: float


@dataclass(frozen=True)
class ModelDoseResponse:
    """One steered model's figure: the steered magnitudes (ascending, merged up to float noise),
    its scenarios, the block the target projection is read at, the samples per condition and
    random directions of the run, and the panels (classifiers in config order, then delta)."""

    model: str
    projection_layer: int
    n_samples: int
    n_random: int
    magnitudes: tuple[float, ...]
    scenarios: tuple[DoseScenario, ...]
    panels: tuple[DoseCurve, ...]

    def panel(self, measure: str) -> DoseCurve:
        return find(self.panels, f"dose_response of {self.model}", measure=measure)


@dataclass(frozen=True)
class DoseResponseTable:
    """Analysis ``dose_response``: one record per steered model (``steering_sort_key`` order)."""

    models: tuple[str, ...]
    per_model: tuple[ModelDoseResponse, ...]

    def of(self, model: str) -> ModelDoseResponse:
        return find(self.per_model, "dose_response", model=model)


def dose_magnitudes(measures: pd.DataFrame) -> list[float]:
    """The magnitudes of the emotion and random rows, merged by ``magnitude_key``, ascending."""
    steered = measures[measures["condition"].isin(["emotion", "random"])]
    return sorted({magnitude_key(m) for m in steered["magnitude"]})


def dose_curve(df: pd.DataFrame, column: str, measure: str, scenarios: Sequence[DoseScenario],
               magnitudes: Sequence[float], references: dict[tuple[str, str], float] | None) -> DoseCurve:
    """One panel of one model from its merged rows ``df`` (columns ``model, scenario, condition,
    magnitude, random_index`` and ``column``).

    Every point is ``direction x target_shift(rows, reference)`` of one scenario's rows: the
    reference is the scenario's unsteered mean of ``column`` (``references``, from
    :func:`unsteered_references`) or 0 when ``references`` is None (``column`` is already a
    change, e.g. ``delta``). See :class:`DoseCurve` for the aggregation over scenarios and random
    directions.
    """
    model = str(df["model"].iloc[0]) if len(df) else ""
    keys = df["magnitude"].map(magnitude_key)

    def signed(sc: DoseScenario, mask: pd.Series) -> float:
        ref = 0.0 if references is None else references.get((model, sc.scenario), math.nan)
        rows = df.loc[mask & (df["scenario"] == sc.scenario), column]
        return sc.direction * target_shift(rows, ref)

    emo, rnd = df["condition"] == "emotion", df["condition"] == "random"
    lines = tuple(ScenarioCurve(sc.scenario, tuple(signed(sc, emo & (keys == m)) for m in magnitudes))
                  for sc in scenarios)
    per_scenario = np.array([c.values for c in lines], dtype=float).reshape(len(lines), len(magnitudes))
    mean = tuple(mean_finite(per_scenario[:, j]) for j in range(len(magnitudes)))
    directions = sorted({int(r) for r in df.loc[rnd, "random_index"].dropna()})
    r_mean, r_lo, r_hi = [], [], []
    for m in magnitudes:
        by_dir = [mean_finite([signed(sc, rnd & (keys == m) & (df["random_index"] == r)) for sc in scenarios])
                  for r in directions]
        by_dir = [v for v in by_dir if math.isfinite(v)]
        r_mean.append(float(np.mean(by_dir)) if by_dir else math.nan)
        r_lo.append(min(by_dir) if by_dir else math.nan)
        r_hi.append(max(by_dir) if by_dir else math.nan)
    return DoseCurve(measure=measure, scenarios=lines, mean=mean, random_mean=tuple(r_mean), random_lo=tuple(r_lo),
                     random_hi=tuple(r_hi),
                     induction=mean_finite([signed(sc, df["condition"] == "induction") for sc in scenarios]),
                     unsteered=mean_finite([signed(sc, df["condition"] == "unsteered") for sc in scenarios]))


def dose_response(d: SteeringData, classifiers: Sequence[str]) -> ModelDoseResponse:
    """The dose-response record of one steered model: a p_target-shift panel per classifier of
    ``classifiers`` (names, in order), then the ``delta`` panel."""
    mags = dose_magnitudes(d.measures)
    scenarios = tuple(DoseScenario(scenario=str(r.scenario), emotion=str(r.emotion), direction=int(r.direction))
                      for r in d.scenarios.itertuples(index=False))
    panels = []
    for name in classifiers:
        scores = d.scores(name)
        panels.append(dose_curve(scores, "p_target", name, scenarios, mags, unsteered_references(scores)))
    panels.append(dose_curve(d.measures, "delta", DELTA_PANEL, scenarios, mags, None))
    return ModelDoseResponse(model=d.spec.model, projection_layer=int(d.summary["projection_layer"]),
                             n_samples=int(d.summary["n_samples"]), n_random=int(d.summary["n_random"]),
                             magnitudes=tuple(float(m) for m in mags), scenarios=scenarios, panels=tuple(panels))
