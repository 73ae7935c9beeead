"""Figures for the valence/arousal experiment, rendered to PNG bytes from validated outputs.

Like ``emovec.report.separation_figures``: bare ``matplotlib.figure.Figure`` objects on the Agg canvas (no
pyplot), a fixed seaborn style inside ``rc_context``, a fixed DPI and no "Software" metadata, so
identical inputs on one installation give identical bytes.

* ``valence_layers_<model>.png``: Pearson r per layer for PC1-valence and PC2-arousal, one line
  per corpus with its bootstrap CI band, the peak layer starred.
* ``pc_scatter_<cell>.png``: the emotions' PC1 vs PC2 scores at the valence peak layer,
  coloured by valence rating.
* ``cka_<model>.png``: debiased linear CKA between layers per corpus, plus CKA between corpora
  at the same layer when the model ran on more than one corpus.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import matplotlib as mpl
import numpy as np
import seaborn as sns
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from emovec.readers.paper_valence import ValenceSpec, valence_sort_key
from emovec.readers.valence import CKAData, ValenceCellData
from emovec.report.figure_style import DPI, figure_style, png_bytes
from emovec.report.registry import register_figure
from emovec.report.render import FigureJob

__all__ = [
    "DPI",
    "build_valence_figures",
    "valence_figure_jobs",
    "cka_file",
    "cka_png",
    "pc_scatter_file",
    "pc_scatter_png",
    "valence_layers_file",
    "valence_layers_png",
]

register_figure("pc_scatter", "valence", (
    "The emotions' PC1 versus PC2 scores at the valence peak layer, each emotion coloured by its "
    "valence rating."
))
register_figure("valence_layers", "valence", (
    "Pearson $r$ per layer between PC1 scores and valence ratings and between PC2 scores and arousal "
    "ratings, one line per story corpus with its bootstrap 95\\% CI band; the peak layer is starred."
))
register_figure("cka", "valence", (
    "Debiased linear CKA between the layers' emotion representations, per story corpus, and between "
    "corpora at the same layer when the model ran on more than one corpus."
))

_N_LABEL_ALL = 30  # annotate every emotion up to this many; beyond, the 5 highest and 5 lowest
_N_EXTREMES = 5
_PANELS = (("valence", "PC1", "valence"), ("arousal", "PC2", "arousal"))


def valence_layers_file(model: str) -> str:
    return f"valence_layers_{model}.png"


def pc_scatter_file(cell: str) -> str:
    return f"pc_scatter_{cell}.png"


def cka_file(model: str) -> str:
    return f"cka_{model}.png"


def _ci_text(cells: list[ValenceCellData]) -> str:
    levels = sorted({float(c.summary["ci_level"]) for c in cells})
    pct = ", ".join(f"{100 * v if v <= 1 else v:g}%" for v in levels)
    boots = ", ".join(str(v) for v in sorted({int(c.summary["n_boot"]) for c in cells}))
    ns = ", ".join(str(v) for v in sorted({c.n_emotions for c in cells}))
    return (f"bands: {pct} percentile bootstrap CI over emotions (PCA refit; {boots} resamples); "
            f"n = {ns} emotions; star = post-hoc peak; dashed = R on PC1 and PC2 together (rotation-invariant)")


def valence_layers_png(model: str, cells: list[ValenceCellData]) -> bytes:
    """Two panels (PC1-valence, PC2-arousal): r per layer, one line + CI band per corpus, and R
    (the rating on PC1 and PC2 together) dashed beside it."""
    cells = sorted(cells, key=lambda c: valence_sort_key(c.spec))
    palette = dict(zip([c.spec.cell for c in cells], sns.color_palette("colorblind", len(cells)), strict=True))
    n_layers = cells[0].spec.n_layers
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(9.0, 4.0), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        for ax, (target, pc, rating) in zip(axes, _PANELS, strict=True):
            ax.axhline(0.0, color="0.3", linewidth=0.8)
            for cd in cells:
                layers = cd.layers
                x = layers["layer"].to_numpy()
                color = palette[cd.spec.cell]
                ax.fill_between(x, layers[f"{target}_r_ci_low"].to_numpy(), layers[f"{target}_r_ci_high"].to_numpy(),
                                color=color, alpha=0.18, linewidth=0)
                ax.plot(x, layers[f"{target}_r"].to_numpy(), color=color, marker="o", markersize=2.5,
                        linewidth=1.2, label=f"{cd.spec.corpus} ({cd.spec.generator})")
                # R (PC1 and PC2 together) is >= |r|: where the dashed line leaves |r|, the rating lies off the PC
                ax.plot(x, layers[f"{target}_R"].to_numpy(), color=color, linestyle="--", linewidth=0.9)
                pk = cd.peak(target)
                ax.plot([int(pk["layer"])], [float(pk["r"])], marker="*", markersize=11, color=color,
                        markeredgecolor="black", markeredgewidth=0.6, linestyle="none")
            ax.set_ylim(-1.0, 1.0)
            ax.set_xlim(-0.5, n_layers - 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel(f"layer (0-based block of {n_layers})")
            ax.set_title(f"{pc} vs {rating} rating")
        axes[0].set_ylabel("Pearson r across emotions")
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, title="corpus (generator)")
        fig.suptitle(f"{model}: PC-rating correlation by layer\n{_ci_text(cells)}", fontsize=8)
        return png_bytes(fig)


def labelled_emotions(cd: ValenceCellData) -> list[int]:
    """Indices of the emotions the scatter names: all up to 30, else the 5 lowest and 5 highest valence."""
    n = len(cd.emotions)
    if n <= _N_LABEL_ALL:
        return list(range(n))
    order = np.argsort(cd.valence, kind="stable")
    return sorted({*order[:_N_EXTREMES].tolist(), *order[-_N_EXTREMES:].tolist()})


def pc_scatter_png(cd: ValenceCellData) -> bytes:
    """PC1 vs PC2 scores at the valence peak layer, coloured by the valence rating."""
    pk = cd.peak("valence")
    layer = int(pk["layer"])
    xy = cd.scores[layer]
    s = cd.spec
    lam = float(cd.layers["lambda_ratio"].iloc[layer])
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(6.0, 4.8), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0.0, color="0.6", linewidth=0.6)
        ax.axvline(0.0, color="0.6", linewidth=0.6)
        points = ax.scatter(xy[:, 0], xy[:, 1], c=cd.valence, cmap="RdBu", norm=Normalize(-1.0, 1.0),
                            s=28, edgecolors="0.2", linewidths=0.4)
        for i in labelled_emotions(cd):
            ax.annotate(cd.emotions[i], (xy[i, 0], xy[i, 1]), xytext=(3, 3), textcoords="offset points",
                        fontsize=6)
        cbar = fig.colorbar(points, ax=ax, shrink=0.85)
        cbar.set_label(f"valence rating ({s.norms}, [-1, 1])")
        ax.set_xlabel(f"PC1 score (oriented; lambda1/lambda2 = {lam:.2f})")
        ax.set_ylabel("PC2 score (oriented)")
        labelled = "all emotions labelled" if len(cd.emotions) <= _N_LABEL_ALL else \
            f"{_N_EXTREMES} highest and {_N_EXTREMES} lowest valence labelled"
        ax.set_title(
            f"{s.model} / {s.corpus}, layer {layer}/{s.n_layers} (valence peak)\n"
            f"r(PC{int(pk['pc'])}, valence) = {float(pk['r']):.2f} "
            f"[{float(pk['r_ci_low']):.2f}, {float(pk['r_ci_high']):.2f}], n = {cd.n_emotions} emotions; "
            f"{labelled}", fontsize=8)
        return png_bytes(fig)


def cka_png(cka: CKAData) -> bytes:
    """One heatmap per corpus (layer x layer debiased CKA, colour scale fixed to [0, 1], values below
    0 clipped), plus a line panel of between-corpus CKA per layer when pairs exist."""
    k = len(cka.corpora)
    n_layers = cka.layer_by_layer.shape[1]
    extra = 1 if cka.pairs else 0
    step = max(1, int(np.ceil(n_layers / 8)))
    ticks = list(range(0, n_layers, step))
    with mpl.rc_context(figure_style()):
        fig = Figure(figsize=(3.4 * (k + extra) + 0.8, 3.6), layout="constrained")
        axes = fig.subplots(1, k + extra, squeeze=False)[0]
        image = None
        for ax, corpus, mat in zip(axes[:k], cka.corpora, cka.layer_by_layer, strict=True):
            image = ax.imshow(mat, vmin=0.0, vmax=1.0, cmap="viridis", origin="lower", interpolation="nearest")
            ax.set_title(corpus, fontsize=8)
            ax.set_xlabel("layer")
            ax.set_ylabel("layer")
            ax.set_xticks(ticks)
            ax.set_yticks(ticks)
            ax.grid(False)
        if image is not None:
            cbar = fig.colorbar(image, ax=list(axes[:k]), shrink=0.85)
            cbar.set_label("debiased linear CKA (below 0 clipped)")
        if extra:
            ax = axes[-1]
            palette = sns.color_palette("colorblind", len(cka.pairs))
            x = np.arange(n_layers)
            for (a, b), values, color in zip(cka.pairs, cka.between_corpora, palette, strict=True):
                ax.plot(x, values, marker="o", markersize=2.5, linewidth=1.2, color=color, label=f"{a} vs {b}")
            low = float(np.nanmin(cka.between_corpora)) if np.isfinite(cka.between_corpora).any() else 0.0
            ax.set_ylim(min(0.0, low - 0.05), 1.05)
            ax.set_xlim(-0.5, n_layers - 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("layer")
            ax.set_ylabel("CKA between corpora, same layer")
            ax.set_title("between corpora", fontsize=8)
            ax.legend(loc="lower left", fontsize=6, frameon=False)
        fig.suptitle(f"{cka.model}: debiased linear CKA of emotion contrast vectors (n = {cka.n_emotions} "
                     "emotions)\nheatmap colour scale fixed to [0, 1], values below 0 clipped", fontsize=8)
        return png_bytes(fig)


def valence_figure_jobs(spec: ValenceSpec, cells: Mapping[str, ValenceCellData],
                        cka: Mapping[str, CKAData]) -> dict[str, FigureJob]:
    """Every valence figure's job: {file name: job}; {} without valence cells.

    Order: per model (``valence_sort_key`` order) the layer profile, then each of its cells'
    scatter plots, then its CKA figure when ``cka`` has the model.
    """
    if not spec.cells or not cells:
        return {}
    models: dict[str, list[ValenceCellData]] = {}
    for cd in sorted(cells.values(), key=lambda c: valence_sort_key(c.spec)):
        models.setdefault(cd.spec.model, []).append(cd)
    out: dict[str, FigureJob] = {}
    for model, group in models.items():
        out[valence_layers_file(model)] = partial(valence_layers_png, model, group)
        for cd in group:
            out[pc_scatter_file(cd.spec.cell)] = partial(pc_scatter_png, cd)
        if model in cka:
            out[cka_file(model)] = partial(cka_png, cka[model])
    return out


def build_valence_figures(spec: ValenceSpec, cells: Mapping[str, ValenceCellData],
                          cka: Mapping[str, CKAData]) -> dict[str, bytes]:
    """Render every valence figure here: {file name: PNG bytes}, in ``valence_figure_jobs`` order."""
    return {name: job() for name, job in valence_figure_jobs(spec, cells, cka).items()}
