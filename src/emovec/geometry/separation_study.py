"""One cell's separation study: what the separation stage writes.

Separation at every layer with floor, shuffled-label null and anisotropy baseline
(:func:`emovec.geometry.separation.separation_by_layer`), and, at the reported layer, the
leave-one-out, per-emotion and bootstrap replicates (with the opposite pairs' cosines in the same
draws and a bootstrap of the anisotropy baseline over its sentences) (:func:`emovec.geometry.resampling.resample_cell`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from emovec.artefacts import SEPARATION_LAYERS, write_csv
from emovec.activations.cache import cell_activations
from emovec.config import SeparationConfig, VectorsConfig, as_dataclass
from emovec.emotions import emotion_set
from emovec.geometry.resampling import resample_cell
from emovec.geometry.separation import separation_by_layer
from emovec.io import write_json_atomic


def run_separation(config: str | Path, activations: str | Path, out: str | Path,
                   resampling_out: str | Path | None = None) -> dict[str, Any]:
    """Write ``out`` (CSV, one row per layer) and, if given, ``resampling_out`` (JSON); return the
    reported layer's row. ``config`` is the cell's separation slice
    (build/config/cells/<cell>/separation.yaml); ``activations`` its activation cache."""
    raw = OmegaConf.load(config)
    vc: VectorsConfig = as_dataclass(raw.vectors, VectorsConfig, str(config))
    sc: SeparationConfig = as_dataclass(raw.separation, SeparationConfig, str(config))
    emotions = emotion_set(raw.emotion_set)
    acts, labels, aniso, meta = cell_activations(activations, raw.pooling)
    res = separation_by_layer(acts, labels, emotions, vc.baseline, vc.normalise, sc.n_permutations, sc.seed,
                              anisotropy_acts=aniso, variance_threshold=vc.variance_threshold)
    counts = {e: int((labels == e).sum()) for e in emotions}
    rows = [row | {"n_stimuli": int(sum(counts.values())), "min_n_per_emotion": min(counts.values()),
                   "n_neutral": int((labels == "neutral").sum()), "pooling": str(raw.pooling),
                   "is_reported_layer": row["layer"] == int(raw.layer)} for row in res.to_rows()]
    resampling = None
    if resampling_out:
        resampling = resample_cell(acts, labels, emotions, int(raw.layer), vc.baseline, sc.n_boot, sc.seed,
                                   vc.variance_threshold, anisotropy_acts=aniso)
    write_csv(out, SEPARATION_LAYERS, rows)
    if resampling is not None and resampling_out:
        write_json_atomic(resampling_out, dataclasses.asdict(resampling) | {"pooling": raw.pooling})
    rep = next(row for row in rows if row["is_reported_layer"])
    print(f"separation {out}: layer {int(rep['layer'])} mean cosine {rep['mean_cosine']:.3f} "
          f"(floor {rep['floor']:.3f}, null {rep['null_mean']:.3f}, p {rep['p_null']:.3g})")
    return rep
