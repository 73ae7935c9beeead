"""Stage: the activation cache of one cell (every layer, every pooling policy, one pass per batch).

Finished batches are kept under build/partial/ (outside DVC's outputs, which DVC deletes before
a stage runs), so an interrupted extraction resumes where it stopped; the partial directory is
named by a hash of everything the result depends on and is removed once the cache is written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from omegaconf import OmegaConf

from emovec.activations.cache import write_cache
from emovec.activations.extract import LAYER_DEFINITION, clear_resume_dir, extract_pooled, tokenise_stimuli
from emovec.activations.pooling import POOLINGS
from emovec.config import as_dataclass, ExtractionConfig, ModelConfig
from emovec.io import read_jsonl
from emovec.stages.common import progress_enabled, stage_entry


def poolings_for(kind: str) -> list[str]:
    """Every registered policy that applies: mid_generation needs a generated part."""
    return sorted(p for p in POOLINGS if kind == "generation" or p != "mid_generation")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True, help="build/config/cells/<cell>/extract.yaml")
    ap.add_argument("--stimuli", required=True)
    ap.add_argument("--model-card", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--partial-root", default="build/partial/extract")
    args = ap.parse_args(argv)
    raw = OmegaConf.load(args.config)
    spec: ModelConfig = as_dataclass(raw.model, ModelConfig, args.config)
    ext: ExtractionConfig = as_dataclass(raw.extraction, ExtractionConfig, args.config)
    rows = read_jsonl(args.stimuli)
    poolings = poolings_for(raw.corpus_kind)
    from emovec.models.loading import load_model

    loaded = load_model(spec)
    stimuli = tokenise_stimuli(loaded.tokenizer, rows, ext.max_length)
    key = hashlib.sha256("|".join([_sha(Path(args.config)), _sha(Path(args.stimuli)),
                                   _sha(Path(args.model_card)), ",".join(poolings)]).encode()).hexdigest()[:16]
    resume_dir = Path(args.partial_root) / f"{Path(args.out).name}-{key}"
    pooled = extract_pooled(loaded.bridge, loaded.n_layers, stimuli, poolings, batch_size=ext.batch_size,
                            mean_offset=ext.mean_offset, pad_id=loaded.tokenizer.pad_token_id,
                            resume_dir=resume_dir, progress=progress_enabled())
    import numpy as np

    meta = {
        "ids": [r["id"] for r in rows], "emotions": [r["emotion"] for r in rows], "roles": [r["role"] for r in rows],
        "n_tokens": [len(s.ids) for s in stimuli], "gen_start": [s.gen_start for s in stimuli],
        "n_empty_pooling": {p: int(np.isnan(a[:, 0, 0]).sum()) for p, a in pooled.items()},
        "axes": {"model": spec.name, "source": spec.local_dir or spec.hf_id, "revision": spec.revision,
                 "dtype": spec.dtype, "cache_dtype": ext.cache_dtype, "poolings": poolings,
                 "mean_offset": ext.mean_offset, "batch_size": ext.batch_size, "layers": LAYER_DEFINITION,
                 "n_layers": loaded.n_layers, "d_model": loaded.d_model},
        "model_card": json.loads(Path(args.model_card).read_text()),
    }
    write_cache(args.out, pooled, meta, ext.cache_dtype)
    clear_resume_dir(resume_dir)
    print(f"activations {Path(args.out).name}: {len(rows)} stimuli x {loaded.n_layers} layers x {loaded.d_model}")


if __name__ == "__main__":
    raise SystemExit(main())
