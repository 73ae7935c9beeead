"""Where a loaded model's decoder blocks are: the one table that extraction and steering share.

"Layer ``l``" is the output of decoder block ``l``: the residual stream after that block, before
the final norm for the last block. There are two handles on it, one per code path:

* the TransformerBridge hook point :func:`resid_post_hook_name` (``blocks.{l}.hook_resid_post``),
  read by extraction (:mod:`emovec.activations.extract`);
* the HF decoder block module itself (:func:`decoder_blocks`, unwrapped by :func:`steering_modules`),
  hooked by steering (:mod:`emovec.steering.hooks`) and by the norm references
  (:mod:`emovec.steering.norm_reference`). HF ``hidden_states[l + 1]`` shows the same stream for
  every block but the last (HF reports that one after the final norm).

After ``load_model`` the two coincide: ``TransformerBridge.boot_transformers(..., hf_model=hf_model)``
does not copy the model but *replaces the HF submodules in place* (``bridge.original_model is
hf_model``), so each entry of the HF block list (e.g. ``hf_model.model.layers[i]``) is the
TransformerLens ``BlockBridge`` ``bridge.blocks[i]``, which wraps the original HF decoder layer as
``_original_component``, calls it, then applies its ``hook_out`` (= ``blocks.{i}.hook_resid_post``).

Known model types (:data:`BLOCK_LISTS`, keyed by ``hf_model.config.model_type``)
-------------------------------------------------------------------------------
Each maps to the attribute path(s) of the decoder block list on the AutoModelForCausalLM class,
checked in transformers 5.23 (modeling code and TransformerLens' ``blocks`` mapping):

- ``gpt2`` (GPT2LMHeadModel): ``transformer.h``;
- ``llama`` (also SmolLM2), ``mistral``, ``qwen2``, ``apertus``, ``gemma2``, ``gemma3_text``
  (Gemma3ForCausalLM: Gemma-3 270M and 1B) and ``gemma4_text`` (Gemma4ForCausalLM):
  ``model.layers``, the one resolver they share (``DECODER_LAYERS``);
- ``gemma3`` and ``gemma4`` (Gemma3/Gemma4ForConditionalGeneration: Gemma-3 4B and up,
  Gemma-4-E4B-it; multimodal): the text decoder's ``model.language_model.layers``, then
  ``model.layers`` (``TEXT_DECODER_OF_MULTIMODAL``; never the vision tower's layers).

A model_type not listed needs no code: its blocks are found by shape (:func:`find_blocks_by_shape`:
the one ``ModuleList`` named ``layers``/``h``/``blocks`` whose length is the config's number of
hidden layers, outside any vision or audio tower), so a new family is one model config file.
Listing it in :data:`BLOCK_LISTS` (usually the shared ``DECODER_LAYERS``, or
``TEXT_DECODER_OF_MULTIMODAL`` for a multimodal wrapper) pins the path, and its tiny config in
tests/models/test_architectures.py checks that the blocks found are the bridge's ``blocks`` and that
additions are exact. No block list found by shape (or more than one), or a listed model_type whose
paths do not exist on the loaded class, is an :class:`EmovecInputError` naming what was found.
"""

from __future__ import annotations

from typing import Any

from emovec.errors import EmovecInputError

# The bridge's hook point at the output of block {i} (TransformerLens naming, every family alike).
RESID_POST_HOOK = "blocks.{i}.hook_resid_post"


def resid_post_hook_name(layer: int) -> str:
    """Name of the TransformerBridge hook point whose activation is the raw output of block
    ``layer`` ([batch, tokens, d_model]), e.g. ``blocks.3.hook_resid_post``."""
    return RESID_POST_HOOK.format(i=layer)


# Where each family keeps its decoder blocks, as attribute paths from the causal-LM module that
# ``load_model`` returns (AutoModelForCausalLM), checked against transformers 5.23's modeling code
# and the TransformerLens adapters' ``blocks`` mapping. Several paths: tried in order, first that
# exists wins (families that come as a text-only and as a multimodal class under one model_type).
DECODER_LAYERS = ("model.layers",)  # XForCausalLM -> XModel.layers (Llama lineage, Gemma text-only)
TEXT_DECODER_OF_MULTIMODAL = ("model.language_model.layers", "model.layers")  # XForConditionalGeneration

BLOCK_LISTS: dict[str, tuple[str, ...]] = {
    "gpt2": ("transformer.h",),
    "llama": DECODER_LAYERS,  # also SmolLM2
    "mistral": DECODER_LAYERS,
    "qwen2": DECODER_LAYERS,
    "apertus": DECODER_LAYERS,
    "gemma2": DECODER_LAYERS,
    "gemma3_text": DECODER_LAYERS,  # Gemma3ForCausalLM (Gemma-3 270M / 1B)
    "gemma3": TEXT_DECODER_OF_MULTIMODAL,  # Gemma3ForConditionalGeneration (4B and up)
    "gemma4_text": DECODER_LAYERS,  # Gemma4ForCausalLM
    "gemma4": TEXT_DECODER_OF_MULTIMODAL,  # Gemma4ForConditionalGeneration (Gemma-4-E4B-it)
}


def _module_at(root: Any, path: str) -> Any:
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part)  # AttributeError when the path does not exist
    return obj


_BLOCK_LIST_NAMES = ("layers", "h", "blocks")
_NOT_THE_TEXT_DECODER = ("vision", "audio", "encoder", "image", "speech")


def _n_hidden_layers(config: Any) -> int | None:
    for cfg in (getattr(config, "text_config", None), config):
        n = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", None)
        if isinstance(n, int):
            return n
    return None


def find_blocks_by_shape(hf_model: Any) -> list[Any]:
    """The decoder blocks of a model_type not in :data:`BLOCK_LISTS`: the one ``ModuleList``
    whose attribute name is ``layers``, ``h`` or ``blocks``, whose length is the config's number
    of hidden layers, and whose path names no vision/audio/encoder tower. None or several such
    lists is an error naming the candidates (then list the family in :data:`BLOCK_LISTS`)."""
    import torch

    config = getattr(hf_model, "config", None)
    model_type = getattr(config, "model_type", None)
    n_layers = _n_hidden_layers(config)
    modules = hf_model.named_modules() if hasattr(hf_model, "named_modules") else ()
    candidates = [
        (name, module) for name, module in modules
        if isinstance(module, torch.nn.ModuleList) and name.rsplit(".", 1)[-1] in _BLOCK_LIST_NAMES
        and len(module) == n_layers and not any(w in name.lower() for w in _NOT_THE_TEXT_DECODER)
        and "_original_component" not in name
    ]
    if len(candidates) != 1:
        found = [name for name, _ in candidates] or "none"
        raise EmovecInputError(f"model_type {model_type!r} is not in emovec.models.blocks.BLOCK_LISTS (known model "
                               f"types: {sorted(BLOCK_LISTS)}) and its decoder blocks cannot be found by shape (ModuleLists named {list(_BLOCK_LIST_NAMES)} "
                               f"of length num_hidden_layers={n_layers}: {found}); add its path to BLOCK_LISTS")
    return list(candidates[0][1])


def decoder_blocks(hf_model: Any) -> list[Any]:
    """The decoder block modules of ``hf_model`` (as they are now: bridge wrappers after
    ``load_model``), found via :data:`BLOCK_LISTS` by ``config.model_type``, else by shape
    (:func:`find_blocks_by_shape`)."""
    model_type = getattr(getattr(hf_model, "config", None), "model_type", None)
    if model_type not in BLOCK_LISTS:
        return find_blocks_by_shape(hf_model)
    paths = BLOCK_LISTS[model_type]
    for path in paths:
        try:
            blocks = _module_at(hf_model, path)
        except AttributeError:
            continue
        return list(blocks)
    raise EmovecInputError(f"model_type {model_type!r}: none of the decoder block paths {list(paths)} exists on "
                           f"{type(hf_model).__name__} (fix emovec.models.blocks.BLOCK_LISTS)")


def _innermost(module: Any) -> Any:
    seen = 0
    while getattr(module, "_modules", {}).get("_original_component") is not None and seen < 8:
        module = module._modules["_original_component"]
        seen += 1
    return module


def steering_modules(hf_model: Any) -> list[Any]:
    """The modules forward hooks on the residual stream go on (steering, norm references): the
    HF decoder blocks, unwrapped from any TransformerLens bridge component (the innermost
    ``_original_component``; the block itself when there is no bridge). One per layer, in order;
    each returns its hidden states [batch, tokens, d_model] (a tensor, or a tuple starting with
    it in older transformers)."""
    return [_innermost(b) for b in decoder_blocks(hf_model)]
