"""Activation steering hooks (Jeong 2026 §5): while :func:`steer` is entered, add the vectors of
a :class:`Steering` to the residual stream after chosen blocks, in every forward pass (the prefill
and every KV-cached decode step of ``generate`` included); the hooks are always removed on exit.

How the additions are built (``unit vector x strength x norm reference``) is
:mod:`emovec.steering.additions` (references: :mod:`emovec.steering.norm_reference`); steered
generation is :mod:`emovec.steering.generation`.

Where the vectors go
--------------------
``Steering.additions[l]`` is added to the *output of block l*: the residual stream that
``blocks.{l}.hook_resid_post`` of the TransformerBridge and HF ``hidden_states[l + 1]`` show (for
the last block HF reports the stream after the final norm; we add before it, at the raw block
output, like the extraction does). Which modules those are is :mod:`emovec.models.blocks`.

Which modules are hooked (tested on tiny GPT-2, Llama, Mistral, Qwen2, Apertus, Gemma 2, 3, 4)
--------------------------------------------------------------------------------------------
After ``load_model`` each entry of the HF block list is a TransformerLens ``BlockBridge`` that
wraps the original HF decoder layer as ``_original_component`` (:mod:`emovec.models.blocks`).
Hooks on either module fire once per block in ``hf_model(...)``, in the prefill and every
KV-cached decode step of ``hf_model.generate(...)`` (hidden states [batch, 1, d] after the
prefill) and in ``bridge(...)``.

We hook the *inner* HF block (``_original_component``, followed to the innermost; the block itself
when there is no bridge: :func:`emovec.models.blocks.steering_modules`), with ``prepend=True``,
because transformers 5 fills ``hidden_states`` by its own forward hooks on the HF block class
(``_can_record_outputs``, installed lazily on the first forward): a hook on the outer
``BlockBridge`` would change the stream the next block reads, but ``output_hidden_states`` and the
bridge's ``hook_resid_post`` would still show the unsteered block output. Prepending on the inner
block puts the addition before those recorders whatever their installation order, so HF
``hidden_states[l+1]`` (l < n_layers-1), the bridge's ``blocks.{l}.hook_resid_post`` and the next
block's input all show the steered stream. The block output is a plain tensor in transformers 5
(older versions return a tuple whose first element is the hidden states); both forms are handled.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from emovec.errors import EmovecInputError
from emovec.models.blocks import steering_modules


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
