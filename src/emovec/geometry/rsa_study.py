"""Cross-model emotion geometry: is the geometry of emotion vectors shared between models?

For every corpus read by two or more selected models, and every pair of those models, the
emotion vectors of each (``build/vectors/<model>__<corpus>.npz``) give one cosine matrix per model
at a stated depth; the two matrices are compared by RSA (:mod:`emovec.stats.rsa`: Spearman rho of
the upper triangles, one-sided Mantel p over joint relabellings, bootstrap CI over emotions).
Depths: each model's reported layer (``reported``: the layer the separation study reports), and a
grid of relative depths ``f`` where layer = round(f * (n_layers - 1)), so models of different
depth are compared at the same fraction of their depth. A pair of one family's base and instruct
models is marked ``base_instruct`` (Jeong's follow-up: rho >= 0.92 within mature families),
every other pair ``cross_model``.

Unit of analysis: emotions (n = the emotions both vector sets hold, in the first model's order);
the 190 pairwise cosines of 20 emotions are not independent, hence the Mantel null. No correction
across pairs or depths is applied here (the findings table states its own rule).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emovec.artefacts.declarations import cell_name
from emovec.errors import EmovecInputError
from emovec.stats.rsa import cosine_matrix, rsa_compare

__all__ = ["RSACell", "RSASettings", "align_emotions", "layer_at_depth", "read_vectors", "rsa_rows"]


@dataclass(frozen=True)
class RSASettings:
    """depths: relative depths in [0, 1] of the grid; n_perm: Mantel relabellings; n_boot:
    bootstrap resamples of emotions; seed; level: the CI level."""

    depths: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    n_perm: int = 9999
    n_boot: int = 2000
    seed: int = 0
    level: float = 0.95


@dataclass(frozen=True)
class RSACell:
    """One (model, corpus) cell whose vectors enter the comparison."""

    model: str
    corpus: str
    family: str
    variant: str
    n_layers: int
    layer: int  # the reported layer


def layer_at_depth(n_layers: int, depth: float) -> int:
    """The block at relative depth ``depth`` in [0, 1]: round(depth * (n_layers - 1)), halves to even."""
    if not 0.0 <= depth <= 1.0:
        raise EmovecInputError(f"depth {depth} is outside [0, 1]")
    return int(round(depth * (n_layers - 1)))


def read_vectors(path: Path, n_layers: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """(vectors float64 [n_emotions, n_layers, d], emotion names) of one cell's vectors file."""
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run the vectors stage of that cell first")
    with np.load(path, allow_pickle=False) as z:
        if "vectors" not in z.files or "emotions" not in z.files:
            raise EmovecInputError(f"{path}: expected arrays 'vectors' and 'emotions'; found {z.files}")
        vectors, emotions = z["vectors"].astype(np.float64), tuple(str(e) for e in z["emotions"])
    if vectors.ndim != 3 or vectors.shape[0] != len(emotions) or vectors.shape[1] != n_layers:
        raise EmovecInputError(f"{path}: vectors of shape {vectors.shape}; expected [{len(emotions)}, {n_layers}, d]")
    return vectors, emotions


def align_emotions(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[list[int], list[int], tuple[str, ...]]:
    """Row indices into ``a`` and ``b`` of the emotions both hold, in ``a``'s order (so row k of
    both selections is the same emotion), and those emotions."""
    common = tuple(e for e in a if e in set(b))
    return [a.index(e) for e in common], [b.index(e) for e in common], common


def _pair_kind(x: RSACell, y: RSACell) -> str:
    return "base_instruct" if x.family == y.family and {x.variant, y.variant} == {"base", "instruct"} else "cross_model"


def rsa_rows(cells: Sequence[RSACell], vectors_dir: Path, settings: RSASettings) -> list[dict[str, Any]]:
    """One row per (corpus, model pair, depth): the pair, its kind, the layers compared, and every
    field of :class:`emovec.stats.rsa.RSAResult`. Pairs follow ``cells``' order; depth
    ``reported`` comes first, then the grid."""
    by_corpus: dict[str, list[RSACell]] = {}
    for c in cells:
        by_corpus.setdefault(c.corpus, []).append(c)
    rows: list[dict[str, Any]] = []
    for corpus, group in by_corpus.items():
        loaded: Mapping[str, tuple[np.ndarray, tuple[str, ...]]] = {
            c.model: read_vectors(vectors_dir / f"{cell_name(c.model, corpus)}.npz", c.n_layers) for c in group}
        for x, y in itertools.combinations(group, 2):
            (vx, ex), (vy, ey) = loaded[x.model], loaded[y.model]
            ix, iy, common = align_emotions(ex, ey)
            if len(common) < 3:
                raise EmovecInputError(f"corpus {corpus!r}: {x.model} and {y.model} share {len(common)} emotions; "
                                       "RSA needs at least 3")
            depths: list[tuple[str, int, int]] = [("reported", x.layer, y.layer)]
            depths += [(f"{d:g}", layer_at_depth(x.n_layers, d), layer_at_depth(y.n_layers, d)) for d in settings.depths]
            for depth, lx, ly in depths:
                res = rsa_compare(vx[ix, lx], vy[iy, ly], n_perm=settings.n_perm, n_boot=settings.n_boot,
                                  seed=settings.seed, level=settings.level)
                rows.append({"corpus": corpus, "model_a": x.model, "model_b": y.model, "kind": _pair_kind(x, y),
                             "depth": depth, "layer_a": lx, "layer_b": ly,
                             "rel_depth_a": lx / (x.n_layers - 1), "rel_depth_b": ly / (y.n_layers - 1),
                             **vars(res)})
    return rows


def cosine_matrices(cells: Sequence[RSACell], vectors_dir: Path) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """{cell name: (cosine matrix [n, n] at the reported layer, emotions)}: what the heatmap draws."""
    out = {}
    for c in cells:
        vectors, emotions = read_vectors(vectors_dir / f"{cell_name(c.model, c.corpus)}.npz", c.n_layers)
        out[cell_name(c.model, c.corpus)] = (cosine_matrix(vectors[:, c.layer]), emotions)
    return out
