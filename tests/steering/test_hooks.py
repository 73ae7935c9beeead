"""Activation steering hooks (emovec.steering.hooks) on the tiny GPT-2: exact residual additions
at every position, per-row additions, hook hygiene and refused steerings. Building the additions:
test_steering_additions; norm references: test_norm_reference; generation: test_steered_generation;
which modules are hooked: test_blocks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from emovec.errors import EmovecInputError
from emovec.generate import left_pad
from emovec.models.blocks import steering_modules
from emovec.models.loading import load_model
from emovec.steering.hooks import Steering, check_steering, steer

from helpers.tiny_steering import N_LAYERS, D, hidden, n_hooks, tiny_model_spec, tiny_prompts, unit


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(tiny_model_spec(tiny_model_dir))


# ---------------------------------------------------------------- exact additions


def test_steered_layer_equals_original_plus_vector(tiny):
    ids = torch.tensor([tiny_prompts(tiny.tokenizer, 1)[0]])
    vec = torch.tensor(unit(0)[1] * 3.0, dtype=torch.float32)
    plain = hidden(tiny.hf_model, ids)
    with steer(tiny, Steering(additions={1: vec})):
        steered = hidden(tiny.hf_model, ids)
    torch.testing.assert_close(steered[2], plain[2] + vec, atol=1e-5, rtol=0)  # every position
    assert torch.equal(steered[0], plain[0]) and torch.equal(steered[1], plain[1])  # before: unchanged
    assert not torch.allclose(steered[3], plain[3], atol=1e-3)  # later layers change


def test_every_layer_steered_block_output_is_block_of_steered_input_plus_vector(tiny):
    """A recorder prepended inside steer runs before the steering hook and sees what block l
    computes from its (steered) input; one appended sees the final output: final == raw + v_l."""
    ids = torch.tensor([tiny_prompts(tiny.tokenizer, 1)[0]])
    vecs = {l: torch.tensor(unit(1)[l] * (l + 1), dtype=torch.float32) for l in range(N_LAYERS)}
    blocks = steering_modules(tiny.hf_model)
    raw: dict[int, torch.Tensor] = {}
    final: dict[int, torch.Tensor] = {}
    inputs: dict[int, torch.Tensor] = {}
    plain = hidden(tiny.hf_model, ids)
    counts = n_hooks(tiny)
    with steer(tiny, Steering(additions=vecs)):
        assert n_hooks(tiny) == [c + 1 for c in counts]  # every layer hooked
        handles = [b.register_forward_hook(lambda m, a, o, i=i: raw.__setitem__(i, o.clone()), prepend=True)
                   for i, b in enumerate(blocks)]
        handles += [b.register_forward_hook(lambda m, a, o, i=i: final.__setitem__(i, o.clone()))
                    for i, b in enumerate(blocks)]
        handles += [b.register_forward_pre_hook(lambda m, a, kw, i=i: inputs.__setitem__(
            i, (a[0] if a else kw["hidden_states"]).clone()), with_kwargs=True) for i, b in enumerate(blocks)]
        try:
            steered = hidden(tiny.hf_model, ids)
            _, cache = tiny.bridge.run_with_cache(ids)
        finally:
            for h in handles:
                h.remove()
    assert n_hooks(tiny) == counts
    assert sorted(final) == list(range(N_LAYERS))
    for l in range(N_LAYERS):
        torch.testing.assert_close(final[l], raw[l] + vecs[l], atol=1e-6, rtol=0)
        torch.testing.assert_close(cache[f"blocks.{l}.hook_resid_post"], final[l], atol=1e-5, rtol=0)
    for l in range(1, N_LAYERS):
        assert torch.equal(inputs[l], final[l - 1])  # the next block reads the steered stream
        assert torch.equal(steered[l], final[l - 1])  # = HF hidden_states[l]
    torch.testing.assert_close(steered[1], plain[1] + vecs[0], atol=1e-5, rtol=0)  # layer 0 exactly


def test_per_row_additions_follow_rows(tiny):
    ids, mask = left_pad(tiny_prompts(tiny.tokenizer, 2), tiny.tokenizer.pad_token_id)
    rows = torch.tensor(np.stack([unit(2)[0], -2 * unit(3)[0]]), dtype=torch.float32)
    with torch.no_grad():
        plain = tiny.hf_model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
        with steer(tiny, Steering(additions={0: rows})):
            steered = tiny.hf_model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
    torch.testing.assert_close(steered[1], plain[1] + rows[:, None, :], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- hook hygiene


def test_hooks_removed_after_exception(tiny):
    ids = torch.tensor([tiny_prompts(tiny.tokenizer, 1)[0]])
    plain = hidden(tiny.hf_model, ids)
    counts = n_hooks(tiny)
    with pytest.raises(RuntimeError, match="boom"):
        with steer(tiny, Steering(additions={l: torch.ones(D) for l in range(N_LAYERS)})):
            assert [c + 1 for c in counts] == n_hooks(tiny)
            raise RuntimeError("boom")
    assert n_hooks(tiny) == counts
    after = hidden(tiny.hf_model, ids)
    for a, b in zip(after, plain):
        assert torch.equal(a, b)


# ---------------------------------------------------------------- bad input


def test_width_mismatch_names_both_widths(tiny):
    counts = n_hooks(tiny)
    bad = Steering(additions={0: torch.ones(31)})
    with pytest.raises(EmovecInputError, match="vector has width 31 but model 'tiny' has d_model 32"):
        with steer(tiny, bad):
            pass
    assert n_hooks(tiny) == counts


def test_layer_out_of_range():
    with pytest.raises(EmovecInputError, match="layer 7 is out of range"):
        check_steering(Steering(additions={7: torch.ones(D)}), N_LAYERS, D, None, model_name="tiny")


def test_non_finite_and_row_mismatch(tiny):
    with pytest.raises(EmovecInputError, match="non-finite"):
        check_steering(Steering(additions={0: torch.full((D,), float("inf"))}), N_LAYERS, D, None)
    with pytest.raises(EmovecInputError, match="2 rows but the batch has 3"):
        check_steering(Steering(additions={0: torch.ones(2, D)}), N_LAYERS, D, 3)


def test_unknown_model_type_is_refused_before_hooking(tiny):
    fake = SimpleNamespace(config=SimpleNamespace(model_type="bert"))
    other = dataclasses.replace(tiny, hf_model=fake)
    with pytest.raises(EmovecInputError, match="known model types"):
        with steer(other, Steering(additions={0: torch.ones(D)})):
            pass
