"""Steered generation: :func:`emovec.generate.generate_ids` with the steering hooks
(:func:`emovec.steering.hooks.steer`) entered around each batch.

Batches are left-padded, and the vector is also added at the padding positions of the prefill.
That cannot change any real token's output: attention masks the padding keys, so no real position
ever reads a padded one (tested: batched steered generation == one prompt at a time).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

from emovec.errors import EmovecInputError
from emovec.generate import generate_ids
from emovec.models.blocks import decoder_blocks
from emovec.steering.additions import steering_rows
from emovec.steering.hooks import Steering, check_steering, steer


def steered_generate(loaded: Any, prompts: Sequence[Sequence[int]], steering: Steering | None, *,
                     max_new_tokens: int, do_sample: bool, temperature: float, top_p: float, seed: int,
                     batch_size: int, progress: bool = False) -> list[list[int]]:
    """:func:`emovec.generate.generate_ids` with steering: same left padding, one seed for the
    whole run, same EOS cut. Per-row additions [len(prompts), d] follow the rows of each batch.
    ``steering=None`` is plain generation (identical to ``generate_ids``). Returns the generated
    token ids of each prompt, in prompt order."""
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
