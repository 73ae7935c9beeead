"""Shared by the steering test files (test_blocks, test_steering, test_steering_additions,
test_norm_reference, test_steered_generation): the tiny GPT-2 spec, prompts, unit vectors and
small probes of its hidden states and hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from emovec.config.schema import ModelConfig
from emovec.generate import encode_prompt
from emovec.models.blocks import steering_modules

N_LAYERS, D = 3, 32

PROMPTS = ["Write a story about someone who feels happy.", "Sad and blue.",
           "A person washing dishes in a long and winding sentence", "x"]

GREEDY = dict(max_new_tokens=10, do_sample=False, temperature=1.0, top_p=1.0, seed=0, progress=False)


def tiny_model_spec(model_dir: Path) -> ModelConfig:
    """The spec of conftest's tiny GPT-2 (3 layers, d_model 32, chat template)."""
    return ModelConfig(name="tiny", hf_id=None, local_dir=str(model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D, chat_template=True)


def tiny_prompts(tok: Any, n: int = 3) -> list[list[int]]:
    """Token ids of the first ``n`` prompts (every other one with the chat template), all of
    different lengths so that a batch really is left-padded."""
    ids = [encode_prompt(tok, p, chat=i % 2 == 0) for i, p in enumerate(PROMPTS[:n])]
    assert len({len(x) for x in ids}) == len(ids)  # different lengths: real left padding
    return ids


def unit(seed: int, n: int = N_LAYERS, d: int = D) -> np.ndarray:
    """[n, d] float64 random unit vectors (one per layer)."""
    v = np.random.default_rng(seed).standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def hidden(model: Any, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """HF ``hidden_states`` of one forward pass ([batch, tokens, d] each, n_layers + 1 of them)."""
    with torch.no_grad():
        return model(ids, output_hidden_states=True).hidden_states


def n_hooks(loaded: Any) -> list[int]:
    """Number of forward hooks on each hooked block."""
    return [len(b._forward_hooks) for b in steering_modules(loaded.hf_model)]
