"""What both benchmarks (:mod:`emovec.bench`, :mod:`emovec.bench_real`) and the memory child
(:mod:`emovec.bench_memory`) share: the repository root, the GPT-2-small shape and its
random-weight model, the model specs they load, and the story texts they run on."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emovec.errors import EmovecInputError

__all__ = ["GPT2_SMALL", "REPO", "bench_spec", "build_bench_model", "corpus_texts", "load_real_spec"]

REPO = Path(__file__).resolve().parents[2]
GPT2_SMALL = dict(n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)


def build_bench_model(out_dir: Path, texts: Sequence[str], seed: int = 0) -> Path:
    """A GPT-2-small-shaped model with random weights and a BPE tokenizer trained on ``texts``,
    saved with save_pretrained (safetensors). The vocabulary stays 50,257 (the LM head's cost is
    part of a real forward pass); ids beyond the tokenizer's are simply never used."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from emovec.toy import train

    tok = train.train_tokenizer(list(texts), 8000)
    torch.manual_seed(seed)
    cfg = GPT2Config(**GPT2_SMALL, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id)
    train.save_model_dir(GPT2LMHeadModel(cfg), tok, out_dir, None)
    return out_dir


def load_real_spec(name: str, repo: Path, dtype: str | None = None) -> Any:
    """The composed config of model ``name`` (build/config/models/<name>.yaml), its weights
    directory resolved under ``repo``; an error naming the stage to run when it is absent."""
    from omegaconf import OmegaConf

    from emovec.config.schema import ModelConfig, as_dataclass

    path = repo / "build" / "config" / "models" / f"{name}.yaml"
    if not path.is_file():
        raise EmovecInputError(f"{path} is missing: run `dvc repro compose` (and model@{name}) first")
    spec = as_dataclass(OmegaConf.load(path), ModelConfig, str(path))
    if spec.local_dir is not None:
        local = repo / spec.local_dir
        if not local.is_dir():
            raise EmovecInputError(f"{local} is missing: run `dvc repro model@{name}` to convert its weights")
        spec = dataclasses.replace(spec, local_dir=str(local))
    return dataclasses.replace(spec, dtype=dtype) if dtype else spec


def bench_spec(model_dir: Path, device: str) -> Any:
    """The ModelConfig of the random-weight GPT-2-small model saved in ``model_dir``."""
    from emovec.config.schema import ModelConfig

    return ModelConfig(name="bench-gpt2-small", local_dir=str(model_dir), family="gpt2", variant="base",
                       n_layers=GPT2_SMALL["n_layer"], d_model=GPT2_SMALL["n_embd"], device=device)


def corpus_texts(n: int, data_dir: Path) -> tuple[list[str], str]:
    """n story texts: van der Ben's Gemma stories from data/ when materialised, else toy stories."""
    path = data_dir / "emotion_experiment" / "output_gemma_stories" / "stories.jsonl"
    if path.is_file():
        from emovec.corpora.stories import read_stories

        rows = read_stories(path, "emotion_experiment_jsonl")
        return [r["text"] for r in rows[:n]], f"{min(n, len(rows))} of the {len(rows)} upstream Gemma stories"
    from emovec.toy.corpus import generate_stories

    stories = generate_stories(max(1, n // 21 + 1), seed=0)
    return [s.text for s in stories[:n]], f"{n} toy stories (data/ has no upstream stories)"
