"""All-layer extraction in one forward pass per batch, pooled on the fly, resumable.

For every stimulus and every transformer block ``i`` we keep the pooled residual stream at
``blocks.{i}.hook_resid_post`` of the raw-weights TransformerBridge. That equals HF
``hidden_states[i + 1]`` for every block but the last, whose HF entry is taken *after* the final
norm; ours is the raw block output before it (METHODS trap 5).

Token activations are never held for more than one batch: hooks reduce each layer's
``[batch, seq, d_model]`` to ``[batch, d_model]`` per pooling policy as soon as it is computed.
Batches are formed from length-sorted stimuli (less padding); each finished batch is saved to a
resume directory, so an interrupted run continues where it stopped and yields the same cache.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emovec.activations.pooling import PoolingInputs, pooling_weights
from emovec.errors import EmovecInputError, is_out_of_memory
from emovec.io import atomic_path
from emovec.models.blocks import resid_post_hook_name

LAYER_DEFINITION = ("blocks.{i}.hook_resid_post of the raw-weights TransformerBridge "
                    "(= HF hidden_states[i+1] for i < n_layers-1; the last layer is before the final norm)")


@dataclass(frozen=True)
class TokenisedStimulus:
    """Token ids of one stimulus as the model reads it; ``gen_start`` = number of prompt tokens
    before the generated part (-1 for passages)."""

    ids: tuple[int, ...]
    gen_start: int = -1


def tokenise_stimuli(tokenizer: Any, rows: Sequence[dict[str, Any]], max_length: int) -> list[TokenisedStimulus]:
    """Generated rows reuse their stored ids (what was generated is what is read); passages are
    tokenised with the tokenizer's own special tokens (e.g. BOS)."""
    out = []
    for r in rows:
        if r.get("generated_ids") is not None:
            if r.get("prompt_ids") is None:
                raise EmovecInputError(f"stimulus {r['id']!r} has generated_ids but no prompt_ids")
            ids = tuple(int(i) for i in r["prompt_ids"]) + tuple(int(i) for i in r["generated_ids"])
            gen_start = len(r["prompt_ids"])
        else:
            ids = tuple(int(i) for i in tokenizer(r["text"])["input_ids"])
            gen_start = -1
        if not ids:
            raise EmovecInputError(f"stimulus {r['id']!r} tokenises to zero tokens")
        if len(ids) > max_length:
            raise EmovecInputError(f"stimulus {r['id']!r} has {len(ids)} tokens > extraction.max_length="
                                   f"{max_length}; raise the limit or shorten it (never truncated silently)")
        out.append(TokenisedStimulus(ids=ids, gen_start=gen_start))
    return out


def plan_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (stable sort, so the plan is deterministic)."""
    if batch_size < 1:
        raise EmovecInputError(f"extraction.batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[s: s + batch_size] for s in range(0, len(order), batch_size)]


def pad_batch(stimuli: Sequence[TokenisedStimulus], pad_id: int, side: str = "right") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask, gen_start) for a batch, padded on ``side``."""
    width = max(len(s.ids) for s in stimuli)
    ids = torch.full((len(stimuli), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(stimuli), width), dtype=torch.long)
    for row, s in enumerate(stimuli):
        n = len(s.ids)
        cols = slice(0, n) if side == "right" else slice(width - n, width)
        ids[row, cols] = torch.tensor(s.ids, dtype=torch.long)
        mask[row, cols] = 1
    gen_start = torch.tensor([s.gen_start for s in stimuli], dtype=torch.long)
    return ids, mask, gen_start


class _AllLayersPooled(Exception):
    """Raised by the last layer's hook: every layer is pooled, so the forward pass stops there."""


def extract_batch(bridge: Any, n_layers: int, stimuli: Sequence[TokenisedStimulus], poolings: Sequence[str],
                  mean_offset: int, pad_id: int, side: str = "right") -> dict[str, torch.Tensor]:
    """Pooled activations of one batch: ``{pooling: [batch, n_layers, d_model]}`` (float32).

    Rows whose pooling selects no token (mean_from_offset on a short text) come back as NaN.
    The forward pass stops after the last block's residual is pooled: the final norm and the
    unembedding would only make logits, [batch, tokens, vocabulary] floats (1 GiB for 8 stories
    of 640 tokens at GPT-2's 50,257 words, 5x that at Gemma's), which extraction never reads.
    """
    ids, mask, gen_start = pad_batch(stimuli, pad_id, side)
    inputs = PoolingInputs(mask=mask, gen_start=gen_start, mean_offset=mean_offset)
    weights = {p: pooling_weights(p, inputs) for p in poolings}
    device = next(bridge.parameters()).device
    w_dev = {p: w.to(device) for p, w in weights.items()}
    pooled: dict[str, list[torch.Tensor | None]] = {p: [None] * n_layers for p in poolings}

    def make_hook(layer: int) -> Callable:
        def hook(resid: torch.Tensor, hook: Any = None) -> None:
            r = resid.float()
            for p, w in w_dev.items():
                pooled[p][layer] = torch.einsum("bt,btd->bd", w, r).cpu()
            if layer == n_layers - 1:
                raise _AllLayersPooled
        return hook

    hooks = [(resid_post_hook_name(i), make_hook(i)) for i in range(n_layers)]
    try:
        with torch.no_grad(), bridge.hooks(fwd_hooks=hooks):  # the hooks are removed on the way out
            bridge(ids.to(device), attention_mask=mask.to(device))
    except _AllLayersPooled:
        pass
    out = {}
    for p in poolings:
        missing = [i for i, t in enumerate(pooled[p]) if t is None]
        if missing:
            raise RuntimeError(f"hooks did not fire for layers {missing}")
        stacked = torch.stack(pooled[p], dim=1)  # type: ignore[arg-type]
        empty = weights[p].sum(dim=1) == 0
        stacked[empty] = float("nan")
        out[p] = stacked
    return out


def extract_batch_with_fallback(bridge: Any, n_layers: int, stimuli: Sequence[TokenisedStimulus],
                                poolings: Sequence[str], mean_offset: int, pad_id: int,
                                on_split: Callable[[int], None] | None = None) -> dict[str, torch.Tensor]:
    """``extract_batch``, halving the batch on out-of-memory until it fits (one stimulus that
    does not fit is an error naming its length). Each row's pooled vector does not depend on
    its batch-mates (right padding, masked pooling), so a split batch gives the same result up
    to float rounding. ``on_split(size)`` is told each time a batch of ``size`` is split."""
    try:
        return extract_batch(bridge, n_layers, stimuli, poolings, mean_offset, pad_id)
    except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(stimuli) == 1:
            raise EmovecInputError(f"out of memory on a single stimulus of {len(stimuli[0].ids)} tokens; "
                                   "lower extraction.max_length, use a smaller dtype or a larger device") from exc
        if on_split is not None:
            on_split(len(stimuli))
        half = len(stimuli) // 2
        parts = [extract_batch_with_fallback(bridge, n_layers, part, poolings, mean_offset, pad_id, on_split)
                 for part in (stimuli[:half], stimuli[half:])]
        return {p: torch.cat([part[p] for part in parts], dim=0) for p in poolings}


def _warn_split(size: int) -> None:
    print(f"extract: out of memory on a batch of {size}; splitting it in two (extraction.batch_size is too large "
          "for this device)", file=sys.stderr)


def extract_pooled(bridge: Any, n_layers: int, stimuli: Sequence[TokenisedStimulus], poolings: Sequence[str], *,
                   batch_size: int, mean_offset: int, pad_id: int, resume_dir: str | Path | None = None,
                   progress: bool = True, stop_after_batches: int | None = None) -> dict[str, np.ndarray]:
    """Pooled activations of all stimuli: ``{pooling: [n_stimuli, n_layers, d_model]}`` float32,
    in stimulus order. Finished batches are saved under ``resume_dir`` and reused on a re-run;
    ``stop_after_batches`` simulates an interruption (tests)."""
    from tqdm import tqdm

    if not stimuli:
        raise EmovecInputError("no stimuli to extract")
    plan = plan_batches([len(s.ids) for s in stimuli], batch_size)
    rdir = Path(resume_dir) if resume_dir is not None else None
    if rdir is not None:
        rdir.mkdir(parents=True, exist_ok=True)
        (rdir / "plan.json").write_text(json.dumps(plan))
    results: dict[int, dict[str, torch.Tensor]] = {}
    done_now = 0
    for k, idx in enumerate(tqdm(plan, desc="extract", disable=not progress)):
        shard = rdir / f"batch-{k:05d}.pt" if rdir is not None else None
        if shard is not None and shard.is_file():
            results[k] = torch.load(shard)
            continue
        if stop_after_batches is not None and done_now >= stop_after_batches:
            raise KeyboardInterrupt(f"stopped after {done_now} batches (simulated interruption)")
        results[k] = extract_batch_with_fallback(bridge, n_layers, [stimuli[i] for i in idx], poolings, mean_offset,
                                                 pad_id, on_split=_warn_split)
        if shard is not None:
            with atomic_path(shard) as tmp:
                torch.save(results[k], tmp)
        done_now += 1
    out: dict[str, np.ndarray] = {}
    for p in poolings:
        first = next(iter(results.values()))[p]
        arr = np.empty((len(stimuli), n_layers, first.shape[-1]), dtype=np.float32)
        for k, idx in enumerate(plan):
            arr[idx] = results[k][p].numpy()
        out[p] = arr
    return out


def clear_resume_dir(resume_dir: str | Path) -> None:
    shutil.rmtree(resume_dir, ignore_errors=True)


def poolings_for(kind: str) -> list[str]:
    """Every registered policy that applies: mid_generation needs a generated part."""
    from emovec.activations.pooling import POOLINGS

    return sorted(p for p in POOLINGS if kind == "generation" or p != "mid_generation")


def run_extraction(config: str | Path, stimuli: str | Path, model_card: str | Path, out: str | Path,
                   partial_root: str | Path = "build/partial/extract") -> None:
    """The extract stage: one cell's activation cache (every layer, every pooling policy that
    applies, one pass per batch), written to ``out`` (see :mod:`emovec.activations.cache`).

    ``config`` is the cell's extract slice (``model``, ``extraction``, ``corpus_kind``);
    ``stimuli`` the cell's stimulus JSONL; ``model_card`` the model@ stage's card. Finished
    batches are kept under ``partial_root`` (outside DVC's outputs, which DVC deletes before a stage
    runs), so an interrupted extraction resumes where it stopped; the partial directory is named
    by a hash of everything the result depends on and is removed once the cache is written."""
    import hashlib

    from omegaconf import OmegaConf

    from emovec.activations.cache import write_cache
    from emovec.config.schema import ExtractionConfig, ModelConfig, as_dataclass
    from emovec.io import read_jsonl
    from emovec.models.loading import load_model
    from emovec.progress import progress_enabled

    def sha(path: str | Path) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    raw = OmegaConf.load(config)
    spec: ModelConfig = as_dataclass(raw.model, ModelConfig, str(config))
    ext: ExtractionConfig = as_dataclass(raw.extraction, ExtractionConfig, str(config))
    rows = read_jsonl(stimuli)
    poolings = poolings_for(raw.corpus_kind)
    loaded = load_model(spec)
    tokenised = tokenise_stimuli(loaded.tokenizer, rows, ext.max_length)
    key = hashlib.sha256("|".join([sha(config), sha(stimuli), sha(model_card),
                                   ",".join(poolings)]).encode()).hexdigest()[:16]
    resume_dir = Path(partial_root) / f"{Path(out).name}-{key}"
    pooled = extract_pooled(loaded.bridge, loaded.n_layers, tokenised, poolings, batch_size=ext.batch_size,
                            mean_offset=ext.mean_offset, pad_id=loaded.tokenizer.pad_token_id,
                            resume_dir=resume_dir, progress=progress_enabled())
    meta = {
        "ids": [r["id"] for r in rows], "emotions": [r["emotion"] for r in rows], "roles": [r["role"] for r in rows],
        "n_tokens": [len(s.ids) for s in tokenised], "gen_start": [s.gen_start for s in tokenised],
        "n_empty_pooling": {p: int(np.isnan(a[:, 0, 0]).sum()) for p, a in pooled.items()},
        "axes": {"model": spec.name, "source": spec.local_dir or spec.hf_id, "revision": spec.revision,
                 "dtype": spec.dtype, "cache_dtype": ext.cache_dtype, "poolings": poolings,
                 "mean_offset": ext.mean_offset, "batch_size": ext.batch_size, "layers": LAYER_DEFINITION,
                 "n_layers": loaded.n_layers, "d_model": loaded.d_model},
        "model_card": json.loads(Path(model_card).read_text()),
    }
    write_cache(out, pooled, meta, ext.cache_dtype)
    clear_resume_dir(resume_dir)
    print(f"activations {Path(out).name}: {len(rows)} stimuli x {loaded.n_layers} layers x {loaded.d_model}")
