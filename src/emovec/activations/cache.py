"""The pooled activation cache on disk: ``pooled.safetensors`` (one tensor per pooling,
[n_stimuli, n_layers, d_model], in the configured dtype) and ``meta.json``, written as one
atomic directory rename.

Reading needs no torch for float32/float16 caches (safetensors' numpy loader), so the stages
that only read caches (vectors, separation, valence) start without importing torch; bfloat16,
which numpy lacks, is read through torch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from emovec.errors import EmovecInputError
from emovec.io import atomic_path

__all__ = ["CACHE_FILE", "META_FILE", "read_cache", "write_cache"]

CACHE_FILE = "pooled.safetensors"
META_FILE = "meta.json"


def write_cache(out_dir: str | Path, pooled: dict[str, np.ndarray], meta: dict[str, Any], cache_dtype: str) -> None:
    """Write ``pooled.safetensors`` (one tensor per pooling, [n, n_layers, d_model]) and
    ``meta.json`` into ``out_dir`` as one atomic directory rename."""
    import torch
    from safetensors.torch import save_file

    dtype = getattr(torch, cache_dtype)
    tensors = {p: torch.from_numpy(np.ascontiguousarray(a)).to(dtype) for p, a in sorted(pooled.items())}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        save_file(tensors, str(tmp / CACHE_FILE))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_cache(cache_dir: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a cache back as float32 arrays plus its metadata."""
    cache_dir = Path(cache_dir)
    if not (cache_dir / CACHE_FILE).is_file():
        raise EmovecInputError(f"activation cache {cache_dir} is missing {CACHE_FILE}")
    try:
        from safetensors.numpy import load_file

        arrays = {k: v.astype(np.float32) for k, v in load_file(str(cache_dir / CACHE_FILE)).items()}
    except (TypeError, ValueError, KeyError):  # bfloat16: no numpy dtype
        from safetensors.torch import load_file as load_torch

        arrays = {k: v.float().numpy() for k, v in load_torch(str(cache_dir / CACHE_FILE)).items()}
    meta = json.loads((cache_dir / META_FILE).read_text(encoding="utf-8"))
    return arrays, meta


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
