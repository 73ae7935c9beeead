"""Figures for the steering experiment, rendered to PNG bytes from validated outputs.

Like every paper figure (``emovec.paper.figure_style``): bare ``matplotlib.figure.Figure`` objects on the Agg canvas (no
pyplot), a fixed seaborn style inside ``rc_context``, a fixed DPI and no "Software" metadata, so
identical inputs on one installation give identical bytes.

* ``dose_response_<model>.png``: one panel per classifier (in the paper config's order), each
  the shift of that classifier's target score p_target (p_target minus the unsteered
  generation's p_target of the same scenario and sample), and a last panel with the
  target-projection change delta, all against the steering magnitude: one thin line per
  scenario for the emotion vector, their mean as a thick line, the random-direction control
  (dashed, min-max band across directions), prompt induction (dotted) and the unsteered level
  (solid thin). Values of direction -1 scenarios are multiplied by -1, so "toward the target" is
  always up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from emovec.paper.figure_style import DPI, figure_style, png_bytes
from emovec.paper.loaders.steering import SteeringData
from emovec.paper.loaders.steering_spec import ClassifierSpec, SteeringSpec, steering_sort_key
from emovec.paper.render import FigureJob

__all__ = ["DPI", "build_steering_figures", "dose_response_file", "dose_response_png", "steering_figure_jobs"]


def dose_response_file(model: str) -> str:
    """File name of a model's dose-response figure."""
    return f"dose_response_{model}.png"


def _signed(df: pd.DataFrame, column: str) -> pd.Series:
    # direction -1 scenarios steer away from the emotion: flipping their sign puts "toward the
    # target" up for every scenario, so the lines of both directions can share one axis.
    return df["direction"].astype(float) * df[column].astype(float)


def _nanmean(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def _with_p_shift(d: SteeringData, classifier: str) -> SteeringData:
    """``d`` with ``measures`` = the classifier's merged frame plus ``p_shift``: p_target minus
    the unsteered p_target of the same scenario and sample, so every panel reads as a change
    against the same reference (0 = the unsteered text)."""
    import dataclasses

    m = d.scores(classifier)
    base = m[m["condition"] == "unsteered"].set_index(["scenario", "sample"])["p_target"]
    ref = [base.get((sc, sa), math.nan) for sc, sa in zip(m["scenario"], m["sample"])]
    return dataclasses.replace(d, measures=m.assign(p_shift=m["p_target"].astype(float) - np.asarray(ref, float)))


def _magnitudes(d: SteeringData) -> list[float]:
    steered = d.measures[d.measures["condition"].isin(["emotion", "random"])]
    return sorted({float(f"{m:.9g}") for m in steered["magnitude"]})


def dose_response_curves(d: SteeringData, column: str, mags: list[float]) -> dict:
    """Per-magnitude series of one panel (values already direction-signed).

    Returns: ``scenarios`` {name: [mean over samples per magnitude]}, ``mean`` (mean over
    scenarios), ``random_mean``, ``random_lo``, ``random_hi`` (per random direction: mean over
    scenarios and samples; then mean / min / max across directions), ``induction`` and
    ``unsteered`` (means over all their rows).
    """
    df = d.measures.assign(_v=_signed(d.measures, column), _m=[float(f"{m:.9g}") for m in d.measures["magnitude"]])
    emo = df[df["condition"] == "emotion"]
    rnd = df[df["condition"] == "random"]
    scen = {}
    for name in d.scenarios["scenario"]:
        part = emo[emo["scenario"] == name]
        scen[name] = [_nanmean(part.loc[part["_m"] == m, "_v"]) for m in mags]
    per_scenario = np.array(list(scen.values()), dtype=float).reshape(len(scen), len(mags))
    mean = [_nanmean(per_scenario[:, j]) for j in range(len(mags))]
    r_mean, r_lo, r_hi = [], [], []
    for m in mags:
        at = rnd[rnd["_m"] == m]
        by_dir = [_nanmean(g["_v"]) for _, g in at.groupby("random_index", sort=True)]
        by_dir = [v for v in by_dir if math.isfinite(v)]
        r_mean.append(float(np.mean(by_dir)) if by_dir else math.nan)
        r_lo.append(min(by_dir) if by_dir else math.nan)
        r_hi.append(max(by_dir) if by_dir else math.nan)
    return {"scenarios": scen, "mean": mean, "random_mean": r_mean, "random_lo": r_lo, "random_hi": r_hi,
            "induction": _nanmean(df.loc[df["condition"] == "induction", "_v"]),
            "unsteered": _nanmean(df.loc[df["condition"] == "unsteered", "_v"])}


def _panel(ax, d: SteeringData, curves: dict, mags: list[float], palette: dict, unsteered_label: str) -> None:
    x = np.asarray(mags, dtype=float)
    sc = d.scenarios.set_index("scenario")
    for name, values in curves["scenarios"].items():
        sign = "+" if int(sc.at[name, "direction"]) > 0 else "\N{MINUS SIGN}"
        ax.plot(x, values, color=palette[name], linewidth=0.9, marker="o", markersize=2.5, alpha=0.85,
                label=f"{name} ({sc.at[name, 'emotion']}, {sign})")
    ax.plot(x, curves["mean"], color="black", linewidth=2.4, marker="o", markersize=4,
            label="emotion vector, mean of scenarios")
    lo, hi = np.asarray(curves["random_lo"], dtype=float), np.asarray(curves["random_hi"], dtype=float)
    if np.isfinite(lo).any():
        ax.fill_between(x, lo, hi, color="0.5", alpha=0.2, linewidth=0)
    ax.plot(x, curves["random_mean"], color="0.45", linestyle="--", linewidth=1.4,
            label="random direction (matched norm), mean; band min-max over directions")
    if math.isfinite(curves["induction"]):
        ax.axhline(curves["induction"], color="tab:purple", linestyle=":", linewidth=1.6,
                   label="prompt induction (no steering)")
    if math.isfinite(curves["unsteered"]):
        ax.axhline(curves["unsteered"], color="0.2", linestyle="-", linewidth=0.8, label=unsteered_label)
    if len(x) > 1 and (x > 0).all():
        # The sweep is roughly geometric (0.005 ... 0.05): a log axis spaces it evenly.
        ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(list(x)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([f"{m:g}" for m in x])
    ax.set_xlabel("steering magnitude |strength| (\N{MULTIPLICATION SIGN} norm reference)")


def _classifier_title(c: ClassifierSpec) -> str:
    if c.score_kind.startswith("probability") or c.score_kind.startswith("softmax"):
        return "classifier probability of the target label, change"
    if c.name == "vader":
        return "compound valence toward the target's valence sign, change"
    return "classifier score of the target label, change"


def dose_response_png(spec: SteeringSpec, d: SteeringData) -> bytes:
    """One panel per classifier (direction x p_target shift) and one for the target projection
    (direction x delta, steered minus unsteered), all vs magnitude; unit: generations, lines are
    means."""
    assert spec.classifiers
    mags = _magnitudes(d)
    names = list(d.scenarios["scenario"])
    palette = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))
    layer = d.summary["projection_layer"]
    n_panels = len(spec.classifiers) + 1
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(5.0 * n_panels + 1.0, 4.4), layout="constrained")
        axes = fig.subplots(1, n_panels, squeeze=False)[0]
        for ax, c in zip(axes[:-1], spec.classifiers, strict=True):
            _panel(ax, d, dose_response_curves(_with_p_shift(d, c.name), "p_shift", mags), mags, palette,
                   "unsteered (0 by definition)")
            ax.set_ylabel(f"direction \N{MULTIPLICATION SIGN} \N{GREEK CAPITAL LETTER DELTA} p(target), "
                          f"{c.display_name}\n"
                          "(steered \N{MINUS SIGN} unsteered; up = toward the target)", fontsize=7)
            ax.set_title(_classifier_title(c), fontsize=8)
        right = axes[-1]
        _panel(right, d, dose_response_curves(d, "delta", mags), mags, palette, "unsteered (0 by definition)")
        right.set_ylabel(f"direction \N{MULTIPLICATION SIGN} \N{GREEK CAPITAL LETTER DELTA} target projection "
                         f"at block {layer}\n"
                         "(steered \N{MINUS SIGN} unsteered; up = toward the target)", fontsize=7)
        right.set_title("target-emotion projection change", fontsize=8)
        right.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=6,
                     title="scenario (emotion, direction)", title_fontsize=6)
        n = d.summary["n_samples"]
        fig.suptitle(f"{d.spec.model}: dose response (thin: one scenario, mean over {n} sample(s); "
                     f"random: {d.summary['n_random']} directions)", fontsize=9)
        return png_bytes(fig)


def steering_figure_jobs(spec: SteeringSpec, data: Mapping[str, SteeringData]) -> dict[str, FigureJob]:
    """Every steering figure's job: {file name: job} in ``steering_sort_key`` order of the
    models; {} when no model is listed or loaded."""
    if not spec.models or not data:
        return {}
    return {dose_response_file(d.spec.model): partial(dose_response_png, spec, d)
            for d in sorted(data.values(), key=lambda d: steering_sort_key(d.spec))}


def build_steering_figures(spec: SteeringSpec, data: Mapping[str, SteeringData]) -> dict[str, bytes]:
    """Render every steering figure here: {file name: PNG bytes}, in ``steering_figure_jobs`` order."""
    return {name: job() for name, job in steering_figure_jobs(spec, data).items()}
