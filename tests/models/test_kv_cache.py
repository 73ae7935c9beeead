"""The preallocated KV cache (emovec.models.kv_cache): generation through it gives exactly the tokens
Hugging Face's DynamicCache gives, greedy and sampled, on full-attention and sliding-window models;
a layer kind it cannot reproduce exactly (a sequence longer than a sliding window) keeps HF's cache."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch
import transformers

from emovec.generate import generate_ids
from emovec.models.kv_cache import preallocated_cache

VOCAB, D = 64, 32
TOKENS = SimpleNamespace(bos_token_id=1, eos_token_id=2, pad_token_id=0)
# Prompts of different lengths (real left padding), no EOS/pad inside.
PROMPTS = [[1, 5, 9, 13, 17, 21, 25], [1, 30], [1, 40, 41, 42, 43], [1, 50, 51, 52, 53, 54, 55, 56, 57, 58]]
NEW = 24


def _model(kind: str, sliding_window: int = 64) -> Any:
    common = dict(vocab_size=VOCAB, hidden_size=D, intermediate_size=2 * D, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    if kind == "llama":
        # sharp logits, so greedy output depends on content and position (checked below)
        return transformers.LlamaForCausalLM(transformers.LlamaConfig(**common, initializer_range=0.6)).eval()
    if kind == "gemma3":
        config = transformers.Gemma3TextConfig(**common, head_dim=8, sliding_window=sliding_window,
                                               layer_types=["sliding_attention", "sliding_attention", "full_attention"])
        return transformers.Gemma3ForCausalLM(config).eval()
    raise AssertionError(kind)


def _generate(model: Any, preallocate: bool, **kw: Any) -> list[list[int]]:
    return generate_ids(model, TOKENS, PROMPTS, max_new_tokens=NEW, temperature=0.8, top_p=0.95, seed=3,
                        batch_size=len(PROMPTS), progress=False, preallocate_cache=preallocate, **kw)


@pytest.mark.parametrize("kind", ["llama", "gemma3"])
@pytest.mark.parametrize("do_sample", [False, True])
def test_generation_through_the_preallocated_cache_gives_dynamic_caches_tokens(kind: str, do_sample: bool):
    model = _model(kind)
    used: list[Any] = []
    original = model.generate

    def recording(*args: Any, **kwargs: Any) -> Any:
        used.append(kwargs.get("past_key_values"))
        return original(*args, **kwargs)

    model.generate = recording
    fast = _generate(model, True, do_sample=do_sample)
    stock = _generate(model, False, do_sample=do_sample)
    assert fast == stock
    assert any(len(set(g)) > 3 for g in fast)  # the comparison is not between constant outputs
    # The first run went through the preallocated layers, the second through HF's own cache.
    assert [type(layer).__name__ for layer in used[0].layers] == (
        ["PreallocatedLayer"] * 3 if kind == "llama" else ["PreallocatedSlidingLayer"] * 2 + ["PreallocatedLayer"])
    assert used[1] is None
    width = max(map(len, PROMPTS))
    assert used[0].layers[0]._filled == width + NEW - 1  # the last token is sampled, never fed back


def test_a_sequence_longer_than_a_sliding_window_keeps_hugging_faces_cache():
    config = _model("gemma3", sliding_window=8).config
    assert preallocated_cache(config, capacity=7) is not None
    assert preallocated_cache(config, capacity=8) is None  # a token would leave the window
    assert preallocated_cache(_model("llama").config, capacity=10_000) is not None


def test_an_update_past_the_capacity_is_an_error_not_a_silent_overwrite():
    cache = preallocated_cache(_model("llama").config, capacity=4)
    k = torch.zeros(1, 2, 3, 8)
    cache.layers[0].update(k, k)
    with pytest.raises(RuntimeError, match="5 positions exceed its capacity 4"):
        cache.layers[0].update(torch.zeros(1, 2, 2, 8), torch.zeros(1, 2, 2, 8))
