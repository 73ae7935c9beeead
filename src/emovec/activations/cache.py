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
