"""Steering norm references (emovec.steering.norm_reference) on the tiny GPT-2: per-prompt mean,
median and first-token norms of the raw block outputs against hand computation, and refused
inputs. The references are read back from the additions build_steering makes with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from emovec.errors import EmovecInputError
from emovec.models.blocks import steering_modules
from emovec.models.loading import load_model
from emovec.steering.additions import build_steering
from emovec.steering.norm_reference import NORM_REFERENCES, block_output_token_norms

from helpers.tiny_steering import N_LAYERS, D, hidden, tiny_model_spec, tiny_prompts, unit


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(tiny_model_spec(tiny_model_dir))


def test_prompt_mean_norm_equals_hand_computation(tiny):
    prompts = tiny_prompts(tiny.tokenizer, 3)
    units = unit(4)
    s = build_steering(tiny, units, "all", 1.0, "prompt_mean_norm", prompt_ids=prompts)
    ref = torch.stack([torch.stack([s.additions[l][b].norm() for l in range(N_LAYERS)]) for b in range(3)])
    assert all(s.additions[l].shape == (3, D) for l in range(N_LAYERS))
    for b, p in enumerate(prompts):
        ids = torch.tensor([p])  # unpadded, alone
        hs = hidden(tiny.hf_model, ids)
        for l in range(N_LAYERS - 1):
            hand = hs[l + 1][0].norm(dim=-1).mean()  # all real tokens, BOS included
            assert abs(float(ref[b, l]) - float(hand)) < 1e-4 * float(hand)
        _, cache = tiny.bridge.run_with_cache(ids)  # last block: raw output, before the final norm
        hand = cache[f"blocks.{N_LAYERS - 1}.hook_resid_post"][0].norm(dim=-1).mean()
        assert abs(float(ref[b, N_LAYERS - 1]) - float(hand)) < 1e-4 * float(hand)
        for l in range(N_LAYERS):  # direction is the unit vector
            torch.testing.assert_close(s.additions[l][b] / ref[b, l], torch.tensor(units[l], dtype=torch.float32),
                                       atol=1e-5, rtol=0)
    assert p[0] == tiny.tokenizer.bos_token_id
    assert len({round(float(x), 3) for x in ref[:, 0]}) == 3  # rows really differ


def test_token_norm_statistics_equal_hand_computation_on_unpadded_prompts(tiny):
    """mean / median / first token norm of a left-padded batch equal each prompt run alone; the
    median reference steers by the median (even counts: midpoint of the two middle norms)."""
    prompts = tiny_prompts(tiny.tokenizer, 3)
    stats = block_output_token_norms(tiny, prompts, list(range(N_LAYERS)), batch_size=3)
    assert {k: tuple(v.shape) for k, v in stats.items()} == {k: (3, N_LAYERS) for k in ("mean", "median", "first")}
    for b, p in enumerate(prompts):
        _, cache = tiny.bridge.run_with_cache(torch.tensor([p]))
        for l in range(N_LAYERS):
            norms = cache[f"blocks.{l}.hook_resid_post"][0].norm(dim=-1).double().numpy()
            for key, hand in (("mean", norms.mean()), ("median", np.median(norms)), ("first", norms[0])):
                assert abs(float(stats[key][b, l]) - hand) < 1e-4 * hand, (key, b, l)
    assert len(prompts[1]) % 2 == 0 or len(prompts[0]) % 2 == 0  # an even count: the midpoint rule is exercised
    units = unit(9)
    s = build_steering(tiny, units, "all", 0.5, "prompt_median_norm", prompt_ids=prompts[:1])
    for l in range(N_LAYERS):
        assert s.additions[l].shape == (1, D)  # per prompt, even for one prompt
        torch.testing.assert_close(s.additions[l][0], torch.tensor(units[l] * 0.5 * float(stats["median"][0, l]),
                                                                   dtype=torch.float32), atol=1e-5, rtol=1e-5)


def test_median_reference_ignores_one_massive_position_that_moves_the_mean(tiny):
    """A planted massive norm at the first position (as real models put on BOS) multiplies the
    mean reference and leaves the median reference where the other tokens put it."""
    prompts = tiny_prompts(tiny.tokenizer, 3)
    plain = block_output_token_norms(tiny, prompts, [0])
    blocks = steering_modules(tiny.hf_model)
    first = {i: max(len(p) for p in prompts) - len(p) for i, p in enumerate(prompts)}

    def massive_first(module, args, output):
        h = output[0] if isinstance(output, tuple) else output
        h = h.clone()
        for b in range(h.shape[0]):
            h[b, first[b]] *= 1000.0
        return (h, *output[1:]) if isinstance(output, tuple) else h

    handle = blocks[0].register_forward_hook(massive_first)
    try:
        planted = block_output_token_norms(tiny, prompts, [0], batch_size=3)
    finally:
        handle.remove()
    assert bool((planted["mean"] > 3 * plain["mean"]).all())
    torch.testing.assert_close(planted["first"], plain["first"] * 1000.0, rtol=1e-5, atol=0)
    for b, p in enumerate(prompts):
        _, cache = tiny.bridge.run_with_cache(torch.tensor([p]))
        norms = cache["blocks.0.hook_resid_post"][0].norm(dim=-1).double().numpy()
        norms[0] *= 1000.0
        assert abs(float(planted["mean"][b, 0]) - norms.mean()) < 1e-4 * norms.mean()
        assert abs(float(planted["median"][b, 0]) - np.median(norms)) < 1e-4 * np.median(norms)
        assert float(planted["median"][b, 0]) < 2 * float(plain["median"][b, 0])  # one position cannot move it far


def test_prompt_median_norm_refuses_missing_or_empty_prompts(tiny):
    with pytest.raises(EmovecInputError, match="norm_reference 'prompt_median_norm' needs prompt_ids"):
        build_steering(tiny, unit(0), "all", 1.0, "prompt_median_norm")
    with pytest.raises(EmovecInputError, match=r"prompt_ids\[1\] is empty; prompt_median_norm"):
        build_steering(tiny, unit(0), "all", 1.0, "prompt_median_norm", prompt_ids=[[1, 2], []])


def test_references_refuse_missing_or_misshapen_inputs(tiny):
    assert {"prompt_mean_norm", "prompt_median_norm", "dataset_mean_norm"} <= set(NORM_REFERENCES)
    with pytest.raises(EmovecInputError, match="needs prompt_ids"):
        build_steering(tiny, unit(0), "all", 1.0, "prompt_mean_norm")
    with pytest.raises(EmovecInputError, match=r"dataset_norms must have shape \[3\]"):
        build_steering(tiny, unit(0), "all", 1.0, "dataset_mean_norm", dataset_norms=np.ones(4))
