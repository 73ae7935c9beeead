"""Activation steering (Jeong 2026 §5): add ``unit vector x strength x norm reference`` to the
residual stream after chosen blocks, during batched, KV-cached generation.

Where the vectors go
--------------------
``Steering.additions[l]`` is added to the *output of block l*: the residual stream that
``blocks.{l}.hook_resid_post`` of the TransformerBridge and HF ``hidden_states[l + 1]`` show (for
the last block HF reports the stream after the final norm; we add before it, at the raw block
output, like the extraction does).

Which modules are hooked (tested on tiny GPT-2, Llama, Mistral, Qwen2, Apertus, Gemma 2, 3, 4)
--------------------------------------------------------------------------------------------
``TransformerBridge.boot_transformers(..., hf_model=hf_model)`` does not copy the model: it
*replaces the HF submodules in place* (``bridge.original_model is hf_model``). After
``load_model``, each entry of the HF block list (e.g. ``hf_model.model.layers[i]``) is a
TransformerLens ``BlockBridge`` (the very object ``bridge.blocks[i]``) that wraps the original HF
decoder layer as ``_original_component`` and calls it, then applies its ``hook_out``
(= ``blocks.{i}.hook_resid_post``) to the result. Hooks on either module fire once per block in
``hf_model(...)``, in the prefill and every KV-cached decode step of ``hf_model.generate(...)``
(hidden states [batch, 1, d] after the prefill) and in ``bridge(...)``.

We hook the *inner* HF block (``_original_component``, followed to the innermost; the block itself
when there is no bridge), with ``prepend=True``, because transformers 5 fills ``hidden_states`` by
its own forward hooks on the HF block class (``_can_record_outputs``, installed lazily on the first
forward): a hook on the outer ``BlockBridge`` would change the stream the next block reads, but
``output_hidden_states`` and the bridge's ``hook_resid_post`` would still show the unsteered block
output. Prepending on the inner block puts the addition before those recorders whatever their
installation order, so HF ``hidden_states[l+1]`` (l < n_layers-1), the bridge's
``blocks.{l}.hook_resid_post`` and the next block's input all show the steered stream. The block
output is a plain tensor in transformers 5 (older versions return a tuple whose first element is
the hidden states); both forms are handled.

Known model types (:data:`BLOCK_LISTS`, keyed by ``hf_model.config.model_type``)
-------------------------------------------------------------------------------
Each maps to the attribute path(s) of the decoder block list on the AutoModelForCausalLM class,
checked in transformers 5.23 (modeling code and TransformerLens' ``blocks`` mapping):

- ``gpt2`` (GPT2LMHeadModel): ``transformer.h``;
- ``llama`` (also SmolLM2), ``mistral``, ``qwen2``, ``apertus``, ``gemma2``, ``gemma3_text``
  (Gemma3ForCausalLM: Gemma-3 270M and 1B) and ``gemma4_text`` (Gemma4ForCausalLM):
  ``model.layers``, the one resolver they share (``DECODER_LAYERS``);
- ``gemma3`` and ``gemma4`` (Gemma3/Gemma4ForConditionalGeneration: Gemma-3 4B and up,
  Gemma-4-E4B-it; multimodal): the text decoder's ``model.language_model.layers``, then
  ``model.layers`` (``TEXT_DECODER_OF_MULTIMODAL``; never the vision tower's layers).

A model_type not listed needs no code: its blocks are found by shape (:func:`find_blocks_by_shape`:
the one ``ModuleList`` named ``layers``/``h``/``blocks`` whose length is the config's number of
hidden layers, outside any vision or audio tower), so a new family is one model config file.
Listing it in :data:`BLOCK_LISTS` (usually the shared ``DECODER_LAYERS``, or
``TEXT_DECODER_OF_MULTIMODAL`` for a multimodal wrapper) pins the path, and its tiny config in
tests/test_architectures.py checks that the blocks found are the bridge's ``blocks`` and that
additions are exact. No block list found by shape (or more than one), or a listed model_type whose
paths do not exist on the loaded class, is an :class:`EmovecInputError` naming what was found.

Norm references
---------------
``prompt_mean_norm`` is Jeong's "per-pass mean token norm including BOS" made KV-cache compatible:
Jeong recomputes the mean over the whole sequence at every pass, but with a KV cache a decode pass
holds only the new token. We therefore compute, for every prompt row and steered layer, the mean
L2 norm of the *unsteered* residual over the prompt's real tokens (BOS included, padding excluded
by the attention mask) in one forward pass before generation, and hold it fixed for the whole
generation. ``dataset_mean_norm`` (Anthropic) is a fixed per-layer scalar the caller supplies
(e.g. the mean residual norm over a dataset), the same for every row.

Left padding
------------
Batches are left-padded, and the vector is also added at the padding positions of the prefill.
That cannot change any real token's output: attention masks the padding keys, so no real position
ever reads a padded one (tested: batched steered generation == one prompt at a time).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emovec.errors import EmovecInputError
from emovec.generate import generate_ids, left_pad
from emovec.registry import Registry

UNIT_TOL = 1e-4

# ---------------------------------------------------------------- which modules are the blocks


# Where each family keeps its decoder blocks, as attribute paths from the causal-LM module that
# ``load_model`` returns (AutoModelForCausalLM), checked against transformers 5.23's modeling code
# and the TransformerLens adapters' ``blocks`` mapping. Several paths: tried in order, first that
# exists wins (families that come as a text-only and as a multimodal class under one model_type).
DECODER_LAYERS = ("model.layers",)  # XForCausalLM -> XModel.layers (Llama lineage, Gemma text-only)
TEXT_DECODER_OF_MULTIMODAL = ("model.language_model.layers", "model.layers")  # XForConditionalGeneration

BLOCK_LISTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("transformer.h",),
    "llama": DECODER_LAYERS,  # also SmolLM2
    "mistral": DECODER_LAYERS,
    "qwen2": DECODER_LAYERS,
    "apertus": DECODER_LAYERS,
    "gemma2": DECODER_LAYERS,
    "gemma3_text": DECODER_LAYERS,  # Gemma3ForCausalLM (Gemma-3 270M / 1B)
    "gemma3": TEXT_DECODER_OF_MULTIMODAL,  # Gemma3ForConditionalGeneration (4B and up)
    "gemma4_text": DECODER_LAYERS,  # Gemma4ForCausalLM
    "gemma4": TEXT_DECODER_OF_MULTIMODAL,  # Gemma4ForConditionalGeneration (Gemma-4-E4B-it)
}


def _module_at(root: Any, path: str) -> Any:
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part)  # AttributeError when the path does not exist
    return obj


_BLOCK_LIST_NAMES = ("layers", "h", "blocks")
_NOT_THE_TEXT_DECODER = ("vision", "audio", "encoder", "image", "speech")


def _n_hidden_layers(config: Any) -> int | None:
    for cfg in (getattr(config, "text_config", None), config):
        n = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", None)
        if isinstance(n, int):
            return n
    return None


def find_blocks_by_shape(hf_model: Any) -> list[Any]:
    """The decoder blocks of a model_type not in :data:`BLOCK_LISTS`: the one ``ModuleList``
    whose attribute name is ``layers``, ``h`` or ``blocks``, whose length is the config's number
    of hidden layers, and whose path names no vision/audio/encoder tower. None or several such
    lists is an error naming the candidates (then list the family in :data:`BLOCK_LISTS`)."""
    config = getattr(hf_model, "config", None)
    model_type = getattr(config, "model_type", None)
    n_layers = _n_hidden_layers(config)
    modules = hf_model.named_modules() if hasattr(hf_model, "named_modules") else ()
    candidates = [
        (name, module) for name, module in modules
        if isinstance(module, torch.nn.ModuleList) and name.rsplit(".", 1)[-1] in _BLOCK_LIST_NAMES
        and len(module) == n_layers and not any(w in name.lower() for w in _NOT_THE_TEXT_DECODER)
        and "_original_component" not in name
    ]
    if len(candidates) != 1:
        found = [name for name, _ in candidates] or "none"
        raise EmovecInputError(f"model_type {model_type!r} is not in emovec.steering.hooks.BLOCK_LISTS (known model "
                               f"types: {sorted(BLOCK_LISTS)}) and its decoder blocks cannot be found by shape (ModuleLists named {list(_BLOCK_LIST_NAMES)} "
                               f"of length num_hidden_layers={n_layers}: {found}); add its path to BLOCK_LISTS")
    return list(candidates[0][1])


def decoder_blocks(hf_model: Any) -> list[Any]:
    """The decoder block modules of ``hf_model`` (as they are now: bridge wrappers after
    ``load_model``), found via :data:`BLOCK_LISTS` by ``config.model_type``, else by shape
    (:func:`find_blocks_by_shape`)."""
    model_type = getattr(getattr(hf_model, "config", None), "model_type", None)
    if model_type not in BLOCK_LISTS:
        return find_blocks_by_shape(hf_model)
    paths = BLOCK_LISTS[model_type]
    for path in paths:
        try:
            blocks = _module_at(hf_model, path)
        except AttributeError:
            continue
        return list(blocks)
    raise EmovecInputError(f"model_type {model_type!r}: none of the decoder block paths {list(paths)} exists on "
                           f"{type(hf_model).__name__} (fix emovec.steering.hooks.BLOCK_LISTS)")


def _innermost(module: Any) -> Any:
    seen = 0
    while getattr(module, "_modules", {}).get("_original_component") is not None and seen < 8:
        module = module._modules["_original_component"]
        seen += 1
    return module


def steering_modules(hf_model: Any) -> list[Any]:
    """The modules the steering hooks go on: the HF decoder blocks, unwrapped from any
    TransformerLens bridge component (see the module docstring)."""
    return [_innermost(b) for b in decoder_blocks(hf_model)]


# ---------------------------------------------------------------- the steering spec


@dataclass(frozen=True)
class Steering:
    """``additions[layer]``: added to the output of block ``layer`` at every token position;
    shape [d_model] (every row) or [batch, d_model] (one vector per row of the batch)."""

    additions: dict[int, torch.Tensor]


def check_steering(steering: Steering, n_layers: int, d_model: int, batch: int | None = None, *,
                   model_name: str = "?") -> None:
    """Refuse a steering that cannot apply to this model/batch (layer, width, rows, finiteness)."""
    if not isinstance(steering, Steering):
        raise EmovecInputError(f"steering must be a Steering, got {type(steering).__name__}")
    for layer, vec in steering.additions.items():
        if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 0 <= layer < n_layers:
            raise EmovecInputError(f"steering layer {layer!r} is out of range for model {model_name!r} "
                                   f"with {n_layers} layers (valid: 0..{n_layers - 1})")
        if not isinstance(vec, torch.Tensor) or vec.ndim not in (1, 2):
            raise EmovecInputError(f"steering addition at layer {layer} must be a tensor of shape [d_model] "
                                   f"or [batch, d_model], got {getattr(vec, 'shape', type(vec).__name__)}")
        if vec.shape[-1] != d_model:
            raise EmovecInputError(f"steering addition at layer {layer}: vector has width {vec.shape[-1]} "
                                   f"but model {model_name!r} has d_model {d_model}")
        if vec.ndim == 2 and batch is not None and vec.shape[0] != batch:
            raise EmovecInputError(f"steering addition at layer {layer} has {vec.shape[0]} rows but the "
                                   f"batch has {batch} prompts")
        if not bool(torch.isfinite(vec).all()):
            raise EmovecInputError(f"steering addition at layer {layer} has non-finite values")


def _add(hidden: torch.Tensor, vec: torch.Tensor, layer: int) -> torch.Tensor:
    if vec.ndim == 2:
        if vec.shape[0] != hidden.shape[0]:
            raise EmovecInputError(f"steering addition at layer {layer} has {vec.shape[0]} rows but the "
                                   f"forward pass has batch {hidden.shape[0]}")
        vec = vec[:, None, :]
    return hidden + vec.to(device=hidden.device, dtype=hidden.dtype)


@contextmanager
def steer(loaded: Any, steering: Steering) -> Iterator[None]:
    """Within the block, every forward pass of ``loaded.hf_model`` (prefill and each KV-cached
    decode step of ``generate`` included) adds the vectors to the chosen block outputs at every
    position. Hooks are always removed on exit, also when the body raises."""
    check_steering(steering, loaded.n_layers, loaded.d_model, model_name=loaded.spec.name)
    blocks = steering_modules(loaded.hf_model)
    if len(blocks) != loaded.n_layers:
        raise EmovecInputError(f"model {loaded.spec.name!r}: found {len(blocks)} decoder blocks but "
                               f"n_layers={loaded.n_layers}")

    def make_hook(layer: int, vec: torch.Tensor) -> Callable:
        def hook(module: Any, args: Any, output: Any) -> Any:
            if isinstance(output, tuple):
                return (_add(output[0], vec, layer),) + tuple(output[1:])
            if isinstance(output, torch.Tensor):
                return _add(output, vec, layer)
            raise TypeError(f"block {layer} returned {type(output).__name__}; steering expects a tensor "
                            "or a tuple starting with the hidden states")
        return hook

    handles = []
    try:
        for layer, vec in sorted(steering.additions.items()):
            handles.append(blocks[layer].register_forward_hook(make_hook(layer, vec.detach()), prepend=True))
        yield
    finally:
        for h in handles:
            h.remove()


# ---------------------------------------------------------------- norm references

NormReference = Callable[..., torch.Tensor]
# An entry: fn(loaded, layers, *, prompt_ids, dataset_norms) -> [rows, len(layers)] (float32; rows =
# number of prompts, or 1 for a reference shared by every row).
NORM_REFERENCES: Registry[NormReference] = Registry("norm reference")
register_norm_reference = NORM_REFERENCES.register


def block_output_token_norms(loaded: Any, prompt_ids: Sequence[Sequence[int]], layers: Sequence[int],
                             batch_size: int = 8) -> dict[str, torch.Tensor]:
    """Per prompt and layer, statistics of the L2 norms of the raw (unsteered unless called inside
    :func:`steer`) block outputs over the prompt's real tokens, from left-padded batched forward
    passes. Returns float32 tensors [n_prompts, len(layers)] under

    * ``mean``: the mean norm over all real tokens, BOS included (Jeong's per-pass reference);
    * ``median``: the median norm over the real tokens (midpoint of the two middle values for an
      even count): the typical token, which one massive-norm position (BOS) cannot move;
    * ``first``: the norm at the first real token (the BOS position when the tokenizer adds one)."""
    hf_model = loaded.hf_model
    blocks = steering_modules(hf_model)
    pad_id = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else loaded.tokenizer.eos_token_id
    stats: dict[str, list[torch.Tensor]] = {"mean": [], "median": [], "first": []}
    for start in range(0, len(prompt_ids), batch_size):
        batch = prompt_ids[start: start + batch_size]
        ids, mask = left_pad(batch, pad_id)
        mask_f = mask.to(torch.float32)
        first = mask.shape[1] - torch.tensor([len(p) for p in batch])  # left padding: first real position
        got: dict[int, dict[str, torch.Tensor]] = {}

        def make_hook(layer: int) -> Callable:
            def hook(module: Any, args: Any, output: Any) -> None:
                h = output[0] if isinstance(output, tuple) else output
                norms = h.float().norm(dim=-1).cpu()  # [b, t]
                real = [norms[b, int(first[b]):].double().numpy() for b in range(norms.shape[0])]
                got[layer] = {"mean": (norms * mask_f).sum(dim=1) / mask_f.sum(dim=1),
                              "median": torch.tensor([float(np.median(r)) for r in real], dtype=torch.float32),
                              "first": norms[torch.arange(norms.shape[0]), first]}
            return hook

        handles = [blocks[l].register_forward_hook(make_hook(l)) for l in layers]
        try:
            position_ids = (mask.cumsum(dim=1) - 1).clamp(min=0)
            with torch.no_grad():
                hf_model(input_ids=ids.to(hf_model.device), attention_mask=mask.to(hf_model.device),
                         position_ids=position_ids.to(hf_model.device), use_cache=False)
        finally:
            for h in handles:
                h.remove()
        for key, rows in stats.items():
            rows.append(torch.stack([got[l][key] for l in layers], dim=1))
    return {key: torch.cat(rows, dim=0) for key, rows in stats.items()}


def block_outputs_mean_norm(loaded: Any, prompt_ids: Sequence[Sequence[int]], layers: Sequence[int],
                            batch_size: int = 8) -> torch.Tensor:
    """[n_prompts, len(layers)]: mean L2 norm over each prompt's real tokens of the raw block
    outputs (:func:`block_output_token_norms` ``mean``)."""
    return block_output_token_norms(loaded, prompt_ids, layers, batch_size)["mean"]


def _check_prompts(name: str, prompt_ids: Sequence[Sequence[int]] | None) -> Sequence[Sequence[int]]:
    if prompt_ids is None or len(prompt_ids) == 0:
        raise EmovecInputError(f"norm_reference {name!r} needs prompt_ids (the prompts to be generated from)")
    for i, p in enumerate(prompt_ids):
        if len(p) == 0:
            raise EmovecInputError(f"prompt_ids[{i}] is empty; {name} needs at least one token")
    return prompt_ids


@register_norm_reference("prompt_mean_norm")
def prompt_mean_norm(loaded: Any, layers: Sequence[int], *, prompt_ids: Sequence[Sequence[int]] | None = None,
                     dataset_norms: Any = None) -> torch.Tensor:
    """Per row and layer: mean unsteered residual norm over the prompt's real tokens, BOS included
    (Jeong 2026). In real models the first position carries a massive norm (SmolLM2-135M's middle
    layer: ~24,000 against ~170 for the other tokens), so this reference is set by one token."""
    return block_outputs_mean_norm(loaded, _check_prompts("prompt_mean_norm", prompt_ids), layers)


@register_norm_reference("prompt_median_norm")
def prompt_median_norm(loaded: Any, layers: Sequence[int], *, prompt_ids: Sequence[Sequence[int]] | None = None,
                       dataset_norms: Any = None) -> torch.Tensor:
    """Per row and layer: median unsteered residual norm over the prompt's real tokens (the typical
    token; a single massive-norm position such as BOS does not move it), so a strength adds the
    same multiple of a typical token's norm in every model."""
    return block_output_token_norms(loaded, _check_prompts("prompt_median_norm", prompt_ids), layers)["median"]


# References computed per prompt (one row per prompt, kept as [rows, d] additions).
PER_PROMPT_REFERENCES = ("prompt_mean_norm", "prompt_median_norm")


@register_norm_reference("dataset_mean_norm")
def dataset_mean_norm(loaded: Any, layers: Sequence[int], *, prompt_ids: Any = None,
                      dataset_norms: Any = None) -> torch.Tensor:
    """Per layer: a fixed scalar supplied by the caller (e.g. mean residual norm over a dataset)."""
    if dataset_norms is None:
        raise EmovecInputError("norm_reference 'dataset_mean_norm' needs dataset_norms (float [n_layers])")
    norms = torch.as_tensor(np.asarray(dataset_norms, dtype=np.float64)).float()
    if norms.shape != (loaded.n_layers,):
        raise EmovecInputError(f"dataset_norms must have shape [{loaded.n_layers}] (n_layers of model "
                               f"{loaded.spec.name!r}), got {list(norms.shape)}")
    sel = norms[list(layers)]
    if not bool(torch.isfinite(sel).all()):
        raise EmovecInputError("dataset_norms has non-finite values at the steered layers")
    return sel[None, :]


# ---------------------------------------------------------------- building and generating


def _check_strength(strength: Any) -> float:
    if isinstance(strength, (bool, np.bool_)) or not isinstance(strength, numbers.Real):
        raise EmovecInputError(f"strength must be a number, got {type(strength).__name__} {strength!r}")
    value = float(strength)
    if not math.isfinite(value):
        raise EmovecInputError(f"strength must be a finite number, got {strength!r}")
    return value


def _check_layers(layers: Sequence[int] | str, n_layers: int, model_name: str) -> list[int]:
    if isinstance(layers, str):
        if layers != "all":
            raise EmovecInputError(f"layers must be 'all' or a list of layer indices, got {layers!r}")
        return list(range(n_layers))
    out = []
    for layer in layers:
        if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
            raise EmovecInputError(f"layers must hold integer indices, got {layer!r}")
        if not 0 <= int(layer) < n_layers:
            raise EmovecInputError(f"layer {layer} is out of range for model {model_name!r} with "
                                   f"{n_layers} layers (valid: 0..{n_layers - 1})")
        out.append(int(layer))
    if not out:
        raise EmovecInputError("layers is empty; give at least one layer or 'all'")
    if len(set(out)) != len(out):
        raise EmovecInputError(f"layers has duplicates: {list(layers)}")
    return out


def build_steering(loaded: Any, unit_vectors: np.ndarray | torch.Tensor, layers: Sequence[int] | str,
                   strength: float, norm_reference: str, *, prompt_ids: Sequence[Sequence[int]] | None = None,
                   dataset_norms: Any = None) -> Steering:
    """Additions ``unit[l] * strength * ref[b, l]`` for each chosen layer ``l`` (and row ``b`` when
    the reference is per prompt). ``unit_vectors`` is [n_layers, d_model], unit norm at every
    chosen layer (within 1e-4); other layers are not read."""
    name = loaded.spec.name
    value = _check_strength(strength)
    chosen = _check_layers(layers, loaded.n_layers, name)
    if norm_reference not in NORM_REFERENCES:
        raise EmovecInputError(f"unknown norm_reference {norm_reference!r}; known: {sorted(NORM_REFERENCES)}")
    units = torch.as_tensor(np.asarray(unit_vectors.detach().cpu() if isinstance(unit_vectors, torch.Tensor)
                                       else unit_vectors, dtype=np.float64))
    if units.ndim != 2 or units.shape[0] != loaded.n_layers:
        raise EmovecInputError(f"unit_vectors must have shape [n_layers={loaded.n_layers}, d_model="
                               f"{loaded.d_model}] for model {name!r}, got {list(units.shape)}")
    if units.shape[1] != loaded.d_model:
        raise EmovecInputError(f"unit_vectors: vector has width {units.shape[1]} but model {name!r} has "
                               f"d_model {loaded.d_model}")
    sel = units[chosen]
    if not bool(torch.isfinite(sel).all()):
        raise EmovecInputError("unit_vectors has non-finite values at the steered layers")
    norms = sel.norm(dim=-1)
    bad = [(chosen[i], float(n)) for i, n in enumerate(norms) if abs(float(n) - 1.0) > UNIT_TOL]
    if bad:
        raise EmovecInputError(f"unit_vectors are not unit norm (tolerance {UNIT_TOL}) at (layer, norm): {bad[:5]}")
    ref = NORM_REFERENCES[norm_reference](loaded, chosen, prompt_ids=prompt_ids, dataset_norms=dataset_norms)
    ref = ref.to(torch.float64)
    additions: dict[int, torch.Tensor] = {}
    for j, layer in enumerate(chosen):
        vec = sel[j][None, :] * value * ref[:, j][:, None]  # [rows, d]
        if vec.shape[0] == 1 and norm_reference not in PER_PROMPT_REFERENCES:
            vec = vec[0]
        additions[layer] = vec.float()
    steering = Steering(additions=additions)
    check_steering(steering, loaded.n_layers, loaded.d_model, model_name=name)
    return steering


def build_row_steering(loaded: Any, directions: np.ndarray, strengths: Sequence[float], layers: Sequence[int] | str,
                       norm_reference: str, *, prompt_ids: Sequence[Sequence[int]] | None = None,
                       dataset_norms: Any = None) -> Steering:
    """One steering per row of a mixed batch: ``directions[b, l] * strengths[b] * ref[b, l]``.

    ``directions`` is [rows, n_layers, d_model]; each row is unit norm at every chosen layer or all
    zero (an unsteered row, e.g. the unsteered and prompt-induction controls generated in the same
    batch as the steered rows: adding exact zeros leaves them untouched). ``strengths`` is [rows]."""
    name = loaded.spec.name
    chosen = _check_layers(layers, loaded.n_layers, name)
    values = [_check_strength(s) for s in strengths]
    if norm_reference not in NORM_REFERENCES:
        raise EmovecInputError(f"unknown norm_reference {norm_reference!r}; known: {sorted(NORM_REFERENCES)}")
    dirs = torch.as_tensor(np.asarray(directions, dtype=np.float64))
    if dirs.ndim != 3 or dirs.shape[1] != loaded.n_layers or dirs.shape[2] != loaded.d_model:
        raise EmovecInputError(f"directions must have shape [rows, n_layers={loaded.n_layers}, d_model="
                               f"{loaded.d_model}] for model {name!r}, got {list(dirs.shape)}")
    if dirs.shape[0] != len(values):
        raise EmovecInputError(f"directions has {dirs.shape[0]} rows but strengths has {len(values)}")
    sel = dirs[:, chosen, :]  # [rows, k, d]
    if not bool(torch.isfinite(sel).all()):
        raise EmovecInputError("directions has non-finite values at the steered layers")
    norms = sel.norm(dim=-1)  # [rows, k]
    ok = ((norms - 1.0).abs() <= UNIT_TOL) | (norms == 0)
    if not bool(ok.all()):
        b, j = [int(x) for x in torch.nonzero(~ok)[0]]
        raise EmovecInputError(f"directions row {b} has norm {float(norms[b, j]):.6g} at layer {chosen[j]}; "
                               "each row must be unit norm (tolerance 1e-4) or zero")
    ref = NORM_REFERENCES[norm_reference](loaded, chosen, prompt_ids=prompt_ids, dataset_norms=dataset_norms)
    ref = ref.to(torch.float64).expand(len(values), len(chosen))
    scale = torch.tensor(values, dtype=torch.float64)[:, None] * ref  # [rows, k]
    additions = {layer: (sel[:, j, :] * scale[:, j:j + 1]).float() for j, layer in enumerate(chosen)}
    steering = Steering(additions=additions)
    check_steering(steering, loaded.n_layers, loaded.d_model, len(values), model_name=name)
    return steering


def steering_rows(steering: Steering, rows: Sequence[int]) -> Steering:
    """The steering of the prompts at indices ``rows`` (per-row additions [len(rows), d]; a shared
    [d] addition is kept as it is)."""
    index = torch.as_tensor(list(rows), dtype=torch.long)
    return Steering(additions={l: (v[index] if v.ndim == 2 else v) for l, v in steering.additions.items()})


def steered_generate(loaded: Any, prompts: Sequence[Sequence[int]], steering: Steering | None, *,
                     max_new_tokens: int, do_sample: bool, temperature: float, top_p: float, seed: int,
                     batch_size: int, progress: bool = False) -> list[list[int]]:
    """:func:`emovec.generate.generate_ids` with steering: same left padding, one seed for the
    whole run, same EOS cut. Per-row additions [len(prompts), d] follow the rows of each batch.
    ``steering=None`` is plain generation (identical to ``generate_ids``)."""
    if batch_size < 1:
        raise EmovecInputError(f"batch_size must be >= 1, got {batch_size}")
    if max_new_tokens < 1:
        raise EmovecInputError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if not prompts or any(len(p) == 0 for p in prompts):
        raise EmovecInputError("prompts must be a non-empty list of non-empty token-id lists")
    if steering is not None:
        check_steering(steering, loaded.n_layers, loaded.d_model, len(prompts), model_name=loaded.spec.name)
        decoder_blocks(loaded.hf_model)  # unknown model type: fail before generating
    # One generate_ids call (seeded once), with the steering hooks entered around each batch so
    # that per-row additions follow that batch's rows.
    def batch_context(rows: list[int]) -> Any:
        return steer(loaded, steering_rows(steering, rows)) if steering is not None else nullcontext()

    return generate_ids(loaded.hf_model, loaded.tokenizer, prompts, max_new_tokens=max_new_tokens, do_sample=do_sample,
                        temperature=temperature, top_p=top_p, seed=seed, batch_size=batch_size, progress=progress,
                        batch_context=batch_context, desc="steered generate")
