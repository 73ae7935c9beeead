"""Stage: train one toy model (toy-base from scratch, toy-instruct continuing from toy-base).

Only when the selection needs it (``--selected``, written by compose): otherwise the stage writes a
one-line NOT_SELECTED note instead of weights, in well under a second, so a real-model run never
trains a toy."""

from __future__ import annotations

import argparse
from pathlib import Path

from emovec.config import ModelConfig, ToyConfig, load_yaml_dataclass, read_selected_flag
from emovec.errors import EmovecInputError
from emovec.io import read_jsonl
from emovec.progress import progress_enabled
from emovec.stages.common import stage_entry, write_not_selected


@stage_entry
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-config", required=True)
    ap.add_argument("--toy-config", default="build/config/toy.yaml")
    ap.add_argument("--corpus", default="build/toy/corpus")
    ap.add_argument("--models-dir", default="build/toy/models")
    ap.add_argument("--selected", default=None, help="build/config/toys/<name>.yaml ({selected: bool})")
    args = ap.parse_args(argv)
    spec: ModelConfig = load_yaml_dataclass(args.model_config, ModelConfig)
    if args.selected is not None and not read_selected_flag(args.selected):
        write_not_selected(Path(args.models_dir) / spec.name, f"toy model {spec.name} is not needed by the selection")
        return
    import torch

    from emovec.toy import train

    toy: ToyConfig = load_yaml_dataclass(args.toy_config, ToyConfig)
    if toy.train_threads < 1:
        raise EmovecInputError(f"{args.toy_config}: train_threads={toy.train_threads} must be >= 1")
    torch.set_num_threads(toy.train_threads)  # the weights depend on it: see ToyConfig.train_threads
    if spec.toy is None:
        raise EmovecInputError(f"{args.model_config}: model {spec.name!r} has no toy: block; only toy models are trained")
    corpus = Path(args.corpus)
    stories = read_jsonl(corpus / "stories.jsonl")
    if spec.toy.init_from is None:
        from transformers import AutoTokenizer  # noqa: F401  (import early: fail before training)

        pairs = read_jsonl(corpus / "instruct.jsonl")
        # The tokenizer sees instructions too, so both variants share one vocabulary.
        tokenizer = train.train_tokenizer([s["text"] for s in stories] + [p["instruction"] for p in pairs],
                                          toy.vocab_size)
        model = train.build_model(tokenizer, toy.n_layer, toy.n_embd, toy.n_head, toy.n_positions, spec.toy.seed)
    else:
        from transformers import AutoTokenizer, GPT2LMHeadModel

        parent = Path(args.models_dir) / spec.toy.init_from
        if not (parent / "config.json").is_file():
            raise EmovecInputError(f"toy model {spec.name!r} continues from {parent}, which has not been trained")
        tokenizer = AutoTokenizer.from_pretrained(parent)
        model = GPT2LMHeadModel.from_pretrained(parent, use_safetensors=True)
    if spec.toy.data == "stories":
        examples = [(train.BOS, s["text"]) for s in stories]
        template = None
    elif spec.toy.data == "instruct":
        examples = [(train.chat_prompt(p["instruction"]), p["story"]) for p in read_jsonl(corpus / "instruct.jsonl")]
        template = train.CHAT_TEMPLATE
    else:
        raise EmovecInputError(f"{args.model_config}: toy.data={spec.toy.data!r} is not 'stories' or 'instruct'")
    n_layers = model.config.n_layer
    if n_layers != spec.n_layers or model.config.n_embd != spec.d_model:
        raise EmovecInputError(f"model {spec.name!r}: conf says n_layers={spec.n_layers}, d_model={spec.d_model} "
                               f"but conf/toy builds n_layer={n_layers}, n_embd={model.config.n_embd}")
    losses = train.train_lm(model, tokenizer, examples, steps=spec.toy.steps, batch_size=spec.toy.batch_size,
                            lr=spec.toy.lr, seed=spec.toy.seed, progress=progress_enabled(), desc=f"train {spec.name}")
    out = Path(args.models_dir) / spec.name
    train.save_model_dir(model, tokenizer, out, template)
    print(f"{spec.name}: loss {losses[0]:.3f} -> {sum(losses[-20:]) / min(20, len(losses)):.3f} "
          f"({spec.toy.steps} steps) -> {out}")


if __name__ == "__main__":
    raise SystemExit(main())
