"""Token-pooling policies, as per-token weights.

Each policy turns a batch's attention mask (and where generation starts) into a weight matrix
``[batch, seq]`` whose rows sum to 1 over the tokens it pools. Pooled activations are then
``weights @ resid`` per layer, so padding can never leak in (pad tokens get weight 0) and left
and right padding give the same result: positions are counted on *real* tokens, ranked with the
attention mask, never on raw column indices (METHODS trap 6).

Adding a policy = one function + ``@register_pooling``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emovec.errors import EmovecInputError
from emovec.registry import Registry

if TYPE_CHECKING:  # torch is imported where a tensor is made: the compose stage reads POOLINGS without it
    import torch


@dataclass(frozen=True)
class PoolingInputs:
    """What a policy may look at. Shapes: mask [B, T] (1 = real token), gen_start [B] (rank of the
    first generated token among real tokens; -1 when the stimulus has no generated part)."""

    mask: torch.Tensor
    gen_start: torch.Tensor
    mean_offset: int


PoolFn = Callable[[PoolingInputs], "torch.Tensor"]
POOLINGS: Registry[PoolFn] = Registry("pooling")
register_pooling = POOLINGS.register  # decorator: @register_pooling("name")


def real_token_rank(mask: torch.Tensor) -> torch.Tensor:
    """Rank of each real token among the real tokens of its row (0-based); -1 on padding."""
    import torch

    rank = torch.cumsum(mask, dim=1) - 1
    return torch.where(mask.bool(), rank, torch.full_like(rank, -1))


def _one_hot_at_rank(mask: torch.Tensor, target_rank: torch.Tensor) -> torch.Tensor:
    import torch

    rank = real_token_rank(mask)
    # Padding has rank -1: a target of -1 (e.g. no prompt token to fall back on) must select nothing.
    return ((rank == target_rank[:, None]) & mask.bool()).to(torch.float32)


@register_pooling("last_token")
def pool_last_token(x: PoolingInputs) -> torch.Tensor:
    """The last real token (Jeong comprehension)."""
    return _one_hot_at_rank(x.mask, x.mask.sum(dim=1) - 1)


@register_pooling("mid_generation")
def pool_mid_generation(x: PoolingInputs) -> torch.Tensor:
    """Token ``prompt_len + gen_len // 2`` (Jeong generation); when the generation is 10 tokens
    or shorter, Jeong's code falls back to the last prompt token (``prompt_len - 1``)."""
    import torch

    n_real = x.mask.sum(dim=1)
    gen_len = n_real - x.gen_start
    target = torch.where(gen_len > 10, x.gen_start + gen_len // 2, x.gen_start - 1)
    # Rows without a generated part (gen_start = -1, e.g. the anisotropy sentences) select no
    # token: an all-zero row, which the extractor records as NaN rather than guessing.
    target = torch.where(x.gen_start < 0, torch.full_like(target, -2), target)
    return _one_hot_at_rank(x.mask, target)


@register_pooling("mean_from_offset")
def pool_mean_from_offset(x: PoolingInputs) -> torch.Tensor:
    """Mean over real tokens whose rank is >= ``mean_offset`` (Anthropic / van der Ben: 50).
    A stimulus with no such token gets an all-zero row, which the caller records as NaN."""
    import torch

    keep = (real_token_rank(x.mask) >= x.mean_offset).to(torch.float32)
    count = keep.sum(dim=1, keepdim=True)
    return keep / count.clamp(min=1.0)


def pooling_weights(name: str, inputs: PoolingInputs) -> torch.Tensor:
    try:
        fn = POOLINGS[name]
    except KeyError:
        raise EmovecInputError(f"unknown pooling {name!r}; known: {sorted(POOLINGS)}") from None
    return fn(inputs)
