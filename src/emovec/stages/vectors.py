"""Stage: emotion vectors of one cell at every layer, under the configured baseline."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from emovec.activations.cache import read_cache
from emovec.config import as_dataclass, VectorsConfig
from emovec.emotions import emotion_set
from emovec.errors import EmovecInputError
from emovec.io import atomic_path
from emovec.stages.common import stage_entry
from emovec.vectors import compute_emotion_vectors


def cell_activations(cache_dir: str | Path, pooling: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[str, Any]]:
    """(emotion+neutral acts [n, L, d], their labels, anisotropy acts or None, meta) for a pooling.

    The anisotropy sentences have no generated part, so under mid_generation they are pooled at
    their last token (recorded in the outputs)."""
    pooled, meta = read_cache(cache_dir)
    if pooling not in pooled:
        raise EmovecInputError(f"{cache_dir}: pooling {pooling!r} not in the cache (has {sorted(pooled)})")
    roles = np.array(meta["roles"])
    acts = pooled[pooling]
    main_rows = roles != "anisotropy"
    sel = acts[main_rows]
    bad = [meta["ids"][i] for i in np.flatnonzero(main_rows) if np.isnan(acts[i]).any()]
    if bad:
        raise EmovecInputError(f"{cache_dir}: pooling {pooling!r} selects no token for stimuli {bad[:5]} "
                               f"({len(bad)} in all), e.g. texts shorter than extraction.mean_offset")
    aniso_pool = "last_token" if pooling == "mid_generation" else pooling
    aniso = pooled[aniso_pool][roles == "anisotropy"]
    aniso = aniso if len(aniso) >= 2 and not np.isnan(aniso).any() else None
    return sel, np.array(meta["emotions"])[main_rows], aniso, meta


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True)
    ap.add_argument("--activations", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    raw = OmegaConf.load(args.config)
    vc: VectorsConfig = as_dataclass(raw.vectors, VectorsConfig, args.config)
    emotions = emotion_set(raw.emotion_set)
    acts, labels, _, meta = cell_activations(args.activations, raw.pooling)
    ev = compute_emotion_vectors(acts, labels, emotions, vc.baseline, vc.normalise, vc.variance_threshold)
    info = {"baseline": ev.baseline, "normalised": ev.normalised, "pooling": raw.pooling,
            "n_per_emotion": ev.n_per_emotion, "n_neutral": ev.n_neutral, "axes": meta["axes"]}
    buf = io.BytesIO()
    np.savez(buf, vectors=ev.vectors.astype(np.float32), emotions=np.array(ev.emotions),
             removed_k=ev.removed_k if ev.removed_k is not None else np.array([], dtype=int),
             info=np.array(json.dumps(info, sort_keys=True)))
    with atomic_path(args.out) as tmp:
        tmp.write_bytes(buf.getvalue())
    print(f"vectors {Path(args.out).stem}: {len(emotions)} emotions x {ev.vectors.shape[1]} layers ({vc.baseline})")


if __name__ == "__main__":
    raise SystemExit(main())
