"""One cell's separation study: what the separation and resampling stages write.

``run_separation``: separation at every layer with floor, shuffled-label null and anisotropy
baseline (:func:`emovec.geometry.separation.separation_by_layer`). ``run_resampling``: at the
reported layer, the leave-one-out, per-emotion and bootstrap replicates (with the opposite pairs'
cosines in the same draws and a bootstrap of the anisotropy baseline over its sentences)
(:func:`emovec.geometry.resampling.resample_cell`). Two stages, as each reads its own settings:
the null's size (n_permutations) and the bootstrap's (n_boot) are edited independently.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.activations.cache import cell_activations
from emovec.artefacts.declarations import RESAMPLING_RECORD, SEPARATION_LAYERS, write_csv, write_json
from emovec.config.schema import VectorsConfig, as_dataclass
from emovec.corpora.emotion_sets import emotion_set
from emovec.errors import EmovecInputError
from emovec.geometry.resampling import resample_cell
from emovec.geometry.separation import separation_by_layer


def _required(raw: Any, key: str, config: str | Path) -> Any:
    """``raw.<key>`` (dotted) of a compose slice, or an error naming the file and the key: a slice
    holds only what its stage reads, so a missing key is never filled by a default."""
    value = OmegaConf.select(raw, key, default=None)
    if value is None:
        raise EmovecInputError(f"{config}: missing key {key!r}; re-run the compose stage")
    return value


@dataclasses.dataclass(frozen=True)
class _Cell:
    """What both stages read: a slice's vector settings, its draw count (``count_key``) and seed,
    and the cell's pooled activations (``acts`` [n_stimuli, n_layers, d_model], ``labels``
    [n_stimuli], ``aniso`` the anisotropy sentences' activations or None)."""

    raw: Any
    vectors: VectorsConfig
    n_draws: int
    seed: int
    emotions: list[str]
    acts: Any
    labels: Any
    aniso: Any


def _load_cell(config: str | Path, activations: str | Path, count_key: str) -> _Cell:
    """Read a cell's slice (erroring on a missing ``count_key`` or seed before any work) and its
    activation cache."""
    raw = OmegaConf.load(config)
    vc: VectorsConfig = as_dataclass(raw.vectors, VectorsConfig, str(config))
    n_draws = int(_required(raw, count_key, config))
    seed = int(_required(raw, "separation.seed", config))
    emotions = emotion_set(raw.emotion_set)
    acts, labels, aniso, _meta = cell_activations(activations, raw.pooling)
    return _Cell(raw, vc, n_draws, seed, emotions, acts, labels, aniso)


def run_separation(config: str | Path, activations: str | Path, out: str | Path) -> dict[str, Any]:
    """Write ``out`` (CSV, one row per layer: mean cosine, floor, shuffled-label null, anisotropy)
    and return the reported layer's row. ``config`` is the cell's separation slice
    (build/config/cells/<cell>/separation.yaml: ``separation.n_permutations`` and ``seed``);
    ``activations`` its activation cache."""
    cell = _load_cell(config, activations, "separation.n_permutations")
    raw, vc, emotions, labels = cell.raw, cell.vectors, cell.emotions, cell.labels
    res = separation_by_layer(cell.acts, labels, emotions, vc.baseline, vc.normalise, cell.n_draws, cell.seed,
                              anisotropy_acts=cell.aniso, variance_threshold=vc.variance_threshold)
    counts = {e: int((labels == e).sum()) for e in emotions}
    rows = [row | {"n_stimuli": int(sum(counts.values())), "min_n_per_emotion": min(counts.values()),
                   "n_neutral": int((labels == "neutral").sum()), "pooling": str(raw.pooling),
                   "is_reported_layer": row["layer"] == int(raw.layer)} for row in res.to_rows()]
    write_csv(out, SEPARATION_LAYERS, rows)
    rep = next(row for row in rows if row["is_reported_layer"])
    print(f"separation {out}: layer {int(rep['layer'])} mean cosine {rep['mean_cosine']:.3f} "
          f"(floor {rep['floor']:.3f}, null {rep['null_mean']:.3f}, p {rep['p_null']:.3g})")
    return rep


def run_resampling(config: str | Path, activations: str | Path, out: str | Path) -> dict[str, Any]:
    """Write ``out`` (JSON): the reported layer's leave-one-out, per-emotion and bootstrap
    replicates (:func:`~emovec.geometry.resampling.resample_cell`), and return it. ``config`` is
    the cell's resampling slice (build/config/cells/<cell>/resampling.yaml: ``separation.n_boot``
    and ``seed``, no ``n_permutations``, so an edit of the null's size never re-runs the
    bootstrap, which costs most of the two)."""
    cell = _load_cell(config, activations, "separation.n_boot")
    resampling = resample_cell(cell.acts, cell.labels, cell.emotions, int(cell.raw.layer), cell.vectors.baseline,
                               cell.n_draws, cell.seed, cell.vectors.variance_threshold, anisotropy_acts=cell.aniso)
    record = dataclasses.asdict(resampling) | {"pooling": cell.raw.pooling}
    write_json(out, RESAMPLING_RECORD, record)
    print(f"resampling {out}: layer {resampling.layer}, {cell.n_draws} bootstrap draws, {resampling.n_loo} leave-one-out")
    return record
