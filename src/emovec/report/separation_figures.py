"""Figures for the separation experiment, rendered to PNG bytes from tracked pipeline outputs
(drawn and saved as ``emovec.report.figure_style`` says, so identical inputs on one installation
give identical bytes)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from emovec.readers.paper_separation import METHODS, PaperSpec, sort_key
from emovec.readers.separation import CellData
from emovec.report.figure_style import DPI, figure_style, png_bytes
from emovec.report.registry import register_figure
from emovec.report.render import FigureJob

__all__ = ["DPI", "cosine_heatmap_png", "figure_jobs", "heatmap_file", "u_curve_png"]

register_figure("u_curve", "separation", (
    "Mean pairwise cosine of emotion vectors by layer (U-curve), per model (colour) and extraction "
    "method (line style), with each cell's shuffled-label null band shaded and the floor $-1/(N-1)$ "
    "dashed; lower = better separation."
))
register_figure("cosine_heatmap", "separation", (
    "Cosine between every pair of emotion vectors at the cell's reported layer (blue negative, red "
    "positive, scale $[-1, 1]$); the title gives the mean pairwise cosine."
))

U_CURVE_FILE = "u_curve.png"


def heatmap_file(cell: str) -> str:
    """File name of a cell's cosine heatmap."""
    return f"cosine_heatmap_{cell}.png"


def _sweep_frame(cells: Mapping[str, CellData]) -> pd.DataFrame:
    """Long frame: one row per (cell, layer) with relative depth and the null band."""
    frames = []
    for cd in sorted(cells.values(), key=lambda c: sort_key(c.spec)):
        s = cd.separation
        n = cd.spec.n_layers
        frames.append(pd.DataFrame({
            "cell": cd.spec.cell, "model": cd.spec.model, "method": cd.spec.method,
            "depth": s["layer"].to_numpy() / max(n - 1, 1), "mean_cosine": s["mean_cosine"].to_numpy(),
            "null_lo": s["null_lo"].to_numpy(), "null_hi": s["null_hi"].to_numpy(),
            "floor": s["floor"].to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def u_curve_png(spec: PaperSpec, cells: Mapping[str, CellData]) -> bytes:
    """Mean cosine vs relative depth for every cell (hue = model, style = method).

    Each cell's shuffled-label null band (2.5-97.5%) is shaded in its model's colour and each
    distinct floor -1/(N-1) is a dashed line.
    """
    df = _sweep_frame(cells)
    models = list(dict.fromkeys(df["model"]))  # sort_key order
    methods = [m for m in METHODS if m in set(df["method"])]
    palette = dict(zip(models, sns.color_palette("colorblind", len(models)), strict=True))
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(7.0, 4.2))
        ax = fig.add_subplot()
        for _, g in df.groupby("cell", sort=True):
            ax.fill_between(g["depth"], g["null_lo"], g["null_hi"], color=palette[g["model"].iloc[0]],
                            alpha=0.12, linewidth=0)
        for floor in sorted(set(np.round(df["floor"].to_numpy(), 12))):
            ax.axhline(floor, color="0.3", linestyle="--", linewidth=0.9)
        sns.lineplot(data=df, x="depth", y="mean_cosine", hue="model", hue_order=models, style="method",
                     style_order=methods, palette=palette, markers=True, dashes=True, errorbar=None,
                     estimator=None, units="cell", sort=True, ax=ax)
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.3", linestyle="--", linewidth=0.9),
                    Patch(facecolor="0.5", alpha=0.25, linewidth=0)]
        labels += ["floor $-1/(N-1)$", "shuffled-label null 95%"]
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.set_xlabel("relative depth, layer / (n_layers - 1)")
        ax.set_ylabel("mean pairwise cosine (lower = better separation)")
        ax.set_xlim(0, 1)
        ax.set_title(f"Emotion-vector separation by depth ({spec.experiment})")
        return png_bytes(fig)


def cosine_heatmap_png(cell: CellData) -> bytes:
    """Emotion x emotion cosine matrix at the cell's reported layer (RdBu_r, centred at 0, [-1, 1])."""
    v = cell.layer_vectors
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos = np.clip(unit @ unit.T, -1.0, 1.0)
    n = len(cell.emotions)
    side = max(4.0, 0.32 * n + 1.5)
    s = cell.spec
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(side + 1.0, side))
        ax = fig.add_subplot()
        with warnings.catch_warnings():
            # seaborn's own Colormap.set_bad call warns on newer matplotlib; not our concern.
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(cos, cmap="RdBu_r", center=0.0, vmin=-1.0, vmax=1.0, square=True,
                        xticklabels=list(cell.emotions), yticklabels=list(cell.emotions), linewidths=0,
                        cbar_kws={"label": "cosine", "shrink": 0.8}, ax=ax)
        ax.tick_params(axis="x", labelrotation=90)
        ax.tick_params(axis="y", labelrotation=0)
        mean_cos = float(cell.reported["mean_cosine"])
        ax.set_title(f"{s.model}, {s.method} ({s.corpus})\nlayer {s.layer}/{s.n_layers}, "
                     f"mean pairwise cosine {mean_cos:.3f}")
        return png_bytes(fig)


def figure_jobs(spec: PaperSpec, cells: Mapping[str, CellData]) -> dict[str, FigureJob]:
    """Every figure's job: {file name: job}; the U-curve first, then heatmaps in cell order."""
    out: dict[str, FigureJob] = {U_CURVE_FILE: partial(u_curve_png, spec, cells)}
    for cd in sorted(cells.values(), key=lambda c: sort_key(c.spec)):
        out[heatmap_file(cd.spec.cell)] = partial(cosine_heatmap_png, cd)
    return out
