"""Stage: separation of one cell's emotion vectors at every layer, with floor, null and anisotropy,
and (``--resampling-out``) the reported layer's leave-one-out, per-emotion and bootstrap replicates."""

from __future__ import annotations

import argparse
import dataclasses

from omegaconf import OmegaConf

from emovec.config import as_dataclass, SeparationConfig, VectorsConfig
from emovec.emotions import emotion_set
from emovec.geometry.resampling import resample_cell
from emovec.geometry.separation import separation_by_layer
from emovec.io import write_csv_rows_atomic, write_json_atomic
from emovec.stages.common import stage_entry
from emovec.stages.vectors import cell_activations


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True)
    ap.add_argument("--activations", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resampling-out", default=None,
                    help="JSON of LOO / per-emotion / bootstrap replicates at the reported layer")
    args = ap.parse_args(argv)
    raw = OmegaConf.load(args.config)
    vc: VectorsConfig = as_dataclass(raw.vectors, VectorsConfig, args.config)
    sc: SeparationConfig = as_dataclass(raw.separation, SeparationConfig, args.config)
    emotions = emotion_set(raw.emotion_set)
    acts, labels, aniso, meta = cell_activations(args.activations, raw.pooling)
    res = separation_by_layer(acts, labels, emotions, vc.baseline, vc.normalise, sc.n_permutations, sc.seed,
                              anisotropy_acts=aniso, variance_threshold=vc.variance_threshold)
    counts = {e: int((labels == e).sum()) for e in emotions}
    rows = [row | {"n_stimuli": int(sum(counts.values())), "min_n_per_emotion": min(counts.values()),
                   "n_neutral": int((labels == "neutral").sum()), "pooling": str(raw.pooling),
                   "is_reported_layer": row["layer"] == int(raw.layer)} for row in res.to_rows()]
    resampling = None
    if args.resampling_out:
        resampling = resample_cell(acts, labels, emotions, int(raw.layer), vc.baseline, sc.n_boot, sc.seed,
                                   vc.variance_threshold)
    write_csv_rows_atomic(args.out, rows, float_format=".6g")
    if resampling is not None:
        write_json_atomic(args.resampling_out, dataclasses.asdict(resampling) | {"pooling": raw.pooling})
    rep = next(row for row in rows if row["is_reported_layer"])
    print(f"separation {args.out}: layer {int(rep['layer'])} mean cosine {rep['mean_cosine']:.3f} "
          f"(floor {rep['floor']:.3f}, null {rep['null_mean']:.3f}, p {rep['p_null']:.3g})")


if __name__ == "__main__":
    raise SystemExit(main())
