"""Steered generation (emovec.steering.generation) on the tiny GPT-2: strength 0 equals plain
generation, batched equals one prompt at a time (left padding cannot leak), each row keeps its own
vector, seeded sampling is reproducible, and hooks never outlive a call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emovec.errors import EmovecInputError
from emovec.generate import generate_ids
from emovec.models.loading import load_model
from emovec.steering.additions import build_steering, steering_rows
from emovec.steering.generation import steered_generate
from emovec.steering.hooks import Steering

from helpers.tiny_steering import GREEDY, N_LAYERS, n_hooks, tiny_model_spec, tiny_prompts, unit


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(tiny_model_spec(tiny_model_dir))


@pytest.fixture(scope="module")
def sharp(tiny_model_dir: Path):
    """A load of the tiny model with scaled-up embeddings so greedy output depends on content and
    position (as in test_generate)."""
    loaded = load_model(tiny_model_spec(tiny_model_dir))
    with torch.no_grad():
        loaded.hf_model.transformer.wpe.weight.mul_(30)
        loaded.hf_model.transformer.wte.weight.mul_(5)
    return loaded


def test_strength_zero_is_token_identical_to_unsteered(sharp):
    prompts = tiny_prompts(sharp.tokenizer, 3)
    s = build_steering(sharp, unit(6), "all", 0.0, "prompt_mean_norm", prompt_ids=prompts)
    got = steered_generate(sharp, prompts, s, batch_size=3, **GREEDY)
    ref = generate_ids(sharp.hf_model, sharp.tokenizer, prompts, batch_size=3, **GREEDY)
    assert got == ref
    assert steered_generate(sharp, prompts, None, batch_size=3, **GREEDY) == ref
    assert any(len(set(g)) > 2 for g in ref)


def test_batched_equals_one_at_a_time_and_steering_changes_output(sharp):
    counts = n_hooks(sharp)
    prompts = tiny_prompts(sharp.tokenizer, 3)
    s = build_steering(sharp, unit(7), "all", 2.0, "prompt_mean_norm", prompt_ids=prompts)
    batched = steered_generate(sharp, prompts, s, batch_size=3, **GREEDY)
    single = steered_generate(sharp, prompts, s, batch_size=1, **GREEDY)
    assert batched == single
    plain = generate_ids(sharp.hf_model, sharp.tokenizer, prompts, batch_size=3, **GREEDY)
    assert batched != plain  # the steering does something
    per_prompt = [steered_generate(sharp, [p], build_steering(sharp, unit(7), "all", 2.0, "prompt_mean_norm",
                                                               prompt_ids=[p]), batch_size=1, **GREEDY)[0]
                  for p in prompts]
    assert per_prompt == batched  # each row's reference is its own prompt's
    assert n_hooks(sharp) == counts


def test_length_sorted_batches_keep_each_rows_own_vector(sharp):
    """Greedy batches are regrouped by prompt length; each row must still get its own addition.
    Prompts longest first, a different direction per row: batches of 2 equal one at a time."""
    prompts = sorted(tiny_prompts(sharp.tokenizer, 3), key=len, reverse=True)
    units = [unit(20 + i) for i in range(3)]
    rows = {l: torch.tensor(np.stack([u[l] for u in units]) * 40.0, dtype=torch.float32) for l in range(N_LAYERS)}
    s = Steering(additions=rows)
    batched = steered_generate(sharp, prompts, s, batch_size=2, **GREEDY)
    single = [steered_generate(sharp, [p], steering_rows(s, [i]), batch_size=1, **GREEDY)[0]
              for i, p in enumerate(prompts)]
    assert batched == single
    assert len({tuple(g) for g in batched}) == 3
    assert batched != generate_ids(sharp.hf_model, sharp.tokenizer, prompts, batch_size=2, **GREEDY)


def test_seeded_sampling_is_reproducible(sharp):
    prompts = tiny_prompts(sharp.tokenizer, 3)
    s = build_steering(sharp, unit(8), [1], 1.0, "prompt_mean_norm", prompt_ids=prompts)
    kw = dict(max_new_tokens=8, do_sample=True, temperature=0.8, top_p=0.95, batch_size=2, progress=False)
    a = steered_generate(sharp, prompts, s, seed=3, **kw)
    b = steered_generate(sharp, prompts, s, seed=3, **kw)
    assert a == b and len(a) == 3


def test_width_mismatch_is_refused_before_generating(tiny):
    counts = n_hooks(tiny)
    bad = Steering(additions={0: torch.ones(31)})
    with pytest.raises(EmovecInputError, match="width 31"):
        steered_generate(tiny, [[1, 2]], bad, batch_size=1, **GREEDY)
    assert n_hooks(tiny) == counts
