"""Where the decoder blocks are (emovec.models.blocks): the block table, discovery by shape, the
unwrapped HF blocks that hooks go on and the bridge hook point of the same stream, on the tiny
GPT-2 and on fakes. Every architecture family's table entry: test_architectures."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from emovec.errors import EmovecInputError
from emovec.models.blocks import (
    BLOCK_LISTS,
    decoder_blocks,
    find_blocks_by_shape,
    resid_post_hook_name,
    steering_modules,
)
from emovec.models.loading import load_model

from helpers.tiny_steering import N_LAYERS, hidden, tiny_model_spec, tiny_prompts


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    return load_model(tiny_model_spec(tiny_model_dir))


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
        ids = torch.tensor([tiny_prompts(tiny.tokenizer, 1)[0]])
        hidden(tiny.hf_model, ids)
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


def test_resid_post_hook_shows_the_output_of_the_hooked_block(tiny):
    """Extraction's handle on layer l (the bridge hook point) and steering's (the unwrapped HF
    block) see the same tensor: the raw output of block l."""
    assert resid_post_hook_name(2) == "blocks.2.hook_resid_post"
    ids = torch.tensor([tiny_prompts(tiny.tokenizer, 1)[0]])
    outputs: dict[int, torch.Tensor] = {}
    handles = [b.register_forward_hook(lambda m, a, o, i=i: outputs.__setitem__(i, (o[0] if isinstance(o, tuple) else o).clone()))
               for i, b in enumerate(steering_modules(tiny.hf_model))]
    try:
        with torch.no_grad():
            _, cache = tiny.bridge.run_with_cache(ids)
    finally:
        for h in handles:
            h.remove()
    for layer in range(N_LAYERS):
        assert torch.equal(cache[resid_post_hook_name(layer)], outputs[layer])


def test_unknown_model_type_lists_known():
    fake = SimpleNamespace(config=SimpleNamespace(model_type="bert"))
    with pytest.raises(EmovecInputError) as exc:
        decoder_blocks(fake)
    assert "'bert'" in str(exc.value) and all(k in str(exc.value) for k in BLOCK_LISTS)


def test_known_model_type_without_its_blocks_is_a_clear_error():
    fake = SimpleNamespace(config=SimpleNamespace(model_type="gemma4"), model=SimpleNamespace())
    with pytest.raises(EmovecInputError, match=r"'gemma4': none of the decoder block paths.*SimpleNamespace"):
        decoder_blocks(fake)


def test_blocks_by_shape_refuses_none_or_several_candidates():
    import torch.nn as nn

    class TwoStacks(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = SimpleNamespace(model_type="newfamily", num_hidden_layers=2)
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
            self.other = nn.Module()
            self.other.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])

    with pytest.raises(EmovecInputError, match=r"'newfamily' is not in .*BLOCK_LISTS.*\['layers', 'other.layers'\]"):
        find_blocks_by_shape(TwoStacks())
    stack = TwoStacks()
    stack.config.num_hidden_layers = 3
    with pytest.raises(EmovecInputError, match=r"num_hidden_layers=3: none\); add its path to BLOCK_LISTS"):
        find_blocks_by_shape(stack)
    stack.config.num_hidden_layers = 2
    del stack.other
    assert list(find_blocks_by_shape(stack)) == list(stack.layers)
