"""The one loading path for every model: Hugging Face weights (safetensors only) wrapped in a
TransformerLens ``TransformerBridge`` with raw weights (no LayerNorm folding), so the residual
basis we extract vectors in is the same one we later add them back into.

A model comes from ``local_dir`` (a ``save_pretrained`` directory) or a hub id with an optional
pinned revision. Without weights and without network, loading fails at once with one message
naming the model and how to provide its weights.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emovec.config.schema import ATTN_IMPLEMENTATIONS, ModelConfig
from emovec.errors import EmovecInputError
from emovec.paths import REPO_ROOT

TORCH_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


@dataclass
class LoadedModel:
    """A loaded model: the HF module, its tokenizer and the TransformerLens bridge around it."""

    spec: ModelConfig
    hf_model: Any  # transformers.PreTrainedModel, eval mode
    tokenizer: Any  # transformers.PreTrainedTokenizerBase
    bridge: Any  # transformer_lens.model_bridge.TransformerBridge, eval mode
    n_layers: int
    d_model: int


def model_source(spec: ModelConfig) -> str:
    """Where the weights come from: an absolute local directory, or the hub id."""
    if spec.local_dir:
        path = Path(spec.local_dir)
        return str(path if path.is_absolute() else REPO_ROOT / path)
    if spec.hf_id:
        return spec.hf_id
    raise EmovecInputError(f"model {spec.name!r}: config sets neither local_dir nor hf_id")


def _how_to_provide(spec: ModelConfig) -> str:
    return (f"provide the weights of model {spec.name!r}: either set model.local_dir to a directory "
            "with config.json, *.safetensors and the tokenizer files (e.g. "
            f"`+model.local_dir=/path` in conf/selection.yaml overrides), or download "
            f"{spec.hf_id or '<hub id>'} into the Hugging Face cache on a machine with network "
            "(`huggingface-cli download ...`) and copy the cache here (HF_HOME)")


def check_local_dir(spec: ModelConfig) -> Path:
    """A local model directory must hold a config and safetensors weights (never pickles)."""
    path = Path(model_source(spec))
    if not path.is_dir():
        raise EmovecInputError(f"model {spec.name!r}: local_dir {path} does not exist; "
                               + (("it is built by the pipeline (dvc repro)" if spec.toy else _how_to_provide(spec))))
    if not (path / "config.json").is_file():
        raise EmovecInputError(f"model {spec.name!r}: {path}/config.json is missing")
    if not list(path.glob("*.safetensors")):
        raise EmovecInputError(f"model {spec.name!r}: no *.safetensors weights in {path} "
                               "(pickled .bin weights are not loaded)")
    return path


def _from_pretrained(loader: Any, spec: ModelConfig, source: str, **kwargs: Any) -> Any:
    """Call a HF ``from_pretrained``: local files first, then the hub unless offline."""
    common = dict(revision=spec.revision, trust_remote_code=spec.trust_remote_code, **kwargs)
    if spec.local_dir:
        return loader.from_pretrained(source, **common)
    try:
        return loader.from_pretrained(source, local_files_only=True, **common)
    except OSError:
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise EmovecInputError(f"model {spec.name!r} ({source}) is not in the local Hugging "
                                   f"Face cache and HF_HUB_OFFLINE=1; {_how_to_provide(spec)}") from None
    try:
        return loader.from_pretrained(source, **common)
    except OSError as exc:
        raise EmovecInputError(f"model {spec.name!r} ({source}): weights unavailable "
                               f"({type(exc).__name__}); {_how_to_provide(spec)}") from None


def width_and_depth(hf_config: Any) -> tuple[int, int]:
    """(n_layers, d_model) of the text decoder; multimodal configs nest it in a text config."""
    text = hf_config.get_text_config() if hasattr(hf_config, "get_text_config") else hf_config
    n_layers = getattr(text, "num_hidden_layers", None) or getattr(text, "n_layer")
    d_model = getattr(text, "hidden_size", None) or getattr(text, "n_embd")
    return int(n_layers), int(d_model)


def load_config_and_tokenizer(spec: ModelConfig) -> tuple[Any, Any]:
    """Load only the HF config and tokenizer (cheap), checking the spec's facts against them."""
    from transformers import AutoConfig, AutoTokenizer

    source = model_source(spec)
    if spec.local_dir:
        check_local_dir(spec)
    hf_config = _from_pretrained(AutoConfig, spec, source)
    tokenizer = _from_pretrained(AutoTokenizer, spec, source)
    n_layers, d_model = width_and_depth(hf_config)
    for key, expected, actual in (("n_layers", spec.n_layers, n_layers), ("d_model", spec.d_model, d_model)):
        if expected != actual:
            raise EmovecInputError(f"model {spec.name!r}: config says {key}={expected} but the "
                                   f"weights at {source} have {key}={actual}; fix conf/model/{spec.name}.yaml")
    has_template = getattr(tokenizer, "chat_template", None) is not None
    if spec.chat_template and not has_template:
        raise EmovecInputError(f"model {spec.name!r}: config says chat_template=true but the "
                               f"tokenizer at {source} has none")
    return hf_config, tokenizer


@contextmanager
def _no_runtime_installs() -> Iterator[None]:
    """TransformerLens boots a multimodal model (Gemma 3/4 ConditionalGeneration) by loading its
    AutoProcessor, and when that fails it runs ``pip install torchvision`` into the running
    environment (which pulls another torch). Emovec never uses the processor: within this block
    that installer reports failure instead, so the processor is simply skipped."""
    try:
        from transformer_lens.model_bridge.sources.transformers import helpers
    except ImportError:  # another TransformerLens layout: nothing to guard
        yield
        return
    original = getattr(helpers, "_ensure_torchvision", None)
    if original is None:
        yield
        return
    helpers._ensure_torchvision = lambda: False
    try:
        yield
    finally:
        helpers._ensure_torchvision = original


def load_model(spec: ModelConfig, with_bridge: bool = True) -> LoadedModel:
    """Load weights (safetensors only) and wrap them in a raw-weights TransformerBridge.

    ``with_bridge=False`` returns the plain HF model (``bridge`` is None) for work that reads no
    hook, such as generating stimuli: the bridge replaces HF's attention modules in place with its
    own eager implementation, which a plain HF ``generate`` does not need.

    Attention: ``spec.attn_implementation`` (eager | sdpa) is what HF loads with and what is in
    effect afterwards. The bridge switches the model it wraps to eager (for its attention-pattern
    hooks, which emovec does not use); we set the configured one back. Residual-stream hooks do not
    depend on it: for most families the bridge computes attention itself in eager form whatever
    the setting (only the mask format changes), and where it delegates to HF (Gemma 4) sdpa runs
    HF's sdpa kernel. Tested in tests/models/test_architectures.py against unbridged HF models.
    """
    import torch
    from transformers import AutoModelForCausalLM

    if spec.attn_implementation not in ATTN_IMPLEMENTATIONS:
        raise EmovecInputError(f"model {spec.name!r}: attn_implementation must be one of {list(ATTN_IMPLEMENTATIONS)}, "
                               f"got {spec.attn_implementation!r}")
    _, tokenizer = load_config_and_tokenizer(spec)
    source = model_source(spec)
    dtype = getattr(torch, TORCH_DTYPES[spec.dtype])
    placement: dict[str, Any] = {"device_map": spec.device_map} if spec.device_map else {}
    try:
        hf_model = _from_pretrained(AutoModelForCausalLM, spec, source, dtype=dtype, use_safetensors=True,
                                    attn_implementation=spec.attn_implementation, **placement)
    except ValueError as exc:
        if spec.attn_implementation != "eager" and "attention implementation" in str(exc):
            raise EmovecInputError(f"model {spec.name!r}: transformers cannot run this architecture with "
                                   f"attn_implementation={spec.attn_implementation!r} ({str(exc).splitlines()[0][:160]}); "
                                   f"set `attn_implementation: eager` in conf/model/{spec.name}.yaml") from None
        raise
    if not spec.device_map:
        hf_model = hf_model.to(spec.device)
    hf_model.eval()
    if not with_bridge:
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        n_layers, d_model = width_and_depth(hf_model.config)
        return LoadedModel(spec=spec, hf_model=hf_model, tokenizer=tokenizer, bridge=None,
                           n_layers=n_layers, d_model=d_model)
    from transformer_lens.model_bridge import TransformerBridge

    bridge_kwargs: dict[str, Any] = {"device_map": spec.device_map} if spec.device_map else {"device": spec.device}
    with _no_runtime_installs():
        bridge = TransformerBridge.boot_transformers(source, hf_model=hf_model, tokenizer=tokenizer,
                                                     dtype=dtype, **bridge_kwargs)
    bridge.eval()
    if hf_model.config._attn_implementation != spec.attn_implementation:
        hf_model.set_attn_implementation(spec.attn_implementation)  # the bridge forced eager
    if tokenizer.pad_token_id is None:
        # Batched extraction needs a pad id; the attention mask keeps it out of every statistic.
        tokenizer.pad_token = tokenizer.eos_token
    n_layers, d_model = width_and_depth(hf_model.config)
    return LoadedModel(spec=spec, hf_model=hf_model, tokenizer=tokenizer, bridge=bridge,
                       n_layers=n_layers, d_model=d_model)


def sha256_of_dir(path: Path) -> dict[str, str]:
    """sha256 of every file in a model directory (relative name -> hex), for the model card."""
    out: dict[str, str] = {}
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        out[str(f.relative_to(path))] = h.hexdigest()
    return out
