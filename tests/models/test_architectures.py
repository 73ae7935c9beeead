"""Extraction and steering on every architecture family we run, on tiny random-weight models.

Each family gets a 3-layer, 32-wide model built from its transformers config (no downloads),
saved with ``save_pretrained`` next to the toy tokenizer and loaded through emovec's real
``load_model`` (HF + TransformerBridge), once with ``attn_implementation="eager"`` and once with
``"sdpa"``. The reference is the same directory loaded by plain HF, *without* a bridge: the bridge
replaces HF submodules in place, so comparing a bridged model with itself would prove nothing.

Tolerances (observed with transformers 5.23, TransformerLens 4.3, torch 2.13 CPU, 1 thread):

* bridged eager vs unbridged HF eager: ``atol=1e-6, rtol=0``. The bridge re-implements attention
  (eager form) for all but Gemma 4 and matches HF's eager bit for bit; GPT-2's joint-QKV bridge
  reorders ops (max diff ~1e-8). 1e-6 leaves room for that and nothing else.
* sdpa vs eager, and a left-padded batch vs each prompt alone: ``atol=1e-5, rtol=1e-5`` (tight:
  ~100 float32 ulps). Where the bridge re-implements attention (all but Gemma 4) the kernel
  setting only changes the mask format: sdpa == eager exactly. Where it delegates to HF (Gemma 4)
  HF's SDPA kernel really runs: max diff ~8e-6 on pooled values up to ~8 (~1e-6 relative), which
  a bare ``atol=1e-5`` would pass with too little margin for another CPU's kernels. Batched vs
  alone: up to ~3e-6 (Gemma 4), ~1e-6 (Gemma 2/3), <1e-8 for the others.
* steering: exact (``torch.equal``). The hook adds the vector to a block output that is itself
  bit-identical to the unsteered one, so nothing but the addition can differ.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import transformers

from emovec.activations.extract import TokenisedStimulus, extract_batch
from emovec.activations.pooling import PoolingInputs, pooling_weights
from emovec.config.schema import ModelConfig
from emovec.errors import EmovecInputError
from emovec.generate import left_pad
from emovec.models.blocks import BLOCK_LISTS, decoder_blocks, steering_modules
from emovec.models.loading import load_model
from emovec.steering.generation import steered_generate
from emovec.steering.hooks import Steering, steer

N_LAYERS, D = 3, 32
EXACT_ATOL = 1e-6  # bridged vs unbridged HF, same kernel (see module docstring)
KERNEL_TOL = dict(atol=1e-5, rtol=1e-5)  # sdpa vs eager; batched vs alone
PROMPTS = ["Write a story about someone who feels happy.", "Sad and blue.", "A person washing dishes slowly"]
POOLINGS = ["last_token", "mean_from_offset"]
MEAN_OFFSET = 1


def _cfg(name: str) -> Any:
    cls = getattr(transformers, name, None)
    if cls is None:
        pytest.skip(f"transformers {transformers.__version__} has no {name}")
    return cls


def _config(arch: str, vocab: int, ids: dict[str, int]) -> tuple[Any, str]:
    """(config, model class name) of a tiny model of family ``arch``; sliding windows of 4 tokens
    so that the prompts (longer than 4 tokens, checked in _prompt_ids) really cross them."""
    common = dict(vocab_size=vocab, hidden_size=D, intermediate_size=2 * D, num_hidden_layers=N_LAYERS,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, **ids)
    gemma_layers = ["sliding_attention", "sliding_attention", "full_attention"]

    def gemma4_text(**extra: Any) -> Any:  # with per-layer inputs (PLE), as the E2B/E4B models
        kw = dict(layer_types=gemma_layers) | extra
        return _cfg("Gemma4TextConfig")(**common, head_dim=8, global_head_dim=16, vocab_size_per_layer_input=vocab,
                                        hidden_size_per_layer_input=8, sliding_window=4, **kw)

    if arch == "gpt2":
        return _cfg("GPT2Config")(vocab_size=vocab, n_positions=128, n_embd=D, n_layer=N_LAYERS, n_head=4,
                                  **ids), "GPT2LMHeadModel"
    if arch == "llama":
        return _cfg("LlamaConfig")(**common), "LlamaForCausalLM"
    if arch == "mistral":
        return _cfg("MistralConfig")(**common, sliding_window=4), "MistralForCausalLM"
    if arch == "qwen2":
        return _cfg("Qwen2Config")(**common), "Qwen2ForCausalLM"
    if arch == "apertus":
        # default rope (Apertus ships llama3 scaling sized for 8k+ contexts, irrelevant here)
        return _cfg("ApertusConfig")(**common, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), \
            "ApertusForCausalLM"
    if arch == "gemma2":
        return _cfg("Gemma2Config")(**common, head_dim=8, sliding_window=4, query_pre_attn_scalar=8), \
            "Gemma2ForCausalLM"
    if arch == "gemma3_text":
        return _cfg("Gemma3TextConfig")(**common, head_dim=8, sliding_window=4, layer_types=gemma_layers), \
            "Gemma3ForCausalLM"
    if arch == "gemma3":  # multimodal (Gemma-3 4B and up): the text decoder sits at model.language_model
        vision = _cfg("SiglipVisionConfig")(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                            num_attention_heads=2, image_size=28, patch_size=14)
        text = _cfg("Gemma3TextConfig")(**common, head_dim=8, sliding_window=4, layer_types=gemma_layers)
        return _cfg("Gemma3Config")(text_config=text, vision_config=vision, mm_tokens_per_image=4,
                                    boi_token_index=vocab - 3, eoi_token_index=vocab - 2,
                                    image_token_index=vocab - 1), "Gemma3ForConditionalGeneration"
    if arch == "gemma4_text":
        return gemma4_text(), "Gemma4ForCausalLM"
    if arch == "gemma4":  # multimodal, as Gemma-4-E4B-it: the text decoder sits at model.language_model
        vision = _cfg("Gemma4VisionConfig")(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                            num_attention_heads=2, num_key_value_heads=2, head_dim=8,
                                            position_embedding_size=64)
        special = dict(boi_token_id=vocab - 6, eoi_token_id=vocab - 5, image_token_id=vocab - 4,
                       video_token_id=vocab - 3, boa_token_id=vocab - 2, eoa_token_index=vocab - 1,
                       audio_token_id=vocab - 7)
        # and, as E4B, its last layer reuses an earlier layer's keys and values (KV sharing)
        text = gemma4_text(layer_types=["sliding_attention", "full_attention", "full_attention"],
                           num_kv_shared_layers=1)
        return _cfg("Gemma4Config")(text_config=text, vision_config=vision, audio_config=None,
                                    **special), "Gemma4ForConditionalGeneration"
    raise AssertionError(arch)


ARCHS = ["gpt2", "llama", "mistral", "qwen2", "apertus", "gemma2", "gemma3_text", "gemma3", "gemma4_text", "gemma4"]
NO_SDPA = {"gemma2"}  # Gemma2PreTrainedModel._supports_sdpa = False in transformers 5.23 (softcapping)


@pytest.fixture(scope="module", autouse=True)
def package_installs():
    """TransformerLens runs ``pip install torchvision`` when a multimodal model's processor does
    not load (emovec.models.loading._no_runtime_installs stops it). Whatever happens, a test must
    never change the environment: subprocess.check_call is refused here and the calls recorded."""
    import subprocess

    calls: list[Any] = []

    def refuse(cmd: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(cmd)
        raise subprocess.CalledProcessError(1, cmd)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess, "check_call", refuse)
        yield calls


@pytest.fixture(scope="module")
def toy_tokenizer():
    from emovec.toy import train
    from emovec.toy.corpus import generate_stories

    stories = generate_stories(4, seed=0)
    return train.train_tokenizer([s.text for s in stories] + PROMPTS, 300)


@pytest.fixture(scope="module", params=ARCHS)
def arch(request, toy_tokenizer, tmp_path_factory) -> SimpleNamespace:
    from emovec.toy import train

    name = request.param
    tok = toy_tokenizer
    config, cls_name = _config(name, len(tok), dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                                    pad_token_id=tok.pad_token_id))
    assert config.model_type == name
    torch.manual_seed(0)
    model = getattr(transformers, cls_name)(config)
    out = tmp_path_factory.mktemp("arch") / name
    train.save_model_dir(model, tok, out, None)
    return SimpleNamespace(name=name, dir=out)


def _spec(arch: SimpleNamespace, attn: str) -> ModelConfig:
    return ModelConfig(name=f"tiny-{arch.name}", hf_id=None, local_dir=str(arch.dir), family=arch.name,
                       variant="base", n_layers=N_LAYERS, d_model=D, attn_implementation=attn)


@pytest.fixture(scope="module")
def eager(arch):
    return load_model(_spec(arch, "eager"))


@pytest.fixture(scope="module")
def sdpa(arch):
    if arch.name in NO_SDPA:
        return None
    return load_model(_spec(arch, "sdpa"))


@pytest.fixture(scope="module")
def loaded(sdpa, eager):
    """The production path: the configured default (sdpa) where the architecture allows it."""
    return sdpa if sdpa is not None else eager


@pytest.fixture(scope="module")
def reference(arch) -> dict[str, Any]:
    """Unbridged HF models of the same directory, per attention kernel."""
    out = {}
    for impl in ("eager", "sdpa"):
        if impl == "sdpa" and arch.name in NO_SDPA:
            continue
        out[impl] = transformers.AutoModelForCausalLM.from_pretrained(arch.dir, attn_implementation=impl).eval()
    return out


# ---------------------------------------------------------------- helpers


def _prompt_ids(loaded) -> list[list[int]]:
    ids = [loaded.tokenizer(p)["input_ids"] for p in PROMPTS]
    assert len({len(x) for x in ids}) == len(ids) and max(len(x) for x in ids) > 4  # padding; windows crossed
    return ids


def _batch(loaded) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Left-padded ids, mask and the position ids the bridge derives from the mask."""
    ids, mask = left_pad(_prompt_ids(loaded), loaded.tokenizer.pad_token_id)
    position_ids = (mask.cumsum(dim=1) - 1).masked_fill(mask == 0, 1)
    return ids, mask, position_ids


def _hf_hidden(model, ids, mask, position_ids) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False,
                     output_hidden_states=True).hidden_states


def _extract(loaded, prompts: list[list[int]]) -> dict[str, torch.Tensor]:
    stimuli = [TokenisedStimulus(ids=tuple(p)) for p in prompts]
    return extract_batch(loaded.bridge, N_LAYERS, stimuli, POOLINGS, MEAN_OFFSET, loaded.tokenizer.pad_token_id,
                         side="left")


def _pool(hidden: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
    inputs = PoolingInputs(mask=mask, gen_start=torch.full((mask.shape[0],), -1), mean_offset=MEAN_OFFSET)
    return {p: torch.einsum("bt,btd->bd", pooling_weights(p, inputs), hidden.float()) for p in POOLINGS}


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[p] - b[p]).abs().max()) for p in POOLINGS)


def _hooks(model: torch.nn.Module) -> dict[str, tuple]:
    """Every forward (pre-)hook on every module, by module name."""
    return {name: (tuple(m._forward_hooks), tuple(m._forward_pre_hooks)) for name, m in model.named_modules()}


def _unit(seed: int) -> torch.Tensor:
    v = np.random.default_rng(seed).standard_normal(D)
    return torch.tensor(v / np.linalg.norm(v), dtype=torch.float32)


# ---------------------------------------------------------------- block discovery


def test_every_architecture_is_registered():
    assert set(ARCHS) <= set(BLOCK_LISTS)


def test_a_family_not_listed_is_found_by_shape(arch, loaded, monkeypatch):
    """A new family needs no code: with its model_type unlisted, the blocks found by shape are
    exactly the listed path's blocks (for every architecture, the multimodal ones included)."""
    listed = decoder_blocks(loaded.hf_model)
    monkeypatch.delitem(BLOCK_LISTS, loaded.hf_model.config.model_type)
    by_shape = decoder_blocks(loaded.hf_model)
    assert len(by_shape) == len(listed) == N_LAYERS
    assert all(a is b for a, b in zip(by_shape, listed))


def test_decoder_blocks_are_the_bridge_blocks(arch, loaded):
    """The registry finds the text decoder's blocks (not e.g. a vision tower's): the very modules
    the bridge wraps as blocks.{i}, and inside them the HF decoder layers."""
    outer = decoder_blocks(loaded.hf_model)
    assert len(outer) == N_LAYERS == len(loaded.bridge.blocks)
    assert all(o is b for o, b in zip(outer, loaded.bridge.blocks))
    inner = steering_modules(loaded.hf_model)
    assert all(type(b).__module__.startswith("transformers.models.") for b in inner), [type(b) for b in inner]
    assert all(type(b).__name__.endswith(("DecoderLayer", "Block")) for b in inner)
    if arch.name in ("gemma3", "gemma4"):
        assert outer[0] is loaded.hf_model.model.language_model.layers[0]


def test_loading_installs_nothing(arch, loaded, package_installs):
    """Booting the bridge (multimodal Gemma 4 tries to load an image processor) ran no installer,
    and the guard is gone afterwards."""
    from transformer_lens.model_bridge.sources.transformers import helpers

    assert package_installs == []
    assert helpers._ensure_torchvision.__name__ == "_ensure_torchvision"


def test_unknown_attn_implementation_is_refused(tiny_spec):
    with pytest.raises(EmovecInputError, match="attn_implementation must be one of.*'flash'"):
        load_model(dataclasses.replace(tiny_spec, attn_implementation="flash"))


# ---------------------------------------------------------------- extraction


def test_extraction_equals_hf_hidden_states(arch, eager, reference):
    """Pooled left-padded extraction at layer i == the unbridged HF model's hidden_states[i+1]
    pooled the same way (i < n_layers-1; HF's last entry is after the final norm)."""
    ids, mask, position_ids = _batch(eager)
    got = _extract(eager, _prompt_ids(eager))
    hs = _hf_hidden(reference["eager"], ids, mask, position_ids)
    for i in range(N_LAYERS - 1):
        want = _pool(hs[i + 1], mask)
        for p in POOLINGS:
            torch.testing.assert_close(got[p][:, i], want[p], atol=EXACT_ATOL, rtol=0, msg=f"{arch.name} layer {i} {p}")


def test_left_padded_batch_equals_one_prompt_at_a_time(arch, eager, reference):
    """Left padding is invisible: each row equals its prompt run alone and unpadded through plain
    HF (batched matmuls round differently, hence KERNEL_TOL)."""
    got = _extract(eager, _prompt_ids(eager))
    for row, p in enumerate(_prompt_ids(eager)):
        ids = torch.tensor([p])
        hs = _hf_hidden(reference["eager"], ids, torch.ones_like(ids), torch.arange(len(p))[None])
        for i in range(N_LAYERS - 1):
            want = _pool(hs[i + 1], torch.ones_like(ids))
            for pool in POOLINGS:
                torch.testing.assert_close(got[pool][row, i], want[pool][0], **KERNEL_TOL)


def test_sdpa_matches_eager(arch, eager, sdpa, reference):
    """The same weights loaded with sdpa and with eager give the same pooled activations
    (KERNEL_TOL), on the padded batch and on one unpadded prompt (where HF's sdpa mask may be
    None, the bridge must still mask causally), and sdpa matches unbridged HF sdpa."""
    if sdpa is None:
        with pytest.raises(EmovecInputError, match="attn_implementation: eager"):
            load_model(_spec(arch, "sdpa"))
        pytest.skip(f"{arch.name}: transformers has no sdpa path (clear error checked)")
    assert sdpa.hf_model.config._attn_implementation == "sdpa"  # what the config says is in effect
    assert eager.hf_model.config._attn_implementation == "eager"
    ids, mask, position_ids = _batch(eager)
    prompts = _prompt_ids(eager)
    for batch in (prompts, prompts[:1]):
        a, b = _extract(eager, batch), _extract(sdpa, batch)
        for p in POOLINGS:
            torch.testing.assert_close(b[p], a[p], **KERNEL_TOL)
    print(f"\n{arch.name}: max |sdpa - eager| pooled = {_max_diff(_extract(sdpa, prompts), _extract(eager, prompts)):.3g}")
    hs = _hf_hidden(reference["sdpa"], ids, mask, position_ids)
    got = _extract(sdpa, prompts)
    for i in range(N_LAYERS - 1):
        want = _pool(hs[i + 1], mask)
        for p in POOLINGS:
            torch.testing.assert_close(got[p][:, i], want[p], **KERNEL_TOL)


# ---------------------------------------------------------------- steering


def test_steered_layer_equals_original_plus_vector(arch, loaded):
    ids, mask, position_ids = _batch(loaded)
    layer, vec = 1, 3.0 * _unit(0)
    plain = _hf_hidden(loaded.hf_model, ids, mask, position_ids)
    with steer(loaded, Steering(additions={layer: vec})):
        steered = _hf_hidden(loaded.hf_model, ids, mask, position_ids)
    assert torch.equal(steered[layer + 1], plain[layer + 1] + vec)  # every position, padding included
    for l in range(layer + 1):
        assert torch.equal(steered[l], plain[l])  # embeddings and earlier blocks untouched
    assert not torch.allclose(steered[layer + 2], plain[layer + 2], atol=1e-3)  # the next block reads it


def test_last_layer_steering_shows_in_the_bridge_hook(arch, loaded):
    """The last block (before the final norm) is seen through the bridge's hook_resid_post, as
    extraction reads it: steered == unsteered + vector, rows with their own vectors."""
    ids, mask, _ = _batch(loaded)
    name = f"blocks.{N_LAYERS - 1}.hook_resid_post"
    rows = torch.stack([_unit(1), -2 * _unit(2), 0.5 * _unit(3)])
    with torch.no_grad():
        _, plain = loaded.bridge.run_with_cache(ids, attention_mask=mask, names_filter=name)
        with steer(loaded, Steering(additions={N_LAYERS - 1: rows})):
            _, steered = loaded.bridge.run_with_cache(ids, attention_mask=mask, names_filter=name)
    assert torch.equal(steered[name], plain[name] + rows[:, None, :])


def test_hooks_are_removed(arch, loaded):
    """After steering (also when its body raises) and extraction, every module carries exactly
    the hooks it had before (HF's own output recorders stay), and a plain forward is unchanged."""
    ids, mask, position_ids = _batch(loaded)
    plain = _hf_hidden(loaded.hf_model, ids, mask, position_ids)  # HF installs its recorders lazily
    before = _hooks(loaded.hf_model)
    with pytest.raises(RuntimeError, match="boom"):
        with steer(loaded, Steering(additions={l: _unit(l) for l in range(N_LAYERS)})):
            during = _hooks(loaded.hf_model)
            assert sum(len(f) for f, _ in during.values()) == sum(len(f) for f, _ in before.values()) + N_LAYERS
            raise RuntimeError("boom")
    _extract(loaded, _prompt_ids(loaded))  # stops the forward pass by raising from its last hook
    assert _hooks(loaded.hf_model) == before
    after = _hf_hidden(loaded.hf_model, ids, mask, position_ids)
    assert all(torch.equal(a, b) for a, b in zip(after, plain))


def test_steered_generation_sdpa_equals_eager(arch, eager, sdpa):
    """KV-cached greedy generation with steering at every layer: the hooks fire in the prefill
    and in every decode step, and the sdpa model generates what the eager one does."""
    prompts = _prompt_ids(eager)
    steering = Steering(additions={l: 2.0 * _unit(10 + l) for l in range(N_LAYERS)})
    kw = dict(max_new_tokens=4, do_sample=False, temperature=1.0, top_p=1.0, seed=0, batch_size=3, progress=False)
    calls: list[int] = []
    handle = steering_modules(eager.hf_model)[0].register_forward_hook(
        lambda m, a, o: calls.append((o[0] if isinstance(o, tuple) else o).shape[1]))
    try:
        got = steered_generate(eager, prompts, steering, **kw)
    finally:
        handle.remove()
    assert calls[0] == max(len(p) for p in prompts) and set(calls[1:]) <= {1}  # prefill, then one token a step
    assert len(calls) >= 2 and all(len(g) >= 1 for g in got)
    if sdpa is not None:
        assert steered_generate(sdpa, prompts, steering, **kw) == got
