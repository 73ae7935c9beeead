"""Activation steering (emovec.steering.hooks) on the tiny GPT-2: exact residual additions, hook
hygiene, norm references, batched == one-at-a-time generation and input errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from emovec.config import ModelConfig
from emovec.errors import EmovecInputError
from emovec.generate import encode_prompt, generate_ids, left_pad
from emovec.models.loading import load_model
from emovec.steering.hooks import (BLOCK_LISTS, NORM_REFERENCES, Steering, block_output_token_norms, build_steering,
                                   check_steering, decoder_blocks, steer, steered_generate, steering_modules,
                                   steering_rows)

N_LAYERS, D = 3, 32


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    spec = ModelConfig(name="tiny", hf_id=None, local_dir=str(tiny_model_dir), family="toy", variant="instruct",
                       n_layers=N_LAYERS, d_model=D, chat_template=True)
    return load_model(spec)


@pytest.fixture(scope="module")
def sharp(tiny):
    """A second load of the tiny model with scaled-up embeddings so greedy output depends on
    content and position (as in test_generate)."""
    loaded = load_model(tiny.spec)
    with torch.no_grad():
        loaded.hf_model.transformer.wpe.weight.mul_(30)
        loaded.hf_model.transformer.wte.weight.mul_(5)
    return loaded


PROMPTS = ["Write a story about someone who feels happy.", "Sad and blue.",
           "A person washing dishes in a long and winding sentence", "x"]


def _prompts(tok, n: int = 3) -> list[list[int]]:
    ids = [encode_prompt(tok, p, chat=i % 2 == 0) for i, p in enumerate(PROMPTS[:n])]
    assert len({len(x) for x in ids}) == len(ids)  # different lengths: real left padding
    return ids


def _unit(seed: int, n: int = N_LAYERS, d: int = D) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _hidden(model, ids: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return model(ids, output_hidden_states=True).hidden_states


def _n_hooks(loaded) -> list[int]:
    return [len(b._forward_hooks) for b in steering_modules(loaded.hf_model)]


GREEDY = dict(max_new_tokens=10, do_sample=False, temperature=1.0, top_p=1.0, seed=0, progress=False)


# ---------------------------------------------------------------- which modules run


def test_hooked_blocks_are_the_modules_that_run(tiny):
    """After load_model the HF block list holds the bridge wrappers; hooks on them fire in
    hf_model(...), in every step of generate(...) and in bridge(...)."""
    outer = decoder_blocks(tiny.hf_model)
    assert len(outer) == N_LAYERS and outer[0] is tiny.hf_model.transformer.h[0]
    assert type(outer[0]).__name__ == "BlockBridge"  # the bridge replaced the HF blocks in place
    blocks = steering_modules(tiny.hf_model)
    assert [type(b).__name__ for b in blocks] == ["GPT2Block"] * N_LAYERS
    assert all(b is o._original_component for b, o in zip(blocks, outer))
    calls: list[tuple[int, int]] = []
    handles = [b.register_forward_hook(lambda m, a, o, i=i: calls.append((i, (o[0] if isinstance(o, tuple) else o).shape[1])))
               for i, b in enumerate(blocks)]
    try:
        ids = torch.tensor([_prompts(tiny.tokenizer, 1)[0]])
        _hidden(tiny.hf_model, ids)
        assert calls == [(0, ids.shape[1]), (1, ids.shape[1]), (2, ids.shape[1])]
        calls.clear()
        with torch.no_grad():
            tiny.hf_model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=3,
                                   min_new_tokens=3, do_sample=False, pad_token_id=tiny.tokenizer.pad_token_id)
        assert [c[0] for c in calls] == [0, 1, 2] * 3
        assert [c[1] for c in calls] == [ids.shape[1]] * 3 + [1] * 6  # prefill, then one token per step
        calls.clear()
        with torch.no_grad():
            tiny.bridge(ids)
        assert [c[0] for c in calls] == [0, 1, 2]
    finally:
        for h in handles:
            h.remove()


# ---------------------------------------------------------------- exact additions


def test_steered_layer_equals_original_plus_vector(tiny):
    ids = torch.tensor([_prompts(tiny.tokenizer, 1)[0]])
    vec = torch.tensor(_unit(0)[1] * 3.0, dtype=torch.float32)
    plain = _hidden(tiny.hf_model, ids)
    with steer(tiny, Steering(additions={1: vec})):
        steered = _hidden(tiny.hf_model, ids)
    torch.testing.assert_close(steered[2], plain[2] + vec, atol=1e-5, rtol=0)  # every position
    assert torch.equal(steered[0], plain[0]) and torch.equal(steered[1], plain[1])  # before: unchanged
    assert not torch.allclose(steered[3], plain[3], atol=1e-3)  # later layers change


def test_every_layer_steered_block_output_is_block_of_steered_input_plus_vector(tiny):
    """A recorder prepended inside steer runs before the steering hook and sees what block l
    computes from its (steered) input; one appended sees the final output: final == raw + v_l."""
    ids = torch.tensor([_prompts(tiny.tokenizer, 1)[0]])
    vecs = {l: torch.tensor(_unit(1)[l] * (l + 1), dtype=torch.float32) for l in range(N_LAYERS)}
    blocks = steering_modules(tiny.hf_model)
    raw: dict[int, torch.Tensor] = {}
    final: dict[int, torch.Tensor] = {}
    inputs: dict[int, torch.Tensor] = {}
    plain = _hidden(tiny.hf_model, ids)
    counts = _n_hooks(tiny)
    with steer(tiny, Steering(additions=vecs)):
        assert _n_hooks(tiny) == [c + 1 for c in counts]  # every layer hooked
        handles = [b.register_forward_hook(lambda m, a, o, i=i: raw.__setitem__(i, o.clone()), prepend=True)
                   for i, b in enumerate(blocks)]
        handles += [b.register_forward_hook(lambda m, a, o, i=i: final.__setitem__(i, o.clone()))
                    for i, b in enumerate(blocks)]
        handles += [b.register_forward_pre_hook(lambda m, a, kw, i=i: inputs.__setitem__(
            i, (a[0] if a else kw["hidden_states"]).clone()), with_kwargs=True) for i, b in enumerate(blocks)]
        try:
            steered = _hidden(tiny.hf_model, ids)
            _, cache = tiny.bridge.run_with_cache(ids)
        finally:
            for h in handles:
                h.remove()
    assert _n_hooks(tiny) == counts
    assert sorted(final) == list(range(N_LAYERS))
    for l in range(N_LAYERS):
        torch.testing.assert_close(final[l], raw[l] + vecs[l], atol=1e-6, rtol=0)
        torch.testing.assert_close(cache[f"blocks.{l}.hook_resid_post"], final[l], atol=1e-5, rtol=0)
    for l in range(1, N_LAYERS):
        assert torch.equal(inputs[l], final[l - 1])  # the next block reads the steered stream
        assert torch.equal(steered[l], final[l - 1])  # = HF hidden_states[l]
    torch.testing.assert_close(steered[1], plain[1] + vecs[0], atol=1e-5, rtol=0)  # layer 0 exactly


def test_per_row_additions_follow_rows(tiny):
    ids, mask = left_pad(_prompts(tiny.tokenizer, 2), tiny.tokenizer.pad_token_id)
    rows = torch.tensor(np.stack([_unit(2)[0], -2 * _unit(3)[0]]), dtype=torch.float32)
    with torch.no_grad():
        plain = tiny.hf_model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
        with steer(tiny, Steering(additions={0: rows})):
            steered = tiny.hf_model(ids, attention_mask=mask, output_hidden_states=True).hidden_states
    torch.testing.assert_close(steered[1], plain[1] + rows[:, None, :], atol=1e-5, rtol=0)


# ---------------------------------------------------------------- hook hygiene


def test_hooks_removed_after_exception(tiny):
    ids = torch.tensor([_prompts(tiny.tokenizer, 1)[0]])
    plain = _hidden(tiny.hf_model, ids)
    counts = _n_hooks(tiny)
    with pytest.raises(RuntimeError, match="boom"):
        with steer(tiny, Steering(additions={l: torch.ones(D) for l in range(N_LAYERS)})):
            assert [c + 1 for c in counts] == _n_hooks(tiny)
            raise RuntimeError("boom")
    assert _n_hooks(tiny) == counts
    after = _hidden(tiny.hf_model, ids)
    for a, b in zip(after, plain):
        assert torch.equal(a, b)


# ---------------------------------------------------------------- norm references


def test_prompt_mean_norm_equals_hand_computation(tiny):
    prompts = _prompts(tiny.tokenizer, 3)
    units = _unit(4)
    s = build_steering(tiny, units, "all", 1.0, "prompt_mean_norm", prompt_ids=prompts)
    ref = torch.stack([torch.stack([s.additions[l][b].norm() for l in range(N_LAYERS)]) for b in range(3)])
    assert all(s.additions[l].shape == (3, D) for l in range(N_LAYERS))
    for b, p in enumerate(prompts):
        ids = torch.tensor([p])  # unpadded, alone
        hs = _hidden(tiny.hf_model, ids)
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
    prompts = _prompts(tiny.tokenizer, 3)
    stats = block_output_token_norms(tiny, prompts, list(range(N_LAYERS)), batch_size=3)
    assert {k: tuple(v.shape) for k, v in stats.items()} == {k: (3, N_LAYERS) for k in ("mean", "median", "first")}
    for b, p in enumerate(prompts):
        _, cache = tiny.bridge.run_with_cache(torch.tensor([p]))
        for l in range(N_LAYERS):
            norms = cache[f"blocks.{l}.hook_resid_post"][0].norm(dim=-1).double().numpy()
            for key, hand in (("mean", norms.mean()), ("median", np.median(norms)), ("first", norms[0])):
                assert abs(float(stats[key][b, l]) - hand) < 1e-4 * hand, (key, b, l)
    assert len(prompts[1]) % 2 == 0 or len(prompts[0]) % 2 == 0  # an even count: the midpoint rule is exercised
    units = _unit(9)
    s = build_steering(tiny, units, "all", 0.5, "prompt_median_norm", prompt_ids=prompts[:1])
    for l in range(N_LAYERS):
        assert s.additions[l].shape == (1, D)  # per prompt, even for one prompt
        torch.testing.assert_close(s.additions[l][0], torch.tensor(units[l] * 0.5 * float(stats["median"][0, l]),
                                                                   dtype=torch.float32), atol=1e-5, rtol=1e-5)


def test_median_reference_ignores_one_massive_position_that_moves_the_mean(tiny):
    """A planted massive norm at the first position (as real models put on BOS) multiplies the
    mean reference and leaves the median reference where the other tokens put it."""
    prompts = _prompts(tiny.tokenizer, 3)
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
        build_steering(tiny, _unit(0), "all", 1.0, "prompt_median_norm")
    with pytest.raises(EmovecInputError, match=r"prompt_ids\[1\] is empty; prompt_median_norm"):
        build_steering(tiny, _unit(0), "all", 1.0, "prompt_median_norm", prompt_ids=[[1, 2], []])


def test_dataset_mean_norm_and_strength_scale(tiny):
    units = _unit(5)
    norms = np.array([2.0, 3.0, 5.0])
    s = build_steering(tiny, units, [0, 2], 0.5, "dataset_mean_norm", dataset_norms=norms)
    assert sorted(s.additions) == [0, 2]
    for l in (0, 2):
        assert s.additions[l].shape == (D,)
        torch.testing.assert_close(s.additions[l], torch.tensor(units[l] * 0.5 * norms[l], dtype=torch.float32))
    zero = build_steering(tiny, torch.tensor(units), "all", 0, "dataset_mean_norm", dataset_norms=norms)
    assert all(bool((v == 0).all()) for v in zero.additions.values())


# ---------------------------------------------------------------- generation


def test_strength_zero_is_token_identical_to_unsteered(sharp):
    prompts = _prompts(sharp.tokenizer, 3)
    s = build_steering(sharp, _unit(6), "all", 0.0, "prompt_mean_norm", prompt_ids=prompts)
    got = steered_generate(sharp, prompts, s, batch_size=3, **GREEDY)
    ref = generate_ids(sharp.hf_model, sharp.tokenizer, prompts, batch_size=3, **GREEDY)
    assert got == ref
    assert steered_generate(sharp, prompts, None, batch_size=3, **GREEDY) == ref
    assert any(len(set(g)) > 2 for g in ref)


def test_batched_equals_one_at_a_time_and_steering_changes_output(sharp):
    counts = _n_hooks(sharp)
    prompts = _prompts(sharp.tokenizer, 3)
    s = build_steering(sharp, _unit(7), "all", 2.0, "prompt_mean_norm", prompt_ids=prompts)
    batched = steered_generate(sharp, prompts, s, batch_size=3, **GREEDY)
    single = steered_generate(sharp, prompts, s, batch_size=1, **GREEDY)
    assert batched == single
    plain = generate_ids(sharp.hf_model, sharp.tokenizer, prompts, batch_size=3, **GREEDY)
    assert batched != plain  # the steering does something
    per_prompt = [steered_generate(sharp, [p], build_steering(sharp, _unit(7), "all", 2.0, "prompt_mean_norm",
                                                               prompt_ids=[p]), batch_size=1, **GREEDY)[0]
                  for p in prompts]
    assert per_prompt == batched  # each row's reference is its own prompt's
    assert _n_hooks(sharp) == counts


def test_length_sorted_batches_keep_each_rows_own_vector(sharp):
    """Greedy batches are regrouped by prompt length; each row must still get its own addition.
    Prompts longest first, a different direction per row: batches of 2 equal one at a time."""
    prompts = sorted(_prompts(sharp.tokenizer, 3), key=len, reverse=True)
    units = [_unit(20 + i) for i in range(3)]
    rows = {l: torch.tensor(np.stack([u[l] for u in units]) * 40.0, dtype=torch.float32) for l in range(N_LAYERS)}
    s = Steering(additions=rows)
    batched = steered_generate(sharp, prompts, s, batch_size=2, **GREEDY)
    single = [steered_generate(sharp, [p], steering_rows(s, [i]), batch_size=1, **GREEDY)[0]
              for i, p in enumerate(prompts)]
    assert batched == single
    assert len({tuple(g) for g in batched}) == 3
    assert batched != generate_ids(sharp.hf_model, sharp.tokenizer, prompts, batch_size=2, **GREEDY)


def test_steering_rows_selects_rows_and_keeps_a_shared_vector():
    per_row = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    shared = torch.ones(3)
    got = steering_rows(Steering(additions={0: per_row, 1: shared}), [3, 1])
    torch.testing.assert_close(got.additions[0], per_row[[3, 1]])
    assert got.additions[1] is shared


def test_seeded_sampling_is_reproducible(sharp):
    prompts = _prompts(sharp.tokenizer, 3)
    s = build_steering(sharp, _unit(8), [1], 1.0, "prompt_mean_norm", prompt_ids=prompts)
    kw = dict(max_new_tokens=8, do_sample=True, temperature=0.8, top_p=0.95, batch_size=2, progress=False)
    a = steered_generate(sharp, prompts, s, seed=3, **kw)
    b = steered_generate(sharp, prompts, s, seed=3, **kw)
    assert a == b and len(a) == 3


# ---------------------------------------------------------------- bad input


def test_width_mismatch_names_both_widths(tiny):
    counts = _n_hooks(tiny)
    with pytest.raises(EmovecInputError, match="vector has width 31 but model 'tiny' has d_model 32"):
        build_steering(tiny, _unit(0, d=31), "all", 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))
    bad = Steering(additions={0: torch.ones(31)})
    with pytest.raises(EmovecInputError, match="vector has width 31 but model 'tiny' has d_model 32"):
        with steer(tiny, bad):
            pass
    with pytest.raises(EmovecInputError, match="width 31"):
        steered_generate(tiny, [[1, 2]], bad, batch_size=1, **GREEDY)
    assert _n_hooks(tiny) == counts


@pytest.mark.parametrize("strength", ["0.01", True, None, float("nan")])
def test_strength_must_be_a_number(tiny, strength):
    with pytest.raises(EmovecInputError, match="strength must be a"):
        build_steering(tiny, _unit(0), "all", strength, "dataset_mean_norm", dataset_norms=np.ones(3))


def test_layer_out_of_range(tiny):
    with pytest.raises(EmovecInputError, match="layer 7 is out of range.*3 layers"):
        build_steering(tiny, _unit(0), [7], 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))
    with pytest.raises(EmovecInputError, match="layer 7 is out of range"):
        check_steering(Steering(additions={7: torch.ones(D)}), N_LAYERS, D, None, model_name="tiny")
    with pytest.raises(EmovecInputError, match="layers must be 'all'"):
        build_steering(tiny, _unit(0), "some", 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))


def test_non_unit_and_misshapen_vectors(tiny):
    with pytest.raises(EmovecInputError, match=r"not unit norm.*\(1, 2\.0"):
        build_steering(tiny, _unit(0) * np.array([[1.0], [2.0], [1.0]]), "all", 1.0, "dataset_mean_norm",
                       dataset_norms=np.ones(3))
    with pytest.raises(EmovecInputError, match=r"shape \[n_layers=3"):
        build_steering(tiny, _unit(0, n=2), "all", 1.0, "dataset_mean_norm", dataset_norms=np.ones(3))


def test_non_finite_and_row_mismatch(tiny):
    with pytest.raises(EmovecInputError, match="non-finite"):
        check_steering(Steering(additions={0: torch.full((D,), float("inf"))}), N_LAYERS, D, None)
    with pytest.raises(EmovecInputError, match="2 rows but the batch has 3"):
        check_steering(Steering(additions={0: torch.ones(2, D)}), N_LAYERS, D, 3)


def test_unknown_norm_reference_lists_known(tiny):
    with pytest.raises(EmovecInputError) as exc:
        build_steering(tiny, _unit(0), "all", 1.0, "max_norm")
    assert "'max_norm'" in str(exc.value)
    for name in NORM_REFERENCES:
        assert name in str(exc.value)
    assert {"prompt_mean_norm", "prompt_median_norm", "dataset_mean_norm"} <= set(NORM_REFERENCES)
    with pytest.raises(EmovecInputError, match="needs prompt_ids"):
        build_steering(tiny, _unit(0), "all", 1.0, "prompt_mean_norm")
    with pytest.raises(EmovecInputError, match=r"dataset_norms must have shape \[3\]"):
        build_steering(tiny, _unit(0), "all", 1.0, "dataset_mean_norm", dataset_norms=np.ones(4))


def test_unknown_model_type_lists_known(tiny):
    fake = SimpleNamespace(config=SimpleNamespace(model_type="bert"))
    with pytest.raises(EmovecInputError) as exc:
        decoder_blocks(fake)
    assert "'bert'" in str(exc.value) and all(k in str(exc.value) for k in BLOCK_LISTS)
    other = dataclasses.replace(tiny, hf_model=fake)
    with pytest.raises(EmovecInputError, match="known model types"):
        with steer(other, Steering(additions={0: torch.ones(D)})):
            pass
