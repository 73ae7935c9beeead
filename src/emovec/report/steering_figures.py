"""Figures for the steering experiment, rendered to PNG bytes from the analyses stage's records.

Like every paper figure (``emovec.report.figure_style``): bare ``matplotlib.figure.Figure`` objects on the Agg canvas (no
pyplot), a fixed seaborn style inside ``rc_context``, a fixed DPI and no "Software" metadata, so
identical inputs on one installation give identical bytes.

* ``dose_response_<model>.png``: one panel per classifier (in the paper config's order), each
  the shift of that classifier's target score p_target (the agreement table's shift: mean
  p_target minus the mean p_target of the scenario's unsteered generations), and a last panel
  with the target-projection change delta, all against the steering magnitude: one thin line per
  scenario for the emotion vector, their mean as a thick line, the random-direction control
  (dashed, min-max band across directions), prompt induction (dotted) and the unsteered level
  (solid thin). Values of direction -1 scenarios are multiplied by -1, so "toward the target" is
  always up. Every point is read from the ``dose_response`` analysis
  (``build/analyses/dose_response.json``, :mod:`emovec.analysis.dose_response`); this
  module only draws it.
"""

from __future__ import annotations

import math
from functools import partial

import matplotlib as mpl
import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from emovec.analysis.dose_response import DELTA_PANEL, DoseCurve, DoseResponseTable, ModelDoseResponse
from emovec.readers.paper_steering import ClassifierSpec, SteeringSpec
from emovec.report.figure_style import DPI, figure_style, png_bytes
from emovec.report.registry import register_figure
from emovec.report.render import FigureJob

__all__ = ["DPI", "build_steering_figures", "dose_response_file", "dose_response_png", "steering_figure_jobs"]

register_figure("dose_response", "steering", (
    "Steering dose response: shift of each classifier's target score (one panel per classifier, named"
    " in its title) and change of the target-emotion projection (last panel) against steering "
    "magnitude, for the emotion vector (one thin line per scenario, their mean thick), random "
    "directions of matched norm (dashed, min--max band), prompt induction (dotted) and the unsteered "
    "level; scenarios that steer away from the emotion are sign-flipped, so up = toward the target."
))


def dose_response_file(model: str) -> str:
    """File name of a model's dose-response figure."""
    return f"dose_response_{model}.png"


def _panel(ax: Axes, r: ModelDoseResponse, curve: DoseCurve, palette: dict[str, tuple[float, float, float]],
           unsteered_label: str) -> None:
    """Draw one panel of ``r`` (``curve``: its values per ``r.magnitudes``) on ``ax``."""
    x = np.asarray(r.magnitudes, dtype=float)
    sc = {s.scenario: s for s in r.scenarios}
    for line in curve.scenarios:
        sign = "+" if sc[line.scenario].direction > 0 else "\N{MINUS SIGN}"
        ax.plot(x, line.values, color=palette[line.scenario], linewidth=0.9, marker="o", markersize=2.5, alpha=0.85,
                label=f"{line.scenario} ({sc[line.scenario].emotion}, {sign})")
    ax.plot(x, curve.mean, color="black", linewidth=2.4, marker="o", markersize=4,
            label="emotion vector, mean of scenarios")
    lo, hi = np.asarray(curve.random_lo, dtype=float), np.asarray(curve.random_hi, dtype=float)
    if np.isfinite(lo).any():
        ax.fill_between(x, lo, hi, color="0.5", alpha=0.2, linewidth=0)
    ax.plot(x, curve.random_mean, color="0.45", linestyle="--", linewidth=1.4,
            label="random direction (matched norm), mean; band min-max over directions")
    if math.isfinite(curve.induction):
        ax.axhline(curve.induction, color="tab:purple", linestyle=":", linewidth=1.6,
                   label="prompt induction (no steering)")
    if math.isfinite(curve.unsteered):
        ax.axhline(curve.unsteered, color="0.2", linestyle="-", linewidth=0.8, label=unsteered_label)
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


def dose_response_png(spec: SteeringSpec, r: ModelDoseResponse) -> bytes:
    """One panel per classifier of ``spec`` (direction x p_target shift) and one for the target
    projection (direction x delta, steered minus unsteered), all vs magnitude, drawn from the
    analyses stage's ``dose_response`` record ``r`` of one model (no statistic computed here);
    unit: scenarios, lines are means."""
    assert spec.classifiers
    names = [s.scenario for s in r.scenarios]
    palette = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=True))
    n_panels = len(spec.classifiers) + 1
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(5.0 * n_panels + 1.0, 4.4), layout="constrained")
        axes = fig.subplots(1, n_panels, squeeze=False)[0]
        for ax, c in zip(axes[:-1], spec.classifiers, strict=True):
            _panel(ax, r, r.panel(c.name), palette, "unsteered (0 by definition)")
            ax.set_ylabel(f"direction \N{MULTIPLICATION SIGN} \N{GREEK CAPITAL LETTER DELTA} p(target), "
                          f"{c.display_name}\n"
                          "(steered \N{MINUS SIGN} unsteered mean; up = toward the target)", fontsize=7)
            ax.set_title(_classifier_title(c), fontsize=8)
        right = axes[-1]
        _panel(right, r, r.panel(DELTA_PANEL), palette, "unsteered (0 by definition)")
        right.set_ylabel(f"direction \N{MULTIPLICATION SIGN} \N{GREEK CAPITAL LETTER DELTA} target projection "
                         f"at block {r.projection_layer}\n"
                         "(steered \N{MINUS SIGN} unsteered; up = toward the target)", fontsize=7)
        right.set_title("target-emotion projection change", fontsize=8)
        right.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=6,
                     title="scenario (emotion, direction)", title_fontsize=6)
        fig.suptitle(f"{r.model}: dose response (thin: one scenario, mean over {r.n_samples} sample(s); "
                     f"random: {r.n_random} directions)", fontsize=9)
        return png_bytes(fig)


def steering_figure_jobs(spec: SteeringSpec, table: DoseResponseTable | None) -> dict[str, FigureJob]:
    """Every steering figure's job: {file name: job}, one per model of the analyses stage's
    ``dose_response`` record ``table`` (its ``steering_sort_key`` order); {} when no model is
    listed or no record is given."""
    if not spec.models or table is None:
        return {}
    return {dose_response_file(r.model): partial(dose_response_png, spec, r) for r in table.per_model}


def build_steering_figures(spec: SteeringSpec, table: DoseResponseTable | None) -> dict[str, bytes]:
    """Render every steering figure here: {file name: PNG bytes}, in ``steering_figure_jobs`` order."""
    return {name: job() for name, job in steering_figure_jobs(spec, table).items()}
