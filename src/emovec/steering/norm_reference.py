"""Steering norm references: the per-layer scale a unit steering vector is multiplied by
(``unit vector x strength x norm reference``, Jeong 2026 §5).

``prompt_mean_norm`` is Jeong's "per-pass mean token norm including BOS" made KV-cache compatible:
Jeong recomputes the mean over the whole sequence at every pass, but with a KV cache a decode pass
holds only the new token. We therefore compute, for every prompt row and steered layer, the mean
L2 norm of the *unsteered* residual over the prompt's real tokens (BOS included, padding excluded
by the attention mask) in one forward pass before generation, and hold it fixed for the whole
generation. ``prompt_median_norm`` is the same with the median over the real tokens.
``dataset_mean_norm`` (Anthropic) is a fixed per-layer scalar the caller supplies (e.g. the mean
residual norm over a dataset), the same for every row.

The residual read is the raw block output (:func:`emovec.models.blocks.steering_modules`), where
the steering vectors are added. Norms are in the units of the residual stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from emovec.errors import EmovecInputError
from emovec.generate import left_pad
from emovec.models.blocks import steering_modules
from emovec.registry import Registry

if TYPE_CHECKING:  # imported in the functions that run: the compose stage reads the registry without torch
    import torch

NormReference = Callable[..., "torch.Tensor"]
# An entry: fn(loaded, layers, *, prompt_ids, dataset_norms) -> [rows, len(layers)] (float32; rows =
# number of prompts, or 1 for a reference shared by every row).
NORM_REFERENCES: Registry[NormReference] = Registry("norm reference")
register_norm_reference = NORM_REFERENCES.register


def block_output_token_norms(loaded: Any, prompt_ids: Sequence[Sequence[int]], layers: Sequence[int],
                             batch_size: int = 8) -> dict[str, torch.Tensor]:
    """Per prompt and layer, statistics of the L2 norms of the raw (unsteered unless called inside
    :func:`emovec.steering.hooks.steer`) block outputs over the prompt's real tokens, from
    left-padded batched forward passes. Returns float32 tensors [n_prompts, len(layers)] under

    * ``mean``: the mean norm over all real tokens, BOS included (Jeong's per-pass reference);
    * ``median``: the median norm over the real tokens (midpoint of the two middle values for an
      even count): the typical token, which one massive-norm position (BOS) cannot move;
    * ``first``: the norm at the first real token (the BOS position when the tokenizer adds one)."""
    import torch

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
    """Per layer: a fixed scalar supplied by the caller (e.g. mean residual norm over a dataset);
    ``dataset_norms`` is float [n_layers]; returns [1, len(layers)] float32."""
    import torch

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
